#include "whois.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "netns.h"
#include "pidfd.h"
#include "sockdiag.h"
#include "sort.h"
#include "unixquery.h"

/* How long SIGKILLed processes get to go. */
#define KILL_WAIT_MS 5000

struct proc_info {
	pid_t pid;
	unsigned uid;
	bool known;
	char *command;
	struct sk_unit *unit;
	char *unit_label; /* NULL for none */
};

struct user_name {
	unsigned uid;
	char *name;
};

struct netns_name {
	unsigned long ino;
	char *name;
};

/* What the rows point into. */
struct sk_whois_info {
	struct sk_holders holders;
	struct proc_info *procs;
	size_t nprocs;
	struct user_name *users;
	size_t nusers;
	struct netns_name *netns;
	size_t nnetns;
	struct ifaddrs *ifs; /* this machine's addresses, read once when first asked */
	bool ifs_read;
};

static int cmp_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
	return memcmp(a, b, n);
}

/* TCP, UDP, unix; then a unix socket's name, and its ends. */
static int sock_group(const struct sk_sock *s)
{
	return s->e.family == AF_UNIX ? 2 : s->udp;
}

static int cmp_unix(const struct sk_sock *a, const struct sk_sock *b)
{
	size_t n = a->unamelen < b->unamelen ? a->unamelen : b->unamelen;
	int c;

	if ((c = memcmp(a->uname, b->uname, n)) != 0)
		return c;
	if (a->unamelen != b->unamelen)
		return a->unamelen < b->unamelen ? -1 : 1;
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	if (a->uclient != b->uclient)
		return a->uclient ? 1 : -1;
	if (a->e.state != b->e.state) /* listeners (10) before their connections */
		return a->e.state > b->e.state ? -1 : 1;
	if (a->utype != b->utype)
		return a->utype < b->utype ? -1 : 1;
	return (a->e.inode > b->e.inode) - (a->e.inode < b->e.inode);
}

/* Protocol, port, namespace, family, address, then everything else. */
static int cmp_sock(const void *pa, const void *pb)
{
	const struct sk_sock *a = pa, *b = pb;
	int c;

	if (sock_group(a) != sock_group(b))
		return sock_group(a) < sock_group(b) ? -1 : 1;
	if (sock_group(a) == 2)
		return cmp_unix(a, b);
	if (a->e.lport != b->e.lport)
		return a->e.lport < b->e.lport ? -1 : 1;
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	if (a->e.family != b->e.family)
		return a->e.family < b->e.family ? -1 : 1;
	if ((c = cmp_bytes(a->e.local, b->e.local, 16)) ||
	    (c = cmp_bytes(a->e.remote, b->e.remote, 16)))
		return c;
	if (a->e.rport != b->e.rport)
		return a->e.rport < b->e.rport ? -1 : 1;
	if (a->e.state != b->e.state)
		return a->e.state < b->e.state ? -1 : 1;
	if (a->e.inode != b->e.inode)
		return a->e.inode < b->e.inode ? -1 : 1;
	return a->e.uid < b->e.uid ? -1 : a->e.uid > b->e.uid;
}

static int cmp_ulong(const void *pa, const void *pb)
{
	unsigned long a = *(const unsigned long *)pa, b = *(const unsigned long *)pb;

	return (a > b) - (a < b);
}

/* Runs the port queries of q (all: with every TCP state) in one namespace. */
static int query_netns(const struct sk_whois_query *q, bool all, unsigned long ns, pid_t ns_pid,
		       struct sk_socks *out)
{
	struct sk_port_query pq = {
	    .proc = q->proc,
	    .lo = 0,
	    .tcp = true,
	    .udp = true,
	    .all_states = all,
	    .no_netlink = q->no_netlink,
	    .netns = ns,
	    .netns_pid = ns_pid,
	};
	size_t i;

	if (q->nspecs == 0)
		return sk_port_query(&pq, out);
	for (i = 0; i < q->nspecs; i++) {
		if (q->specs[i].unix_sock) {
			struct sk_unix_query uq = {
			    .proc = q->proc,
			    .spec = &q->specs[i],
			    .all = all,
			    .no_netlink = q->no_netlink,
			    .netns = ns,
			    .netns_pid = ns_pid,
			};

			if (sk_unix_query(&uq, out) < 0)
				return -1;
			continue;
		}
		pq.lo = q->specs[i].lo;
		pq.hi = q->specs[i].hi;
		pq.tcp = q->specs[i].tcp;
		pq.udp = q->specs[i].udp;
		if (sk_port_query(&pq, out) < 0)
			return -1;
	}
	return 0;
}

/* This namespace, then (all_netns) one process's view of each other one. */
static int query_all(const struct sk_whois_query *q, bool all, struct sk_socks *out)
{
	unsigned long self = sk_netns_of(q->proc, 0);
	struct sk_netns *ns = NULL;
	size_t n = 0, i;

	if (query_netns(q, all, 0, 0, out) < 0)
		return -1;
	if (!q->all_netns)
		return 0;
	if (sk_netns_list(q->proc, &ns, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		size_t before = out->count;

		if (ns[i].ino == self)
			continue;
		if (query_netns(q, all, ns[i].ino, ns[i].pid, out) < 0 && errno == ENOMEM) {
			free(ns);
			return -1;
		}
		/* the process exited meanwhile and its PID went elsewhere: not that namespace */
		if (sk_netns_of(q->proc, ns[i].pid) != ns[i].ino)
			out->count = before;
	}
	free(ns);
	return 0;
}

static int find_holders(const struct sk_whois_query *q, const struct sk_socks *s,
			struct sk_holders *h)
{
	unsigned long *inodes = malloc((s->count + 1) * sizeof(*inodes));
	size_t i, n = 0;
	int rc;

	if (!inodes)
		return -1;
	for (i = 0; i < s->count; i++)
		if (s->v[i].e.inode)
			inodes[n++] = s->v[i].e.inode;
	qsort(inodes, n, sizeof(*inodes), cmp_ulong);
	rc = sk_find_holders(q->proc, inodes, n, h);
	free(inodes);
	return rc;
}

static const char *user_name(struct sk_whois_info *in, unsigned uid)
{
	struct user_name *nv;
	struct passwd *pw;
	char num[16];
	size_t i;

	for (i = 0; i < in->nusers; i++)
		if (in->users[i].uid == uid)
			return in->users[i].name;
	if (!(nv = realloc(in->users, (in->nusers + 1) * sizeof(*nv))))
		return "?";
	in->users = nv;
	pw = getpwuid(uid);
	snprintf(num, sizeof(num), "%u", uid);
	if (!(nv[in->nusers].name = strdup(pw ? pw->pw_name : num)))
		return "?";
	nv[in->nusers].uid = uid;
	return nv[in->nusers++].name;
}

static struct proc_info *proc_info(struct sk_whois_info *in, const char *proc, pid_t pid)
{
	struct proc_info *nv, *p;
	char cmd[4096];
	size_t i;

	for (i = 0; i < in->nprocs; i++)
		if (in->procs[i].pid == pid)
			return &in->procs[i];
	if (!(nv = realloc(in->procs, (in->nprocs + 1) * sizeof(*nv))))
		return NULL;
	in->procs = nv;
	p = &nv[in->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->known = sk_proc_uid(proc, pid, &p->uid) == 0;
	if (sk_proc_cmdline(proc, pid, cmd, sizeof(cmd)) < 0)
		snprintf(cmd, sizeof(cmd), "?");
	p->command = strdup(cmd);
	if ((p->unit = calloc(1, sizeof(*p->unit))) && sk_unit_of(proc, pid, p->unit) == 0 &&
	    p->unit->kind != SK_UNIT_NONE) {
		sk_unit_label(p->unit, cmd, sizeof(cmd));
		p->unit_label = strdup(cmd);
	}
	if (!p->command || !p->unit)
		return NULL;
	return p;
}

/* A namespace's name under /run/netns (as `ip netns` names them), or "net:[INO]". */
static const char *netns_name(struct sk_whois_info *in, unsigned long ino)
{
	struct netns_name *nv;
	char buf[300], path[300];
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t i;

	if (ino == 0)
		return NULL;
	for (i = 0; i < in->nnetns; i++)
		if (in->netns[i].ino == ino)
			return in->netns[i].name;
	snprintf(buf, sizeof(buf), "net:[%lu]", ino);
	if ((d = opendir("/run/netns"))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "/run/netns/%s", de->d_name) <
				(int)sizeof(path) &&
			    stat(path, &st) == 0 && st.st_ino == ino) {
				snprintf(buf, sizeof(buf), "%s", de->d_name);
				break;
			}
		closedir(d);
	}
	if (!(nv = realloc(in->netns, (in->nnetns + 1) * sizeof(*nv))))
		return "?";
	in->netns = nv;
	nv[in->nnetns].ino = ino;
	if (!(nv[in->nnetns].name = strdup(buf)))
		return "?";
	return nv[in->nnetns++].name;
}

/* True when s is bound to a port (and protocol) of sp, or to its unix socket. */
static bool bound_to(const struct sk_whois_spec *sp, const struct sk_sock *s)
{
	if (sp->unix_sock || s->e.family == AF_UNIX)
		return sk_unix_spec_match(sp, s);
	return s->e.lport >= sp->lo && s->e.lport <= sp->hi && (s->udp ? sp->udp : sp->tcp);
}

bool sk_whois_holds(const struct sk_sock *s)
{
	if (s->e.family == AF_UNIX)
		return !s->uclient && (s->utype == SOCK_DGRAM || s->e.state == SK_TCP_LISTEN ||
				       s->e.state == SK_TCP_CLOSE);
	return s->udp || SK_TCP_HOLDS_PORT(s->e.state);
}

static bool is_holder(const struct sk_whois_query *q, const struct sk_sock *s)
{
	size_t i;

	if (q->nspecs == 0)
		return true;
	for (i = 0; i < q->nspecs; i++)
		if (bound_to(&q->specs[i], s))
			return true;
	return false;
}

static void mark_held(struct sk_whois *w, const struct sk_sock *s)
{
	size_t i;

	for (i = 0; s->e.inode && i < w->q.nspecs; i++)
		if (bound_to(&w->q.specs[i], s))
			w->held[i] = true;
}

static int add_row(struct sk_whois *w, const struct sk_sock *s, pid_t pid)
{
	struct sk_whois_info *in = w->info;
	struct sk_whois_row *r = &w->rows[w->nrows++];
	struct proc_info *p = pid ? proc_info(in, w->q.proc, pid) : NULL;

	if (pid && !p)
		return -1;
	r->sock = s;
	r->pid = pid;
	r->uid = p && p->known ? p->uid : s->e.uid;
	r->user = r->uid == SK_UID_UNKNOWN ? "-" : user_name(in, r->uid);
	r->command = p ? p->command : NULL;
	r->unit = p ? p->unit : NULL;
	r->unit_label = p ? p->unit_label : NULL;
	r->netns = netns_name(in, s->netns);
	r->holder = is_holder(&w->q, s);
	return 0;
}

/* The index of the first holder of inode in h (sorted), or where it would be. */
static size_t first_holder(const struct sk_holders *h, unsigned long inode)
{
	size_t lo = 0, hi = h->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->v[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One row per socket and holder, or one with pid 0 for a socket without. */
static int build_rows(struct sk_whois *w)
{
	const struct sk_holders *h = &w->info->holders;
	size_t i, nrows = 0;

	/* a socket listed twice (a table read while it changed) has its holders twice */
	for (i = 0; i < w->socks.count; i++) {
		size_t k = first_holder(h, w->socks.v[i].e.inode), n = 0;

		while (w->socks.v[i].e.inode && k + n < h->count &&
		       h->v[k + n].inode == w->socks.v[i].e.inode)
			n++;
		nrows += n ? n : 1;
	}
	w->rows = calloc(nrows + 1, sizeof(*w->rows));
	w->held = calloc(w->q.nspecs + 1, sizeof(*w->held));
	if (!w->rows || !w->held)
		return -1;
	for (i = 0; i < w->socks.count; i++) {
		const struct sk_sock *s = &w->socks.v[i];
		size_t k = first_holder(h, s->e.inode);

		mark_held(w, s);
		if (!s->e.inode || k == h->count || h->v[k].inode != s->e.inode) {
			if (add_row(w, s, 0) < 0)
				return -1;
			if (s->e.inode && is_holder(&w->q, s))
				w->unseen++;
			continue;
		}
		for (; k < h->count && h->v[k].inode == s->e.inode; k++)
			if (add_row(w, s, h->v[k].pid) < 0)
				return -1;
	}
	return 0;
}

/*
 * A unix socket read from /proc/net/unix is checked against its holders:
 * a forged line of that table may name the inode of any socket (see
 * unixquery.c). A holder whose fd on it is another kind of socket shows
 * the line forged, and the socket goes (its holders stay: the same inode
 * may have its true line too). An unsure one is checked by name as well
 * (getsockname on a copy of the holder's fd, which the kernel files under
 * this process's cgroup for net_cls: so only then): another name shows it
 * forged, that very name vouches for it.
 */
static void check_unix_holders(struct sk_whois *w)
{
	struct sk_holders *h = &w->info->holders;
	size_t i, k, keep;

	for (i = 0; i < w->socks.count; i++) {
		struct sk_sock *s = &w->socks.v[i];
		bool forged = false, named = false;

		if (!s->uproc)
			continue;
		for (k = first_holder(h, s->e.inode);
		     !forged && k < h->count && h->v[k].inode == s->e.inode; k++) {
			enum sk_holds v = sk_pid_unix_named(w->q.proc, h->v[k].pid, s->e.inode,
							    s->uname, s->unamelen, s->unsure);

			forged = v == SK_HOLDS_NOT;
			named |= v == SK_HOLDS_YES;
		}
		if (forged)
			s->e.inode = 0; /* dropped below */
		else if (named && s->unsure)
			s->unsure = false;
	}
	for (i = 0, keep = 0; i < w->socks.count; i++)
		if (!w->socks.v[i].uproc || w->socks.v[i].e.inode)
			w->socks.v[keep++] = w->socks.v[i];
	w->socks.count = keep;
}

int sk_whois_find(const struct sk_whois_query *q, struct sk_whois *w)
{
	memset(w, 0, sizeof(*w));
	w->q = *q;
	if (!(w->info = calloc(1, sizeof(*w->info))))
		return -1;
	if (query_all(q, q->all, &w->socks) < 0)
		goto fail;
	/* sorted, and once each where two PORT arguments found the same socket */
	w->socks.count = sk_sort_unique(w->socks.v, w->socks.count, sizeof(*w->socks.v), cmp_sock);
	if (find_holders(q, &w->socks, &w->info->holders) < 0)
		goto fail;
	check_unix_holders(w);
	if (build_rows(w) < 0)
		goto fail;
	return 0;
fail:
	sk_whois_free(w);
	return -1;
}

void sk_whois_free(struct sk_whois *w)
{
	struct sk_whois_info *in = w->info;
	size_t i;

	if (in) {
		sk_holders_free(&in->holders);
		for (i = 0; i < in->nprocs; i++) {
			free(in->procs[i].command);
			free(in->procs[i].unit);
			free(in->procs[i].unit_label);
		}
		for (i = 0; i < in->nusers; i++)
			free(in->users[i].name);
		for (i = 0; i < in->nnetns; i++)
			free(in->netns[i].name);
		free(in->procs);
		free(in->users);
		free(in->netns);
		if (in->ifs)
			freeifaddrs(in->ifs);
		free(in);
	}
	sk_socks_free(&w->socks);
	free(w->rows);
	free(w->held);
	memset(w, 0, sizeof(*w));
}

static int add_target(struct sk_whois_targets *t, const char *proc, const struct sk_whois_row *r)
{
	pid_t pid = r->pid;
	unsigned long inode = r->sock->e.inode;
	struct sk_whois_target *x = NULL, *nv;
	unsigned long *ni;
	char comm[64];
	size_t i;

	for (i = 0; i < t->count; i++)
		if (t->v[i].pid == pid)
			x = &t->v[i];
	if (!x) {
		if (!(nv = realloc(t->v, (t->count + 1) * sizeof(*nv))))
			return -1;
		t->v = nv;
		x = &nv[t->count++];
		memset(x, 0, sizeof(*x));
		x->pid = pid;
		x->uid = r->uid;
		x->port = r->sock->e.family == AF_UNIX ? 0 : r->sock->e.lport;
		if (r->unit)
			x->unit = *r->unit;
		if (sk_proc_comm(proc, pid, comm, sizeof(comm)) < 0)
			snprintf(comm, sizeof(comm), "?");
		snprintf(x->comm, sizeof(x->comm), "%s", comm);
	}
	if (!(ni = realloc(x->inodes, (x->ninodes + 1) * sizeof(*ni))))
		return -1;
	x->inodes = ni;
	ni[x->ninodes++] = inode;
	return 0;
}

int sk_whois_targets(const struct sk_whois *w, struct sk_whois_targets *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < w->nrows; i++) {
		const struct sk_whois_row *r = &w->rows[i];

		/* never the holders of mere connections (-a): an sshd session is not port 22 */
		if (r->holder && r->pid > 0 && r->sock->e.inode && sk_whois_holds(r->sock) &&
		    r->sock->unsure) {
			t->unsure++; /* never on the word of a line that may be forged */
			continue;
		}
		if (r->holder && r->pid > 0 && r->sock->e.inode && sk_whois_holds(r->sock) &&
		    add_target(t, w->q.proc, r) < 0) {
			sk_whois_targets_free(t);
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

void sk_whois_targets_free(struct sk_whois_targets *t)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		free(t->v[i].inodes);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static void say(const struct sk_whois_stop *s, const struct sk_whois_target *t, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

static void say(const struct sk_whois_stop *s, const struct sk_whois_target *t, const char *fmt,
		...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->say)
		s->say(s->ctx, t, msg);
}

/* Whether the process still holds one of the target's sockets. */
static enum sk_holds still_holds(const struct sk_whois_stop *s, const struct sk_whois_target *t)
{
	enum sk_holds rc = SK_HOLDS_NOT, h;
	size_t i;

	for (i = 0; i < t->ninodes; i++) {
		h = sk_pid_holds_inode(s->proc, t->pid, t->inodes[i]);
		if (h == SK_HOLDS_YES)
			return SK_HOLDS_YES;
		if (h == SK_HOLDS_UNKNOWN)
			rc = SK_HOLDS_UNKNOWN;
	}
	return rc;
}

enum first_signal {
	SIGNAL_SENT,	/* *pidfd is open on the signalled process */
	SIGNAL_NOTHING, /* nothing to signal: gone, or no longer a holder */
	SIGNAL_FAILED,	/* not signalled; already reported */
};

/*
 * Opens a pidfd for the target and sends the first signal. *pidfd is the
 * open pidfd with SIGNAL_SENT, else -1.
 */
static enum first_signal first_signal(const struct sk_whois_stop *s,
				      const struct sk_whois_target *t, int sig, int *pidfd)
{
	const char *sname = sk_signal_name(sig);
	enum sk_holds holds;
	int fd;

	*pidfd = -1;
	if (t->pid == 1 || t->pid == getpid()) {
		say(s, t, "not signalled: sockctl never signals %s",
		    t->pid == 1 ? "PID 1" : "itself");
		return SIGNAL_FAILED;
	}
	if ((fd = sk_pidfd_open(t->pid)) < 0) {
		if (errno == ESRCH) {
			say(s, t, "already gone");
			return SIGNAL_NOTHING;
		}
		say(s, t, "not signalled: pidfd_open: %s", strerror(errno));
		return SIGNAL_FAILED;
	}
	/* The pidfd now pins the process; check it is still the one holding the socket. */
	holds = still_holds(s, t);
	if (sk_pidfd_exited(fd)) {
		say(s, t, "already gone");
		close(fd);
		return SIGNAL_NOTHING;
	}
	if (holds != SK_HOLDS_YES) {
		if (holds == SK_HOLDS_UNKNOWN)
			say(s, t, "not signalled: its fds cannot be read: %s", strerror(errno));
		else
			say(s, t, "not signalled: it no longer holds the socket");
		close(fd);
		return holds == SK_HOLDS_UNKNOWN ? SIGNAL_FAILED : SIGNAL_NOTHING;
	}
	if (s->dry_run) {
		if (s->signal)
			say(s, t, "would send SIG%s", sname ? sname : "?");
		else
			say(s, t, "would send SIGTERM, then SIGKILL after %d.%03d s",
			    s->grace_ms / 1000, s->grace_ms % 1000);
		close(fd);
		return SIGNAL_NOTHING;
	}
	if (sk_pidfd_signal(fd, sig) < 0) {
		int e = errno;

		close(fd);
		if (e == ESRCH) {
			say(s, t, "already gone");
			return SIGNAL_NOTHING;
		}
		say(s, t, "not signalled: %s", strerror(e));
		return SIGNAL_FAILED;
	}
	if (s->signal)
		say(s, t, "sent SIG%s", sname ? sname : "?");
	*pidfd = fd;
	return SIGNAL_SENT;
}

/* SIGKILL for those alive after the grace; reports how each one ended. */
static int escalate(const struct sk_whois_stop *s, const struct sk_whois_targets *t, int *fds,
		    bool *exited)
{
	bool *killed = calloc(t->count + 1, sizeof(*killed));
	size_t i;
	int rc = 0;

	if (!killed)
		return -1;
	sk_pidfd_wait(fds, exited, t->count, s->grace_ms);
	for (i = 0; i < t->count; i++)
		if (fds[i] >= 0 && !exited[i] && sk_pidfd_signal(fds[i], SIGKILL) == 0)
			killed[i] = true;
	sk_pidfd_wait(fds, exited, t->count, KILL_WAIT_MS);
	for (i = 0; i < t->count; i++) {
		if (fds[i] < 0)
			continue;
		if (!exited[i]) {
			say(s, &t->v[i], "still running after SIGKILL");
			rc = -1;
		} else if (killed[i]) {
			say(s, &t->v[i],
			    "stopped by SIGKILL (still running %d.%03d s after SIGTERM)",
			    s->grace_ms / 1000, s->grace_ms % 1000);
		} else {
			say(s, &t->v[i], "stopped by SIGTERM");
		}
	}
	free(killed);
	return rc;
}

int sk_whois_stop(const struct sk_whois_targets *t, const struct sk_whois_stop *s)
{
	int *fds = calloc(t->count + 1, sizeof(*fds));
	bool *exited = calloc(t->count + 1, sizeof(*exited));
	size_t i;
	int rc = 0;

	if (!fds || !exited) {
		free(fds);
		free(exited);
		return -1;
	}
	for (i = 0; i < t->count; i++) {
		if (first_signal(s, &t->v[i], s->signal ? s->signal : SIGTERM, &fds[i]) ==
		    SIGNAL_FAILED)
			rc = -1;
	}
	if (!s->signal && !s->dry_run && escalate(s, t, fds, exited) < 0)
		rc = -1;
	for (i = 0; i < t->count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(exited);
	return rc;
}

enum sk_port_state sk_whois_port_free(const struct sk_whois_query *wq,
				      const struct sk_whois_spec *spec, int ms)
{
	struct sk_whois_query q = *wq;
	int64_t deadline = sk_now_ms() + ms;

	q.specs = spec;
	q.nspecs = 1;
	for (;;) {
		struct sk_socks s = {0};
		size_t i, bound = 0;

		if (query_all(&q, false, &s) < 0) {
			sk_socks_free(&s);
			return SK_PORT_UNKNOWN;
		}
		for (i = 0; i < s.count; i++)
			if (s.v[i].e.inode && bound_to(spec, &s.v[i]) && sk_whois_holds(&s.v[i]))
				bound++;
		sk_socks_free(&s);
		if (bound == 0)
			return SK_PORT_FREE;
		if (sk_now_ms() >= deadline)
			return SK_PORT_HELD;
		/* a process's sockets close as it exits; let the kernel catch up */
		usleep(20 * 1000);
	}
}

static int protocol_of(const struct sk_sock *s)
{
	return s->udp ? IPPROTO_UDP : IPPROTO_TCP;
}

/* Whether this process may close sockets: CAP_NET_ADMIN in its effective set. */
static bool have_net_admin(void)
{
	char line[256];
	unsigned long long caps = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	fclose(f);
	return found ? (caps >> 12 & 1) != 0 /* CAP_NET_ADMIN */ : geteuid() == 0;
}

/*
 * Whether s is still there, and in which state, in this process's
 * namespace: looked for by inode among the sockets of its own port, any
 * state (bound-only ones too), through netlink. Returns 1 (*now set, with
 * the kernel's cookie), 0 gone, or -1.
 */
static int sock_now(const struct sk_sock *s, struct sk_procnet_entry *now)
{
	struct sk_port_query pq = {
	    .proc = "/proc",
	    .lo = s->e.lport,
	    .hi = s->e.lport,
	    .tcp = !s->udp,
	    .udp = s->udp,
	    .all_states = true,
	    .local_only = true,
	};
	struct sk_socks found = {0};
	size_t i;
	int rc = 0;

	if (s->e.lport == 0)
		return 0;
	if (sk_port_query(&pq, &found) < 0) {
		sk_socks_free(&found);
		return -1;
	}
	for (i = 0; i < found.count && rc == 0; i++)
		if (found.v[i].e.inode == s->e.inode) {
			*now = found.v[i].e;
			rc = 1;
		}
	sk_socks_free(&found);
	return rc;
}

/*
 * Why no SOCK_DESTROY can close s, whatever the privilege: EOPNOTSUPP for
 * a unix socket, ENOTCONN for TCP bound but not listening (no address
 * leads to it); 0 when one may.
 */
static int cannot_close(const struct sk_sock *s)
{
	if (s->e.family == AF_UNIX)
		return EOPNOTSUPP;
	if (!s->udp && (s->e.state == SK_TCP_CLOSE || s->e.state == SK_TCP_BOUND_INACTIVE))
		return ENOTCONN;
	return 0;
}

/*
 * Closes s in this process's namespace and tells what became of it. The
 * kernel finds a socket by its address and checks the cookie: a socket
 * read without one (/proc/net) is looked up for it first, so that an
 * address that leads elsewhere (a connection gone, to its listener)
 * closes nothing. In a SO_REUSEPORT group the address leads to one member
 * only (ENOENT for the others): a listener still there is closed again
 * without the cookie, which takes whichever member the address leads to;
 * all of them listen on the port.
 */
static enum sk_close_result close_here(const struct sk_sock *s, int *err)
{
	struct sk_procnet_entry e = s->e, now;
	int found, tries;

	if ((*err = cannot_close(s)) != 0)
		return SK_CLOSE_FAILED;
	if (!e.has_cookie) {
		if ((found = sock_now(s, &now)) <= 0) {
			*err = found < 0 ? errno : 0;
			return found < 0 ? SK_CLOSE_FAILED : SK_CLOSE_GONE;
		}
		e = now;
	}
	if (sk_sockdiag_destroy(protocol_of(s), &e) < 0 && (*err = errno) != ENOENT)
		return SK_CLOSE_FAILED;
	e.has_cookie = false;
	for (tries = 0; (found = sock_now(s, &now)) == 1 && tries < 64; tries++) {
		if (*err != ENOENT || now.state != SK_TCP_LISTEN || s->udp)
			break;
		if (sk_sockdiag_destroy(protocol_of(s), &e) < 0) {
			*err = errno;
			return SK_CLOSE_FAILED;
		}
	}
	if (found <= 0) { /* gone (or not to be looked for again) */
		bool gone = *err == ENOENT && tries == 0;

		*err = 0;
		return gone ? SK_CLOSE_GONE : SK_CLOSED;
	}
	if (!s->udp && s->e.state == SK_TCP_LISTEN && now.state != SK_TCP_LISTEN) {
		*err = 0;
		return SK_CLOSE_STILL_BOUND;
	}
	if (!s->udp && s->e.state != SK_TCP_LISTEN &&
	    (now.state == SK_TCP_CLOSE || now.state == SK_TCP_BOUND_INACTIVE)) {
		/* a connection from a port bound by number: closed, its port kept */
		bool gone = *err == ENOENT && tries == 0;

		*err = 0;
		return gone ? SK_CLOSE_GONE : SK_CLOSE_STILL_BOUND;
	}
	/* UDP bound to a port of its choosing; or an address that leads to another socket */
	*err = s->udp && *err != ENOENT ? EADDRINUSE : ESTALE;
	return SK_CLOSE_FAILED;
}

/* The child's part: close_here inside the namespace, its answer down fd. */
static int close_here_to(void *ctx, int fd)
{
	int out[2];

	out[0] = (int)close_here(ctx, &out[1]);
	return sk_write_all(fd, out, sizeof(out)) < 0 ? EIO : 0;
}

/* close_here, from inside s's namespace for another one's socket. */
static enum sk_close_result close_one(const char *proc, const struct sk_sock *s, int *err)
{
	int out[2];
	char *buf = NULL;
	ssize_t len;

	if (s->netns == 0)
		return close_here(s, err);
	len = sk_netns_call(proc, s->netns_pid, s->netns, close_here_to, (void *)s, &buf);
	if (len == (ssize_t)sizeof(out))
		memcpy(out, buf, sizeof(out));
	else if (len < 0 && errno == ESRCH) /* its namespace's process exited meanwhile */
		out[0] = SK_CLOSE_GONE, out[1] = 0;
	else
		out[0] = SK_CLOSE_FAILED, out[1] = len < 0 ? errno : EIO;
	free(buf);
	*err = out[1];
	return (enum sk_close_result)out[0];
}

/* True for an address of this machine's: loopback, or one of its interfaces'. */
static bool local_address(struct sk_whois_info *in, int family, const unsigned char *addr)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *v4 = NULL;
	const struct ifaddrs *i;

	if (family == AF_INET)
		v4 = addr;
	else if (memcmp(addr, mapped, 12) == 0)
		v4 = addr + 12;
	if ((v4 && v4[0] == 127) || (!v4 && memcmp(addr, in6addr_loopback.s6_addr, 16) == 0))
		return true;
	if (!in->ifs_read && getifaddrs(&in->ifs) < 0)
		in->ifs = NULL;
	in->ifs_read = true;
	for (i = in->ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (v4 && i->ifa_addr->sa_family == AF_INET &&
		    memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, v4, 4) == 0)
			return true;
		if (!v4 && i->ifa_addr->sa_family == AF_INET6 &&
		    memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, addr, 16) == 0)
			return true;
	}
	return false;
}

bool sk_whois_closable(const struct sk_whois *w, const struct sk_whois_row *r)
{
	const struct sk_sock *s = r->sock;

	if (!s->e.inode)
		return false;
	if (r->holder && sk_whois_holds(s))
		return true;
	if (!w->q.all)
		return false;
	/* a connection: on a queried port, or from here to one (never a remote server's) */
	return r->holder ||
	       (s->e.family != AF_UNIX && local_address(w->info, s->e.family, s->e.remote));
}

int sk_whois_close(const struct sk_whois *w, const struct sk_whois_close *c)
{
	const struct sk_sock *last = NULL;
	bool may = !c->dry_run || have_net_admin();
	enum sk_close_result res;
	size_t i;
	int rc = 0, err;

	for (i = 0; i < w->nrows; i++) {
		const struct sk_whois_row *r = &w->rows[i];
		const struct sk_sock *s = r->sock;

		/* each socket once (rows go socket by socket) */
		if (s == last || !sk_whois_closable(w, r))
			continue;
		last = s;
		if (!c->dry_run) {
			res = close_one(w->q.proc, s, &err);
		} else if ((err = cannot_close(s)) != 0) {
			res = SK_CLOSE_FAILED;
		} else if (!may) {
			res = SK_CLOSE_FAILED, err = EPERM;
		} else {
			res = SK_CLOSED, err = 0;
		}
		if (res == SK_CLOSE_FAILED)
			rc = -1;
		if (c->say)
			c->say(c->ctx, r, res, err);
	}
	return rc;
}

/* Marks in used (a bit per port) the local ports of spec's range that have a socket. */
static int used_ports(const char *proc, bool no_netlink, const struct sk_whois_spec *spec,
		      unsigned char *used)
{
	struct sk_port_query pq = {
	    .proc = proc,
	    .lo = spec->lo,
	    .hi = spec->hi,
	    .tcp = !(spec->udp && !spec->tcp),
	    .udp = spec->udp && !spec->tcp,
	    .all_states = true,
	    .local_only = true,
	    .no_netlink = no_netlink,
	};
	struct sk_socks s = {0};
	size_t i;

	if (sk_port_query(&pq, &s) < 0) {
		sk_socks_free(&s);
		return -1;
	}
	for (i = 0; i < s.count; i++)
		if (s.v[i].e.lport >= spec->lo && s.v[i].e.lport <= spec->hi)
			used[s.v[i].e.lport / 8] |= (unsigned char)(1u << (s.v[i].e.lport % 8));
	sk_socks_free(&s);
	return 0;
}

int sk_whois_first_free(const char *proc, bool no_netlink, const struct sk_whois_spec *specs,
			size_t n, unsigned *port)
{
	unsigned char used[65536 / 8];
	size_t i;
	unsigned p;

	for (i = 0; i < n; i++) {
		if (specs[i].unix_sock || specs[i].lo == 0) {
			errno = EINVAL;
			return -1;
		}
		memset(used, 0, sizeof(used));
		if (used_ports(proc, no_netlink, &specs[i], used) < 0)
			return -1;
		for (p = specs[i].lo; p <= specs[i].hi; p++)
			if (!(used[p / 8] & (1u << (p % 8)))) {
				*port = p;
				return 1;
			}
	}
	return 0;
}

int sk_whois_unix_spec(const char *arg, struct sk_whois_spec *s)
{
	size_t len;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->unix_sock = true;
	if (strncmp(arg, "unix:", 5) == 0)
		arg += 5;
	len = strlen(arg);
	if (len == 0 || (arg[0] == '@' && len == 1)) {
		errno = EINVAL;
		return -1;
	}
	if (len > sizeof(s->name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(s->name, arg, len);
	s->namelen = len;
	if (arg[0] == '@') { /* abstract: the kernel's name starts with a NUL byte */
		s->name[0] = '\0';
		return 0;
	}
	/*
	 * The absolute name a process would have bound it by: its directory
	 * resolved (symbolic links, "." and ".."), where that exists.
	 */
	if (arg[0] != '/' || strstr(arg, "/./") || strstr(arg, "/../") || strstr(arg, "//")) {
		char dir[4096], real[4096], full[4096 + SK_SOCK_UNIX_NAME + 2];
		const char *slash = strrchr(arg, '/'), *base = slash ? slash + 1 : arg;
		int n = -1;

		if (slash && (size_t)(slash - arg) < sizeof(dir)) {
			memcpy(dir, arg, (size_t)(slash - arg));
			dir[slash - arg] = '\0';
		} else {
			snprintf(dir, sizeof(dir), "%s", slash ? "" : ".");
		}
		if (realpath(dir[0] ? dir : "/", real) && *base && strcmp(base, ".") &&
		    strcmp(base, ".."))
			n = snprintf(full, sizeof(full), "%s/%s", strcmp(real, "/") ? real : "",
				     base);
		if (n > 0 && (size_t)n <= sizeof(s->abs)) {
			memcpy(s->abs, full, (size_t)n);
			s->abslen = (size_t)n;
		}
	}
	if (stat(arg, &st) == 0 && S_ISSOCK(st.st_mode)) {
		s->has_file = true;
		s->st_dev = st.st_dev;
		s->st_ino = st.st_ino;
		s->file_ino = (uint32_t)st.st_ino; /* unix_diag gives 32 bits of it */
		/* unix_diag gives the device as the kernel's dev_t: major << 20 | minor */
		s->file_dev = major(st.st_dev) << 20 | minor(st.st_dev);
	}
	return 0;
}
