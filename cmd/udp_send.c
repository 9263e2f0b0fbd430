/* sockctl udp-send: send datagrams, print the replies. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "net.h"
#include "parse.h"
#include "udp.h"
#include "udp_send.h"

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

struct send_opts {
	struct net_opts net;
	bool broadcast;
	size_t size; /* 0: lines */
	const char *host, *message;
	unsigned port;
};

/* The connected socket and what the messages say about it. */
struct target {
	int fd;
	char peer[SK_ADDRSTRLEN];
	size_t max;
};

static enum cmd_parsed parse_args(int argc, char **argv, struct send_opts *o)
{
	enum cmd_option opt;
	long long n;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46ns:vw:bh", longopts, NULL)) != -1) {
		opt = c == 'w' ? CMD_OPTION_NOT_MINE
			       : cmd_common_option(name, c, optarg, &o->net, NULL);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_TAKEN)
			continue;
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
		case 'h': fputs(usage, stdout); return CMD_HELP_SHOWN;
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
	return CMD_RUN;
}

/* Resolves and connects; checks the sizes against the family's maximum. */
static int open_socket(const struct send_opts *o, struct target *t)
{
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
		t->fd = sk_connect(targets, src, -1, o->broadcast ? SK_CONNECT_BROADCAST : 0,
				   t->peer, err);
	if (targets)
		freeaddrinfo(targets);
	if (src)
		freeaddrinfo(src);
	if (t->fd < 0) {
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	t->max = sk_udp_max_payload(sk_socket_family(t->fd));
	if (o->size > t->max) {
		cmd_error(name, "--size %zu is over the UDP maximum of %zu bytes", o->size, t->max);
		return EXIT_FAIL;
	}
	if (o->net.verbose)
		cmd_error(name, "sending to %s", t->peer);
	return 0;
}

static void show_reply(void *ctx, size_t len)
{
	const struct target *t = ctx;

	cmd_error(name, "%zu bytes from %s", len, t->peer);
}

/* Turns the engine's result into a message and an exit status. */
static int result(const struct target *t, enum sk_udp_send_result rc, const char *err)
{
	switch (rc) {
	case SK_UDP_SEND_DONE: return 0;
	case SK_UDP_SEND_NET:
	case SK_UDP_SEND_UNREACHABLE: cmd_error(name, "%s: %s", t->peer, err); break;
	case SK_UDP_SEND_IN_ERROR: cmd_error(name, "read from stdin: %s", strerror(errno)); break;
	case SK_UDP_SEND_OUT_ERROR: cmd_error(name, "write to stdout: %s", strerror(errno)); break;
	case SK_UDP_SEND_ERROR:
	case SK_UDP_SEND_OVERSIZE: cmd_error(name, "%s", err); break;
	}
	return EXIT_FAIL;
}

static int run(const struct send_opts *o, struct target *t)
{
	struct sk_udp_send_opts so = {
	    .fd = t->fd,
	    .in = STDIN_FILENO,
	    .out = STDOUT_FILENO,
	    .message = o->message,
	    .message_len = o->message ? strlen(o->message) : 0,
	    .size = o->size,
	    .max = t->max,
	    .wait_ms = o->net.timeout_ms,
	    .on_reply = o->net.verbose ? show_reply : NULL,
	    .ctx = t,
	};
	struct sk_udp_send_stats st = {0};
	char err[SK_ERRLEN];
	int rc;

	if (so.message_len > t->max) {
		sk_udp_oversize_err(err, "MESSAGE", so.message_len, false, t->max);
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	rc = result(t, sk_udp_send(&so, &st, err), err);
	if (o->net.verbose)
		cmd_error(name, "sent %llu datagrams, %llu bytes", (unsigned long long)st.datagrams,
			  (unsigned long long)st.bytes);
	return rc;
}

int cmd_udp_send(int argc, char **argv)
{
	struct send_opts o = {0};
	struct target t = {.fd = -1};
	int rc;

	net_opts_init(&o.net);
	rc = parse_args(argc, argv, &o);
	if (rc != CMD_RUN)
		return cmd_parsed_exit(rc);
	rc = open_socket(&o, &t);
	if (rc == 0)
		rc = run(&o, &t);
	if (t.fd >= 0)
		close(t.fd);
	return rc;
}
