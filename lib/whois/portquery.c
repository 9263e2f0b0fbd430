#include "portquery.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sockdiag.h"

bool sk_port_query_match(const struct sk_port_query *q, bool udp, const struct sk_procnet_entry *e)
{
	if (q->lo == 0) {
		if (q->all_states)
			return true;
		return udp ? e->state == SK_UDP_BOUND : SK_TCP_HOLDS_PORT(e->state);
	}
	if (e->lport >= q->lo && e->lport <= q->hi)
		return udp || q->all_states || SK_TCP_HOLDS_PORT(e->state);
	return q->all_states && !q->local_only && e->rport >= q->lo && e->rport <= q->hi;
}

struct collect {
	const struct sk_port_query *q;
	struct sk_socks *out;
	bool udp;
};

static void collect(void *ctx, const struct sk_procnet_entry *e)
{
	struct collect *c = ctx;
	struct sk_socks *s = c->out;

	if (s->error || !sk_port_query_match(c->q, c->udp, e))
		return;
	if (s->count == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 32;
		struct sk_sock *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv) {
			s->error = ENOMEM;
			return;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->count++] = (struct sk_sock){
	    .e = *e, .udp = c->udp, .netns = c->q->netns, .netns_pid = c->q->netns_pid};
}

/*
 * The kernel-side filter: the states and the local port that can match.
 * Connections to the port (all_states) are filtered here, in user space.
 */
static long from_netlink(const struct sk_port_query *q, int family, bool udp, struct collect *c)
{
	unsigned states = ~0u, lo = 0, hi = 0;

	if (!q->all_states) {
		if (udp)
			states = q->lo ? ~0u : 1u << SK_UDP_BOUND;
		else
			states = 1u << SK_TCP_LISTEN; /* bound-only ones: see bound_only() */
		lo = q->lo;
		hi = q->hi;
	} else if (q->local_only) {
		lo = q->lo;
		hi = q->hi;
	}
	return sk_sockdiag_read(family, udp ? IPPROTO_UDP : IPPROTO_TCP, states, lo, hi, collect,
				c);
}

static long from_proc(const struct sk_port_query *q, const char *table, struct collect *c)
{
	char root[4096];
	size_t bad = 0;
	long n;

	if (q->netns_pid > 0)
		snprintf(root, sizeof(root), "%s/%d", q->proc, (int)q->netns_pid);
	else
		snprintf(root, sizeof(root), "%s", q->proc);
	n = sk_procnet_read(root, table, collect, c, &bad);
	c->out->bad += bad;
	return n;
}

/*
 * TCP sockets bound but not listening. The kernel finds them by walking
 * its whole bind hash (milliseconds with thousands of connections open),
 * so a one-port query asks only when no listener holds the port; a range
 * or a listing of every port always asks.
 */
static void bound_only(const struct sk_port_query *q, struct sk_socks *out)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct collect c = {.q = q, .out = out, .udp = false};
	size_t i;

	for (i = 0; i < 2; i++)
		sk_sockdiag_read(families[i], IPPROTO_TCP, 1u << SK_TCP_BOUND_INACTIVE, q->lo,
				 q->hi, collect, &c);
}

int sk_port_query(const struct sk_port_query *q, struct sk_socks *out)
{
	static const struct {
		const char *table;
		int family;
		bool udp;
	} tables[] = {
	    {"tcp", AF_INET, false},
	    {"tcp6", AF_INET6, false},
	    {"udp", AF_INET, true},
	    {"udp6", AF_INET6, true},
	};
	size_t i, read = 0, first = out->count, tcp_found = 0;
	int saved = ENOENT;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct collect c = {.q = q, .out = out, .udp = tables[i].udp};
		size_t before = out->count;
		long n = -1;

		if (tables[i].udp ? !q->udp : !q->tcp)
			continue;
		if (!q->no_netlink && q->netns_pid <= 0)
			n = from_netlink(q, tables[i].family, tables[i].udp, &c);
		if (n < 0) {
			out->count = before; /* a dump cut short is read again */
			n = from_proc(q, tables[i].table, &c);
		}
		if (n < 0)
			saved = errno;
		else
			read++;
		if (out->error) {
			errno = out->error;
			return -1;
		}
	}
	if (read == 0) {
		errno = saved;
		return -1;
	}
	for (i = first; i < out->count; i++)
		tcp_found += !out->v[i].udp;
	if (q->tcp && !q->all_states && !q->no_netlink && q->netns_pid <= 0 &&
	    (q->lo == 0 || tcp_found == 0 || q->hi > q->lo))
		bound_only(q, out);
	if (out->error) {
		errno = out->error;
		return -1;
	}
	return 0;
}

void sk_socks_free(struct sk_socks *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
