/*
 * The proxy client without a socket: --proxy URLs, the exact bytes of
 * each request (RFC 1928, RFC 1929, SOCKS4/4a, HTTP CONNECT), replies fed
 * in pieces, every refusal and malformed answer, and that the machine
 * never takes a byte past the proxy's answer. The end over a socketpair:
 * bytes behind the answer stay in the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "proxy.h"

static struct sk_proxy url(const char *u)
{
	struct sk_proxy px;
	char err[SK_ERRLEN];

	if (sk_proxy_parse_url(u, &px, err) < 0) {
		fprintf(stderr, "parse %s: %s\n", u, err);
		memset(&px, 0, sizeof(px));
		px.port = 0;
	}
	return px;
}

static bool bad_url(const char *u, const char *want)
{
	struct sk_proxy px;
	char err[SK_ERRLEN] = "";

	if (sk_proxy_parse_url(u, &px, err) == 0)
		return false;
	if (!strstr(err, want))
		fprintf(stderr, "%s: '%s' lacks '%s'\n", u, err, want);
	return errno == EINVAL && strstr(err, want) && !strstr(err, "s3cret");
}

static void test_urls(void)
{
	struct sk_proxy px = url("socks5://127.0.0.1");

	CHECK(px.kind == SK_PROXY_SOCKS5 && !strcmp(px.host, "127.0.0.1") && px.port == 1080);
	CHECK(!px.auth);
	px = url("SOCKS5H://proxy.example:9050/");
	CHECK(px.kind == SK_PROXY_SOCKS5H && !strcmp(px.host, "proxy.example") && px.port == 9050);
	px = url("socks4a://[::1]:1081");
	CHECK(px.kind == SK_PROXY_SOCKS4A && !strcmp(px.host, "::1") && px.port == 1081);
	px = url("http://u%40x:p%3Aa@ss@[::1]");
	CHECK(px.kind == SK_PROXY_HTTP && px.auth && !strcmp(px.user, "u@x") &&
	      !strcmp(px.pass, "p:a@ss") && !strcmp(px.host, "::1") && px.port == 1080);
	px = url("socks4://alice@10.0.0.1:1");
	CHECK(px.auth && !strcmp(px.user, "alice") && !px.pass[0] && px.port == 1);
	sk_proxy_wipe(&px);
	CHECK(!px.auth && !px.user[0]);

	CHECK(bad_url("127.0.0.1:1080", "no scheme"));
	CHECK(bad_url("ftp://127.0.0.1", "unknown scheme 'ftp'"));
	CHECK(bad_url("user:s3cret://h", "unknown scheme (socks5"));
	CHECK(bad_url("socks5://", "no proxy host"));
	CHECK(bad_url("socks5://u:s3cret@", "no proxy host"));
	CHECK(bad_url("socks5://h:0", "bad proxy port"));
	CHECK(bad_url("socks5://h:65536", "bad proxy port"));
	CHECK(bad_url("socks5://h:12x", "bad proxy port: not a number"));
	CHECK(bad_url("socks5://user:s3cret", "bad proxy port: not a number"));
	CHECK(bad_url("socks5://h:http", "not a number"));
	CHECK(bad_url("socks5://[[::1]", "'['"));
	CHECK(bad_url("socks5://::1:1080", "brackets"));
	CHECK(bad_url("socks5://[::1:1080", "without ']'"));
	CHECK(bad_url("socks5://[::1]x", "junk after ']'"));
	CHECK(bad_url("socks5://h/path", "'/'"));
	CHECK(bad_url("socks5://u:s3cret%zz@h", "bad %-escape"));
	CHECK(bad_url("socks5://u:s3cret%0@h", "bad %-escape"));
	CHECK(bad_url("socks5://u:s3cret%00@h", "NUL"));
}

static void test_auth_rules(void)
{
	struct sk_proxy px = url("socks4://127.0.0.1");
	char err[SK_ERRLEN];

	CHECK(sk_proxy_set_auth(&px, "bob:pw", err) == 0 && sk_proxy_check_auth(&px, err) < 0 &&
	      strstr(err, "no password"));
	CHECK(sk_proxy_set_auth(&px, "bob", err) == 0 && sk_proxy_check_auth(&px, err) == 0);
	px = url("socks5://127.0.0.1");
	CHECK(sk_proxy_set_auth(&px, ":pw", err) == 0 && sk_proxy_check_auth(&px, err) < 0);
	CHECK(sk_proxy_set_auth(&px, "bob:p:w", err) == 0 && !strcmp(px.pass, "p:w"));
	px = url("http://a%3Ab:c@127.0.0.1");
	CHECK(sk_proxy_check_auth(&px, err) < 0 && strstr(err, "':'"));
}

/* A handshake for host:port through URL u (addr: what the name resolved to here). */
static struct sk_proxy_hs *hs_for(const char *u, const char *host, unsigned port, const char *addr)
{
	struct sk_proxy px = url(u);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sk_proxy_dest d = {.host = host, .port = port};
	char err[SK_ERRLEN];
	struct sk_proxy_hs *hs;

	if (addr) {
		inet_pton(AF_INET, addr, &sin.sin_addr);
		d.addr = (struct sockaddr *)&sin;
		d.addrlen = sizeof(sin);
	}
	hs = sk_proxy_hs_new(&px, &d, err);
	if (!hs)
		fprintf(stderr, "hs_new %s %s: %s\n", u, host, err);
	sk_proxy_wipe(&px);
	return hs;
}

/* Takes the pending output: true when it is exactly want[0..n). */
static bool sends(struct sk_proxy_hs *hs, const void *want, size_t n)
{
	const unsigned char *out;
	size_t len = sk_proxy_hs_output(hs, &out);
	bool ok = sk_proxy_hs_state(hs) == SK_PROXY_SEND && len == n && !memcmp(out, want, n);

	if (!ok)
		fprintf(stderr, "sent %zu bytes, wanted %zu\n", len, n);
	sk_proxy_hs_sent(hs, len);
	return ok;
}

/* Feeds the reply one byte at a time; returns the bytes taken. */
static size_t feed_bytewise(struct sk_proxy_hs *hs, const void *in, size_t n)
{
	const unsigned char *p = in;
	size_t took = 0, i;

	for (i = 0; i < n; i++)
		took += sk_proxy_hs_input(hs, p + i, 1);
	return took;
}

static void test_socks5(void)
{
	struct sk_proxy_hs *hs = hs_for("socks5h://127.0.0.1", "example.com", 443, NULL);
	bool partial;

	CHECK(hs && sends(hs, "\x05\x01\x00", 3));
	CHECK(sk_proxy_hs_want(hs, &partial) == 2 && !partial);
	CHECK(feed_bytewise(hs, "\x05\x00", 2) == 2);
	CHECK(sends(hs,
		    "\x05\x01\x00\x03\x0b"
		    "example.com\x01\xbb",
		    5 + 11 + 2));
	/* The reply with a name as its address, then tunnel bytes: only the reply is taken. */
	CHECK(sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x00\x00\x03\x02xy\x00\x50TUNNEL",
				4 + 1 + 2 + 2 + 6) == 9);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	sk_proxy_hs_free(hs);

	/* Credentials: both methods offered, RFC 1929 byte for byte. */
	hs = hs_for("socks5://al%69ce:pw@127.0.0.1", "db.internal", 5432, "10.1.2.3");
	CHECK(hs && sends(hs, "\x05\x02\x00\x02", 4));
	CHECK(sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x02", 2) == 2);
	CHECK(sends(hs,
		    "\x01\x05"
		    "alice\x02pw",
		    2 + 5 + 1 + 2));
	CHECK(sk_proxy_hs_input(hs, (const unsigned char *)"\x01\x00", 2) == 2);
	/* SOCKS5 resolved here: the address, not the name. */
	CHECK(sends(hs, "\x05\x01\x00\x01\x0a\x01\x02\x03\x15\x38", 10));
	CHECK(feed_bytewise(hs, "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38", 10) == 10);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	sk_proxy_hs_free(hs);

	/* An IPv6 literal target goes as an address, even through socks5h. */
	hs = hs_for("socks5h://127.0.0.1", "[2001:db8::1]", 80, NULL);
	CHECK(hs && sends(hs, "\x05\x01\x00", 3));
	CHECK(sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x00", 2) == 2);
	CHECK(sends(hs,
		    "\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		    "\x01\x00\x50",
		    22));
	CHECK(feed_bytewise(hs,
			    "\x05\x00\x00\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0\1"
			    "more",
			    26) == 22);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	sk_proxy_hs_free(hs);
}

/* Runs a SOCKS5 no-auth handshake to its CONNECT reply, then feeds reply. */
static struct sk_proxy_hs *s5_reply(const void *reply, size_t n)
{
	struct sk_proxy_hs *hs = hs_for("socks5h://127.0.0.1", "t.example", 80, NULL);
	const unsigned char *out;

	sk_proxy_hs_sent(hs, sk_proxy_hs_output(hs, &out));
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x00", 2);
	sk_proxy_hs_sent(hs, sk_proxy_hs_output(hs, &out));
	sk_proxy_hs_input(hs, reply, n);
	return hs;
}

static bool fails_with(struct sk_proxy_hs *hs, const char *text, int e)
{
	bool ok = hs && sk_proxy_hs_state(hs) == SK_PROXY_FAILED &&
		  strstr(sk_proxy_hs_error(hs), text) && sk_proxy_hs_errno(hs) == e;

	if (hs && !ok)
		fprintf(stderr, "state %d, error '%s' (errno %d), wanted '%s' (%d)\n",
			sk_proxy_hs_state(hs), sk_proxy_hs_error(hs), sk_proxy_hs_errno(hs), text,
			e);
	sk_proxy_hs_free(hs);
	return ok;
}

static void test_socks5_failures(void)
{
	struct sk_proxy_hs *hs;

	CHECK(fails_with(s5_reply("\x05\x05\x00\x01", 4),
			 "SOCKS5: connection refused by the destination (reply 5)", ECONNREFUSED));
	CHECK(fails_with(s5_reply("\x05\x02\x00\x01", 4), "not allowed by the proxy's rules",
			 EACCES));
	CHECK(fails_with(s5_reply("\x05\x04\x00\x01", 4), "host unreachable (reply 4)",
			 EHOSTUNREACH));
	CHECK(fails_with(s5_reply("\x05\x03\x00\x01", 4), "network unreachable", ENETUNREACH));
	CHECK(fails_with(s5_reply("\x05\x06\x00\x01", 4), "TTL expired", ETIMEDOUT));
	CHECK(fails_with(s5_reply("\x05\x09\x00\x01", 4), "unknown reply (reply 9)", EPROTO));
	CHECK(fails_with(s5_reply("\x04\x00\x00\x01", 4), "version 4, not 5", EPROTO));
	CHECK(fails_with(s5_reply("\x05\x00\x01\x01", 4), "reserved byte", EPROTO));
	CHECK(fails_with(s5_reply("\x05\x00\x00\x07", 4), "unknown address type 7", EPROTO));
	/* Truncated: the proxy closes inside the reply. */
	hs = s5_reply("\x05\x00\x00\x01\x7f", 5);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_RECV);
	sk_proxy_hs_eof(hs, 0);
	CHECK(fails_with(hs, "closed the connection before the end of the CONNECT reply (5 of 10",
			 ECONNRESET));

	/* The method choice. */
	hs = hs_for("socks5h://127.0.0.1", "t", 1, NULL);
	sk_proxy_hs_sent(hs, 3);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\xff", 2);
	CHECK(fails_with(hs, "no acceptable authentication method", EACCES));
	hs = hs_for("socks5h://127.0.0.1", "t", 1, NULL);
	sk_proxy_hs_sent(hs, 3);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x02", 2);
	CHECK(fails_with(hs, "chose method 2, which was not offered", EPROTO));
	hs = hs_for("socks5h://127.0.0.1", "t", 1, NULL);
	sk_proxy_hs_sent(hs, 3);
	sk_proxy_hs_input(hs, (const unsigned char *)"HT", 2);
	CHECK(fails_with(hs, "version 72", EPROTO));
	/* RFC 1929's verdict. */
	hs = hs_for("socks5h://u:p@127.0.0.1", "t", 1, NULL);
	sk_proxy_hs_sent(hs, 4);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x02", 2);
	sk_proxy_hs_sent(hs, 100);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x01\x01", 2);
	CHECK(fails_with(hs, "username/password rejected (status 1)", EACCES));
	/* Some servers answer RFC 1929 with version 5: taken, as curl takes it. */
	hs = hs_for("socks5h://u:p@127.0.0.1", "t", 1, NULL);
	sk_proxy_hs_sent(hs, 4);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x02", 2);
	sk_proxy_hs_sent(hs, 100);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x00", 2);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_SEND);
	sk_proxy_hs_sent(hs, 100);
	sk_proxy_hs_timeout(hs);
	CHECK(fails_with(hs, "SOCKS5: timed out waiting for the CONNECT reply", ETIMEDOUT));
}

static void test_socks4(void)
{
	struct sk_proxy_hs *hs = hs_for("socks4://bob@127.0.0.1", "db", 5432, "10.1.2.3");
	char err[SK_ERRLEN];
	struct sk_proxy px;
	struct sk_proxy_dest d = {.host = "::1", .port = 1};

	CHECK(hs && sends(hs,
			  "\x04\x01\x15\x38\x0a\x01\x02\x03"
			  "bob",
			  12));
	CHECK(sk_proxy_hs_input(hs, (const unsigned char *)"\x00\x5a\0\0\0\0\0\0data", 12) == 8);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	sk_proxy_hs_free(hs);

	/* SOCKS4a: 0.0.0.1, an empty user ID, the name. */
	hs = hs_for("socks4a://127.0.0.1", "name.example", 80, NULL);
	CHECK(hs && sends(hs, "\x04\x01\x00\x50\x00\x00\x00\x01\x00name.example", 22));
	sk_proxy_hs_input(hs, (const unsigned char *)"\x00\x5b\0\0\0\0\0\0", 8);
	CHECK(fails_with(hs, "SOCKS4a: request rejected or failed (reply 91)", ECONNREFUSED));
	hs = hs_for("socks4a://127.0.0.1", "n", 80, NULL);
	sk_proxy_hs_sent(hs, 100);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x04\x5a\0\0\0\0\0\0", 8);
	CHECK(fails_with(hs, "version 4, not 0", EPROTO));
	hs = hs_for("socks4a://127.0.0.1", "n", 80, NULL);
	sk_proxy_hs_sent(hs, 100);
	sk_proxy_hs_input(hs, (const unsigned char *)"\x00\x20\0\0\0\0\0\0", 8);
	CHECK(fails_with(hs, "unknown reply code 32", EPROTO));

	/* What SOCKS4 cannot say. */
	px = url("socks4://127.0.0.1");
	CHECK(!sk_proxy_hs_new(&px, &d, err) && errno == EINVAL && strstr(err, "no IPv6 targets"));
	d.host = "name.only";
	CHECK(!sk_proxy_hs_new(&px, &d, err) && strstr(err, "no address"));
}

static void test_http(void)
{
	struct sk_proxy_hs *hs =
	    hs_for("http://Aladdin:open%20sesame@127.0.0.1", "h.example", 8443, NULL);
	static const char req[] = "CONNECT h.example:8443 HTTP/1.1\r\n"
				  "Host: h.example:8443\r\n"
				  "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
				  "User-Agent: sockctl/";
	static const char ok[] = "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\nTUNNEL";
	const unsigned char *out;
	size_t len;
	bool partial;

	len = sk_proxy_hs_output(hs, &out);
	CHECK(len > sizeof(req) && !memcmp(out, req, sizeof(req) - 1) &&
	      !memcmp(out + len - 4, "\r\n\r\n", 4));
	sk_proxy_hs_sent(hs, len);
	CHECK(sk_proxy_hs_want(hs, &partial) == SK_PROXY_HEAD_MAX && partial);
	CHECK(sk_proxy_hs_input(hs, (const unsigned char *)ok, sizeof(ok) - 1) ==
	      sizeof(ok) - 1 - 6);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	sk_proxy_hs_free(hs);

	/* IPv6 target in brackets; interim 1xx heads are skipped. */
	hs = hs_for("http://127.0.0.1:3128", "[::1]", 22, NULL);
	len = sk_proxy_hs_output(hs, &out);
	CHECK(len > 30 && !memcmp(out, "CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n", 42));
	sk_proxy_hs_sent(hs, len);
	CHECK(feed_bytewise(hs, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200\r\n\r\n", 41) == 41);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	sk_proxy_hs_free(hs);
}

static struct sk_proxy_hs *http_reply(const char *head)
{
	struct sk_proxy_hs *hs = hs_for("http://127.0.0.1", "t.example", 80, NULL);
	const unsigned char *out;

	sk_proxy_hs_sent(hs, sk_proxy_hs_output(hs, &out));
	sk_proxy_hs_input(hs, (const unsigned char *)head, strlen(head));
	return hs;
}

static void test_http_failures(void)
{
	struct sk_proxy_hs *hs;
	unsigned char *big;
	size_t i;

	CHECK(fails_with(http_reply("HTTP/1.1 407 Proxy Authentication Required\r\n"
				    "Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n"),
			 "HTTP CONNECT: 407 Proxy Authentication Required", EACCES));
	CHECK(
	    fails_with(http_reply("HTTP/1.1 403\r\n\r\n"), "HTTP CONNECT: 403 Forbidden", EACCES));
	CHECK(fails_with(http_reply("HTTP/1.0 502 Bad\x1b[2Jgateway\r\n\r\n"), "control byte",
			 EPROTO));
	CHECK(fails_with(http_reply("HTTP/1.0 500 Unable to connect\r\n\r\n"),
			 "500 Unable to connect", ECONNREFUSED));
	CHECK(fails_with(http_reply("HTTP/1.1 504 \r\n\r\n"), "504 Gateway Timeout", ETIMEDOUT));
	CHECK(fails_with(http_reply("HTTP/1.1 301 Moved\r\n\r\n"), "301 Moved", EPROTO));
	CHECK(fails_with(http_reply("SSH-2.0-OpenSSH\r\n\r\n"), "status line", EPROTO));
	CHECK(fails_with(http_reply("HTTP/2 200\r\n\r\n"), "status line", EPROTO));
	CHECK(fails_with(http_reply("HTTP/1.1 20 OK\r\n\r\n"), "status line", EPROTO));
	CHECK(fails_with(http_reply("HTTP/1.1 200 OK\n\r\n\r\n"), "bare LF", EPROTO));
	CHECK(fails_with(http_reply("HTTP/1.0 200 OK\n\n"), "bare LF", EPROTO));
	CHECK(fails_with(http_reply("HTTP/1.1 200 OK\r\nVia x\r\n\r\n"), "header line 1", EPROTO));
	CHECK(
	    fails_with(http_reply("HTTP/1.1 200 OK\r\n folded\r\n\r\n"), "header line 1", EPROTO));
	CHECK(fails_with(http_reply("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n"), "bare CR", EPROTO));
	/* Endless heads: 16 KiB and no more. */
	big = malloc(SK_PROXY_HEAD_MAX + 100);
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	for (i = 17; i < SK_PROXY_HEAD_MAX + 100; i++)
		big[i] = i % 64 == 63 ? '\n' : 'a';
	hs = hs_for("http://127.0.0.1", "t", 80, NULL);
	sk_proxy_hs_sent(hs, 1000);
	CHECK(sk_proxy_hs_input(hs, big, SK_PROXY_HEAD_MAX + 100) == SK_PROXY_HEAD_MAX);
	CHECK(fails_with(hs, "answer head longer than 16384 bytes", EPROTO));
	free(big);
	hs = http_reply("HTTP/1.1 100 Continue\r\n\r\n");
	for (i = 0; i < 8; i++)
		sk_proxy_hs_input(hs, (const unsigned char *)"HTTP/1.1 100 Continue\r\n\r\n", 25);
	CHECK(fails_with(hs, "interim", EPROTO));
	hs = http_reply("HTTP/1.1 200 OK\r\n");
	sk_proxy_hs_eof(hs, 0);
	CHECK(
	    fails_with(hs, "closed the connection before the end of the answer head", ECONNRESET));
}

/* Over a socketpair: the tunnel's first bytes, sent with the answer, stay for the relay. */
static void test_socket(void)
{
	struct sk_proxy_hs *hs = hs_for("http://127.0.0.1", "t.example", 80, NULL);
	char buf[512], err[SK_ERRLEN];
	int sv[2];
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(sk_proxy_step(hs, sv[0], err) == SK_PROXY_STEP_READ);
	n = read(sv[1], buf, sizeof(buf));
	CHECK(n > 0 && !memcmp(buf, "CONNECT t.example:80 HTTP/1.1\r\n", 31));
	CHECK(write(sv[1], "HTTP/1.1 200 OK\r\n", 17) == 17);
	CHECK(sk_proxy_step(hs, sv[0], err) == SK_PROXY_STEP_READ);
	CHECK(write(sv[1], "\r\nhello", 7) == 7);
	CHECK(sk_proxy_handshake_wait(hs, sv[0], 1000, -1, err) == 0);
	n = read(sv[0], buf, sizeof(buf));
	CHECK(n == 5 && !memcmp(buf, "hello", 5));
	sk_proxy_hs_free(hs);

	/* A proxy that says nothing: the deadline, named. */
	hs = hs_for("socks5h://127.0.0.1", "t", 80, NULL);
	CHECK(sk_proxy_handshake_wait(hs, sv[0], 50, -1, err) < 0 && errno == ETIMEDOUT &&
	      strstr(err, "SOCKS5: timed out waiting for the method choice"));
	sk_proxy_hs_free(hs);
	/* A proxy that closes. */
	hs = hs_for("socks5h://127.0.0.1", "t", 80, NULL);
	CHECK(read(sv[1], buf, sizeof(buf)) == 3);
	close(sv[1]);
	CHECK(sk_proxy_handshake_wait(hs, sv[0], 1000, -1, err) < 0 && errno == ECONNRESET &&
	      strstr(err, "closed the connection"));
	sk_proxy_hs_free(hs);
	close(sv[0]);
}

/* -v's lines name each step and never the credentials. */
static char said[4096];

static void collect(void *ctx, const char *line)
{
	(void)ctx;
	strncat(said, line, sizeof(said) - strlen(said) - 2);
	strcat(said, "\n");
}

static void test_log(void)
{
	struct sk_proxy_hs *hs = hs_for("socks5h://alice:s3cret@127.0.0.1", "t.example", 80, NULL);
	const unsigned char *out;

	sk_proxy_hs_set_log(hs, collect, NULL);
	sk_proxy_hs_sent(hs, sk_proxy_hs_output(hs, &out));
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x02", 2);
	sk_proxy_hs_sent(hs, sk_proxy_hs_output(hs, &out));
	sk_proxy_hs_input(hs, (const unsigned char *)"\x01\x00", 2);
	sk_proxy_hs_sent(hs, sk_proxy_hs_output(hs, &out));
	sk_proxy_hs_input(hs, (const unsigned char *)"\x05\x00\x00\x01\1\2\3\4\0\1", 10);
	CHECK(sk_proxy_hs_state(hs) == SK_PROXY_DONE);
	CHECK(strstr(said, "SOCKS5: offering no authentication and username/password\n"));
	CHECK(strstr(said, "SOCKS5: the proxy chose username/password\n"));
	CHECK(strstr(said, "SOCKS5: username/password accepted\n"));
	CHECK(strstr(said, "SOCKS5: CONNECT t.example:80 (the proxy resolves the name)\n"));
	CHECK(strstr(said, "SOCKS5: granted (the proxy's side of it: 1.2.3.4:1)\n"));
	CHECK(!strstr(said, "alice") && !strstr(said, "s3cret"));
	sk_proxy_hs_free(hs);
}

int main(void)
{
	test_urls();
	test_auth_rules();
	test_socks5();
	test_socks5_failures();
	test_socks4();
	test_http();
	test_http_failures();
	test_socket();
	test_log();
	return check_summary("proxy");
}
