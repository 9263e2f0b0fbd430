/* sockctl whois-port: who holds a port, and optionally stop it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
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
    "usage: sockctl whois-port [OPTIONS] [PORT[,PORT...][/tcp|/udp] | PATH | unix:@NAME]...\n"
    "\n"
    "Show the processes holding PORT: TCP listening sockets and bound UDP\n"
    "sockets, IPv4 and IPv6, one row per socket and process (PROTO, LOCAL,\n"
    "STATE, PID, USER, UNIT, COMMAND). A client connected to PORT is not a\n"
    "holder. Without PORT: every listening TCP port and bound UDP port.\n"
    "\n"
    "Options:\n"
    "  -a, --all              every TCP state, and connections to PORT (REMOTE column)\n"
    "      --all-netns        also the sockets of other network namespaces (NETNS column)\n"
    "      --json             a JSON array of objects: proto, local, port, state,\n"
    "                         inode, uid, user, pid (null when unknown), command, unit\n"
    "  -k, --kill             stop every holder: SIGTERM, then SIGKILL after the grace\n"
    "      --grace SECS       how long --kill waits before SIGKILL (default 3)\n"
    "  -s, --signal SIG       send SIG (name or number) to every holder, nothing else;\n"
    "                         implies --kill\n"
    "      --close            close the sockets themselves (SOCK_DESTROY, as ss -K):\n"
    "                         the holders' sockets, with -a the connections too;\n"
    "                         the processes live on (needs CAP_NET_ADMIN)\n"
    "      --dry-run          with -k, -s or --close: say what would be done, do nothing\n"
    "  -y, --yes              do not ask before stopping or closing (asked only on a\n"
    "                         terminal)\n"
    "      --free             print the first port of the PORT list that no socket uses\n"
    "                         (TCP, or UDP with /udp); exit 1 if none is free\n"
    "      --wait-free SECS   wait until nothing holds PORT; exit 1 on timeout\n"
    "  -h, --help             show this help\n"
    "\n"
    "PORT is a number, a service name or a range (8000-8010); commas make a list\n"
    "(80,443); /tcp or /udp limits the whole argument to one protocol. PATH (or\n"
    "unix:PATH) names a unix socket file, unix:@NAME an abstract unix socket.\n"
    "UNIT is the systemd unit or container of the holder (from /proc/PID/cgroup);\n"
    "--kill warns when one may start it again.\n"
    "Never signals PID 1 or itself, or a process that no longer holds the socket.\n"
    "Exit status: 0 held (with several ports: any; with --kill or --close: every\n"
    "held one is now free), 1 nothing holds it, 2 usage error, 3 held but a holder\n"
    "could not be seen, stopped or closed (or it was not confirmed).\n";

enum { OPT_ALL_NETNS = 300, OPT_GRACE, OPT_CLOSE, OPT_DRY_RUN, OPT_FREE, OPT_WAIT_FREE };

static const struct option longopts[] = {
    {"all", no_argument, NULL, 'a'},
    {"all-netns", no_argument, NULL, OPT_ALL_NETNS},
    {"json", no_argument, NULL, OPT_JSON},
    {"kill", no_argument, NULL, 'k'},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"signal", required_argument, NULL, 's'},
    {"close", no_argument, NULL, OPT_CLOSE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"yes", no_argument, NULL, 'y'},
    {"free", no_argument, NULL, OPT_FREE},
    {"wait-free", required_argument, NULL, OPT_WAIT_FREE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const name = "whois-port";

struct whois_opts {
	struct sk_whois_spec *specs;
	size_t nspecs, cap;
	bool all, all_netns, json, kill, yes, grace_given, close, dry_run, free;
	int signal; /* 0: SIGTERM then SIGKILL */
	int grace_ms;
	int wait_free_ms; /* -1: not asked */
};

static int add_spec(struct whois_opts *o, const struct sk_whois_spec *s)
{
	if (o->nspecs == o->cap) {
		size_t ncap = o->cap ? 2 * o->cap : 8;
		struct sk_whois_spec *nv = realloc(o->specs, ncap * sizeof(*nv));

		if (!nv) {
			cmd_error(name, "out of memory");
			return CMD_FAILED;
		}
		o->specs = nv;
		o->cap = ncap;
	}
	o->specs[o->nspecs++] = *s;
	return 0;
}

static bool is_socket_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* True for what can only be a path: "/x", "./x", "../x", "unix:...". */
static bool looks_like_path(const char *arg)
{
	return arg[0] == '/' || strncmp(arg, "./", 2) == 0 || strncmp(arg, "../", 3) == 0 ||
	       strncmp(arg, "unix:", 5) == 0;
}

static int unix_arg(const char *arg, struct whois_opts *o)
{
	struct sk_whois_spec s;

	if (sk_whois_unix_spec(arg, &s) < 0) {
		if (errno == ENAMETOOLONG)
			return cmd_usage(name, "bad unix socket '%s': longer than %d bytes", arg,
					 SK_SOCK_UNIX_NAME);
		return cmd_usage(name, "bad unix socket '%s': no path or name", arg);
	}
	return add_spec(o, &s);
}

/*
 * One PORT argument: a list of ports, service names and ranges, with
 * /tcp or /udp for all of it; or a unix socket (a path, unix:PATH,
 * unix:@NAME).
 */
static int parse_arg(const char *arg, struct whois_opts *o)
{
	char list[256], err[256];
	const char *slash = strrchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg), i;
	struct sk_port_list pl;
	bool tcp = true, udp = true;
	int rc = 0;

	if (looks_like_path(arg))
		return unix_arg(arg, o);
	if (slash) {
		bool portish = len > 0 && strspn(arg, "0123456789,-") == len;

		if (strcmp(slash + 1, "tcp") == 0)
			udp = false;
		else if (strcmp(slash + 1, "udp") == 0)
			tcp = false;
		else if (portish)
			return cmd_usage(name, "bad protocol in '%s': must be /tcp or /udp", arg);
		else
			return unix_arg(arg, o); /* a relative path: "run/app.sock" */
	}
	if (len == 0 || len >= sizeof(list))
		return cmd_usage(
		    name, "bad port '%s': not a number, a range or a known service name", arg);
	memcpy(list, arg, len);
	list[len] = '\0';
	/* a service known for UDP only still names a port when both are asked */
	if (sk_parse_port_list(list, tcp ? "tcp" : "udp", &pl, err) < 0 &&
	    (!tcp || !udp || errno == ENOMEM || sk_parse_port_list(list, "udp", &pl, err) < 0)) {
		if (errno == ENOMEM) {
			cmd_error(name, "out of memory");
			return CMD_FAILED;
		}
		if (!slash && !strchr(list, ',') && is_socket_file(arg))
			return unix_arg(arg, o); /* "app.sock" in this directory */
		return cmd_usage(name, "%s", err);
	}
	for (i = 0; rc == 0 && i < pl.count; i++) {
		struct sk_whois_spec s = {
		    .lo = pl.ranges[i].lo, .hi = pl.ranges[i].hi, .tcp = tcp, .udp = udp};

		rc = add_spec(o, &s);
	}
	sk_port_list_free(&pl);
	return rc;
}

static int check_options(const struct whois_opts *o)
{
	size_t i;
	bool unix_sock = false;

	for (i = 0; i < o->nspecs; i++)
		unix_sock |= o->specs[i].unix_sock;
	if (o->signal && o->grace_given)
		return cmd_usage(name, "--grace and --signal conflict: --signal never escalates");
	if (o->close && o->kill)
		return cmd_usage(name, "--close and --kill/--signal conflict: one or the other");
	if (o->close && o->grace_given)
		return cmd_usage(name, "--grace needs --kill");
	if (o->grace_given && !o->kill)
		return cmd_usage(name, "--grace needs --kill");
	if (o->yes && !o->kill && !o->close)
		return cmd_usage(name, "--yes needs --kill, --signal or --close");
	if (o->dry_run && !o->kill && !o->close)
		return cmd_usage(name, "--dry-run needs --kill, --signal or --close");
	if (o->free && o->wait_free_ms >= 0)
		return cmd_usage(name, "--free and --wait-free conflict");
	if ((o->free || o->wait_free_ms >= 0) && (o->kill || o->close || o->json || o->dry_run))
		return cmd_usage(name,
				 "--%s cannot be used with --kill, --signal, --close, --json "
				 "or --dry-run",
				 o->free ? "free" : "wait-free");
	if (o->free && (o->all || o->all_netns))
		return cmd_usage(name, "--free looks at this namespace's ports: not with -a or "
				       "--all-netns");
	if (o->nspecs == 0) {
		if (o->kill)
			return cmd_usage(name,
					 "--kill needs a PORT: it never stops every listener");
		if (o->close)
			return cmd_usage(name,
					 "--close needs a PORT: it never closes every listener");
		if (o->free || o->wait_free_ms >= 0)
			return cmd_usage(name, "--%s needs a PORT", o->free ? "free" : "wait-free");
	}
	if (o->free && unix_sock)
		return cmd_usage(name, "--free takes ports, not unix sockets");
	return CMD_RUN;
}

static enum cmd_parsed parse_args(int argc, char **argv, struct whois_opts *o)
{
	int c, rc, i;

	while ((c = getopt_long(argc, argv, ":aks:yh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o->all = true; break;
		case OPT_ALL_NETNS: o->all_netns = true; break;
		case OPT_JSON: o->json = true; break;
		case 'k': o->kill = true; break;
		case 'y': o->yes = true; break;
		case OPT_CLOSE: o->close = true; break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case OPT_FREE: o->free = true; break;
		case OPT_GRACE:
			if (sk_parse_seconds(optarg, &o->grace_ms) < 0)
				return cmd_usage(name, "bad --grace '%s': must be seconds", optarg);
			o->grace_given = true;
			break;
		case OPT_WAIT_FREE:
			if (sk_parse_seconds(optarg, &o->wait_free_ms) < 0)
				return cmd_usage(name, "bad --wait-free '%s': must be seconds",
						 optarg);
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
	for (i = optind; i < argc; i++)
		if ((rc = parse_arg(argv[i], o)))
			return rc;
	return check_options(o);
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

/* A unix socket's name as people write it: the path, or "@NAME" (NUL bytes as '@'). */
static void unix_name(const struct sk_sock *s, char *buf, size_t len)
{
	size_t i, n = s->unamelen < len - 1 ? s->unamelen : len - 1;

	for (i = 0; i < n; i++)
		buf[i] = s->uname[i] ? (char)s->uname[i] : '@';
	buf[n] = '\0';
}

static const char *proto_name(const struct sk_sock *s)
{
	if (s->e.family != AF_UNIX)
		return s->udp ? "udp" : "tcp";
	return s->utype == SOCK_DGRAM	    ? "unix-dgram"
	       : s->utype == SOCK_SEQPACKET ? "unix-seqpacket"
					    : "unix";
}

static const char *state_name(const struct sk_sock *s)
{
	if (s->e.family == AF_UNIX) {
		if (s->e.state == SK_TCP_LISTEN)
			return "LISTEN";
		/* a datagram server's state follows its clients' connect(): still bound */
		if (s->utype == SOCK_DGRAM && s->unamelen && !s->uclient)
			return "BOUND";
		if (s->e.state == SK_TCP_CLOSE)
			return s->unamelen && !s->uclient ? "BOUND" : "UNCONNECTED";
		return sk_tcp_state_name(s->e.state);
	}
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

/* Room for an endpoint, or a unix socket's name and a '@'. */
#define CELL_ENDPOINT (SK_WHOIS_ENDPOINT + SK_SOCK_UNIX_NAME)

struct cells {
	char local[CELL_ENDPOINT], remote[CELL_ENDPOINT], pid[16];
	const char *proto, *state, *user, *netns, *unit;
};

static void row_cells(const struct sk_whois_row *r, struct cells *c)
{
	const struct sk_sock *s = r->sock;

	c->proto = proto_name(s);
	if (s->e.family == AF_UNIX) {
		unix_name(s, s->uclient ? c->remote : c->local, sizeof(c->local));
		snprintf(s->uclient ? c->local : c->remote, sizeof(c->local), "*");
	} else {
		format_endpoint(s->e.family, s->e.local, s->e.lport, c->local, sizeof(c->local));
		format_endpoint(s->e.family, s->e.remote, s->e.rport, c->remote, sizeof(c->remote));
	}
	if (r->pid > 0)
		snprintf(c->pid, sizeof(c->pid), "%d", (int)r->pid);
	else
		snprintf(c->pid, sizeof(c->pid), "-");
	c->state = state_name(s);
	c->user = r->user;
	c->netns = r->netns;
	c->unit = r->unit_label;
}

static void put_json_or_null(const char *s, FILE *f)
{
	if (s)
		put_json_string(s, f);
	else
		fputs("null", f);
}

static void print_json(const struct sk_whois *w, const struct whois_opts *o, FILE *f)
{
	struct cells c;
	size_t i;

	fputs("[", f);
	for (i = 0; i < w->nrows; i++) {
		const struct sk_whois_row *r = &w->rows[i];
		bool unix_sock = r->sock->e.family == AF_UNIX;

		row_cells(r, &c);
		fprintf(f, "%s\n  {\"proto\":\"%s\",\"local\":", i ? "," : "", c.proto);
		put_json_string(c.local, f);
		if (unix_sock)
			fputs(",\"port\":null,", f);
		else
			fprintf(f, ",\"port\":%u,", r->sock->e.lport);
		if (o->all) {
			fputs("\"remote\":", f);
			put_json_string(c.remote, f);
			fputs(",", f);
		}
		fprintf(f, "\"state\":\"%s\",\"inode\":%lu,", c.state, r->sock->e.inode);
		if (r->uid == SK_UID_UNKNOWN)
			fputs("\"uid\":null,\"user\":null", f);
		else {
			fprintf(f, "\"uid\":%u,\"user\":", r->uid);
			put_json_string(c.user, f);
		}
		if (r->pid > 0)
			fprintf(f, ",\"pid\":%d,\"command\":", (int)r->pid);
		else
			fputs(",\"pid\":null,\"command\":", f);
		put_json_or_null(r->command, f);
		fputs(",\"unit\":", f);
		put_json_or_null(c.unit, f);
		if (o->all_netns) {
			fputs(",\"netns\":", f);
			put_json_or_null(c.netns, f);
		}
		fputs("}", f);
	}
	fputs(w->nrows ? "\n]\n" : "]\n", f);
}

enum { COL_NETNS, COL_PROTO, COL_LOCAL, COL_REMOTE, COL_STATE, COL_PID, COL_USER, COL_UNIT, NCOLS };

static const char *cell(const struct cells *c, int col)
{
	switch (col) {
	case COL_NETNS: return c->netns ? c->netns : "-";
	case COL_PROTO: return c->proto;
	case COL_LOCAL: return c->local;
	case COL_REMOTE: return c->remote;
	case COL_STATE: return c->state;
	case COL_PID: return c->pid;
	case COL_UNIT: return c->unit ? c->unit : "-";
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
						 "STATE", "PID",   "USER",  "UNIT"};
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

/* "port 8080", "port 8000-8010/udp", "unix socket /run/app.sock", "unix socket @name". */
static void spec_text(const struct sk_whois_spec *s, char *buf, size_t len)
{
	const char *proto = s->tcp && s->udp ? "" : s->tcp ? "/tcp" : "/udp";
	size_t i, n;

	if (s->unix_sock) {
		n = (size_t)snprintf(buf, len, "unix socket ");
		for (i = 0; i < s->namelen && n + 1 < len; i++)
			buf[n++] = s->name[i] ? (char)s->name[i] : '@';
		buf[n < len ? n : len - 1] = '\0';
	} else if (s->lo == s->hi) {
		snprintf(buf, len, "port %u%s", s->lo, proto);
	} else {
		snprintf(buf, len, "port %u-%u%s", s->lo, s->hi, proto);
	}
}

/* A message naming spec, its name escaped as the table's cells are. */
static void say_spec(const struct sk_whois_spec *spec, const char *what)
{
	char text[160];

	spec_text(spec, text, sizeof(text));
	fprintf(stderr, "sockctl %s: ", name);
	if (strncmp(what, "nothing holds", 13) == 0) {
		fprintf(stderr, "%s ", what);
		put_printable(text, stderr);
		fputc('\n', stderr);
	} else {
		put_printable(text, stderr);
		fprintf(stderr, " %s\n", what);
	}
}

/* Messages for ports nothing holds and sockets whose holder is unseen. */
static int report(const struct sk_whois *w, const struct whois_opts *o)
{
	size_t i;
	bool any = o->nspecs == 0 && w->nrows > 0;
	int rc;

	for (i = 0; i < o->nspecs; i++) {
		if (w->held[i])
			any = true;
		else
			say_spec(&o->specs[i], "nothing holds");
		if (!w->held[i] && o->specs[i].has_file && !o->all_netns && !w->socks.unix_proc)
			cmd_error(name,
				  "(the socket file is there, but no socket of this network "
				  "namespace is bound to it; --all-netns looks in the others)");
	}
	rc = any ? 0 : EXIT_FAIL;
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

static bool ask(const char *question)
{
	char line[64];

	fprintf(stderr, "sockctl %s: %s? [y/N] ", name, question);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static bool confirm(const struct sk_whois_targets *t, const struct whois_opts *o)
{
	const char *sig = sk_signal_name(o->signal ? o->signal : SIGTERM);
	char q[160];
	int n;

	n = snprintf(q, sizeof(q), "stop %zu process%s with SIG%s", t->count,
		     t->count == 1 ? "" : "es", sig ? sig : "?");
	if (!o->signal && n > 0 && (size_t)n < sizeof(q))
		snprintf(q + n, sizeof(q) - (size_t)n, ", then SIGKILL after %d.%03d s",
			 o->grace_ms / 1000, o->grace_ms % 1000);
	return ask(q);
}

static void say_target(const struct sk_whois_target *t, const char *what)
{
	fprintf(stderr, "sockctl %s: PID %d (", name, (int)t->pid);
	put_printable(t->comm, stderr);
	fprintf(stderr, "): %s\n", what);
}

static void say_stop(void *ctx, const struct sk_whois_target *t, const char *what)
{
	(void)ctx;
	say_target(t, what);
}

/* Warns of holders that their service or container may start again. */
static void warn_restarters(const struct sk_whois_targets *t)
{
	char label[300], hint[600];
	struct passwd *pw;
	size_t i;

	for (i = 0; i < t->count; i++) {
		const struct sk_unit *u = &t->v[i].unit;

		/* docker's port forwarder: the container it serves is what to stop */
		if (strcmp(t->v[i].comm, "docker-proxy") == 0 && t->v[i].port) {
			cmd_error(
			    name,
			    "warning: PID %d (docker-proxy) forwards port %u to a Docker "
			    "container, and Docker starts it again with the container; to stop "
			    "it for good, stop that container: docker ps --filter publish=%u",
			    (int)t->v[i].pid, t->v[i].port, t->v[i].port);
			continue;
		}
		if (u->kind == SK_UNIT_NONE || !u->restarts)
			continue;
		pw = u->kind == SK_UNIT_USER ? getpwuid(u->uid) : NULL;
		sk_unit_label(u, label, sizeof(label));
		if (sk_unit_stop_hint(u, pw ? pw->pw_name : NULL, hint, sizeof(hint)) == 0)
			continue;
		fprintf(stderr, "sockctl %s: warning: PID %d (", name, (int)t->v[i].pid);
		put_printable(t->v[i].comm, stderr);
		fputs(") belongs to ", stderr);
		put_printable(label, stderr);
		fputs(", which may start it again; to stop it for good: ", stderr);
		put_printable(hint, stderr);
		fputc('\n', stderr);
	}
}

/*
 * After -k or --close: waits (a second at most) for each held spec to be
 * free. Returns rc, or EXIT_UNSEEN when one is still held.
 */
static int check_freed(const struct sk_whois *w, const struct whois_opts *o, int rc)
{
	size_t i;

	for (i = 0; i < o->nspecs; i++) {
		if (!w->held[i])
			continue;
		if (sk_whois_port_free(&w->q, &o->specs[i], 1000) == SK_PORT_FREE) {
			say_spec(&o->specs[i], "is free");
		} else {
			say_spec(&o->specs[i], "is still held");
			rc = EXIT_UNSEEN;
		}
	}
	return rc;
}

/* Stops the holders; returns the exit status. */
static int stop_holders(struct sk_whois *w, const struct whois_opts *o, int rc)
{
	struct sk_whois_targets t;
	struct sk_whois_stop stop = {
	    .signal = o->signal,
	    .grace_ms = o->grace_ms,
	    .dry_run = o->dry_run,
	    .say = say_stop,
	    .ctx = NULL,
	    .proc = "/proc",
	};
	int stopped;

	if (sk_whois_targets(w, &t) < 0) {
		cmd_error(name, "out of memory");
		return EXIT_FAIL;
	}
	if (t.unsure) {
		cmd_error(name,
			  "%zu holder%s of unix sockets not signalled: read from /proc/net/unix, "
			  "where a socket's name can forge a line (listed twice, or another "
			  "namespace's table read without root)",
			  t.unsure, t.unsure == 1 ? "" : "s");
		rc = EXIT_UNSEEN;
	}
	if (t.count == 0) {
		sk_whois_targets_free(&t);
		return rc ? rc : EXIT_UNSEEN;
	}
	warn_restarters(&t);
	if (!o->dry_run && isatty(STDIN_FILENO) && !o->yes && !confirm(&t, o)) {
		cmd_error(name, "nothing stopped");
		sk_whois_targets_free(&t);
		return EXIT_UNSEEN;
	}
	stopped = sk_whois_stop(&t, &stop);
	sk_whois_targets_free(&t);
	if (stopped < 0)
		rc = EXIT_UNSEEN;
	if (o->signal || o->dry_run)
		return rc;
	return check_freed(w, o, rc);
}

/* "tcp 127.0.0.1:8080 LISTEN (PID 123 python3)", escaped. */
static void put_sock(const struct sk_whois_row *r, FILE *f)
{
	struct cells c;

	row_cells(r, &c);
	fprintf(f, "%s ", c.proto);
	put_printable(r->sock->e.family == AF_UNIX && r->sock->uclient ? c.remote : c.local, f);
	if (r->sock->e.family != AF_UNIX && (r->sock->e.rport || !sk_whois_holds(r->sock))) {
		fputs(" -> ", f);
		put_printable(c.remote, f);
	}
	fprintf(f, " %s", c.state);
	if (r->netns) {
		fputs(" in ", f);
		put_printable(r->netns, f);
	}
	if (r->pid > 0) {
		char comm[64];

		if (sk_proc_comm("/proc", r->pid, comm, sizeof(comm)) < 0)
			snprintf(comm, sizeof(comm), "?");
		fprintf(f, " (PID %d ", (int)r->pid);
		put_printable(comm, f);
		fputc(')', f);
	}
}

struct close_ctx {
	const struct whois_opts *o;
	unsigned char still_bound[65536 / 8]; /* the ports a listener was left bound to */
};

static void say_close(void *ctx, const struct sk_whois_row *r, enum sk_close_result res, int err)
{
	struct close_ctx *c = ctx;

	fprintf(stderr, "sockctl %s: ", name);
	switch (res) {
	case SK_CLOSED:
		fputs(c->o->dry_run ? "would close " : "closed ", stderr);
		put_sock(r, stderr);
		fputc('\n', stderr);
		return;
	case SK_CLOSE_GONE:
		put_sock(r, stderr);
		fputs(": gone already\n", stderr);
		return;
	case SK_CLOSE_STILL_BOUND:
		c->still_bound[r->sock->e.lport / 8] |=
		    (unsigned char)(1u << (r->sock->e.lport % 8));
		fputs("closed ", stderr);
		put_sock(r, stderr);
		fprintf(stderr,
			": it no longer %s, but its process keeps the port bound (a server that "
			"sets SO_REUSEADDR can bind it; --kill frees it)\n",
			r->sock->e.state == SK_TCP_LISTEN ? "listens" : "is connected");
		return;
	case SK_CLOSE_FAILED: break;
	}
	fputs(c->o->dry_run ? "would not close " : "cannot close ", stderr);
	put_sock(r, stderr);
	if (err == EOPNOTSUPP && r->sock->e.family == AF_UNIX)
		fputs(": unix sockets cannot be closed from outside their process: use --kill\n",
		      stderr);
	else if (err == EPERM || err == EACCES)
		fprintf(stderr, ": %s: closing a socket needs CAP_NET_ADMIN%s\n", strerror(err),
			geteuid() ? ": run it with sudo" : "");
	else if (err == EOPNOTSUPP)
		fputs(": the kernel cannot close sockets (it is built without "
		      "CONFIG_INET_DIAG_DESTROY): use --kill\n",
		      stderr);
	else if (err == ENOTCONN)
		fputs(": it is bound but neither listens nor is connected, and the kernel closes "
		      "sockets by their address: use --kill\n",
		      stderr);
	else if (err == EADDRINUSE)
		fputs(": the kernel disconnects a UDP socket bound to a port of its choosing, but "
		      "leaves it bound: use --kill\n",
		      stderr);
	else if (err == ESTALE)
		fputs(": its address leads the kernel to another socket: use --kill\n", stderr);
	else
		fprintf(stderr, ": %s\n", strerror(err));
}

static size_t count_closable(const struct sk_whois *w)
{
	const struct sk_sock *last = NULL;
	size_t i, n = 0;

	for (i = 0; i < w->nrows; i++) {
		if (w->rows[i].sock != last && sk_whois_closable(w, &w->rows[i]))
			n++;
		last = w->rows[i].sock;
	}
	return n;
}

/* Closes the sockets; returns the exit status. */
static int close_sockets(struct sk_whois *w, const struct whois_opts *o, int rc)
{
	struct close_ctx *ctx = calloc(1, sizeof(*ctx));
	struct sk_whois_close c = {.say = say_close, .ctx = ctx, .dry_run = o->dry_run};
	size_t n = count_closable(w), i;
	unsigned p;
	bool bound;
	char q[64];

	if (!ctx) {
		cmd_error(name, "out of memory");
		return EXIT_FAIL;
	}
	ctx->o = o;
	if (n == 0) {
		free(ctx);
		return rc ? rc : EXIT_UNSEEN;
	}
	snprintf(q, sizeof(q), "close %zu socket%s", n, n == 1 ? "" : "s");
	if (!o->dry_run && isatty(STDIN_FILENO) && !o->yes && !ask(q)) {
		cmd_error(name, "nothing closed");
		free(ctx);
		return EXIT_UNSEEN;
	}
	if (sk_whois_close(w, &c) < 0)
		rc = EXIT_UNSEEN;
	/* what is left on each port: SOCK_DESTROY is synchronous, nothing to wait for */
	for (i = 0; !o->dry_run && i < o->nspecs; i++) {
		if (!w->held[i] || o->specs[i].unix_sock)
			continue;
		/* what closing left bound (which /proc/net of other namespaces does not list) */
		for (p = o->specs[i].lo, bound = false; !bound && p <= o->specs[i].hi; p++)
			bound = ctx->still_bound[p / 8] & (1u << (p % 8));
		if (bound) {
			say_spec(&o->specs[i], "is still bound");
		} else if (sk_whois_port_free(&w->q, &o->specs[i], 0) == SK_PORT_FREE) {
			say_spec(&o->specs[i], "is free");
		} else { /* a socket it did not close, or one that came meanwhile */
			say_spec(&o->specs[i], "is still held");
			rc = EXIT_UNSEEN;
		}
	}
	free(ctx);
	return rc;
}

/* --free: the first free port of the list on stdout. */
static int first_free(const struct whois_opts *o, bool no_netlink)
{
	unsigned port;
	int found = sk_whois_first_free("/proc", no_netlink, o->specs, o->nspecs, &port);

	if (found < 0) {
		cmd_error(name, "cannot read the socket tables: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (found == 0)
		return EXIT_FAIL;
	printf("%u\n", port);
	return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
}

/* --wait-free SECS: until one pass finds nothing holding any of the list. */
static int wait_free(const struct whois_opts *o, const struct sk_whois_query *q)
{
	int64_t deadline = sk_now_ms() + o->wait_free_ms;
	size_t i, waited;

	do {
		for (i = 0, waited = 0; i < o->nspecs; i++) {
			int64_t left = deadline - sk_now_ms();
			enum sk_port_state st = sk_whois_port_free(q, &o->specs[i], 0);
			char what[64];

			if (st == SK_PORT_HELD) { /* wait; then the others are looked at again */
				st = sk_whois_port_free(q, &o->specs[i], left > 0 ? (int)left : 0);
				waited++;
			}

			if (st == SK_PORT_UNKNOWN) {
				cmd_error(name, "cannot read the socket tables: %s",
					  strerror(errno));
				return EXIT_FAIL;
			}
			if (st == SK_PORT_HELD) {
				snprintf(what, sizeof(what), "is still held after %d.%03d s",
					 o->wait_free_ms / 1000, o->wait_free_ms % 1000);
				say_spec(&o->specs[i], what);
				return EXIT_FAIL;
			}
		}
	} while (waited && o->nspecs > 1 && sk_now_ms() < deadline);
	return 0;
}

int cmd_whois_port(int argc, char **argv)
{
	struct whois_opts o = {.grace_ms = 3000, .wait_free_ms = -1};
	struct sk_whois w;
	struct sk_whois_query q;
	bool no_netlink = getenv("SOCKCTL_NO_NETLINK") != NULL;
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
	    .no_netlink = no_netlink,
	};
	if (o.free || o.wait_free_ms >= 0) {
		rc = o.free ? first_free(&o, no_netlink) : wait_free(&o, &q);
		free(o.specs);
		return rc;
	}
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
	else if (o.close && w.nrows)
		rc = close_sockets(&w, &o, rc);
	sk_whois_free(&w);
	free(o.specs);
	return rc;
}
