/*
 * The TLS module on its own: option parsers, contexts, and sessions over
 * a socketpair (handshake, pins, data both ways, close_notify and a TCP
 * close without it). Built without TLS, only the parsers are checked.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "tls.h"

static void test_parsers(void)
{
	unsigned char pin[32];
	char err[SK_ERRLEN];
	char colons[3 * 32];
	int i;

	CHECK(sk_tls_parse_min("1.2") == 12);
	CHECK(sk_tls_parse_min("1.3") == 13);
	CHECK(sk_tls_parse_min("1.1") == -1);
	CHECK(sk_tls_parse_min("") == -1);
	CHECK(sk_tls_parse_pin(
		  "sha256:00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", pin,
		  err) == 0);
	CHECK(pin[0] == 0x00 && pin[1] == 0x11 && pin[31] == 0xff);
	for (i = 0; i < 32; i++)
		snprintf(colons + 3 * i, 4, "%02X%s", i, i < 31 ? ":" : "");
	CHECK(sk_tls_parse_pin(colons, pin, err) == 0 && pin[5] == 5 && pin[31] == 31);
	CHECK(sk_tls_parse_pin("sha256:0011", pin, err) < 0 && strstr(err, "--tls-pin"));
	CHECK(sk_tls_parse_pin(
		  "SHA256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0", pin,
		  err) < 0);
	CHECK(sk_tls_parse_pin("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			       pin, err) < 0); /* hex without its prefix */
	colons[5] = '-';
	CHECK(sk_tls_parse_pin(colons, pin, err) < 0);
	CHECK(sk_tls_parse_pin(
		  "sha256:zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", pin,
		  err) < 0);
}

#ifdef SK_TLS
struct pair {
	struct sk_tls_ctx *sctx, *cctx;
	struct sk_tls *s, *c;
	int fd[2];
};

/* Both handshakes, stepped in turn, at most a few hundred steps. Returns 0 or -1. */
static int handshake(struct pair *p, char *err)
{
	enum sk_tls_step a = SK_TLS_WANT_READ, b = SK_TLS_WANT_READ;
	int i;

	for (i = 0; i < 400 && (a != SK_TLS_DONE || b != SK_TLS_DONE); i++) {
		if (a != SK_TLS_DONE)
			a = sk_tls_handshake(p->c, err);
		if (a == SK_TLS_FAILED)
			return -1;
		if (b != SK_TLS_DONE)
			b = sk_tls_handshake(p->s, err);
		if (b == SK_TLS_FAILED || b == SK_TLS_PLAINTEXT)
			return -1;
		poll(NULL, 0, 1);
	}
	return a == SK_TLS_DONE && b == SK_TLS_DONE ? 0 : -1;
}

/* A server with a made-up certificate and a client; pin "server": the server's own. */
static int pair_open(struct pair *p, const char *pin, const char *name, char *err)
{
	struct sk_tls_config sc = {.role = SK_TLS_SERVER, .min_version = 12};
	struct sk_tls_config cc = {.role = SK_TLS_CLIENT, .min_version = 12, .pin = pin};

	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd) < 0)
		return -1;
	p->sctx = sk_tls_ctx_new(&sc, err);
	if (p->sctx && pin && strcmp(pin, "server") == 0)
		cc.pin = sk_tls_ctx_fingerprint(p->sctx);
	p->cctx = sk_tls_ctx_new(&cc, err);
	if (!p->sctx || !p->cctx)
		return -1;
	p->s = sk_tls_new(p->sctx, p->fd[0], NULL, NULL, err);
	p->c = sk_tls_new(p->cctx, p->fd[1], name, name, err);
	return p->s && p->c ? 0 : -1;
}

static void pair_close(struct pair *p)
{
	sk_tls_free(p->s);
	sk_tls_free(p->c);
	sk_tls_ctx_free(p->sctx);
	sk_tls_ctx_free(p->cctx);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* Reads from t until n bytes, EOF or an error; returns the count or -1 with errno. */
static ssize_t read_some(struct sk_tls *t, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int i;

	for (i = 0; i < 400 && got < n; i++) {
		r = sk_tls_read(t, buf + got, n - got);
		if (r == 0)
			break;
		if (r < 0 && errno != EAGAIN)
			return got ? (ssize_t)got : -1;
		if (r > 0)
			got += (size_t)r;
		else
			poll(NULL, 0, 1);
	}
	return (ssize_t)got;
}

static void test_sessions(void)
{
	struct sk_tls_config bad = {.role = SK_TLS_SERVER, .cert_file = "/nonexistent.pem"};
	struct sk_tls_config alpn = {.role = SK_TLS_CLIENT, .alpn = "h2,,x"};
	char err[SK_ERRLEN], fp[SK_TLS_FP_LEN], buf[64], line[512];
	struct pair p;
	ssize_t n;

	CHECK(sk_tls_ctx_new(&bad, err) == NULL && errno == EINVAL &&
	      strstr(err, "cannot read --tls-cert"));
	CHECK(sk_tls_ctx_new(&alpn, err) == NULL && errno == EINVAL && strstr(err, "--alpn"));

	/* The made-up certificate is pinned by its printed fingerprint. */
	CHECK(pair_open(&p, NULL, "localhost", err) == 0);
	snprintf(fp, sizeof(fp), "%s", sk_tls_ctx_fingerprint(p.sctx));
	CHECK(strncmp(fp, "sha256:", 7) == 0 && strlen(fp) == 71);
	pair_close(&p);

	/* Unpinned, the self-signed certificate fails verification by name. */
	CHECK(pair_open(&p, NULL, "localhost", err) == 0);
	CHECK(handshake(&p, err) < 0 && strstr(err, "certificate verify failed for localhost"));
	pair_close(&p);

	/* A pin of other bytes fails; the right pin passes, and data moves. */
	CHECK(pair_open(&p,
			"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			"localhost", err) == 0);
	CHECK(handshake(&p, err) < 0 && strstr(err, "not the pinned one"));
	pair_close(&p);
	CHECK(pair_open(&p, "server", "localhost", err) == 0);
	CHECK(handshake(&p, err) == 0);
	sk_tls_describe(p.c, line, sizeof(line));
	CHECK(strstr(line, "TLSv1.3") && strstr(line, "sha256:"));
	CHECK(sk_tls_write(p.c, "hello", 5) == 5);
	CHECK(read_some(p.s, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
	/* close_notify then FIN: the reader sees a clean EOF; it can still answer. */
	CHECK(sk_tls_shutdown_write(p.c) == 0);
	CHECK(read_some(p.s, buf, sizeof(buf)) == 0);
	CHECK(sk_tls_write(p.s, "late", 4) == 4);
	CHECK(read_some(p.c, buf, 4) == 4 && memcmp(buf, "late", 4) == 0);
	/* The server's TCP close without close_notify is a truncation, not an EOF. */
	shutdown(p.fd[0], SHUT_WR);
	n = read_some(p.c, buf, sizeof(buf));
	CHECK(n < 0 && errno == ECONNABORTED &&
	      strstr(sk_tls_strerror(p.c, errno), "without close_notify"));
	pair_close(&p);

	/* A plain-text client is told apart before any TLS. */
	CHECK(pair_open(&p, NULL, NULL, err) == 0);
	CHECK(write(p.fd[1], "GET / HTTP/1.1\r\n\r\n", 18) == 18);
	CHECK(sk_tls_handshake(p.s, err) == SK_TLS_PLAINTEXT);
	pair_close(&p);
}
#endif

int main(void)
{
	test_parsers();
#ifdef SK_TLS
	CHECK(sk_tls_built_in());
	test_sessions();
#else
	CHECK(!sk_tls_built_in());
#endif
	return check_summary("tls");
}
