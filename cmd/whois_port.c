/* sockctl whois-port: who holds a port, and optionally stop it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "holders.h"
#include "json.h"
#include "parse.h"
#include "pidfd.h"
#include "portquery.h"
#include "whois.h"

/* Held, but a holder could not be seen or stopped. */
#define EXIT_UNSEEN 3

static const char usage[] =
    "usage: sockctl whois-port [OPTIONS] [PORT[/tcp|/udp]...]\n"
    "\n"
    "Show the processes holding PORT: TCP listening sockets and bound UDP\n"
    "sockets, IPv4 and IPv6, one row per socket and process (PROTO, LOCAL,\n"
    "STATE, PID, USER, COMMAND). A client connected to PORT is not a holder.\n"
    "Without PORT: every listening TCP port and bound UDP port.\n"
    "\n"
    "Options:\n"
    "  -a, --all              every TCP state, and connections to PORT (REMOTE column)\n"
    "      --all-netns        also the sockets of other network namespaces (NETNS column)\n"
    "      --json             a JSON array of objects: proto, local, port, state,\n"
    "                         inode, uid, user, pid (null when unknown), command\n"
    "  -k, --kill             stop every holder: SIGTERM, then SIGKILL after the grace\n"
    "      --grace SECS       how long --kill waits before SIGKILL (default 3)\n"
    "  -s, --signal SIG       send SIG (name or number) to every holder, nothing else;\n"
    "                         implies --kill\n"
    "  -y, --yes              do not ask before stopping (asked only on a terminal)\n"
    "  -h, --help             show this help\n"
    "\n"
    "PORT is a number or a service name; /tcp or /udp limits it to one protocol.\n"
    "Never signals PID 1 or itself, or a process that no longer holds the socket.\n"
    "Exit status: 0 held (with --kill: stopped, and the port is free), 1 nothing\n"
    "holds it, 2 usage error, 3 held but a holder could not be seen or stopped\n"
    "(or the stop was not confirmed).\n";

enum { OPT_ALL_NETNS = 300, OPT_GRACE };

static const struct option longopts[] = {
    {"all", no_argument, NULL, 'a'},
    {"all-netns", no_argument, NULL, OPT_ALL_NETNS},
    {"json", no_argument, NULL, OPT_JSON},
    {"kill", no_argument, NULL, 'k'},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"signal", required_argument, NULL, 's'},
    {"yes", no_argument, NULL, 'y'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const name = "whois-port";

struct whois_opts {
	struct sk_whois_spec *specs;
	size_t nspecs;
	bool all, all_netns, json, kill, yes, grace_given;
	int signal; /* 0: SIGTERM then SIGKILL */
	int grace_ms;
};

/* PORT, PORT/tcp or PORT/udp; the name of a service known for either protocol. */
static int parse_spec(const char *arg, struct sk_whois_spec *s)
{
	char port[64];
	const char *slash = strrchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);

	s->tcp = s->udp = true;
	if (slash) {
		if (strcmp(slash + 1, "tcp") == 0)
			s->udp = false;
		else if (strcmp(slash + 1, "udp") == 0)
			s->tcp = false;
		else
			return cmd_usage(name, "bad protocol in '%s': must be /tcp or /udp", arg);
	}
	if (len == 0 || len >= sizeof(port))
		return cmd_usage(name, "bad port '%s': not a number or a known service name", arg);
	memcpy(port, arg, len);
	port[len] = '\0';
	if (sk_parse_port(port, s->tcp ? "tcp" : "udp", &s->port) < 0 &&
	    (!s->tcp || !s->udp || sk_parse_port(port, "udp", &s->port) < 0)) {
		if (errno == ERANGE)
			return cmd_usage(name, "bad port '%s': must be 1-65535", arg);
		return cmd_usage(name, "bad port '%s': not a number or a known service name", arg);
	}
	if (s->port == 0)
		return cmd_usage(name, "bad port '%s': must be 1-65535", arg);
	return 0;
}

static enum cmd_parsed parse_args(int argc, char **argv, struct whois_opts *o)
{
	int c, rc;
	size_t i;

	while ((c = getopt_long(argc, argv, ":aks:yh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o->all = true; break;
		case OPT_ALL_NETNS: o->all_netns = true; break;
		case OPT_JSON: o->json = true; break;
		case 'k': o->kill = true; break;
		case 'y': o->yes = true; break;
		case OPT_GRACE:
			if (sk_parse_seconds(optarg, &o->grace_ms) < 0)
				return cmd_usage(name, "bad --grace '%s': must be seconds", optarg);
			o->grace_given = true;
			break;
		case 's':
			if ((o->signal = sk_parse_signal(optarg)) < 0)
				return cmd_usage(
				    name, "bad signal '%s': not a signal name or number", optarg);
			o->kill = true;
			break;
		case 'h': fputs(usage, stdout); return CMD_HELP_SHOWN;
		default: return cmd_bad_option(name, c, argv);
		}
	}
	if (o->signal && o->grace_given)
		return cmd_usage(name, "--grace and --signal conflict: --signal never escalates");
	if (o->grace_given && !o->kill)
		return cmd_usage(name, "--grace needs --kill");
	if (o->yes && !o->kill)
		return cmd_usage(name, "--yes needs --kill or --signal");
	o->nspecs = (size_t)(argc - optind);
	if (o->kill && o->nspecs == 0)
		return cmd_usage(name, "--kill needs a PORT: it never stops every listener");
	if (o->nspecs && !(o->specs = calloc(o->nspecs, sizeof(*o->specs)))) {
		cmd_error(name, "out of memory");
		return CMD_FAILED;
	}
	for (i = 0; i < o->nspecs; i++)
		if ((rc = parse_spec(argv[optind + (int)i], &o->specs[i])))
			return rc;
	return CMD_RUN;
}

/* "0.0.0.0:80", "[::1]:80", "[::ffff:127.0.0.1]:80"; port 0 as '*'. */
static void format_endpoint(int family, const unsigned char *addr, unsigned port, char *buf,
			    size_t len)
{
	char a[INET6_ADDRSTRLEN], p[12] = "*";

	inet_ntop(family, addr, a, sizeof(a));
	if (port)
		snprintf(p, sizeof(p), "%u", port);
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%s" : "%s:%s", a, p);
}

static const char *state_name(const struct sk_sock *s)
{
	if (s->udp)
		return s->e.state == SK_UDP_CONNECTED ? "CONNECTED" : "BOUND";
	if (s->e.state == SK_TCP_CLOSE || s->e.state == SK_TCP_BOUND_INACTIVE)
		return "BOUND"; /* bound, not listening: it still holds the port */
	return sk_tcp_state_name(s->e.state);
}

/*
 * Writes s as a terminal can show it without being steered by it: control
 * characters (C0, DEL, C1), bytes that are not UTF-8, and '\\' itself
 * escaped as \xHH and \\; command lines are anyone's. With f NULL it only
 * counts. Returns the columns it takes (one per character).
 */
static size_t put_printable(const char *s, FILE *f)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, cols = 0, len, k;

	while (i < n) {
		bool ctl;

		len = sk_utf8_seq(p + i, n - i);
		ctl = len == 0 || (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
		      (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0);
		if (len == 0)
			len = 1;
		if (ctl) {
			for (k = 0; k < len; k++)
				if (f)
					fprintf(f, "\\x%02x", p[i + k]);
			cols += 4 * len;
		} else if (p[i] == '\\') {
			if (f)
				fputs("\\\\", f);
			cols += 2;
		} else {
			if (f)
				fwrite(p + i, 1, len, f);
			cols++;
		}
		i += len;
	}
	return cols;
}

static size_t printable_len(const char *s)
{
	return put_printable(s, NULL);
}

static void put_json_string(const char *s, FILE *f)
{
	size_t n = strlen(s);
	char *out = malloc(SK_JSON_ESCAPED_MAX(n) + 1);

	if (!out) {
		fputs("null", f);
		return;
	}
	n = sk_json_text(s, n, out);
	putc('"', f);
	fwrite(out, 1, n, f);
	putc('"', f);
	free(out);
}

struct cells {
	char proto[8], local[SK_WHOIS_ENDPOINT], remote[SK_WHOIS_ENDPOINT], pid[16];
	const char *state, *user, *netns;
};

static void row_cells(const struct sk_whois_row *r, struct cells *c)
{
	snprintf(c->proto, sizeof(c->proto), "%s", r->sock->udp ? "udp" : "tcp");
	format_endpoint(r->sock->e.family, r->sock->e.local, r->sock->e.lport, c->local,
			sizeof(c->local));
	format_endpoint(r->sock->e.family, r->sock->e.remote, r->sock->e.rport, c->remote,
			sizeof(c->remote));
	if (r->pid > 0)
		snprintf(c->pid, sizeof(c->pid), "%d", (int)r->pid);
	else
		snprintf(c->pid, sizeof(c->pid), "-");
	c->state = state_name(r->sock);
	c->user = r->user;
	c->netns = r->netns;
}

static void print_json(const struct sk_whois *w, const struct whois_opts *o, FILE *f)
{
	struct cells c;
	size_t i;

	fputs("[", f);
	for (i = 0; i < w->nrows; i++) {
		const struct sk_whois_row *r = &w->rows[i];

		row_cells(r, &c);
		fprintf(f, "%s\n  {\"proto\":\"%s\",\"local\":\"%s\",\"port\":%u,", i ? "," : "",
			c.proto, c.local, r->sock->e.lport);
		if (o->all)
			fprintf(f, "\"remote\":\"%s\",", c.remote);
		fprintf(f, "\"state\":\"%s\",\"inode\":%lu,\"uid\":%u,\"user\":", c.state,
			r->sock->e.inode, r->uid);
		put_json_string(c.user, f);
		if (r->pid > 0)
			fprintf(f, ",\"pid\":%d,\"command\":", (int)r->pid);
		else
			fputs(",\"pid\":null,\"command\":", f);
		if (r->command)
			put_json_string(r->command, f);
		else
			fputs("null", f);
		if (o->all_netns) {
			fputs(",\"netns\":", f);
			if (c.netns)
				put_json_string(c.netns, f);
			else
				fputs("null", f);
		}
		fputs("}", f);
	}
	fputs(w->nrows ? "\n]\n" : "]\n", f);
}

enum { COL_NETNS, COL_PROTO, COL_LOCAL, COL_REMOTE, COL_STATE, COL_PID, COL_USER, NCOLS };

static const char *cell(const struct cells *c, int col)
{
	switch (col) {
	case COL_NETNS: return c->netns ? c->netns : "-";
	case COL_PROTO: return c->proto;
	case COL_LOCAL: return c->local;
	case COL_REMOTE: return c->remote;
	case COL_STATE: return c->state;
	case COL_PID: return c->pid;
	default: return c->user;
	}
}

static bool col_shown(const struct whois_opts *o, int col)
{
	return (col != COL_NETNS || o->all_netns) && (col != COL_REMOTE || o->all);
}

static void print_table(const struct sk_whois *w, const struct whois_opts *o, FILE *f)
{
	static const char *const heads[NCOLS] = {"NETNS", "PROTO", "LOCAL", "REMOTE",
						 "STATE", "PID",   "USER"};
	size_t width[NCOLS], i;
	struct cells c;
	int col;

	for (col = 0; col < NCOLS; col++)
		width[col] = strlen(heads[col]);
	for (i = 0; i < w->nrows; i++) {
		row_cells(&w->rows[i], &c);
		for (col = 0; col < NCOLS; col++)
			if (printable_len(cell(&c, col)) > width[col])
				width[col] = printable_len(cell(&c, col));
	}
	for (col = 0; col < NCOLS; col++)
		if (col_shown(o, col))
			fprintf(f, "%-*s  ", (int)width[col], heads[col]);
	fputs("COMMAND\n", f);
	for (i = 0; i < w->nrows; i++) {
		row_cells(&w->rows[i], &c);
		for (col = 0; col < NCOLS; col++) {
			if (!col_shown(o, col))
				continue;
			put_printable(cell(&c, col), f);
			fprintf(f, "%*s", (int)(width[col] - printable_len(cell(&c, col)) + 2), "");
		}
		put_printable(w->rows[i].command ? w->rows[i].command : "-", f);
		putc('\n', f);
	}
}

static void spec_text(const struct sk_whois_spec *s, char *buf, size_t len)
{
	snprintf(buf, len, "%u%s", s->port, s->tcp && s->udp ? "" : s->tcp ? "/tcp" : "/udp");
}

/* Messages for ports nothing holds and sockets whose holder is unseen. */
static int report(const struct sk_whois *w, const struct whois_opts *o)
{
	char spec[32];
	size_t i;
	int rc = w->nrows ? 0 : EXIT_FAIL;

	for (i = 0; i < o->nspecs; i++) {
		if (w->held[i])
			continue;
		spec_text(&o->specs[i], spec, sizeof(spec));
		cmd_error(name, "nothing holds port %s", spec);
		rc = EXIT_FAIL;
	}
	if (o->nspecs == 0 && w->nrows == 0)
		cmd_error(name, "no listening or bound sockets");
	if (w->unseen) {
		cmd_error(name, "%zu socket%s held by processes that cannot be seen%s", w->unseen,
			  w->unseen == 1 ? " is" : "s are",
			  geteuid() ? ": run it with sudo to see them" : "");
		rc = EXIT_UNSEEN;
	}
	return rc;
}

static bool confirm(const struct sk_whois_targets *t, const struct whois_opts *o)
{
	char line[64];
	const char *sig = sk_signal_name(o->signal ? o->signal : SIGTERM);

	fprintf(stderr, "sockctl %s: stop %zu process%s with SIG%s", name, t->count,
		t->count == 1 ? "" : "es", sig ? sig : "?");
	if (!o->signal)
		fprintf(stderr, ", then SIGKILL after %d.%03d s", o->grace_ms / 1000,
			o->grace_ms % 1000);
	fputs("? [y/N] ", stderr);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static void say_stop(void *ctx, const struct sk_whois_target *t, const char *what)
{
	(void)ctx;
	fprintf(stderr, "sockctl %s: PID %d (", name, (int)t->pid);
	put_printable(t->comm, stderr);
	fprintf(stderr, "): %s\n", what);
}

/* Stops the holders; returns the exit status. */
static int stop_holders(struct sk_whois *w, const struct whois_opts *o, int rc)
{
	struct sk_whois_targets t;
	struct sk_whois_stop stop = {
	    .signal = o->signal,
	    .grace_ms = o->grace_ms,
	    .say = say_stop,
	    .ctx = NULL,
	    .proc = "/proc",
	};
	char spec[32];
	size_t i;
	int stopped;

	if (sk_whois_targets(w, &t) < 0) {
		cmd_error(name, "out of memory");
		return EXIT_FAIL;
	}
	if (t.count == 0) {
		sk_whois_targets_free(&t);
		return rc ? rc : EXIT_UNSEEN;
	}
	if (isatty(STDIN_FILENO) && !o->yes && !confirm(&t, o)) {
		cmd_error(name, "nothing stopped");
		sk_whois_targets_free(&t);
		return EXIT_UNSEEN;
	}
	stopped = sk_whois_stop(&t, &stop);
	sk_whois_targets_free(&t);
	if (stopped < 0)
		rc = EXIT_UNSEEN;
	if (o->signal)
		return rc;
	for (i = 0; i < o->nspecs; i++) {
		spec_text(&o->specs[i], spec, sizeof(spec));
		if (sk_whois_port_free(w, &o->specs[i], 1000) == SK_PORT_FREE) {
			cmd_error(name, "port %s is free", spec);
		} else {
			cmd_error(name, "port %s is still held", spec);
			rc = EXIT_UNSEEN;
		}
	}
	return rc;
}

int cmd_whois_port(int argc, char **argv)
{
	struct whois_opts o = {.grace_ms = 3000};
	struct sk_whois w;
	struct sk_whois_query q;
	int rc = parse_args(argc, argv, &o);

	if (rc != CMD_RUN) {
		free(o.specs);
		return cmd_parsed_exit(rc);
	}
	q = (struct sk_whois_query){
	    .proc = "/proc",
	    .specs = o.specs,
	    .nspecs = o.nspecs,
	    .all = o.all,
	    .all_netns = o.all_netns,
	    .no_netlink = getenv("SOCKCTL_NO_NETLINK") != NULL,
	};
	if (sk_whois_find(&q, &w) < 0) {
		cmd_error(name, "cannot read the socket tables: %s", strerror(errno));
		free(o.specs);
		return EXIT_FAIL;
	}
	if (o.json)
		print_json(&w, &o, stdout);
	else if (w.nrows)
		print_table(&w, &o, stdout);
	fflush(stdout);
	rc = report(&w, &o);
	if (o.kill && w.nrows)
		rc = stop_holders(&w, &o, rc);
	sk_whois_free(&w);
	free(o.specs);
	return rc;
}
