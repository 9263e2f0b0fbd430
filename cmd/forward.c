/* sockctl forward: every client of a local port relayed to a target, in one event loop. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "cmd.h"
#include "forward.h"
#include "net.h"
#include "parse.h"
#include "proxy.h"
#include "child.h"
#include "tls.h"

static const char usage[] =
    "usage: sockctl forward [OPTIONS] LISTEN TARGET\n"
    "\n"
    "Relay every client of LISTEN to TARGET, both ways, in one process and one\n"
    "event loop (splice(2) between plain sockets). LISTEN is PORT, ADDRESS:PORT,\n"
    "[IPV6]:PORT or unix:PATH; TARGET is HOST:PORT, [IPV6]:PORT or unix:PATH\n"
    "(unix:@NAME: abstract). One log line per connection as it ends.\n"
    "\n"
    "Options:\n"
    "  -4, --ipv4             IPv4 only\n"
    "  -6, --ipv6             IPv6 only\n"
    "  -n, --numeric          no DNS: addresses must be numeric\n"
    "  -v, --verbose          also log refused clients\n"
    "  -q, --quiet            no 'listening on' line and no log\n"
    "  -w, --timeout SECS     connect timeout per client (default 10); also the\n"
    "                         limit of the proxy's and the TLS handshakes\n"
    "      --max-conns N      at most N clients at once; more wait in the backlog\n"
    "                         (default: what the fd limit allows)\n"
    "      --idle SECS        close a pair that moved nothing either way for SECS\n"
    "      --grace SECS       on SIGINT/SIGTERM, let open connections finish for\n"
    "                         at most SECS (default 10)\n"
    "      --workers N        N processes share the port (SO_REUSEPORT)\n"
    "      --proxy-protocol v1|v2  send TARGET a PROXY protocol header first\n" PROXY_USAGE
	ACL_USAGE "      --tls-in           serve TLS to clients (--tls-cert, --tls-key,\n"
    "                         --tls-client-ca apply; without a certificate, a\n"
    "                         made-up one whose fingerprint is printed)\n"
    "      --tls-out          speak TLS to TARGET, verifying it (--tls-ca,\n"
    "                         --tls-pin, --tls-insecure, --sni, --no-sni apply)\n"
    "      --tls-cert FILE    the certificate served to clients (PEM, with chain)\n"
    "      --tls-key FILE     its key (PEM; default: in --tls-cert)\n"
    "      --tls-client-ca FILE  require client certificates issued by a CA in FILE\n"
    "      --tls-ca FILE      trust these PEM certificates for TARGET\n"
    "      --tls-pin FP       accept only TARGET's certificate with this SHA-256\n"
    "      --tls-insecure     verify nothing on TARGET (says so on stderr)\n"
    "      --sni NAME         SNI sent to TARGET, and the name checked\n"
    "      --no-sni           send no SNI (the name is still checked)\n"
    "      --alpn LIST        ALPN protocols, both sides (comma list)\n"
    "      --tls-min VER      lowest TLS version, both sides: 1.2 (default) or 1.3\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 runtime failure, 2 usage error.\n";

enum {
	OPT_IDLE = 512,
	OPT_GRACE,
	OPT_PROXY_PROTOCOL,
	OPT_TLS_IN,
	OPT_TLS_OUT,
};

static const struct option longopts[] = {
    {"ipv4", no_argument, NULL, '4'},
    {"ipv6", no_argument, NULL, '6'},
    {"numeric", no_argument, NULL, 'n'},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"timeout", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"idle", required_argument, NULL, OPT_IDLE},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"proxy-protocol", required_argument, NULL, OPT_PROXY_PROTOCOL},
    {"proxy", required_argument, NULL, OPT_PROXY},
    ACL_LONGOPTS,
    {"tls-in", no_argument, NULL, OPT_TLS_IN},
    {"tls-out", no_argument, NULL, OPT_TLS_OUT},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA},
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
    {"tls-pin", required_argument, NULL, OPT_TLS_PIN},
    {"tls-insecure", no_argument, NULL, OPT_TLS_INSECURE},
    {"sni", required_argument, NULL, OPT_SNI},
    {"no-sni", no_argument, NULL, OPT_NO_SNI},
    {"alpn", required_argument, NULL, OPT_ALPN},
    {"tls-min", required_argument, NULL, OPT_TLS_MIN},
    {NULL, 0, NULL, 0},
};

/* LISTEN or TARGET as given. */
struct where {
	const char *unix_path; /* unix:PATH */
	char host[256];	       /* "" : every local address (LISTEN) */
	unsigned port;
};

struct forward_opts {
	struct net_opts net;
	bool quiet, saw_max_conns;
	long long max_conns, workers;
	int idle_ms, grace_ms;
	int proxy_protocol;
	bool proxied;	       /* --proxy */
	struct sk_proxy proxy; /* holds credentials: wiped at the end */
	struct sk_acl acl;
	bool tls_in, tls_out;
	struct tls_cli in, out; /* the TLS options, split by side */
	struct where listen, target;
	struct sk_tls_ctx *in_ctx, *out_ctx;
	char target_name[300]; /* HOST:PORT or the path, for the log */
};

static const char *const name = "forward";

/* Parses LISTEN (is_listen) or TARGET. Returns 0 or EXIT_USAGE. */
static int parse_where(const char *arg, bool is_listen, struct where *w)
{
	const char *what = is_listen ? "LISTEN" : "TARGET", *colon, *port;
	char host[sizeof(w->host)];

	if (strncmp(arg, "unix:", 5) == 0) {
		if (!arg[5])
			return cmd_usage(name, "bad %s '%s': no path after unix:", what, arg);
		w->unix_path = arg + 5;
		return 0;
	}
	colon = strrchr(arg, ':');
	if (!colon && is_listen)
		return cmd_port(name, arg, "tcp", &w->port);
	if (!colon || colon == arg)
		return cmd_usage(name, "bad %s '%s': expected %s", what, arg,
				 is_listen ? "PORT, ADDRESS:PORT, [IPV6]:PORT or unix:PATH"
					   : "HOST:PORT, [IPV6]:PORT or unix:PATH");
	if ((size_t)(colon - arg) >= sizeof(host))
		return cmd_usage(name, "bad %s '%s': the host is too long", what, arg);
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	if (strchr(host, ':') && host[0] != '[')
		return cmd_usage(name, "bad %s '%s': put an IPv6 address in brackets, [%s]:PORT",
				 what, arg, host);
	if (!sk_host_unbracket(host, w->host, sizeof(w->host)))
		return cmd_usage(name, "bad %s '%s': unmatched brackets", what, arg);
	port = colon + 1;
	if (cmd_port(name, port, "tcp", &w->port))
		return EXIT_USAGE;
	if (!is_listen && w->port == 0)
		return cmd_usage(name, "bad TARGET '%s': cannot connect to port 0", arg);
	return 0;
}

/* The TLS options go to the side they are about. */
static enum cmd_option tls_side_option(int c, const char *arg, struct forward_opts *o)
{
	bool in_side = c == OPT_TLS_CERT || c == OPT_TLS_KEY || c == OPT_TLS_CLIENT_CA;
	bool both = c == OPT_ALPN || c == OPT_TLS_MIN;
	enum cmd_option r;

	if (!in_side && !both && c != OPT_TLS_CA && c != OPT_TLS_PIN && c != OPT_TLS_INSECURE &&
	    c != OPT_SNI && c != OPT_NO_SNI)
		return CMD_OPTION_NOT_MINE;
	r = cmd_tls_option(name, c, arg, in_side ? &o->in : &o->out);
	if (both && r == CMD_OPTION_TAKEN)
		r = cmd_tls_option(name, c, arg, &o->in);
	return r;
}

static int seconds_opt(const char *opt, const char *arg, int *ms)
{
	if (sk_parse_seconds(arg, ms) == 0)
		return 0;
	return cmd_usage(name, "bad %s '%s': %s", opt, arg,
			 errno == ERANGE ? "too large" : "not a number of seconds");
}

static int own_option(int c, char *arg, struct forward_opts *o)
{
	switch (c) {
	case 'q': o->quiet = true; return 0;
	case OPT_MAX_CONNS:
		o->saw_max_conns = true;
		return cmd_count(name, "--max-conns", arg, 1, 1000000, &o->max_conns);
	case OPT_WORKERS: return cmd_count(name, "--workers", arg, 1, CMD_MAX_WORKERS, &o->workers);
	case OPT_IDLE: return seconds_opt("--idle", arg, &o->idle_ms);
	case OPT_GRACE: return seconds_opt("--grace", arg, &o->grace_ms);
	case OPT_PROXY_PROTOCOL:
		if (strcmp(arg, "v1") && strcmp(arg, "v2") && strcmp(arg, "1") && strcmp(arg, "2"))
			return cmd_usage(name, "bad --proxy-protocol '%s': must be v1 or v2", arg);
		o->proxy_protocol = arg[strlen(arg) - 1] - '0';
		return 0;
	case OPT_TLS_IN: o->tls_in = true; return 0;
	case OPT_TLS_OUT: o->tls_out = true; return 0;
	case OPT_PROXY: o->proxied = true; return cmd_proxy_option(name, arg, &o->proxy);
	}
	return -1;
}

static int check_args(struct forward_opts *o)
{
	if (o->net.saw4 && o->net.saw6)
		return cmd_usage(name, "-4 and -6 cannot be used together");
	if ((o->in.cert || o->in.client_ca) && !o->tls_in)
		return cmd_usage(name, "%s needs --tls-in",
				 o->in.cert ? "--tls-cert" : "--tls-client-ca");
	if ((o->out.ca || o->out.pin || o->out.insecure || o->out.sni || o->out.no_sni) &&
	    !o->tls_out)
		return cmd_usage(name,
				 "--tls-ca, --tls-pin, --tls-insecure, --sni and --no-sni need "
				 "--tls-out");
	if ((o->in.alpn || o->in.min_version) && !o->tls_in && !o->tls_out)
		return cmd_usage(name, "--alpn and --tls-min need --tls-in or --tls-out");
	if (o->workers > 1 && o->listen.unix_path)
		return cmd_usage(name, "--workers share a TCP port; a unix LISTEN has one socket");
	if (o->proxied && o->target.unix_path)
		return cmd_usage(name, "--proxy reaches a HOST:PORT TARGET, not a unix socket");
	o->in.on = o->tls_in;
	o->out.on = o->tls_out;
	if (o->tls_in && cmd_check_tls(name, &o->in))
		return EXIT_USAGE;
	if (o->tls_out && cmd_check_tls(name, &o->out))
		return EXIT_USAGE;
	if (o->tls_out && o->target.unix_path && !o->out.sni && !o->out.pin && !o->out.insecure)
		return cmd_usage(name, "a unix TARGET has no host name to verify: give --sni NAME, "
				       "--tls-pin FP or --tls-insecure");
	return 0;
}

static enum cmd_parsed parse_args(int argc, char **argv, struct forward_opts *o)
{
	enum cmd_option opt;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46nvqw:h", longopts, NULL)) != -1) {
		opt = cmd_common_option(name, c, optarg, &o->net, NULL);
		if (opt == CMD_OPTION_NOT_MINE)
			opt = tls_side_option(c, optarg, o);
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_acl_option(name, c, optarg, &o->acl);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_TAKEN)
			continue;
		if (c == 'h') {
			fputs(usage, stdout);
			return CMD_HELP_SHOWN;
		}
		rc = own_option(c, optarg, o);
		if (rc < 0)
			return cmd_bad_option(name, c, argv);
		if (rc)
			return rc;
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return cmd_usage(name, argc ? "missing TARGET" : "missing LISTEN and TARGET");
	if (argc > 2)
		return cmd_usage(name, "too many arguments: '%s'", argv[2]);
	if ((rc = parse_where(argv[0], true, &o->listen)) ||
	    (rc = parse_where(argv[1], false, &o->target)))
		return rc;
	return check_args(o);
}

/* Raises the soft fd limit to the hard one; without --max-conns, fits the clients in it. */
static void fit_fd_limit(struct forward_opts *o)
{
	long long limit = cmd_raise_fd_limit(), fit;

	/* Two sockets a pair, and a pipe while bytes move; the pool and stdio besides. */
	fit = limit < 0 ? 100000 : (limit - 128) / 3;
	if (!o->saw_max_conns)
		o->max_conns = fit > 16 ? (fit < 100000 ? fit : 100000) : 16;
}

static void on_end(void *ctx, const struct sk_fwd_record *r)
{
	const struct forward_opts *o = ctx;

	if (o->quiet || (r->end == SK_FWD_REFUSED && !o->net.verbose))
		return;
	if (r->end == SK_FWD_REFUSED) {
		cmd_error(name, "%s: refused by the access list", r->client);
		return;
	}
	cmd_error(name, "%s -> %s: %" PRIu64 " up, %" PRIu64 " down, %.3f s, %s%s%s%s", r->client,
		  r->target, r->up, r->down, (double)r->ms / 1000.0, sk_fwd_end_name(r->end),
		  r->why[0] ? " (" : "", r->why, r->why[0] ? ")" : "");
	/* SOCKCTL_DEBUG=forward: how the bytes went, so tests see the path taken. */
	if (cmd_debug("forward"))
		cmd_error(name, "%s: %" PRIu64 " bytes by splice, %" PRIu64 " by read/write",
			  r->client, r->spliced, r->up + r->down - r->spliced);
}

static int open_listener(const struct forward_opts *o, bool quiet)
{
	struct sk_listen_opts lo = {
	    .host = o->listen.host[0] ? o->listen.host : NULL,
	    .port = o->listen.port,
	    .family = o->net.family,
	    .numeric = o->net.numeric,
	    .socktype = SOCK_STREAM,
	    .backlog = 4096,
	    .reuseport = o->workers > 1,
	};
	char err[SK_ERRLEN], addr[SK_ADDRSTRLEN];
	int fd;

	fd = o->listen.unix_path ? sk_unix_listen(o->listen.unix_path, SOCK_STREAM, 4096, err)
				 : sk_listen(&lo, err);
	if (fd < 0) {
		cmd_listen_error(name, err, errno, o->listen.port,
				 o->listen.unix_path ? NULL : "tcp");
		return -1;
	}
	if (!quiet) {
		cmd_error(name, "listening on %s",
			  o->listen.unix_path ? o->listen.unix_path
					      : sk_local_addr(fd, addr, sizeof(addr)));
		if (o->in_ctx)
			cmd_error(name, "tls certificate %s", sk_tls_ctx_fingerprint(o->in_ctx));
	}
	return fd;
}

/* --workers: another listening socket on first's port. */
static int open_more(void *ctx, int first)
{
	struct forward_opts *o = ctx;

	o->listen.port = sk_local_port(first); /* the port the kernel chose for port 0 */
	return open_listener(o, true);
}

/* One process's loop over lfd. */
static int serve(void *ctx, int lfd)
{
	struct forward_opts *o = ctx;
	struct addrinfo *ai = NULL, *dest = NULL;
	struct sk_resolve_opts ro = {
	    .family = o->net.family, .socktype = SOCK_STREAM, .numeric = o->net.numeric};
	char err[SK_ERRLEN];
	struct sk_fwd_opts fo = {
	    .lfd = lfd,
	    .connect_ms = o->net.timeout_ms >= 0 ? o->net.timeout_ms : 10000,
	    .idle_ms = o->idle_ms,
	    .max_conns = (size_t)o->max_conns,
	    .grace_ms = o->grace_ms,
	    .tls_in = o->in_ctx,
	    .tls_out = o->out_ctx,
	    .proxy_protocol = o->proxy_protocol,
	    .acl = sk_acl_active(&o->acl) ? &o->acl : NULL,
	    .no_splice = getenv("SOCKCTL_NO_SPLICE") != NULL,
	    .on_end = on_end,
	    .ctx = o,
	};
	int rc;

	if (o->target.unix_path) {
		fo.target = (struct sk_fwd_target){.unix_path = o->target.unix_path,
						   .name = o->target.unix_path};
	} else {
		/* Resolved per process: a worker does not share the parent's resolver state. */
		if (o->proxied) {
			if (cmd_proxy_resolve(name, &o->proxy, o->target.host, &ro, &ai, &dest) < 0)
				return EXIT_FAIL;
			fo.proxy = &o->proxy;
			fo.proxy_dest = (struct sk_proxy_dest){
			    .host = o->target.host,
			    .port = o->target.port,
			    .addr = dest ? dest->ai_addr : NULL,
			    .addrlen = dest ? dest->ai_addrlen : 0,
			};
		} else if (!(ai = sk_resolve(o->target.host, o->target.port, &ro, err))) {
			cmd_error(name, "%s", err);
			return EXIT_FAIL;
		}
		snprintf(o->target_name, sizeof(o->target_name),
			 strchr(o->target.host, ':') ? "[%s]:%u" : "%s:%u", o->target.host,
			 o->target.port);
		fo.target = (struct sk_fwd_target){.ai = ai, .name = o->target_name};
	}
	fo.tls_name = o->out.sni ? o->out.sni : o->target.host;
	fo.sni = o->out.no_sni ? NULL : fo.tls_name;
	fo.stop_fd = cmd_signalfd(name, false);
	rc = fo.stop_fd < 0 ? -1 : sk_fwd_run(&fo, err);
	if (rc < 0 && fo.stop_fd >= 0)
		cmd_error(name, "%s", err);
	if (fo.stop_fd >= 0)
		close(fo.stop_fd);
	if (ai)
		freeaddrinfo(ai);
	if (dest)
		freeaddrinfo(dest);
	return rc < 0 ? EXIT_FAIL : 0;
}

static int make_tls(struct forward_opts *o)
{
	const char *names[2] = {o->listen.host[0] ? o->listen.host : NULL, NULL};
	int rc = 0;

	if (o->tls_in) {
		o->in.release_buffers = true; /* many idle clients hold no TLS buffers */
		o->in_ctx = cmd_tls_ctx(name, &o->in, true, names, &rc);
	}
	if (rc == 0 && o->tls_out) {
		o->out.release_buffers = true;
		o->out_ctx = cmd_tls_ctx(name, &o->out, false, NULL, &rc);
	}
	return rc;
}

int cmd_forward(int argc, char **argv)
{
	struct forward_opts o = {.workers = 1, .idle_ms = -1, .grace_ms = 10000};
	int rc, lfd;

	net_opts_init(&o.net);
	rc = parse_args(argc, argv, &o);
	if (rc != CMD_RUN) {
		sk_acl_free(&o.acl);
		sk_proxy_wipe(&o.proxy);
		return cmd_parsed_exit(rc);
	}
	fit_fd_limit(&o);
	rc = make_tls(&o);
	if (rc == 0 && (lfd = open_listener(&o, o.quiet)) < 0)
		rc = EXIT_FAIL;
	if (rc == 0 && o.workers > 1)
		rc = cmd_run_workers(name, lfd, (int)o.workers, o.grace_ms + SK_CHILD_GRACE_MS,
				     serve, open_more, &o);
	else if (rc == 0) {
		rc = serve(&o, lfd);
		close(lfd);
	}
	if (rc == 0 && o.listen.unix_path && o.listen.unix_path[0] != '@')
		unlink(o.listen.unix_path);
	sk_tls_ctx_free(o.in_ctx);
	sk_tls_ctx_free(o.out_ctx);
	sk_acl_free(&o.acl);
	sk_proxy_wipe(&o.proxy);
	return rc;
}
