/* sockctl connect: a TCP or unix-socket client relayed to stdin/stdout. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "cmd.h"
#include "net.h"
#include "parse.h"
#include "child.h"
#include "proxy.h"
#include "tls.h"

static const char usage[] =
    "usage: sockctl connect [OPTIONS] HOST PORT\n"
    "       sockctl connect [OPTIONS] -U PATH\n"
    "       sockctl connect -z [OPTIONS] HOST PORTS\n"
    "\n"
    "Connect over TCP (or a unix socket) and relay stdin/stdout; at stdin EOF\n"
    "the connection is half-closed and the peer's data keeps coming until it\n"
    "closes. Every address of HOST is tried until one answers.\n"
    "\n"
    "Options:\n"
    "  -4, --ipv4             IPv4 only\n"
    "  -6, --ipv6             IPv6 only\n"
    "  -n, --numeric          no DNS: HOST must be a numeric address\n"
    "  -s, --source ADDR      connect from this local address\n"
    "  -U, --unix PATH        connect to a unix socket (@NAME: abstract)\n"
    "  -v, --verbose          report the connection (and closed ports with -z)\n"
    "  -w, --timeout SECS     give up connecting after SECS; also exit after\n"
    "                         SECS with no data in either direction\n"
    "      --wait SECS        retry a refused or unreachable connect until it\n"
    "                         succeeds or SECS pass\n"
    "  -z, --scan             connect and close, moving no data; PORTS is a port,\n"
    "                         a range 20-30, or a comma list of both. Prints\n"
    "                         'HOST PORT open' per open port; exit 0 if any is\n"
    "  -e, --exec CMD         once connected, run '/bin/sh -c CMD' with the\n"
    "                         connection as its stdin and stdout (over TLS, CMD\n"
    "                         reads and writes plaintext)\n" PROXY_USAGE RELAY_USAGE
	TLS_CLIENT_USAGE "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 done, 1 runtime failure (refused, unreachable, timeout,\n"
    "reset, no open port with -z), 2 usage error; with -e, that of CMD.\n";

static const struct option longopts[] = {
    STREAM_LONGOPTS,
    RELAY_LONGOPTS,
    TLS_CLIENT_LONGOPTS,
    {"wait", required_argument, NULL, OPT_WAIT},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"scan", no_argument, NULL, 'z'},
    {"exec", required_argument, NULL, 'e'},
    {NULL, 0, NULL, 0},
};

struct connect_opts {
	struct net_opts net;
	struct relay_cli relay;
	struct tls_cli tls;
	struct sk_tls_ctx *tls_ctx; /* NULL: plain */
	bool scan;
	const char *exec;
	int wait_ms; /* -1: no --wait */
	const char *host, *ports;
	unsigned port;
	struct sk_port_list list;
	bool proxied;			/* --proxy */
	struct sk_proxy proxy;		/* holds credentials: wiped at the end */
	char proxy_name[SK_ADDRSTRLEN]; /* HOST:PORT of the URL, for messages */
	struct addrinfo *dest;		/* SOCKS5/SOCKS4: the target, resolved here */
};

static const char *const name = "connect";

static int parse_positional(int argc, char **argv, struct connect_opts *o)
{
	char err[SK_ERRLEN];

	if (o->net.unix_path) {
		if (argc > 0)
			return cmd_usage(name, "-U takes no HOST or PORT");
		return 0;
	}
	if (argc < 2)
		return cmd_usage(name, argc ? "missing PORT" : "missing HOST and PORT");
	if (argc > 2)
		return cmd_usage(name, "too many arguments: '%s'", argv[2]);
	o->host = argv[0];
	o->ports = argv[1];
	if (o->scan) {
		if (sk_parse_port_list(argv[1], "tcp", &o->list, err) < 0)
			return cmd_usage(name, "%s", err);
		return 0;
	}
	if (cmd_port(name, argv[1], "tcp", &o->port))
		return EXIT_USAGE;
	if (o->port == 0)
		return cmd_usage(name, "bad port '0': cannot connect to port 0");
	return 0;
}

static enum cmd_parsed parse_args(int argc, char **argv, struct connect_opts *o)
{
	enum cmd_option opt;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46ns:U:vw:ze:xh", longopts, NULL)) != -1) {
		opt = cmd_common_option(name, c, optarg, &o->net, &o->relay);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_tls_option(name, c, optarg, &o->tls);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_TAKEN)
			continue;
		switch (c) {
		case 'z': o->scan = true; break;
		case OPT_PROXY:
			if (cmd_proxy_option(name, optarg, &o->proxy))
				return CMD_USAGE_ERROR;
			o->proxied = true;
			break;
		case 'e': o->exec = optarg; break;
		case OPT_WAIT:
			if (sk_parse_seconds(optarg, &o->wait_ms) < 0)
				return cmd_usage(name, "bad --wait '%s': %s", optarg,
						 errno == ERANGE ? "too large"
								 : "not a number of seconds");
			break;
		case 'h': fputs(usage, stdout); return CMD_HELP_SHOWN;
		default: return cmd_bad_option(name, c, argv);
		}
	}
	if ((rc = cmd_check_common(name, &o->net, &o->relay)) ||
	    (rc = cmd_check_tls(name, &o->tls)))
		return rc;
	if (o->tls.client_ca)
		return cmd_usage(name, "--tls-client-ca is for servers");
	if (o->tls.on && o->net.unix_path && !o->tls.sni && !o->tls.pin && !o->tls.insecure)
		return cmd_usage(name,
				 "-U has no host name to verify: give --sni NAME, --tls-pin FP "
				 "or --tls-insecure");
	if (o->scan && (o->exec || relay_cli_any(&o->relay)))
		return cmd_usage(name, "-z moves no data: -e and relay options do not apply");
	if (o->proxied && o->net.unix_path)
		return cmd_usage(name, "--proxy reaches HOST PORT; it cannot be used with -U");
	if (o->scan && o->net.unix_path)
		return cmd_usage(name, "-z scans TCP ports; it cannot be used with -U");
	if (o->exec && relay_cli_any(&o->relay))
		return cmd_usage(name,
				 "-e gives the connection to CMD; relay options do not apply");
	return parse_positional(argc - optind, argv + optind, o);
}

static bool retryable(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH || e == ETIMEDOUT ||
	       e == ECONNRESET || e == ENOENT || e == EAGAIN;
}

/* Sets the port of every address in the list. */
static void set_port(struct addrinfo *ai, unsigned port)
{
	for (; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port =
			    htons((unsigned short)port);
		else if (ai->ai_family == AF_INET6)
			((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port =
			    htons((unsigned short)port);
	}
}

/*
 * Through the proxy on fd (connected to it, at proxy_addr): the handshake
 * for port of the target, by deadline. Returns 0, or -1 with errno and err
 * naming the proxy and the step.
 */
static int through_proxy(const struct connect_opts *o, int fd, unsigned port,
			 const char *proxy_addr, int64_t deadline, char *err)
{
	struct cmd_proxy_log log = {.cmd = name, .proxy = proxy_addr};
	struct sk_proxy_dest d = {.host = o->host, .port = port};
	char why[SK_ERRLEN];
	struct sk_proxy_hs *hs;
	int rc, e;

	if (o->dest) {
		d.addr = o->dest->ai_addr;
		d.addrlen = o->dest->ai_addrlen;
	}
	if (!(hs = sk_proxy_hs_new(&o->proxy, &d, why))) {
		sk_seterr(err, "proxy %s: %s: %s", proxy_addr, sk_proxy_kind_name(o->proxy.kind),
			  why);
		return -1;
	}
	if (o->net.verbose)
		sk_proxy_hs_set_log(hs, cmd_proxy_say, &log);
	rc = sk_proxy_handshake_wait(hs, fd, sk_ms_left(deadline), -1, why);
	e = errno;
	if (rc < 0)
		sk_seterr(err, "proxy %s: %s", proxy_addr, why);
	sk_proxy_hs_free(hs);
	errno = e;
	return rc;
}

/* The target as HOST:PORT, for messages and TLS. */
static void name_target(const struct connect_opts *o, unsigned port, char *peer)
{
	snprintf(peer, SK_ADDRSTRLEN,
		 strchr(o->host, ':') && o->host[0] != '[' ? "[%s]:%u" : "%s:%u", o->host, port);
}

/*
 * One connect (through the proxy, when there is one) to port, retried
 * under --wait. Returns the socket, or -1 after filling err; peer is the
 * target's address (through a proxy: HOST:PORT) and proxy_addr the
 * proxy's.
 */
static int dial(const struct connect_opts *o, struct addrinfo *targets, const struct addrinfo *src,
		unsigned port, int64_t wait_until, char *peer, char *proxy_addr, char *err)
{
	int backoff = 50, fd, attempt_ms, left, e;
	int64_t deadline;

	for (;;) {
		attempt_ms = o->net.timeout_ms;
		left = sk_ms_left(wait_until);
		if (wait_until >= 0 && (attempt_ms < 0 || left < attempt_ms))
			attempt_ms = left > 0 ? left : 1;
		if (o->net.unix_path) {
			fd = sk_unix_connect(o->net.unix_path, SOCK_STREAM, attempt_ms, err);
			if (fd >= 0)
				snprintf(peer, SK_ADDRSTRLEN, "%s", o->net.unix_path);
		} else if (o->proxied) {
			/* The handshake is part of connecting: -w covers both; without it,
			 * the handshake has 10 s of its own. */
			deadline = sk_deadline(attempt_ms);
			fd = sk_connect(targets, src, attempt_ms, 0, proxy_addr, err);
			if (attempt_ms < 0)
				deadline = sk_deadline(cmd_handshake_ms(&o->net));
			if (fd < 0)
				sk_seterr(err, "proxy %s: connect: %s", o->proxy_name,
					  strerror(errno));
			else if (through_proxy(o, fd, port, proxy_addr, deadline, err) < 0) {
				e = errno; /* what the proxy said: --wait retries on some */
				close(fd);
				fd = -1;
				errno = e;
			} else {
				name_target(o, port, peer);
			}
		} else {
			set_port(targets, port);
			fd = sk_connect(targets, src, attempt_ms, 0, peer, err);
		}
		if (fd >= 0 || wait_until < 0 || !retryable(errno))
			return fd;
		left = sk_ms_left(wait_until);
		if (left == 0)
			return -1;
		poll(NULL, 0, backoff < left ? backoff : left);
		backoff = backoff < 500 ? backoff * 2 : 1000;
	}
}

/*
 * Runs the TLS handshake on fd and verifies the server. Returns the
 * session, or NULL with err.
 */
static struct sk_tls *start_tls(const struct connect_opts *o, int fd, const char *peer, int stop_fd,
				char *err)
{
	const char *checked = o->tls.sni ? o->tls.sni : o->host;
	struct sk_tls *t = sk_tls_new(o->tls_ctx, fd, checked, o->tls.no_sni ? NULL : checked, err);

	if (!t)
		return NULL;
	sk_tls_set_peer(t, peer);
	if (sk_tls_handshake_wait(t, cmd_handshake_ms(&o->net), stop_fd, err) < 0) {
		sk_tls_free(t);
		return NULL;
	}
	return t;
}

/* -v: the handshake's outcome. */
static void tell_tls(const struct connect_opts *o, const struct sk_tls *t)
{
	char what[512];

	if (!o->net.verbose)
		return;
	sk_tls_describe(t, what, sizeof(what));
	cmd_error(name, "TLS: %s", what);
}

/* Whether port's connection counts as open: with TLS, once verified. */
static bool scan_open(const struct connect_opts *o, int fd, unsigned port, const char *peer)
{
	char err[SK_ERRLEN];
	struct sk_tls *t;

	if (!o->tls_ctx)
		return true;
	t = start_tls(o, fd, peer, -1, err);
	if (!t) {
		if (o->net.verbose)
			cmd_error(name, "%s %u not open: %s", o->host, port, err);
		return false;
	}
	tell_tls(o, t);
	sk_tls_shutdown_write(t);
	sk_tls_free(t);
	return true;
}

static int scan(const struct connect_opts *o, struct addrinfo *targets, const struct addrinfo *src,
		int64_t wait_until)
{
	char peer[SK_ADDRSTRLEN], proxy_addr[SK_ADDRSTRLEN], err[SK_ERRLEN];
	bool any = false;
	size_t i;
	unsigned p;
	int fd;

	for (i = 0; i < o->list.count; i++) {
		for (p = o->list.ranges[i].lo; p <= o->list.ranges[i].hi; p++) {
			fd = dial(o, targets, src, p, wait_until, peer, proxy_addr, err);
			if (fd >= 0 && scan_open(o, fd, p, peer)) {
				any = true;
				printf("%s %u open\n", o->host, p);
				fflush(stdout);
			} else if (fd < 0 && o->net.verbose) {
				cmd_error(name, "%s %u closed: %s", o->host, p,
					  o->proxied ? err : strerror(errno));
			}
			if (fd >= 0)
				close(fd);
		}
	}
	return any ? 0 : EXIT_FAIL;
}

struct carry_job {
	struct sk_tls *tls;
	const char *cmd;
};

/* The forked process that carries -e's TLS: the command sees plaintext. */
static int carry(void *arg)
{
	const struct carry_job *j = arg;
	char err[SK_ERRLEN];
	int stop = sk_stop_signals(), rc;

	rc = sk_tls_carry(j->tls, j->cmd, stop, err);
	if (err[0])
		cmd_error(name, "%s", err);
	return rc < 0 ? EXIT_FAIL : rc;
}

static int run_exec(const struct connect_opts *o, int fd, struct sk_tls *t, int sigfd)
{
	struct carry_job job = {.tls = t, .cmd = o->exec};
	char err[SK_ERRLEN];
	int rc;

	if (t) {
		rc = sk_run_forked(carry, &job, sigfd, err);
		close(fd);
	} else {
		rc = sk_run_child(o->exec, fd, sigfd, err);
	}
	if (rc < 0) {
		cmd_error(name, "%s", err);
		rc = EXIT_FAIL;
	}
	return rc;
}

static int talk(const struct connect_opts *o, int fd, const char *peer)
{
	char err[SK_ERRLEN];
	struct sk_tls *t = NULL;
	int sigfd, rc, sig = 0;

	/* SIGCHLD only where there is a child: an inherited one must not stop a relay. */
	sigfd = cmd_signalfd(name, o->exec != NULL);
	if (sigfd < 0) {
		close(fd);
		return EXIT_FAIL;
	}
	if (o->tls_ctx) {
		t = start_tls(o, fd, peer, sigfd, err);
		if (!t) {
			rc = errno == EINTR ? 128 + sk_read_stop_signal(sigfd) : EXIT_FAIL;
			cmd_error(name, "%s", err);
			close(fd);
			close(sigfd);
			return rc;
		}
		tell_tls(o, t);
	}
	if (o->exec) {
		rc = run_exec(o, fd, t, sigfd);
	} else {
		rc = cmd_relay(name, fd, t, peer, &o->net, &o->relay, NULL, sigfd, &sig);
		close(fd);
	}
	sk_tls_free(t);
	close(sigfd);
	return rc;
}

static struct addrinfo *resolve(const struct connect_opts *o, const char *host, unsigned port,
				bool passive)
{
	struct sk_resolve_opts ro = {
	    .family = o->net.family,
	    .socktype = SOCK_STREAM,
	    .numeric = o->net.numeric,
	    .passive = passive,
	};
	char err[SK_ERRLEN];
	struct addrinfo *ai = sk_resolve(host, port, &ro, err);

	if (!ai)
		cmd_error(name, "%s", err);
	return ai;
}

/* With a proxy: its addresses into *proxies, and the target's into o->dest. */
static int resolve_proxied(struct connect_opts *o, struct addrinfo **proxies)
{
	const struct sk_proxy *px = &o->proxy;
	struct sk_resolve_opts ro = {
	    .family = o->net.family, .socktype = SOCK_STREAM, .numeric = o->net.numeric};

	snprintf(o->proxy_name, sizeof(o->proxy_name), strchr(px->host, ':') ? "[%s]:%u" : "%s:%u",
		 px->host, px->port);
	return cmd_proxy_resolve(name, px, o->host, &ro, proxies, &o->dest);
}

static int run(struct connect_opts *o)
{
	struct addrinfo *targets = NULL, *src = NULL;
	char peer[SK_ADDRSTRLEN], proxy_addr[SK_ADDRSTRLEN], err[SK_ERRLEN];
	int64_t wait_until = sk_deadline(o->wait_ms);
	int fd, rc = EXIT_FAIL;

	if (o->proxied) {
		if (resolve_proxied(o, &targets) < 0)
			goto out;
	} else if (!o->net.unix_path && !(targets = resolve(o, o->host, o->port, false))) {
		return EXIT_FAIL;
	}
	if (o->net.source && !(src = resolve(o, o->net.source, 0, true)))
		goto out;
	o->tls_ctx = cmd_tls_ctx(name, &o->tls, false, NULL, &rc);
	if (rc)
		goto out;
	rc = EXIT_FAIL;
	if (o->scan) {
		rc = scan(o, targets, src, wait_until);
		goto out;
	}
	fd = dial(o, targets, src, o->port, wait_until, peer, proxy_addr, err);
	if (fd < 0) {
		if (wait_until >= 0 && retryable(errno))
			cmd_error(name, "%s (gave up after %g s)", err, o->wait_ms / 1000.0);
		else
			cmd_error(name, "%s", err);
		goto out;
	}
	if (o->net.verbose && o->proxied)
		cmd_error(name, "connected to %s through proxy %s", peer, proxy_addr);
	else if (o->net.verbose)
		cmd_error(name, "connected to %s", peer);
	rc = talk(o, fd, peer);
out:
	if (targets)
		freeaddrinfo(targets);
	if (o->dest)
		freeaddrinfo(o->dest);
	if (src)
		freeaddrinfo(src);
	sk_tls_ctx_free(o->tls_ctx);
	return rc;
}

int cmd_connect(int argc, char **argv)
{
	struct connect_opts o = {.wait_ms = -1};
	int rc;

	net_opts_init(&o.net);
	o.relay.no_splice = getenv("SOCKCTL_NO_SPLICE") != NULL;
	rc = parse_args(argc, argv, &o);
	rc = rc == CMD_RUN ? run(&o) : cmd_parsed_exit(rc);
	sk_port_list_free(&o.list);
	sk_proxy_wipe(&o.proxy);
	return rc;
}
