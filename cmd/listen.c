/* sockctl listen: a TCP or unix-socket server relayed to stdin/stdout. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "clock.h"
#include "cmd.h"
#include "net.h"
#include "parse.h"
#include "child.h"
#include "tls.h"

static const char usage[] =
    "usage: sockctl listen [OPTIONS] [ADDRESS] PORT\n"
    "       sockctl listen [OPTIONS] -U PATH\n"
    "\n"
    "Accept a TCP (or unix-socket) connection and relay it to stdin/stdout.\n"
    "ADDRESS defaults to every local address, IPv6 and IPv4 together;\n"
    "PORT 0 lets the kernel choose (see the 'listening on' line of -v).\n"
    "\n"
    "Options:\n"
    "  -4, --ipv4             IPv4 only\n"
    "  -6, --ipv6             IPv6 only\n"
    "  -n, --numeric          no DNS: ADDRESS must be a numeric address\n"
    "  -s, --source ADDR      the local address to listen on (same as ADDRESS)\n"
    "  -U, --unix PATH        listen on a unix socket (@NAME: abstract)\n"
    "  -v, --verbose          print 'listening on ADDR:PORT' and each connection\n"
    "  -w, --timeout SECS     exit 1 after SECS with no connection or no data\n"
    "  -k, --keep-open        after a connection ends, accept the next one\n"
    "  -e, --exec CMD         run '/bin/sh -c CMD' per connection, the\n"
    "                         connection as its stdin and stdout; with -k,\n"
    "                         connections are served concurrently\n"
    "      --max-conns N      with -k -e: at most N children at once (default 256)\n" ACL_USAGE
    "                         (a refused client is closed at once; -v says so)\n" RELAY_USAGE
	TLS_SERVER_USAGE "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 done, 1 runtime failure, 2 usage error; with -e and no -k,\n"
    "the exit status of CMD. With -k, SIGINT and SIGTERM stop it with 0.\n";

static const struct option longopts[] = {
    STREAM_LONGOPTS,
    RELAY_LONGOPTS,
    TLS_SERVER_LONGOPTS,
    ACL_LONGOPTS,
    {"keep-open", no_argument, NULL, 'k'},
    {"exec", required_argument, NULL, 'e'},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {NULL, 0, NULL, 0},
};

struct listen_opts {
	struct net_opts net;
	struct relay_cli relay;
	struct tls_cli tls;
	struct sk_tls_ctx *tls_ctx; /* NULL: plain */
	struct sk_acl acl;	    /* --allow, --deny */
	bool keep_open;
	const char *exec;
	long long max_conns;
	bool saw_max_conns;
	const char *host;
	unsigned port;
	int lfd;
};

static const char *const name = "listen";

static enum cmd_parsed parse_args(int argc, char **argv, struct listen_opts *o)
{
	enum cmd_option opt;
	long long n;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":46ns:U:vw:ke:xh", longopts, NULL)) != -1) {
		opt = cmd_common_option(name, c, optarg, &o->net, &o->relay);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_tls_option(name, c, optarg, &o->tls);
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_acl_option(name, c, optarg, &o->acl);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_TAKEN)
			continue;
		switch (c) {
		case 'k': o->keep_open = true; break;
		case 'e': o->exec = optarg; break;
		case OPT_MAX_CONNS:
			if ((rc = cmd_count(name, "--max-conns", optarg, 1, 65536, &n)))
				return rc;
			o->max_conns = n;
			o->saw_max_conns = true;
			break;
		case 'h': fputs(usage, stdout); return CMD_HELP_SHOWN;
		default: return cmd_bad_option(name, c, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (o->net.unix_path) {
		if (argc > 0)
			return cmd_usage(name, "-U takes no ADDRESS or PORT");
		return CMD_RUN;
	}
	if (argc < 1)
		return cmd_usage(name, "missing PORT");
	if (argc > 2)
		return cmd_usage(name, "too many arguments: '%s'", argv[2]);
	if (argc == 2 && o->net.source)
		return cmd_usage(name, "give the address as ADDRESS or with -s, not both");
	o->host = argc == 2 ? argv[0] : o->net.source;
	return cmd_port(name, argv[argc - 1], "tcp", &o->port);
}

static int check_args(const struct listen_opts *o)
{
	int rc = cmd_check_common(name, &o->net, &o->relay);

	if (rc || (rc = cmd_check_tls(name, &o->tls)))
		return rc;
	if (o->exec && relay_cli_any(&o->relay))
		return cmd_usage(name,
				 "-e gives the connection to CMD; relay options do not apply");
	if (o->saw_max_conns && !(o->exec && o->keep_open))
		return cmd_usage(name, "--max-conns needs -k and -e");
	return 0;
}

static void on_accept(void *ctx, const char *peer, pid_t pid)
{
	const struct listen_opts *o = ctx;

	/* One connection only: later clients are refused, not left queued. */
	if (!o->keep_open)
		shutdown(o->lfd, SHUT_RD);
	if (o->net.verbose)
		cmd_error(name, "connection from %s (pid %ld)", peer, (long)pid);
}

/* A client the access list refused (and that was closed at once). */
static void log_refused(const struct listen_opts *o, const char *peer)
{
	if (o->net.verbose)
		cmd_error(name, "%s: refused by the access list", peer);
}

static void on_refuse(void *ctx, const char *peer)
{
	log_refused(ctx, peer);
}

static void on_error(void *ctx, const char *msg)
{
	(void)ctx;
	cmd_error(name, "%s", msg);
}

/*
 * The TLS handshake with the client on fd. Returns the session, or NULL
 * after reporting why (always without -k, where it ends listen; with -v
 * otherwise).
 */
static struct sk_tls *accept_tls(const struct listen_opts *o, int fd, const char *peer, int stop_fd)
{
	char err[SK_ERRLEN], what[512];
	struct sk_tls *t = sk_tls_new(o->tls_ctx, fd, NULL, NULL, err);

	if (t) {
		sk_tls_set_peer(t, peer);
		if (sk_tls_handshake_wait(t, cmd_handshake_ms(&o->net), stop_fd, err) == 0) {
			if (o->net.verbose) {
				sk_tls_describe(t, what, sizeof(what));
				cmd_error(name, "TLS: %s", what);
			}
			return t;
		}
		sk_tls_free(t);
	}
	if (o->net.verbose || !o->keep_open)
		cmd_error(name, "%s", err);
	return NULL;
}

/* -e over TLS: the forked process of one connection carries its TLS. */
static int serve_tls_exec(void *ctx, int fd, const char *peer)
{
	const struct listen_opts *o = ctx;
	char err[SK_ERRLEN];
	int stop = sk_stop_signals(), rc;
	struct sk_tls *t = accept_tls(o, fd, peer, stop);

	if (!t)
		return EXIT_FAIL;
	rc = sk_tls_carry(t, o->exec, stop, err);
	if (err[0])
		cmd_error(name, "%s: %s", peer, err);
	sk_tls_free(t);
	return rc < 0 ? EXIT_FAIL : rc;
}

static int serve_exec(int lfd, struct listen_opts *o)
{
	struct sk_exec_server s = {
	    .lfd = lfd,
	    .cmd = o->exec,
	    .max_conns = (size_t)o->max_conns,
	    .once = !o->keep_open,
	    .idle_ms = o->net.timeout_ms,
	    .serve = o->tls_ctx ? serve_tls_exec : NULL,
	    .on_accept = on_accept,
	    .on_error = on_error,
	    .acl = sk_acl_active(&o->acl) ? &o->acl : NULL,
	    .on_refuse = on_refuse,
	    .ctx = o,
	};
	char err[SK_ERRLEN];
	int rc;

	s.sigfd = cmd_signalfd(name, true);
	if (s.sigfd < 0)
		return EXIT_FAIL;
	rc = sk_exec_serve(&s, err);
	close(s.sigfd);
	if (rc < 0) {
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	return rc;
}

/*
 * Accepts a waiting client. Returns its socket, or -1 with errno (EAGAIN
 * also for a client the access list refused: it is closed at once).
 */
static int accept_client(int lfd, const struct listen_opts *o, char *peer)
{
	struct sockaddr_storage from;
	int fd = sk_accept_from(lfd, &from, peer);

	if (fd < 0 || sk_acl_allows(&o->acl, (const struct sockaddr *)&from))
		return fd;
	close(fd);
	log_refused(o, peer);
	errno = EAGAIN;
	return -1;
}

/*
 * Waits for a client up to the timeout (refused clients do not restart
 * it); returns its socket or -1 with rc set.
 */
static int wait_client(int lfd, int sigfd, const struct listen_opts *o, char *peer, int *rc)
{
	struct pollfd pfd[2] = {
	    {.fd = lfd, .events = POLLIN},
	    {.fd = sigfd, .events = POLLIN},
	};
	int64_t deadline = sk_deadline(o->net.timeout_ms);
	int fd, n;

	for (;;) {
		n = poll(pfd, 2, sk_ms_left(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			cmd_error(name, "no connection within %g s", o->net.timeout_ms / 1000.0);
			*rc = EXIT_FAIL;
			return -1;
		}
		if (n > 0 && pfd[1].revents) {
			int sig = sk_read_stop_signal(sigfd);

			if (!sig)
				continue;
			*rc = o->keep_open ? 0 : 128 + sig;
			return -1;
		}
		fd = accept_client(lfd, o, peer);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) {
			cmd_error(name, "accept: %s", strerror(errno));
			*rc = EXIT_FAIL;
			return -1;
		}
	}
}

/* Relays one client (over TLS once its handshake is done) and closes it. */
static int relay_client(const struct listen_opts *o, int fd, const char *peer, bool *in_eof,
			int sigfd, int *sig)
{
	struct sk_tls *t = NULL;
	int rc;

	if (o->tls_ctx && !(t = accept_tls(o, fd, peer, sigfd))) {
		rc = errno == EINTR ? 128 + (*sig = sk_read_stop_signal(sigfd)) : EXIT_FAIL;
		close(fd);
		return rc;
	}
	rc = cmd_relay(name, fd, t, peer, &o->net, &o->relay, in_eof, sigfd, sig);
	sk_tls_free(t);
	close(fd);
	return rc;
}

static int serve_relay(int lfd, struct listen_opts *o)
{
	char peer[SK_ADDRSTRLEN];
	bool in_eof = false;
	int sigfd, fd, rc = 0, sig = 0;

	sigfd = cmd_signalfd(name, false);
	if (sigfd < 0)
		return EXIT_FAIL;
	do {
		fd = wait_client(lfd, sigfd, o, peer, &rc);
		if (fd < 0)
			break;
		if (!o->keep_open)
			close(lfd);
		if (o->net.verbose)
			cmd_error(name, "connection from %s", peer);
		rc = relay_client(o, fd, peer, &in_eof, sigfd, &sig);
		if (sig && o->keep_open)
			rc = 0;
	} while (o->keep_open && !sig);
	close(sigfd);
	return rc;
}

static int open_listener(const struct listen_opts *o)
{
	struct sk_listen_opts lo = {
	    .host = o->host,
	    .port = o->port,
	    .family = o->net.family,
	    .numeric = o->net.numeric,
	    .socktype = SOCK_STREAM,
	    .backlog = 128,
	};
	char err[SK_ERRLEN], addr[SK_ADDRSTRLEN];
	int fd;

	if (o->net.unix_path)
		fd = sk_unix_listen(o->net.unix_path, SOCK_STREAM, 128, err);
	else
		fd = sk_listen(&lo, err);
	if (fd < 0) {
		cmd_listen_error(name, err, errno, o->port, o->net.unix_path ? NULL : "tcp");
		return -1;
	}
	if (o->net.verbose)
		cmd_error(name, "listening on %s",
			  o->net.unix_path ? o->net.unix_path
					   : sk_local_addr(fd, addr, sizeof(addr)));
	if (o->net.verbose && o->tls_ctx)
		cmd_error(name, "tls certificate %s", sk_tls_ctx_fingerprint(o->tls_ctx));
	return fd;
}

/* Checks the parsed options, then listens and serves. Returns the exit status. */
static int run(struct listen_opts *o)
{
	const char *names[2] = {o->host, NULL};
	int lfd, rc;

	if ((rc = check_args(o)))
		return rc;
	o->tls_ctx = cmd_tls_ctx(name, &o->tls, true, names, &rc);
	if (rc)
		return rc;
	lfd = open_listener(o);
	if (lfd < 0) {
		sk_tls_ctx_free(o->tls_ctx);
		return EXIT_FAIL;
	}
	o->lfd = lfd;
	rc = o->exec ? serve_exec(lfd, o) : serve_relay(lfd, o);
	if (o->exec || o->keep_open)
		close(lfd);
	if (o->net.unix_path && o->net.unix_path[0] != '@')
		unlink(o->net.unix_path);
	sk_tls_ctx_free(o->tls_ctx);
	return rc;
}

int cmd_listen(int argc, char **argv)
{
	struct listen_opts o = {.max_conns = 256};
	int rc;

	net_opts_init(&o.net);
	o.relay.no_splice = getenv("SOCKCTL_NO_SPLICE") != NULL;
	rc = parse_args(argc, argv, &o);
	rc = rc == CMD_RUN ? run(&o) : cmd_parsed_exit(rc);
	sk_acl_free(&o.acl);
	return rc;
}
