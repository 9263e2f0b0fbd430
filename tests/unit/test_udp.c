/*
 * Unit tests of lib/udp/udp_send.c and lib/udp/udp_recv.c: cutting input
 * into datagrams, the oversize message, and both engines end to end over
 * loopback sockets, with pipes standing in for stdin and stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sigfd.h"
#include "udp.h"
#include "udp_recv.h"
#include "udp_send.h"

static enum sk_udp_cut_result cut(const char *s, size_t size, size_t max, bool eof, size_t *len)
{
	return sk_udp_cut((const unsigned char *)s, strlen(s), size, max, eof, len);
}

static void cut_cases(void)
{
	size_t len;

	CHECK(cut("a\nbb\n", 0, 100, false, &len) == SK_UDP_CUT_DATAGRAM && len == 2);
	CHECK(cut("\n", 0, 100, false, &len) == SK_UDP_CUT_DATAGRAM && len == 1);
	CHECK(cut("ccc", 0, 100, false, &len) == SK_UDP_CUT_MORE);
	CHECK(cut("ccc", 0, 100, true, &len) == SK_UDP_CUT_DATAGRAM && len == 3);
	CHECK(cut("", 0, 100, true, &len) == SK_UDP_CUT_MORE && len == 0);
	CHECK(cut("", 4, 100, true, &len) == SK_UDP_CUT_MORE);
	/* a line over max, whole or still without its newline */
	CHECK(cut("abcdef\nx", 0, 4, false, &len) == SK_UDP_CUT_TOO_BIG && errno == EMSGSIZE &&
	      len == 7);
	CHECK(cut("abcde", 0, 4, false, &len) == SK_UDP_CUT_TOO_BIG && errno == EMSGSIZE &&
	      len == 5);
	CHECK(cut("abcd", 0, 4, false, &len) == SK_UDP_CUT_MORE);
	CHECK(cut("abc\n", 0, 4, false, &len) == SK_UDP_CUT_DATAGRAM && len == 4);
	CHECK(cut("abcde", 0, 4, true, &len) == SK_UDP_CUT_TOO_BIG && len == 5);
	/* --size: newlines are bytes like any other; the tail waits for EOF */
	CHECK(cut("ab\ncdefg", 4, 100, false, &len) == SK_UDP_CUT_DATAGRAM && len == 4);
	CHECK(cut("ab\n", 4, 100, false, &len) == SK_UDP_CUT_MORE);
	CHECK(cut("ab\n", 4, 100, true, &len) == SK_UDP_CUT_DATAGRAM && len == 3);
	CHECK(cut("abcdefgh", 8, 4, false, &len) == SK_UDP_CUT_TOO_BIG && len == 8);
}

static void oversize_cases(void)
{
	char err[SK_ERRLEN];

	errno = 0;
	sk_udp_oversize_err(err, "a line", 70000, true, 65507);
	CHECK(errno == EMSGSIZE);
	CHECK(strcmp(err, "a line of more than 70000 bytes is over the UDP maximum of 65507 "
			  "bytes for IPv4") == 0);
	sk_udp_oversize_err(err, "MESSAGE", 65528, false, 65527);
	CHECK(strcmp(err, "MESSAGE of 65528 bytes is over the UDP maximum of 65527 bytes for "
			  "IPv6") == 0);
}

/* A UDP socket bound to 127.0.0.1:0, connected to peer when not NULL. */
static int udp_socket(const struct sockaddr_in *peer, struct sockaddr_in *self)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(*self);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)self, &len) < 0 ||
	    (peer && connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0)) {
		perror("test_udp: socket");
		exit(EXIT_FAILURE);
	}
	return fd;
}

/* A pipe holding s, its write end closed: stdin at EOF after s. */
static int input(const char *s, size_t n)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], s, n) != (ssize_t)n) {
		perror("test_udp: pipe");
		exit(EXIT_FAILURE);
	}
	close(p[1]);
	return p[0];
}

/* Reads the next datagram waiting on fd into buf (NUL-terminated). Returns its length. */
static ssize_t next(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void count_reply(void *ctx, size_t len)
{
	*(size_t *)ctx += len;
}

/* Input cut into lines and into --size datagrams, and a line over max. */
static void send_input_cases(int rx, int tx)
{
	struct sk_udp_send_stats st;
	struct sk_udp_send_opts o = {.fd = tx, .in = input("a\nbb\nccc", 8), .out = -1};
	char err[SK_ERRLEN], buf[128];

	CHECK(sk_udp_send(&o, &st, err) == SK_UDP_SEND_DONE);
	CHECK(st.datagrams == 3 && st.bytes == 8 && st.replies == 0);
	CHECK(next(rx, buf, sizeof(buf)) == 2 && strcmp(buf, "a\n") == 0);
	CHECK(next(rx, buf, sizeof(buf)) == 3 && strcmp(buf, "bb\n") == 0);
	CHECK(next(rx, buf, sizeof(buf)) == 3 && strcmp(buf, "ccc") == 0);
	CHECK(next(rx, buf, sizeof(buf)) < 0);
	close(o.in);

	o.in = input("abcdefghij", 10);
	o.size = 4;
	CHECK(sk_udp_send(&o, &st, err) == SK_UDP_SEND_DONE && st.datagrams == 3);
	CHECK(next(rx, buf, sizeof(buf)) == 4 && strcmp(buf, "abcd") == 0);
	CHECK(next(rx, buf, sizeof(buf)) == 4 && strcmp(buf, "efgh") == 0);
	CHECK(next(rx, buf, sizeof(buf)) == 2 && strcmp(buf, "ij") == 0);
	close(o.in);

	/* a line over max: nothing of it is sent */
	o = (struct sk_udp_send_opts){.fd = tx, .in = input("ok\ntoo long\n", 12), .out = -1};
	o.max = 4;
	CHECK(sk_udp_send(&o, &st, err) == SK_UDP_SEND_OVERSIZE && errno == EMSGSIZE);
	CHECK(strstr(err, "a line of ") && strstr(err, "9 bytes is over the UDP maximum of 4"));
	CHECK(st.datagrams == 0);
	CHECK(next(rx, buf, sizeof(buf)) < 0);
	close(o.in);
}

/* MESSAGE and replies, then a closed port; closes rx. */
static void send_message_cases(int rx, int tx, const struct sockaddr_in *tx_addr)
{
	struct sk_udp_send_stats st;
	struct sk_udp_send_opts o;
	char err[SK_ERRLEN], buf[128];
	size_t replied = 0;
	int out[2];

	/* MESSAGE: one datagram, newline and all; replies queued for tx go to out */
	CHECK(pipe2(out, O_CLOEXEC) == 0);
	sendto(rx, "re:1", 4, 0, (const struct sockaddr *)tx_addr, sizeof(*tx_addr));
	sendto(rx, "re:22", 5, 0, (const struct sockaddr *)tx_addr, sizeof(*tx_addr));
	o = (struct sk_udp_send_opts){
	    .fd = tx,
	    .in = -1,
	    .out = out[1],
	    .message = "two\nlines",
	    .message_len = 9,
	    .wait_ms = 50,
	    .on_reply = count_reply,
	    .ctx = &replied,
	};
	CHECK(sk_udp_send(&o, &st, err) == SK_UDP_SEND_DONE);
	CHECK(st.datagrams == 1 && st.bytes == 9 && st.replies == 2 && replied == 9);
	CHECK(next(rx, buf, sizeof(buf)) == 9 && strcmp(buf, "two\nlines") == 0);
	CHECK(read(out[0], buf, sizeof(buf)) == 9 && memcmp(buf, "re:1re:22", 9) == 0);
	o.max = 8;
	CHECK(sk_udp_send(&o, &st, err) == SK_UDP_SEND_OVERSIZE);
	CHECK(strcmp(err, "a message of 9 bytes is over the UDP maximum of 8 bytes for IPv4") == 0);
	close(out[0]);
	close(out[1]);

	/* a closed port: the ICMP error comes back while waiting */
	close(rx);
	o = (struct sk_udp_send_opts){
	    .fd = tx, .in = -1, .out = -1, .message = "x", .message_len = 1, .wait_ms = 2000};
	CHECK(sk_udp_send(&o, &st, err) == SK_UDP_SEND_UNREACHABLE && errno == ECONNREFUSED);
	CHECK(strcmp(err, "port unreachable (Connection refused)") == 0);
}

static void send_cases(void)
{
	struct sockaddr_in rx_addr, tx_addr;
	int rx = udp_socket(NULL, &rx_addr), tx = udp_socket(&rx_addr, &tx_addr);

	send_input_cases(rx, tx);
	send_message_cases(rx, tx, &tx_addr);
	close(tx);
}

struct seen {
	size_t datagrams, answers, errors;
	int last_code;
	char from[64], msg[SK_ERRLEN];
};

static void on_datagram(void *ctx, const char *from, size_t len)
{
	struct seen *s = ctx;

	(void)len;
	s->datagrams++;
	snprintf(s->from, sizeof(s->from), "%s", from);
}

static void on_answer(void *ctx, const char *from, int code)
{
	struct seen *s = ctx;

	(void)from;
	s->answers++;
	s->last_code = code;
}

static void on_error(void *ctx, const char *msg)
{
	struct seen *s = ctx;

	s->errors++;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

/* Sends each of the n datagrams d[i] (lengths l[i]) from tx to rx. */
static void queue(int tx, const char *const *d, const size_t *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		CHECK(send(tx, d[i], l[i], 0) == (ssize_t)l[i]);
}

static struct sk_udp_recv_opts recv_opts(int rx, int out, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return (struct sk_udp_recv_opts){
	    .fd = rx,
	    .out = out,
	    .idle_ms = -1,
	    .stop_fd = -1,
	    .on_datagram = on_datagram,
	    .on_answer = on_answer,
	    .on_error = on_error,
	    .ctx = s,
	};
}

static void recv_write_cases(int rx, int tx, const char *txname)
{
	static const char *const d[] = {"hello", "\xff\xfe", "", "tab\t\"q\""};
	static const size_t l[] = {5, 2, 0, 7};
	struct sk_udp_recv_opts o;
	struct seen s;
	char err[SK_ERRLEN], buf[512], want[512];
	uint64_t got;
	int out[2];
	ssize_t n;

	CHECK(pipe2(out, O_CLOEXEC) == 0);
	queue(tx, d, l, 4);
	o = recv_opts(rx, out[1], &s);
	o.count = 4;
	CHECK(sk_udp_recv(&o, &got, err) == SK_UDP_RECV_DONE && got == 4 && s.datagrams == 4);
	CHECK(strcmp(s.from, txname) == 0);
	CHECK(read(out[0], buf, sizeof(buf)) == 14 &&
	      memcmp(buf, "hello\xff\xfetab\t\"q\"", 14) == 0);

	queue(tx, d, l, 4);
	o.json = true;
	CHECK(sk_udp_recv(&o, &got, err) == SK_UDP_RECV_DONE && got == 4);
	snprintf(want, sizeof(want),
		 "{\"from\":\"%s\",\"size\":5,\"data\":\"hello\"}\n"
		 "{\"from\":\"%s\",\"size\":2,\"data_base64\":\"//4=\"}\n"
		 "{\"from\":\"%s\",\"size\":0,\"data\":\"\"}\n"
		 "{\"from\":\"%s\",\"size\":7,\"data\":\"tab\\t\\\"q\\\"\"}\n",
		 txname, txname, txname, txname);
	n = read(out[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strcmp(buf, want) == 0);

	/* stdout's reader has gone: a quiet end */
	close(out[0]);
	queue(tx, d, l, 1);
	o.json = false;
	o.count = 0;
	CHECK(sk_udp_recv(&o, &got, err) == SK_UDP_RECV_OUT_CLOSED && got == 1);
	close(out[1]);

	o = recv_opts(rx, -1, &s);
	o.idle_ms = 30;
	CHECK(sk_udp_recv(&o, &got, err) == SK_UDP_RECV_TIMEOUT && got == 0);
}

static void recv_answer_cases(int rx, int tx, const char *txname)
{
	static const char *const d[] = {"ping", "hello"};
	static const size_t l[] = {4, 5};
	struct sk_udp_recv_opts o;
	struct seen s;
	char err[SK_ERRLEN], buf[128], want[SK_ERRLEN];

	queue(tx, d, l, 2);
	o = recv_opts(rx, -1, &s);
	o.count = 2;
	o.echo = true;
	CHECK(sk_udp_recv(&o, NULL, err) == SK_UDP_RECV_DONE);
	CHECK(next(tx, buf, sizeof(buf)) == 4 && strcmp(buf, "ping") == 0);
	CHECK(next(tx, buf, sizeof(buf)) == 5 && strcmp(buf, "hello") == 0);

	queue(tx, d + 1, l + 1, 1);
	o = recv_opts(rx, -1, &s);
	o.count = 1;
	o.exec = "tr a-z A-Z";
	CHECK(sk_udp_recv(&o, NULL, err) == SK_UDP_RECV_DONE);
	CHECK(s.answers == 1 && s.last_code == 0 && s.errors == 0);
	CHECK(next(tx, buf, sizeof(buf)) == 5 && strcmp(buf, "HELLO") == 0);

	/* a failing command still answers; nothing on its stdout sends nothing */
	queue(tx, d, l, 1);
	o.exec = "exit 3";
	CHECK(sk_udp_recv(&o, NULL, err) == SK_UDP_RECV_DONE);
	CHECK(s.answers == 2 && s.last_code == 3 && s.errors == 0);
	CHECK(next(tx, buf, sizeof(buf)) < 0);

	/* a reply over max is not sent, and said so */
	queue(tx, d, l, 1);
	o.exec = "echo far too long";
	o.max = 8;
	CHECK(sk_udp_recv(&o, NULL, err) == SK_UDP_RECV_DONE);
	snprintf(want, sizeof(want), "reply to %s is over the UDP maximum of 8 bytes; not sent",
		 txname);
	CHECK(s.errors == 1 && strcmp(s.msg, want) == 0);
	CHECK(next(tx, buf, sizeof(buf)) < 0);
}

/* SIGTERM waiting on the stop signalfd ends the loop. */
static void recv_stop_case(int rx)
{
	struct sk_udp_recv_opts o;
	struct seen s;
	char err[SK_ERRLEN];
	int sigfd = sk_stop_signals();

	CHECK(sigfd >= 0);
	o = recv_opts(rx, -1, &s);
	o.stop_fd = sigfd;
	raise(SIGTERM);
	CHECK(sk_udp_recv(&o, NULL, err) == SK_UDP_RECV_STOPPED);
	close(sigfd);
}

static void recv_cases(void)
{
	struct sockaddr_in rx_addr, tx_addr;
	int rx = udp_socket(NULL, &rx_addr), tx = udp_socket(&rx_addr, &tx_addr);
	char txname[64];

	snprintf(txname, sizeof(txname), "127.0.0.1:%u", ntohs(tx_addr.sin_port));
	recv_write_cases(rx, tx, txname);
	recv_answer_cases(rx, tx, txname);
	recv_stop_case(rx);
	close(rx);
	close(tx);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	cut_cases();
	oversize_cases();
	send_cases();
	recv_cases();
	return check_summary("udp");
}
