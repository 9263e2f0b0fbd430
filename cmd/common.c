#include "cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "clock.h"
#include "hexdump.h"
#include "io.h"
#include "parse.h"
#include "proxy.h"
#include "child.h"
#include "relay.h"
#include "tls.h"

void cmd_error(const char *cmd, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, m;

	/* One write(2) per line: workers share stderr, and lines must not mix. */
	n = snprintf(line, sizeof(line), "sockctl %s: ", cmd);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + m < (int)sizeof(line) - 1 ? n + m : (int)sizeof(line) - 2;
	line[n++] = '\n';
	fflush(stderr);
	sk_write_all(STDERR_FILENO, line, (size_t)n);
}

int cmd_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sockctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'sockctl %s --help'\n", cmd);
	return EXIT_USAGE;
}

int cmd_bad_option(const char *cmd, int c, char **argv)
{
	const char *word = argv[optind - 1];
	bool is_long = strncmp(word, "--", 2) == 0;

	/* In a cluster like -qv, argv[optind - 1] may be the word before it. */
	if (c == ':' && !is_long && optopt > 0 && optopt < 256)
		return cmd_usage(cmd, "option '-%c' needs an argument", optopt);
	if (c == ':')
		return cmd_usage(cmd, "option '%s' needs an argument", word);
	if (!is_long && optopt > 0 && optopt < 256)
		return cmd_usage(cmd, "unknown option '-%c'", optopt);
	return cmd_usage(cmd, "unknown option '%.*s'", (int)strcspn(word, "="), word);
}

void net_opts_init(struct net_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = -1;
}

static enum cmd_option relay_option(int c, struct relay_cli *r)
{
	switch (c) {
	case OPT_CRLF: r->crlf = true; return CMD_OPTION_TAKEN;
	case OPT_SEND_ONLY: r->send_only = true; return CMD_OPTION_TAKEN;
	case OPT_RECV_ONLY: r->recv_only = true; return CMD_OPTION_TAKEN;
	case OPT_NO_SHUTDOWN: r->no_shutdown = true; return CMD_OPTION_TAKEN;
	case OPT_PROGRESS: r->progress = true; return CMD_OPTION_TAKEN;
	case 'x': r->hexdump = true; return CMD_OPTION_TAKEN;
	}
	return CMD_OPTION_NOT_MINE;
}

enum cmd_option cmd_common_option(const char *cmd, int c, const char *arg, struct net_opts *o,
				  struct relay_cli *r)
{
	switch (c) {
	case '4':
		o->family = AF_INET;
		o->saw4 = true;
		return CMD_OPTION_TAKEN;
	case '6':
		o->family = AF_INET6;
		o->saw6 = true;
		return CMD_OPTION_TAKEN;
	case 'n': o->numeric = true; return CMD_OPTION_TAKEN;
	case 'v': o->verbose = true; return CMD_OPTION_TAKEN;
	case 's': o->source = arg; return CMD_OPTION_TAKEN;
	case 'U': o->unix_path = arg; return CMD_OPTION_TAKEN;
	case 'w':
		if (sk_parse_seconds(arg, &o->timeout_ms) < 0) {
			cmd_usage(cmd, "bad timeout '%s': %s", arg,
				  errno == ERANGE ? "too large" : "not a number of seconds");
			return CMD_OPTION_BAD;
		}
		return CMD_OPTION_TAKEN;
	}
	return r ? relay_option(c, r) : CMD_OPTION_NOT_MINE;
}

bool relay_cli_any(const struct relay_cli *r)
{
	return r->crlf || r->send_only || r->recv_only || r->no_shutdown || r->hexdump ||
	       r->progress;
}

int cmd_check_common(const char *cmd, const struct net_opts *o, const struct relay_cli *r)
{
	if (o->saw4 && o->saw6)
		return cmd_usage(cmd, "-4 and -6 cannot be used together");
	if (o->unix_path && (o->saw4 || o->saw6 || o->source))
		return cmd_usage(cmd, "-U cannot be combined with -4, -6 or -s");
	if (r && r->send_only && r->recv_only)
		return cmd_usage(cmd, "--send-only and --recv-only cannot be used together");
	if (r && r->recv_only && r->crlf)
		return cmd_usage(cmd, "--crlf has nothing to convert with --recv-only");
	return 0;
}

enum cmd_option cmd_tls_option(const char *cmd, int c, const char *arg, struct tls_cli *t)
{
	unsigned char pin[32];
	char err[SK_ERRLEN];

	switch (c) {
	case OPT_TLS: t->on = true; return CMD_OPTION_TAKEN;
	case OPT_SNI: t->sni = arg; return CMD_OPTION_TAKEN;
	case OPT_NO_SNI: t->no_sni = true; return CMD_OPTION_TAKEN;
	case OPT_ALPN: t->alpn = arg; return CMD_OPTION_TAKEN;
	case OPT_TLS_CA: t->ca = arg; break;
	case OPT_TLS_INSECURE: t->insecure = true; break;
	case OPT_TLS_CERT: t->cert = arg; break;
	case OPT_TLS_KEY: t->key = arg; break;
	case OPT_TLS_CLIENT_CA: t->client_ca = arg; break;
	case OPT_TLS_PIN:
		if (sk_tls_parse_pin(arg, pin, err) < 0) {
			cmd_usage(cmd, "%s", err);
			return CMD_OPTION_BAD;
		}
		t->pin = arg;
		break;
	case OPT_TLS_MIN:
		t->min_version = sk_tls_parse_min(arg);
		if (t->min_version < 0) {
			cmd_usage(cmd, "bad --tls-min '%s': must be 1.2 or 1.3", arg);
			return CMD_OPTION_BAD;
		}
		break;
	default: return CMD_OPTION_NOT_MINE;
	}
	t->on = true; /* any --tls-* option implies --tls */
	return CMD_OPTION_TAKEN;
}

enum cmd_option cmd_acl_option(const char *cmd, int c, const char *arg, struct sk_acl *acl)
{
	char err[SK_ERRLEN];

	if (c != OPT_ACL_ALLOW && c != OPT_ACL_DENY)
		return CMD_OPTION_NOT_MINE;
	if (sk_acl_add(acl, arg, c == OPT_ACL_ALLOW, err) == 0)
		return CMD_OPTION_TAKEN;
	if (errno == EINVAL)
		cmd_usage(cmd, "%s", err);
	else
		cmd_error(cmd, "%s", err);
	return CMD_OPTION_BAD;
}

int cmd_proxy_option(const char *cmd, char *arg, struct sk_proxy *px)
{
	char *env = getenv("SOCKCTL_PROXY_AUTH");
	const char *from = "--proxy";
	char err[SK_ERRLEN];
	char *sep, *at;

	if (sk_proxy_parse_url(arg, px, err) < 0)
		return cmd_usage(cmd, "bad --proxy: %s", err);
	if (!px->auth && env && env[0]) {
		from = "SOCKCTL_PROXY_AUTH";
		if (sk_proxy_set_auth(px, env, err) < 0) {
			sk_proxy_wipe(px);
			return cmd_usage(cmd, "bad %s: %s", from, err);
		}
		/* SOCKS4 has a user ID only: a password set for other proxies is not used. */
		if (px->kind == SK_PROXY_SOCKS4 || px->kind == SK_PROXY_SOCKS4A)
			explicit_bzero(px->pass, sizeof(px->pass));
	}
	/* Taken: not handed on to -e's command, nor kept in our environment. */
	if (env) {
		explicit_bzero(env, strlen(env));
		unsetenv("SOCKCTL_PROXY_AUTH");
	}
	if (sk_proxy_check_auth(px, err) < 0) {
		sk_proxy_wipe(px);
		return cmd_usage(cmd, "bad %s: %s", from, err);
	}
	/* Out of ps: the credentials in argv become stars. */
	sep = strstr(arg, "://");
	at = sep ? strrchr(sep, '@') : NULL;
	if (at)
		memset(sep + 3, '*', (size_t)(at - sep - 3));
	return 0;
}

int cmd_proxy_resolve(const char *cmd, const struct sk_proxy *px, const char *host,
		      const struct sk_resolve_opts *ro, struct addrinfo **proxies,
		      struct addrinfo **dest)
{
	struct sk_resolve_opts dro = *ro;
	struct sk_proxy_dest d = {.host = host, .port = 1};
	struct sk_proxy_hs *trial;
	char err[SK_ERRLEN], lit[NI_MAXHOST];
	unsigned char ip[16];

	*dest = NULL;
	if (!(*proxies = sk_resolve(px->host, px->port, ro, err))) {
		cmd_error(cmd, "proxy: %s", err);
		return -1;
	}
	/* A literal goes to the proxy as it is; a name is the proxy's to resolve, or ours. */
	if (!sk_proxy_resolves(px->kind) &&
	    !(sk_host_unbracket(host, lit, sizeof(lit)) &&
	      (inet_pton(AF_INET, lit, ip) == 1 || inet_pton(AF_INET6, lit, ip) == 1))) {
		if (px->kind == SK_PROXY_SOCKS4)
			dro.family = AF_INET;
		if (!(*dest = sk_resolve(host, 0, &dro, err))) {
			cmd_error(cmd, "%s%s", err,
				  px->kind == SK_PROXY_SOCKS4
				      ? " (SOCKS4 needs an IPv4 address; socks4a lets the proxy "
					"resolve the name)"
				      : "");
			goto fail;
		}
		d.addr = (*dest)->ai_addr;
		d.addrlen = (*dest)->ai_addrlen;
	}
	/* What the protocol cannot say is found now, not once per connection. */
	if (!(trial = sk_proxy_hs_new(px, &d, err))) {
		cmd_error(cmd, "proxy %s: %s: %s", px->host, sk_proxy_kind_name(px->kind), err);
		goto fail;
	}
	sk_proxy_hs_free(trial);
	return 0;
fail:
	freeaddrinfo(*proxies);
	*proxies = NULL;
	if (*dest)
		freeaddrinfo(*dest);
	*dest = NULL;
	return -1;
}

void cmd_proxy_say(void *ctx, const char *line)
{
	const struct cmd_proxy_log *l = ctx;

	cmd_error(l->cmd, "proxy %s: %s", l->proxy, line);
}

int cmd_check_tls(const char *cmd, const struct tls_cli *t)
{
	if ((t->on || t->sni || t->no_sni || t->alpn) && !sk_tls_built_in())
		return cmd_usage(cmd, "TLS is not built in (this sockctl was built with TLS=0)");
	if (!t->on && (t->sni || t->no_sni || t->alpn))
		return cmd_usage(cmd, "%s needs --tls",
				 t->sni	     ? "--sni"
				 : t->no_sni ? "--no-sni"
					     : "--alpn");
	if (t->sni && t->no_sni)
		return cmd_usage(cmd, "--sni and --no-sni cannot be used together");
	if (t->insecure && (t->pin || t->ca))
		return cmd_usage(cmd, "--tls-insecure verifies nothing: it cannot be used with %s",
				 t->pin ? "--tls-pin" : "--tls-ca");
	if (t->key && !t->cert)
		return cmd_usage(cmd, "--tls-key needs --tls-cert");
	return 0;
}

struct sk_tls_ctx *cmd_tls_ctx(const char *cmd, const struct tls_cli *t, bool server,
			       const char *const *names, int *rc)
{
	struct sk_tls_config c = {
	    .role = server ? SK_TLS_SERVER : SK_TLS_CLIENT,
	    .cert_file = t->cert,
	    .key_file = t->key,
	    .alpn = t->alpn,
	    .min_version = t->min_version ? t->min_version : 12,
	    .ca_file = t->ca,
	    .pin = t->pin,
	    .insecure = t->insecure,
	    .client_ca_file = t->client_ca,
	    .names = names,
	    .release_buffers = t->release_buffers,
	};
	char err[SK_ERRLEN];
	struct sk_tls_ctx *ctx;

	*rc = 0;
	if (!t->on)
		return NULL;
	ctx = sk_tls_ctx_new(&c, err);
	if (!ctx) {
		cmd_error(cmd, "%s", err);
		*rc = errno == EINVAL ? EXIT_USAGE : EXIT_FAIL;
		return NULL;
	}
	if (!server && t->insecure)
		cmd_error(cmd, "TLS: --tls-insecure: the server's certificate is not verified");
	return ctx;
}

int cmd_port(const char *cmd, const char *arg, const char *proto, unsigned *port)
{
	if (sk_parse_port(arg, proto, port) == 0)
		return 0;
	if (errno == ERANGE)
		return cmd_usage(cmd, "bad port '%s': must be 0-65535", arg);
	return cmd_usage(cmd, "bad port '%s': not a number or a known service name", arg);
}

int cmd_count(const char *cmd, const char *name, const char *arg, long long min, long long max,
	      long long *out)
{
	if (sk_parse_num(arg, min, max, out) == 0)
		return 0;
	return cmd_usage(cmd, "bad %s '%s': must be a number from %lld to %lld", name, arg, min,
			 max);
}

struct relay_ui {
	const char *cmd;
	bool tty;
};

/* True when the comma (or space) separated list in SOCKCTL_DEBUG names topic. */
bool cmd_debug(const char *topic)
{
	const char *v = getenv("SOCKCTL_DEBUG");
	size_t len, n = strlen(topic);

	while (v && *v) {
		len = strcspn(v, ", ");
		if (len == n && strncmp(v, topic, n) == 0)
			return true;
		v += len + (v[len] != '\0');
	}
	return false;
}

/* Writes to stderr even when it shares a non-blocking pipe with stdout. */
static void to_stderr(const char *p, size_t n)
{
	sk_write_all(STDERR_FILENO, p, n);
}

static void show_data(void *ctx, enum sk_dir dir, const unsigned char *p, size_t n, uint64_t offset)
{
	char out[64 * SK_HEXDUMP_LINE];
	size_t used, len = 0;

	(void)ctx;
	while (n > 0) {
		used = sk_hexdump_line(out + len, dir == SK_DIR_SEND ? '>' : '<', offset, p, n);
		len += strlen(out + len);
		p += used;
		n -= used;
		offset += used;
		if (len + SK_HEXDUMP_LINE > sizeof(out) || n == 0) {
			to_stderr(out, len);
			len = 0;
		}
	}
}

static void human_bytes(char *buf, size_t len, double v)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

static void show_progress(const char *cmd, const struct sk_relay_stats *st, bool tty, bool final)
{
	char sent[32], recvd[32], rate[32], line[256];
	double secs = (double)(sk_now_ms() - st->started_ms) / 1000.0;
	int n;

	human_bytes(sent, sizeof(sent), (double)st->sent);
	human_bytes(recvd, sizeof(recvd), (double)st->received);
	human_bytes(rate, sizeof(rate), secs > 0 ? (double)(st->sent + st->received) / secs : 0);
	n = snprintf(line, sizeof(line), "%ssockctl %s: sent %s, received %s, %.1f s, %s/s%s",
		     tty ? "\r" : "", cmd, sent, recvd, secs, rate,
		     tty && !final ? "\033[K" : "\n");
	if (n > 0)
		to_stderr(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void tick(void *ctx, const struct sk_relay_stats *st)
{
	const struct relay_ui *ui = ctx;

	show_progress(ui->cmd, st, ui->tty, false);
}

/* SOCKCTL_DEBUG=relay: "sockctl CMD: relay send: splice", so tests see the path taken. */
static void show_mode(void *ctx, enum sk_dir dir, enum sk_relay_mode mode)
{
	const struct relay_ui *ui = ctx;
	char line[128];
	int n = snprintf(line, sizeof(line), "sockctl %s: relay %s: %s\n", ui->cmd,
			 dir == SK_DIR_SEND ? "send" : "recv", sk_relay_mode_name(mode));

	if (n > 0)
		to_stderr(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Relays between fd (or the TLS session over it) and stdin/stdout. */
static enum sk_relay_result relay_fds(struct sk_relay_opts *ro, int fd, struct sk_tls *tls,
				      const struct relay_cli *r, struct sk_relay_stats *st,
				      char *err)
{
	struct sk_endpoint net, in, out;
	enum sk_relay_result rc;

	if (tls)
		sk_tls_endpoint(&net, tls);
	else
		sk_endpoint_fd(&net, fd);
	ro->net = &net;
	ro->in = ro->out = NULL;
	if (!r->recv_only) {
		sk_endpoint_fd(&in, STDIN_FILENO);
		ro->in = &in;
	}
	if (!r->send_only) {
		sk_endpoint_fd(&out, STDOUT_FILENO);
		ro->out = &out;
	}
	rc = sk_relay(ro, st, err);
	/* The conversation is over: say so in TLS too, if not already (best effort). */
	if (tls && rc == SK_RELAY_DONE && !r->no_shutdown)
		sk_tls_shutdown_write(tls);
	sk_endpoint_close(ro->out);
	sk_endpoint_close(ro->in);
	sk_endpoint_close(&net);
	return rc;
}

int cmd_relay(const char *cmd, int fd, struct sk_tls *tls, const char *peer,
	      const struct net_opts *o, const struct relay_cli *r, bool *in_eof, int stop_fd,
	      int *stopped)
{
	struct relay_ui ui = {.cmd = cmd, .tty = isatty(STDERR_FILENO)};
	struct sk_relay_opts ro = {
	    .in_eof = in_eof,
	    .no_shutdown = r->no_shutdown,
	    .crlf = r->crlf,
	    .stop_on_peer_eof = isatty(STDIN_FILENO),
	    .no_splice = r->no_splice,
	    .idle_ms = o->timeout_ms,
	    .stop_fd = stop_fd,
	    .tick_ms = ui.tty ? 250 : 1000,
	    .on_data = r->hexdump ? show_data : NULL,
	    .on_tick = r->progress ? tick : NULL,
	    .on_mode = cmd_debug("relay") ? show_mode : NULL,
	    .ctx = &ui,
	};
	struct sk_relay_stats st;
	char err[SK_ERRLEN];
	enum sk_relay_result rc = relay_fds(&ro, fd, tls, r, &st, err);

	if (r->progress)
		show_progress(cmd, &st, ui.tty, true);
	switch (rc) {
	case SK_RELAY_DONE: return 0;
	case SK_RELAY_TIMEOUT:
		cmd_error(cmd, "%s: no data for %g s, closing", peer, o->timeout_ms / 1000.0);
		return EXIT_FAIL;
	case SK_RELAY_STOPPED: *stopped = sk_read_stop_signal(stop_fd); return 128 + *stopped;
	case SK_RELAY_ERROR: break;
	}
	cmd_error(cmd, "%s: %s", peer, err);
	return EXIT_FAIL;
}

int cmd_signalfd(const char *cmd, bool children)
{
	int fd = children ? sk_child_signals() : sk_stop_signals();

	if (fd < 0)
		cmd_error(cmd, "signalfd: %s", strerror(errno));
	return fd;
}

void cmd_listen_error(const char *cmd, const char *err, int e, unsigned port, const char *proto)
{
	if (e == EADDRINUSE && proto)
		cmd_error(cmd, "%s (find the holder: sockctl whois-port %u%s)", err, port,
			  strcmp(proto, "udp") == 0 ? "/udp" : "");
	else
		cmd_error(cmd, "%s", err);
}

int cmd_parsed_exit(enum cmd_parsed p)
{
	return p == CMD_HELP_SHOWN ? 0 : (int)p;
}

/* The one message of a worker that ended on its own with a failure. */
static void on_worker_exit(void *ctx, pid_t pid, int code)
{
	if (code != 0)
		cmd_error(ctx, "a worker (PID %d) failed; stopping the others", (int)pid);
}

/* Forks the n workers, worker i serving fds[i]. Returns 0 or EXIT_FAIL (reported). */
static int fork_workers(const char *cmd, struct sk_child_set *set, const int *fds, int n, int sigfd,
			int (*serve)(void *ctx, int lfd), void *ctx)
{
	char err[SK_ERRLEN];
	int i, k;
	pid_t pid;

	for (i = 0; i < n; i++) {
		if ((pid = sk_child_fork(set, err)) == 0) {
			for (k = 0; k < n; k++)
				if (k != i)
					close(fds[k]);
			close(sigfd);
			_exit(serve(ctx, fds[i]));
		}
		if (pid < 0) {
			cmd_error(cmd, "%s", err);
			return EXIT_FAIL;
		}
	}
	return 0;
}

int cmd_run_workers(const char *cmd, int first, int n, int grace_ms,
		    int (*serve)(void *ctx, int lfd), int (*open_more)(void *ctx, int first),
		    void *ctx)
{
	struct sk_child_set set;
	int fds[CMD_MAX_WORKERS], sigfd = -1, sig, rc = EXIT_FAIL, i, opened;

	fds[0] = first;
	for (opened = 1; opened < n && opened < CMD_MAX_WORKERS; opened++)
		if ((fds[opened] = open_more(ctx, first)) < 0)
			break;
	if (opened == n && sk_child_set_init(&set, (size_t)n, grace_ms) == 0) {
		set.on_exit = on_worker_exit;
		set.ctx = (void *)cmd;
		set.second_grace_ms = SK_CHILD_GRACE_MS; /* a second signal: theirs to act on */
		if ((sigfd = cmd_signalfd(cmd, true)) >= 0)
			rc = fork_workers(cmd, &set, fds, n, sigfd, serve, ctx);
		for (i = 0; i < opened; i++)
			close(fds[i]); /* the workers have them; the port is theirs */
		opened = 0;
		if (rc == 0) {
			enum sk_supervise_result sr = sk_child_supervise(&set, sigfd, true, &sig);

			if (sr == SK_SUPERVISE_ERROR)
				cmd_error(cmd, "waiting for the workers: %s", strerror(errno));
			if (sr == SK_SUPERVISE_ERROR || sr == SK_SUPERVISE_FAILED)
				rc = EXIT_FAIL;
		}
		sk_child_stop_all(&set, sigfd);
		sk_child_set_free(&set);
		if (sigfd >= 0)
			close(sigfd);
	}
	for (i = 0; i < opened; i++)
		close(fds[i]);
	return rc;
}

int cmd_handshake_ms(const struct net_opts *o)
{
	return o->timeout_ms >= 0 ? o->timeout_ms : 10000;
}

long long cmd_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
}
