#include "unixquery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unixsock.h"

static bool same_name(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return alen > 0 && alen == blen && memcmp(a, b, alen) == 0;
}

/* The socket-file and name test, on the fields both kinds of entry have. */
static bool match(const struct sk_whois_spec *sp, bool vfs, unsigned long ino, unsigned dev,
		  const unsigned char *name, size_t namelen)
{
	if (!sp->unix_sock || namelen == 0)
		return false;
	if (sp->name[0] == '\0') /* abstract: the bytes, exactly */
		return same_name(sp->name, sp->namelen, name, namelen);
	if (name[0] == '\0')
		return false;
	if (sp->has_file && vfs)
		return ino == sp->file_ino && dev == sp->file_dev;
	return same_name(sp->name, sp->namelen, name, namelen) ||
	       same_name(sp->abs, sp->abslen, name, namelen);
}

bool sk_unix_spec_match(const struct sk_whois_spec *spec, const struct sk_sock *s)
{
	return s->e.family == AF_UNIX && !s->uclient &&
	       match(spec, s->uvfs, s->uvfs_ino, s->uvfs_dev, s->uname, s->unamelen);
}

/* An unnamed connected socket whose peer may be an accepted end of ours. */
struct client {
	unsigned long inode, peer;
	int type, state;
	unsigned uid;
};

struct collect {
	const struct sk_unix_query *q;
	struct sk_socks *out;
	struct client *clients;
	size_t nclients, capclients;
	int error;
};

static int push(struct sk_socks *s, const struct sk_sock *v)
{
	if (s->count == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 16;
		struct sk_sock *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->count++] = *v;
	return 0;
}

/* Listening or bound and not connected (stream, seqpacket); any bound datagram socket. */
static bool holds_name(int type, int state)
{
	return type == SOCK_DGRAM || state == SK_TCP_LISTEN || state == SK_TCP_CLOSE;
}

static void to_sock(const struct collect *c, const struct sk_unix_entry *e, struct sk_sock *s)
{
	memset(s, 0, sizeof(*s));
	s->e.family = AF_UNIX;
	s->e.inode = e->inode;
	s->e.state = e->state;
	s->e.uid = e->has_uid ? e->uid : SK_UID_UNKNOWN;
	s->netns = c->q->netns;
	s->netns_pid = c->q->netns_pid;
	s->utype = e->type;
	s->uvfs = e->has_vfs;
	s->uvfs_ino = e->vfs_ino;
	s->uvfs_dev = e->vfs_dev;
	s->unamelen = (unsigned char)e->namelen;
	memcpy(s->uname, e->name, e->namelen);
}

static void collect(void *ctx, const struct sk_unix_entry *e)
{
	struct collect *c = ctx;
	struct sk_sock s;

	if (c->error || e->namelen > SK_SOCK_UNIX_NAME)
		return;
	if (e->namelen == 0) {
		struct client *nv;

		if (!c->q->all || e->peer == 0)
			return;
		if (c->nclients == c->capclients) {
			size_t ncap = c->capclients ? 2 * c->capclients : 64;

			if (!(nv = realloc(c->clients, ncap * sizeof(*nv)))) {
				c->error = ENOMEM;
				return;
			}
			c->clients = nv;
			c->capclients = ncap;
		}
		c->clients[c->nclients++] = (struct client){
		    .inode = e->inode,
		    .peer = e->peer,
		    .type = e->type,
		    .state = e->state,
		    .uid = e->has_uid ? e->uid : SK_UID_UNKNOWN,
		};
		return;
	}
	if (!c->q->all && !holds_name(e->type, e->state))
		return;
	if (!match(c->q->spec, e->has_vfs, e->vfs_ino, e->vfs_dev, e->name, e->namelen))
		return;
	to_sock(c, e, &s);
	if (push(c->out, &s) < 0)
		c->error = ENOMEM;
}

/* A socket found, by inode: indices stay valid where out->v moves. */
struct end {
	unsigned long inode;
	size_t index;
};

static int cmp_end(const void *pa, const void *pb)
{
	const struct end *a = pa, *b = pb;

	return (a->inode > b->inode) - (a->inode < b->inode);
}

/* The client ends whose peers are the accepted ends found from first on. */
static int add_clients(struct collect *c, size_t first)
{
	size_t n = c->out->count - first, i, lo, hi;
	struct end *ends;
	int rc = 0;

	if (n == 0 || c->nclients == 0)
		return 0;
	if (!(ends = malloc(n * sizeof(*ends))))
		return -1;
	for (i = 0; i < n; i++)
		ends[i] = (struct end){c->out->v[first + i].e.inode, first + i};
	qsort(ends, n, sizeof(*ends), cmp_end);
	for (i = 0; rc == 0 && i < c->nclients; i++) {
		const struct client *cl = &c->clients[i];
		const struct sk_sock *end = NULL;
		struct sk_sock s;

		for (lo = 0, hi = n; lo < hi && !end;) {
			size_t mid = lo + (hi - lo) / 2;

			if (ends[mid].inode == cl->peer)
				end = &c->out->v[ends[mid].index];
			else if (ends[mid].inode < cl->peer)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* a stream listener has no peer; a datagram server is its clients' peer */
		if (!end || (end->utype != SOCK_DGRAM && holds_name(end->utype, end->e.state)))
			continue;
		memset(&s, 0, sizeof(s));
		s.e.family = AF_UNIX;
		s.e.inode = cl->inode;
		s.e.state = cl->state;
		s.e.uid = cl->uid;
		s.netns = c->q->netns;
		s.netns_pid = c->q->netns_pid;
		s.utype = cl->type;
		s.uclient = true;
		s.unamelen = end->unamelen;
		memcpy(s.uname, end->uname, end->unamelen);
		rc = push(c->out, &s);
	}
	free(ends);
	return rc;
}

int sk_unix_query(const struct sk_unix_query *q, struct sk_socks *out)
{
	struct collect c = {.q = q, .out = out};
	size_t first = out->count, bad = 0;
	unsigned states = ~0u;
	long n = -1;
	int rc = 0;

	if (!q->all)
		states =
		    1u << SK_TCP_LISTEN | 1u << SK_TCP_CLOSE | 1u << 1 /* a connected datagram */;
	if (!q->no_netlink && q->netns_pid <= 0)
		n = sk_unix_diag_read(states, collect, &c);
	if (n < 0 && !c.error) {
		char root[4096];

		out->count = first; /* a dump cut short is read again */
		c.nclients = 0;
		if (q->netns_pid > 0)
			snprintf(root, sizeof(root), "%s/%d", q->proc, (int)q->netns_pid);
		else
			snprintf(root, sizeof(root), "%s", q->proc);
		n = sk_unix_read_proc(root, collect, &c, &bad);
		out->bad += bad;
	}
	if (c.error) {
		errno = c.error;
		rc = -1;
	} else if (n < 0) {
		rc = -1;
	} else if (add_clients(&c, first) < 0) {
		errno = ENOMEM;
		rc = -1;
	}
	free(c.clients);
	return rc;
}
