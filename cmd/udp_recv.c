/* sockctl udp-recv: receive datagrams; echo them or answer through a command. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "cmd.h"
#include "net.h"
#include "sigfd.h"
#include "udp.h"
#include "udp_recv.h"

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
    "      --join GROUP       join the IPv4 or IPv6 multicast group GROUP\n" ACL_USAGE
    "                         (a refused datagram is dropped; -v says so)\n"
    "  -h, --help             show this help\n"
    "\n"
    "SIGINT and SIGTERM end it with exit status 0.\n"
    "Exit status: 0 done, 1 runtime failure, 2 usage error.\n";

static const struct option longopts[] = {
    {"ipv4", no_argument, NULL, '4'},
    {"ipv6", no_argument, NULL, '6'},
    {"numeric", no_argument, NULL, 'n'},
    {"verbose", no_argument, NULL, 'v'},
    {"json", no_argument, NULL, OPT_JSON},
    {"count", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 'w'},
    {"echo", no_argument, NULL, OPT_ECHO},
    {"exec", required_argument, NULL, 'e'},
    {"join", required_argument, NULL, OPT_JOIN},
    {"help", no_argument, NULL, 'h'},
    ACL_LONGOPTS,
    {NULL, 0, NULL, 0},
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
	struct sk_acl acl; /* --allow, --deny */
};

/* The bound socket and the stop signalfd, closed by the handler. */
struct receiver {
	const struct recv_opts *o;
	int fd, sigfd;
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

static enum cmd_parsed parse_args(int argc, char **argv, struct recv_opts *o)
{
	enum cmd_option opt;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46nvc:w:e:h", longopts, NULL)) != -1) {
		opt = cmd_common_option(name, c, optarg, &o->net, NULL);
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_acl_option(name, c, optarg, &o->acl);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_TAKEN)
			continue;
		switch (c) {
		case OPT_JSON: o->json = true; break;
		case OPT_ECHO: o->echo = true; break;
		case 'e': o->exec = optarg; break;
		case OPT_JOIN: o->join = optarg; break;
		case 'c':
			if ((rc = cmd_count(name, "--count", optarg, 1, 1LL << 62, &o->count)))
				return rc;
			break;
		case 'h': fputs(usage, stdout); return CMD_HELP_SHOWN;
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
static enum cmd_parsed join_family(struct recv_opts *o)
{
	int fam;

	if (!o->join || o->host)
		return CMD_RUN;
	fam = strchr(o->join, ':') ? AF_INET6 : AF_INET;
	if (o->net.family != AF_UNSPEC && o->net.family != fam)
		return cmd_usage(name, "--join %s does not match -%c", o->join,
				 o->net.family == AF_INET ? '4' : '6');
	o->net.family = fam;
	return CMD_RUN;
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
		cmd_listen_error(name, err, errno, o->port, "udp");
		return EXIT_FAIL;
	}
	sk_udp_rcvbuf(r->fd, RCVBUF);
	if (o->join && sk_udp_join(r->fd, o->join, err) < 0) {
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	if (o->net.verbose)
		cmd_error(name, "listening on %s", sk_local_addr(r->fd, addr, sizeof(addr)));
	return 0;
}

static void show_datagram(void *ctx, const char *from, size_t len)
{
	(void)ctx;
	cmd_error(name, "%zu bytes from %s", len, from);
}

static void show_refused(void *ctx, const char *from)
{
	(void)ctx;
	cmd_error(name, "refused datagram from %s", from);
}

static void show_answer(void *ctx, const char *from, int code)
{
	(void)ctx;
	if (code != 0)
		cmd_error(name, "CMD exited with %d for %s", code, from);
}

static void show_error(void *ctx, const char *msg)
{
	(void)ctx;
	cmd_error(name, "%s", msg);
}

static int serve(const struct receiver *r)
{
	const struct recv_opts *o = r->o;
	struct sk_udp_recv_opts ro = {
	    .fd = r->fd,
	    .out = STDOUT_FILENO,
	    .json = o->json,
	    .echo = o->echo,
	    .exec = o->exec,
	    .count = (uint64_t)o->count,
	    .idle_ms = o->net.timeout_ms,
	    .stop_fd = r->sigfd,
	    .on_datagram = o->net.verbose ? show_datagram : NULL,
	    .on_answer = o->net.verbose ? show_answer : NULL,
	    .on_error = show_error,
	    .acl = sk_acl_active(&o->acl) ? &o->acl : NULL,
	    .on_refused = o->net.verbose ? show_refused : NULL,
	};
	char err[SK_ERRLEN];

	/* -c reached, -w's silence, SIGINT or SIGTERM, stdout's reader gone: quietly 0 */
	switch (sk_udp_recv(&ro, NULL, err)) {
	case SK_UDP_RECV_DONE:
	case SK_UDP_RECV_TIMEOUT:
	case SK_UDP_RECV_STOPPED:
	case SK_UDP_RECV_OUT_CLOSED: return 0;
	case SK_UDP_RECV_OUT_ERROR: cmd_error(name, "write to stdout: %s", strerror(errno)); break;
	case SK_UDP_RECV_ERROR: cmd_error(name, "%s", err); break;
	}
	return EXIT_FAIL;
}

static int run(struct receiver *r)
{
	int rc = open_socket(r);

	if (rc)
		return rc;
	r->sigfd = cmd_signalfd(name, false);
	if (r->sigfd < 0)
		return EXIT_FAIL;
	return serve(r);
}

int cmd_udp_recv(int argc, char **argv)
{
	struct recv_opts o = {0};
	struct receiver r = {.o = &o, .fd = -1, .sigfd = -1};
	int rc;

	net_opts_init(&o.net);
	rc = parse_args(argc, argv, &o);
	if (rc == CMD_RUN)
		rc = join_family(&o);
	rc = rc == CMD_RUN ? run(&r) : cmd_parsed_exit(rc);
	if (r.fd >= 0)
		close(r.fd);
	if (r.sigfd >= 0)
		close(r.sigfd);
	sk_acl_free(&o.acl);
	return rc;
}
