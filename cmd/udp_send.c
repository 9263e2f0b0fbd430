/* sockctl udp-send: send datagrams, print the replies. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "cmd.h"
#include "io.h"
#include "net.h"
#include "parse.h"
#include "udp.h"

static const char usage[] =
    "usage: sockctl udp-send [OPTIONS] HOST PORT [MESSAGE]\n"
    "\n"
    "Send MESSAGE as one datagram, or else each line of stdin (newline\n"
    "included) as one datagram. Replies that arrive are written to stdout.\n"
    "\n"
    "Options:\n"
    "  -4, --ipv4             IPv4 only\n"
    "  -6, --ipv6             IPv6 only\n"
    "  -n, --numeric          no DNS: HOST must be a numeric address\n"
    "  -s, --source ADDR      send from this local address\n"
    "  -v, --verbose          report the destination, replies and totals\n"
    "  -w, --wait SECS        after the last datagram, wait up to SECS for replies\n"
    "                         (default: do not wait)\n"
    "  -b, --broadcast        allow sending to a broadcast address\n"
    "      --size N           cut stdin into datagrams of N bytes instead of lines\n"
    "  -h, --help             show this help\n"
    "\n"
    "A datagram over the UDP maximum (65507 bytes over IPv4, 65527 over IPv6)\n"
    "is an error, never truncated. A port unreachable reported by the peer's\n"
    "host (ICMP) while sending or waiting is an error.\n"
    "\n"
    "Exit status: 0 sent, 1 runtime failure, 2 usage error.\n";

static const struct option longopts[] = {
    {"ipv4", no_argument, NULL, '4'},	   {"ipv6", no_argument, NULL, '6'},
    {"numeric", no_argument, NULL, 'n'},   {"source", required_argument, NULL, 's'},
    {"verbose", no_argument, NULL, 'v'},   {"wait", required_argument, NULL, 'w'},
    {"broadcast", no_argument, NULL, 'b'}, {"size", required_argument, NULL, OPT_SIZE},
    {"help", no_argument, NULL, 'h'},	   {NULL, 0, NULL, 0},
};

static const char *const name = "udp-send";

#define INBUF (256 * 1024)

struct send_opts {
	struct net_opts net;
	bool broadcast;
	size_t size; /* 0: lines */
	const char *host, *message;
	unsigned port;
};

struct sender {
	const struct send_opts *o;
	int fd;
	char peer[SK_ADDRSTRLEN];
	size_t max;
	unsigned char *buf; /* input; buf[start, len) is not cut yet */
	size_t start, len;
	bool in_eof;
	struct iovec iov[SK_DGRAM_BATCH]; /* cut datagrams, iov[sent, niov) unsent */
	size_t niov, sent;
	unsigned long long datagrams, bytes;
	struct sk_dgram_batch replies;
};

static int parse_args(int argc, char **argv, struct send_opts *o)
{
	long long n;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46ns:vw:bh", longopts, NULL)) != -1) {
		if (c != 'w' && (rc = cmd_common_option(name, c, optarg, &o->net, NULL)) != 0) {
			if (rc != 1)
				return rc;
			continue;
		}
		switch (c) {
		case 'w':
			if (sk_parse_seconds(optarg, &o->net.timeout_ms) < 0)
				return cmd_usage(name, "bad --wait '%s': not a number of seconds",
						 optarg);
			break;
		case 'b': o->broadcast = true; break;
		case OPT_SIZE:
			if ((rc = cmd_count(name, "--size", optarg, 1, 65527, &n)))
				return rc;
			o->size = (size_t)n;
			break;
		case 'h': fputs(usage, stdout); return -1;
		default: return cmd_bad_option(name, c, argv);
		}
	}
	if ((rc = cmd_check_common(name, &o->net, NULL)))
		return rc;
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return cmd_usage(name, argc ? "missing PORT" : "missing HOST and PORT");
	if (argc > 3)
		return cmd_usage(name, "too many arguments: '%s'", argv[3]);
	o->host = argv[0];
	o->message = argc == 3 ? argv[2] : NULL;
	if (o->message && o->size)
		return cmd_usage(name, "--size cuts stdin; it does not apply to MESSAGE");
	if (cmd_port(name, argv[1], "udp", &o->port))
		return EXIT_USAGE;
	if (o->port == 0)
		return cmd_usage(name, "bad port '0': cannot send to port 0");
	return 0;
}

static int oversize(const struct sender *s, const char *what, size_t n)
{
	cmd_error(name, "%s of %s%zu bytes is over the UDP maximum of %zu bytes for %s", what,
		  s->in_eof ? "" : "more than ", n, s->max,
		  s->max == sk_udp_max_payload(AF_INET6) ? "IPv6" : "IPv4");
	return EXIT_FAIL;
}

/* Cuts the next datagrams out of the input. Returns 0 or EXIT_FAIL. */
static int cut(struct sender *s)
{
	size_t avail, dlen;
	unsigned char *nl;

	while (s->niov < SK_DGRAM_BATCH && (avail = s->len - s->start) > 0) {
		if (s->o->size) {
			if (avail < s->o->size && !s->in_eof)
				break;
			dlen = avail < s->o->size ? avail : s->o->size;
		} else {
			nl = memchr(s->buf + s->start, '\n', avail);
			if (!nl && !s->in_eof)
				return avail > s->max ? oversize(s, "a line", avail) : 0;
			dlen = nl ? (size_t)(nl - (s->buf + s->start)) + 1 : avail;
		}
		if (dlen > s->max)
			return oversize(s, s->o->size ? "a datagram" : "a line", dlen);
		s->iov[s->niov++] = (struct iovec){s->buf + s->start, dlen};
		s->start += dlen;
	}
	return 0;
}

static int unreachable(const struct sender *s)
{
	cmd_error(name, "%s: port unreachable (%s)", s->peer, strerror(ECONNREFUSED));
	return EXIT_FAIL;
}

/* Prints the replies waiting on the socket. Returns 0 or EXIT_FAIL. */
static int take_replies(struct sender *s)
{
	struct iovec out[SK_DGRAM_BATCH];
	size_t i, len;
	int n;

	while ((n = sk_dgram_recv(s->fd, &s->replies, SK_DGRAM_BATCH)) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			out[i].iov_base = (void *)sk_dgram_data(&s->replies, i, &len);
			out[i].iov_len = len;
			if (s->o->net.verbose)
				cmd_error(name, "%zu bytes from %s", len, s->peer);
		}
		if (sk_writev_all(STDOUT_FILENO, out, (size_t)n) < 0 && errno != EPIPE) {
			cmd_error(name, "write to stdout: %s", strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (n < 0 && errno == ECONNREFUSED)
		return unreachable(s);
	if (n < 0) {
		cmd_error(name, "%s: receive: %s", s->peer, strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

static int send_cut(struct sender *s)
{
	int n = sk_dgram_send(s->fd, s->iov + s->sent, s->niov - s->sent, NULL, NULL);
	size_t i;

	if (n < 0 && errno == ECONNREFUSED)
		return unreachable(s);
	if (n < 0 && errno == EMSGSIZE)
		return oversize(s, "a datagram", s->iov[s->sent].iov_len);
	if (n < 0) {
		cmd_error(name, "%s: send: %s", s->peer, strerror(errno));
		return EXIT_FAIL;
	}
	for (i = 0; i < (size_t)n; i++)
		s->bytes += s->iov[s->sent + i].iov_len;
	s->datagrams += (unsigned)n;
	s->sent += (size_t)n;
	return 0;
}

/* Reads more input when everything cut so far has gone. */
static int refill(struct sender *s)
{
	ssize_t n;

	memmove(s->buf, s->buf + s->start, s->len - s->start);
	s->len -= s->start;
	s->start = 0;
	n = read(STDIN_FILENO, s->buf + s->len, INBUF - s->len);
	if (n < 0 && errno != EINTR && errno != EAGAIN) {
		cmd_error(name, "read from stdin: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (n == 0)
		s->in_eof = true;
	if (n > 0)
		s->len += (size_t)n;
	return 0;
}

static int pump(struct sender *s)
{
	struct pollfd pfd[2];
	int rc;

	for (;;) {
		if (s->sent == s->niov) {
			s->sent = s->niov = 0;
			if ((rc = cut(s)))
				return rc;
			if (s->niov == 0 && s->in_eof)
				return 0;
		}
		pfd[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
		if (s->sent < s->niov)
			pfd[0].events |= POLLOUT;
		pfd[1] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		if (poll(pfd, s->sent < s->niov ? 1 : 2, -1) < 0 && errno != EINTR) {
			cmd_error(name, "poll: %s", strerror(errno));
			return EXIT_FAIL;
		}
		if ((pfd[0].revents & (POLLIN | POLLERR)) && (rc = take_replies(s)))
			return rc;
		if ((pfd[0].revents & POLLOUT) && (rc = send_cut(s)))
			return rc;
		if (s->sent == s->niov && s->niov == 0 && pfd[1].revents && (rc = refill(s)))
			return rc;
	}
}

static int wait_replies(struct sender *s)
{
	int64_t deadline = sk_deadline(s->o->net.timeout_ms);
	int rc;

	while (sk_ms_left(deadline) > 0) {
		if (sk_wait_fd(s->fd, POLLIN, sk_ms_left(deadline)) > 0 && (rc = take_replies(s)))
			return rc;
	}
	return 0;
}

static int open_socket(struct sender *s)
{
	const struct send_opts *o = s->o;
	struct sk_resolve_opts ro = {
	    .family = o->net.family, .socktype = SOCK_DGRAM, .numeric = o->net.numeric};
	struct addrinfo *targets, *src = NULL;
	char err[SK_ERRLEN];

	targets = sk_resolve(o->host, o->port, &ro, err);
	if (targets && o->net.source) {
		ro.passive = true;
		src = sk_resolve(o->net.source, 0, &ro, err);
	}
	if (targets && (src || !o->net.source))
		s->fd = sk_connect(targets, src, -1, o->broadcast ? SK_CONNECT_BROADCAST : 0,
				   s->peer, err);
	if (targets)
		freeaddrinfo(targets);
	if (src)
		freeaddrinfo(src);
	if (s->fd < 0) {
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	s->max = sk_udp_max_payload(sk_socket_family(s->fd));
	if (o->size > s->max) {
		cmd_error(name, "--size %zu is over the UDP maximum of %zu bytes", o->size, s->max);
		return EXIT_FAIL;
	}
	if (o->net.verbose)
		cmd_error(name, "sending to %s", s->peer);
	return 0;
}

static int run(struct sender *s)
{
	int rc = open_socket(s);

	if (rc)
		return rc;
	if (sk_dgram_batch_init(&s->replies, SK_DGRAM_BATCH, 65536) < 0) {
		cmd_error(name, "out of memory");
		return EXIT_FAIL;
	}
	if (s->o->message) {
		s->buf = (unsigned char *)s->o->message;
		s->len = strlen(s->o->message);
		s->in_eof = true;
		if (s->len > s->max)
			return oversize(s, "MESSAGE", s->len);
		s->iov[s->niov++] = (struct iovec){s->buf, s->len};
		s->start = s->len;
	} else if (!(s->buf = malloc(INBUF))) {
		cmd_error(name, "out of memory");
		return EXIT_FAIL;
	}
	rc = pump(s);
	if (rc == 0 && s->o->net.timeout_ms > 0)
		rc = wait_replies(s);
	if (s->o->net.verbose)
		cmd_error(name, "sent %llu datagrams, %llu bytes", s->datagrams, s->bytes);
	return rc;
}

int cmd_udp_send(int argc, char **argv)
{
	struct send_opts o = {0};
	struct sender s = {.o = &o, .fd = -1};
	int rc;

	net_opts_init(&o.net);
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = run(&s);
	if (!o.message)
		free(s.buf);
	sk_dgram_batch_free(&s.replies);
	if (s.fd >= 0)
		close(s.fd);
	return rc;
}
