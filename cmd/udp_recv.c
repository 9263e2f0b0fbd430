/* sockctl udp-recv: receive datagrams; echo them or answer through a command. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "cmd.h"
#include "io.h"
#include "json.h"
#include "net.h"
#include "parse.h"
#include "child.h"
#include "udp.h"

static const char usage[] =
    "usage: sockctl udp-recv [OPTIONS] [ADDRESS] PORT\n"
    "\n"
    "Receive datagrams and write each payload to stdout, unchanged. ADDRESS\n"
    "defaults to every local address, IPv6 and IPv4 together; PORT 0 lets\n"
    "the kernel choose (see the 'listening on' line of -v).\n"
    "\n"
    "Options:\n"
    "  -4, --ipv4             IPv4 only\n"
    "  -6, --ipv6             IPv6 only\n"
    "  -n, --numeric          no DNS: ADDRESS must be a numeric address\n"
    "  -v, --verbose          print 'listening on ADDR:PORT' and 'N bytes from\n"
    "                         ADDR:PORT' per datagram on stderr\n"
    "      --json             one JSON object per line per datagram instead:\n"
    "                         {\"from\":\"ADDR:PORT\",\"size\":N,\"data\":\"...\"}, with\n"
    "                         \"data_base64\" for a payload that is not UTF-8\n"
    "  -c, --count N          exit 0 after N datagrams\n"
    "  -w, --timeout SECS     exit 0 after SECS without a datagram\n"
    "      --echo             send each datagram back to its sender\n"
    "  -e, --exec CMD         run '/bin/sh -c CMD' per datagram, the payload on its\n"
    "                         stdin; its stdout goes back to the sender as the reply\n"
    "      --join GROUP       join the IPv4 or IPv6 multicast group GROUP\n"
    "  -h, --help             show this help\n"
    "\n"
    "SIGINT and SIGTERM end it with exit status 0.\n"
    "Exit status: 0 done, 1 runtime failure, 2 usage error.\n";

static const struct option longopts[] = {
    {"ipv4", no_argument, NULL, '4'},	       {"ipv6", no_argument, NULL, '6'},
    {"numeric", no_argument, NULL, 'n'},       {"verbose", no_argument, NULL, 'v'},
    {"json", no_argument, NULL, OPT_JSON},     {"count", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 'w'}, {"echo", no_argument, NULL, OPT_ECHO},
    {"exec", required_argument, NULL, 'e'},    {"join", required_argument, NULL, OPT_JOIN},
    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
};

static const char *const name = "udp-recv";

/* Asked of the kernel for the receive queue: bursts are not dropped. */
#define RCVBUF (4 * 1024 * 1024)

struct recv_opts {
	struct net_opts net;
	bool json, echo;
	long long count; /* 0: no limit */
	const char *exec, *join, *host;
	unsigned port;
};

struct receiver {
	const struct recv_opts *o;
	int fd, sigfd;
	size_t max;
	long long left;
	struct sk_dgram_batch in;
	char *out; /* --json lines */
	size_t outcap;
	unsigned char *reply; /* -e */
};

static bool multicast_literal(const char *group)
{
	char host[64];
	unsigned char a[16];

	if (!sk_host_unbracket(group, host, sizeof(host)))
		return false;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] >= 224 && a[0] <= 239;
	return inet_pton(AF_INET6, host, a) == 1 && a[0] == 0xff;
}

static int parse_args(int argc, char **argv, struct recv_opts *o)
{
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46nvc:w:e:h", longopts, NULL)) != -1) {
		if ((rc = cmd_common_option(name, c, optarg, &o->net, NULL)) != 0) {
			if (rc != 1)
				return rc;
			continue;
		}
		switch (c) {
		case OPT_JSON: o->json = true; break;
		case OPT_ECHO: o->echo = true; break;
		case 'e': o->exec = optarg; break;
		case OPT_JOIN: o->join = optarg; break;
		case 'c':
			if ((rc = cmd_count(name, "--count", optarg, 1, 1LL << 62, &o->count)))
				return rc;
			break;
		case 'h': fputs(usage, stdout); return -1;
		default: return cmd_bad_option(name, c, argv);
		}
	}
	if ((rc = cmd_check_common(name, &o->net, NULL)))
		return rc;
	if (o->echo && o->exec)
		return cmd_usage(name, "--echo and -e cannot be used together");
	if (o->join && !multicast_literal(o->join))
		return cmd_usage(name, "bad --join '%s': not an IPv4 or IPv6 multicast address",
				 o->join);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cmd_usage(name, "missing PORT");
	if (argc > 2)
		return cmd_usage(name, "too many arguments: '%s'", argv[2]);
	o->host = argc == 2 ? argv[0] : NULL;
	return cmd_port(name, argv[argc - 1], "udp", &o->port);
}

/* With --join and no ADDRESS, the group's family decides the socket's. */
static int join_family(struct recv_opts *o)
{
	int fam;

	if (!o->join || o->host)
		return 0;
	fam = strchr(o->join, ':') ? AF_INET6 : AF_INET;
	if (o->net.family != AF_UNSPEC && o->net.family != fam)
		return cmd_usage(name, "--join %s does not match -%c", o->join,
				 o->net.family == AF_INET ? '4' : '6');
	o->net.family = fam;
	return 0;
}

static int open_socket(struct receiver *r)
{
	const struct recv_opts *o = r->o;
	struct sk_listen_opts lo = {.host = o->host,
				    .port = o->port,
				    .family = o->net.family,
				    .numeric = o->net.numeric,
				    .socktype = SOCK_DGRAM};
	char err[SK_ERRLEN], addr[SK_ADDRSTRLEN];

	r->fd = sk_listen(&lo, err);
	if (r->fd < 0) {
		if (errno == EADDRINUSE)
			cmd_error(name, "%s (find the holder: sockctl whois-port %u/udp)", err,
				  o->port);
		else
			cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	sk_udp_rcvbuf(r->fd, RCVBUF);
	if (o->join && sk_udp_join(r->fd, o->join, err) < 0) {
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	r->max = sk_udp_max_payload(sk_socket_family(r->fd));
	if (o->net.verbose)
		cmd_error(name, "listening on %s", sk_local_addr(r->fd, addr, sizeof(addr)));
	return 0;
}

static int write_out(struct iovec *iov, size_t n)
{
	if (sk_writev_all(STDOUT_FILENO, iov, n) == 0)
		return 0;
	if (errno == EPIPE)
		return -1; /* the reader has gone: stop quietly */
	cmd_error(name, "write to stdout: %s", strerror(errno));
	return EXIT_FAIL;
}

/* Writes the batch to stdout, raw or as JSON lines. */
static int show(struct receiver *r, size_t n)
{
	struct iovec iov[SK_DGRAM_BATCH];
	char from[SK_ADDRSTRLEN];
	const unsigned char *p;
	size_t i, len, used = 0;
	socklen_t flen;

	for (i = 0; i < n; i++) {
		p = sk_dgram_data(&r->in, i, &len);
		if (r->o->net.verbose || r->o->json) {
			const struct sockaddr *sa = sk_dgram_from(&r->in, i, &flen);

			sk_addr_format(sa, flen, from, sizeof(from));
		}
		if (r->o->net.verbose)
			cmd_error(name, "%zu bytes from %s", len, from);
		if (!r->o->json) {
			iov[i] = (struct iovec){(void *)p, len};
			continue;
		}
		if (used + SK_JSON_DGRAM_MAX(strlen(from), len) > r->outcap) {
			struct iovec flush = {r->out, used};
			int rc = write_out(&flush, 1);

			if (rc)
				return rc;
			used = 0;
		}
		used += sk_json_datagram(r->out + used, from, p, len);
	}
	if (r->o->json) {
		iov[0] = (struct iovec){r->out, used};
		return write_out(iov, 1);
	}
	return write_out(iov, n);
}

static void echo_back(struct receiver *r, size_t n)
{
	struct iovec iov[SK_DGRAM_BATCH];
	const struct sockaddr *to[SK_DGRAM_BATCH];
	socklen_t tolen[SK_DGRAM_BATCH];
	size_t i, len;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)sk_dgram_data(&r->in, i, &len);
		iov[i].iov_len = len;
		to[i] = sk_dgram_from(&r->in, i, &tolen[i]);
	}
	for (i = 0; i < n;) {
		int sent = sk_dgram_send(r->fd, iov + i, n - i, to + i, tolen + i);

		if (sent < 0) {
			cmd_error(name, "echo: %s", strerror(errno));
			return;
		}
		i += (size_t)sent;
		if (i < n)
			sk_wait_fd(r->fd, POLLOUT, 1000);
	}
}

/* Returns false when a stop signal came while a command ran. */
static bool answer(struct receiver *r, size_t n)
{
	char err[SK_ERRLEN], from[SK_ADDRSTRLEN];
	const unsigned char *p;
	const struct sockaddr *to;
	socklen_t tolen;
	size_t i, len, outlen;
	bool overflow;
	int code;

	for (i = 0; i < n; i++) {
		p = sk_dgram_data(&r->in, i, &len);
		to = sk_dgram_from(&r->in, i, &tolen);
		sk_addr_format(to, tolen, from, sizeof(from));
		code = sk_run_filter(r->o->exec, p, len, r->reply, r->max, &outlen, &overflow,
				     r->sigfd, err);
		if (code < 0 && errno == EINTR)
			return false; /* SIGINT or SIGTERM */
		if (code < 0) {
			cmd_error(name, "%s", err);
			continue;
		}
		if (code != 0 && r->o->net.verbose)
			cmd_error(name, "CMD exited with %d for %s", code, from);
		if (overflow) {
			cmd_error(name,
				  "reply to %s is over the UDP maximum of %zu bytes; not sent",
				  from, r->max);
			continue;
		}
		if (outlen > 0 && sendto(r->fd, r->reply, outlen, MSG_NOSIGNAL, to, tolen) < 0)
			cmd_error(name, "reply to %s: %s", from, strerror(errno));
	}
	return true;
}

static int serve(struct receiver *r)
{
	struct pollfd pfd[2] = {{.fd = r->fd, .events = POLLIN},
				{.fd = r->sigfd, .events = POLLIN}};
	int64_t deadline = sk_deadline(r->o->net.timeout_ms);
	int n, rc;

	while (r->left != 0) {
		if (poll(pfd, 2, sk_ms_left(deadline)) < 0 && errno != EINTR) {
			cmd_error(name, "poll: %s", strerror(errno));
			return EXIT_FAIL;
		}
		if (pfd[1].revents && sk_read_stop_signal(r->sigfd))
			return 0; /* SIGINT or SIGTERM */
		if (!pfd[0].revents) {
			if (sk_ms_left(deadline) == 0)
				return 0;
			continue;
		}
		n = sk_dgram_recv(r->fd, &r->in, r->left > 0 ? (size_t)r->left : SK_DGRAM_BATCH);
		if (n < 0 && errno != ECONNREFUSED) {
			cmd_error(name, "receive: %s", strerror(errno));
			return EXIT_FAIL;
		}
		if (n <= 0)
			continue;
		deadline = sk_deadline(r->o->net.timeout_ms);
		if ((rc = show(r, (size_t)n)))
			return rc < 0 ? 0 : rc;
		if (r->o->echo)
			echo_back(r, (size_t)n);
		if (r->o->exec && !answer(r, (size_t)n))
			return 0;
		if (r->left > 0)
			r->left -= n;
	}
	return 0;
}

static int run(struct receiver *r)
{
	int rc = open_socket(r);

	if (rc)
		return rc;
	r->outcap = SK_JSON_DGRAM_MAX(SK_ADDRSTRLEN, 65536);
	if (sk_dgram_batch_init(&r->in, SK_DGRAM_BATCH, 65536) < 0 ||
	    (r->o->json && !(r->out = malloc(r->outcap))) ||
	    (r->o->exec && !(r->reply = malloc(r->max)))) {
		cmd_error(name, "out of memory");
		return EXIT_FAIL;
	}
	r->sigfd = sk_stop_signals();
	if (r->sigfd < 0) {
		cmd_error(name, "signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return serve(r);
}

int cmd_udp_recv(int argc, char **argv)
{
	struct recv_opts o = {0};
	struct receiver r = {.o = &o, .fd = -1, .sigfd = -1};
	int rc;

	net_opts_init(&o.net);
	rc = parse_args(argc, argv, &o);
	if (rc == 0)
		rc = join_family(&o);
	if (rc)
		return rc < 0 ? 0 : rc;
	r.left = o.count ? o.count : -1;
	rc = run(&r);
	sk_dgram_batch_free(&r.in);
	free(r.out);
	free(r.reply);
	if (r.fd >= 0)
		close(r.fd);
	if (r.sigfd >= 0)
		close(r.sigfd);
	return rc;
}
