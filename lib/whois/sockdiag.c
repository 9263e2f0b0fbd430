#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A dump request: the header, the request, and a port filter. */
struct diag_request {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
	struct nlattr attr;
	struct inet_diag_bc_op ops[4];
};

/*
 * The filter "sport >= lo and sport <= hi", as ss builds it: each test
 * jumps to the next on success and past the end (a rejection) on
 * failure; the operand of a port test is the 'no' field of the op after it.
 */
static size_t port_filter(struct inet_diag_bc_op *ops, unsigned lo, unsigned hi)
{
	memset(ops, 0, 4 * sizeof(*ops));
	ops[0] = (struct inet_diag_bc_op){.code = INET_DIAG_BC_S_GE, .yes = 8, .no = 16 + 4};
	ops[1].no = (unsigned short)lo;
	ops[2] = (struct inet_diag_bc_op){.code = INET_DIAG_BC_S_LE, .yes = 8, .no = 8 + 4};
	ops[3].no = (unsigned short)hi;
	return 4 * sizeof(*ops);
}

/* Fills r with the dump request; returns its length. */
static size_t build_request(struct diag_request *r, int family, int protocol, unsigned states,
			    unsigned lo, unsigned hi)
{
	size_t len = sizeof(r->nlh) + sizeof(r->req);

	memset(r, 0, sizeof(*r));
	r->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r->req.sdiag_family = (unsigned char)family;
	r->req.sdiag_protocol = (unsigned char)protocol;
	r->req.idiag_states = states;
	if (lo > 0 && lo <= hi && hi <= 65535) {
		r->attr.nla_type = INET_DIAG_REQ_BYTECODE;
		r->attr.nla_len = (unsigned short)(sizeof(r->attr) + port_filter(r->ops, lo, hi));
		len += r->attr.nla_len;
	}
	r->nlh.nlmsg_len = (unsigned)len;
	return len;
}

static void to_entry(const struct inet_diag_msg *m, struct sk_procnet_entry *e)
{
	size_t n = m->idiag_family == AF_INET6 ? 16 : 4;

	memset(e, 0, sizeof(*e));
	e->family = m->idiag_family;
	memcpy(e->local, m->id.idiag_src, n);
	memcpy(e->remote, m->id.idiag_dst, n);
	e->lport = ntohs(m->id.idiag_sport);
	e->rport = ntohs(m->id.idiag_dport);
	e->state = m->idiag_state;
	e->uid = m->idiag_uid;
	e->inode = m->idiag_inode;
	e->ifindex = m->id.idiag_if;
	e->cookie[0] = m->id.idiag_cookie[0];
	e->cookie[1] = m->id.idiag_cookie[1];
	e->has_cookie = true;
}

/* The error a NLMSG_DONE or NLMSG_ERROR message carries (0: none). */
static int message_error(const struct nlmsghdr *h)
{
	int err;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(err)))
		return h->nlmsg_type == NLMSG_ERROR ? EPROTO : 0;
	memcpy(&err, NLMSG_DATA(h), sizeof(err)); /* first field of struct nlmsgerr too */
	return err < 0 ? -err : 0;
}

/* The requests' sequence number; answers carrying another are not ours. */
#define DIAG_SEQ 1
/*
 * One recv of a dump: the kernel builds each batch of answers in a buffer
 * of at most 32 KiB, sized to the largest recv it has seen.
 */
#define RECV_SIZE 32768

/*
 * Calls msg for the answers in one datagram of n bytes. Returns 1 when it
 * ends the dump, 0 when more is to come, -1 with errno when the kernel
 * failed it.
 */
static int read_batch(const char *buf, ssize_t n,
		      int (*msg)(void *ctx, const void *data, size_t len), void *ctx, long *count)
{
	const struct nlmsghdr *h;
	int len = (int)n, err;

	for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_seq != DIAG_SEQ)
			continue;
		if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
			if ((err = message_error(h)) != 0 || h->nlmsg_type == NLMSG_ERROR) {
				errno = err ? err : EPROTO;
				return -1;
			}
			return 1;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    msg(ctx, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN) == 0)
			(*count)++;
	}
	return 0;
}

/* Reads the answers until NLMSG_DONE. Returns the count, or -1 with errno. */
static long read_answers(int fd, int (*msg)(void *ctx, const void *data, size_t len), void *ctx)
{
	char *buf = malloc(RECV_SIZE); /* malloc's alignment suits struct nlmsghdr */
	long count = 0;
	int done = 0;

	if (!buf)
		return -1;
	while (!done) {
		ssize_t n = recv(fd, buf, RECV_SIZE, MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPROTO;
			done = -1;
		} else if (n > RECV_SIZE) {
			errno = EMSGSIZE; /* the kernel's datagram did not fit */
			done = -1;
		} else {
			done = read_batch(buf, n, msg, ctx, &count);
		}
	}
	free(buf);
	return done < 0 ? -1 : count;
}

long sk_sockdiag_dump(struct nlmsghdr *req, int (*msg)(void *ctx, const void *data, size_t len),
		      void *ctx)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	long n = -1;
	int saved;

	if (fd < 0)
		return -1;
	req->nlmsg_seq = DIAG_SEQ;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
	    (ssize_t)req->nlmsg_len)
		n = read_answers(fd, msg, ctx);
	saved = errno;
	close(fd);
	errno = saved;
	return n;
}

struct inet_answers {
	void (*fn)(void *ctx, const struct sk_procnet_entry *e);
	void *ctx;
};

static int inet_answer(void *ctx, const void *data, size_t len)
{
	struct inet_answers *a = ctx;
	struct sk_procnet_entry e;

	if (len < sizeof(struct inet_diag_msg))
		return -1;
	to_entry(data, &e);
	a->fn(a->ctx, &e);
	return 0;
}

long sk_sockdiag_read(int family, int protocol, unsigned states, unsigned lo, unsigned hi,
		      void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx)
{
	struct diag_request r;
	struct inet_answers a = {fn, ctx};

	build_request(&r, family, protocol, states, lo, hi);
	return sk_sockdiag_dump(&r.nlh, inet_answer, &a);
}

/* The kernel's answer to a request that is not a dump: 0, or -1 with its errno. */
static int read_ack(int fd)
{
	_Alignas(struct nlmsghdr) char buf[1024];
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	ssize_t n;
	int err;

	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (!NLMSG_OK(h, (int)n) || h->nlmsg_type != NLMSG_ERROR) {
		errno = EPROTO;
		return -1;
	}
	if ((err = message_error(h)) != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int sk_sockdiag_destroy(int protocol, const struct sk_procnet_entry *e)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} r;
	size_t n = e->family == AF_INET6 ? 16 : 4;
	int fd, saved, rc;

	if (e->family != AF_INET && e->family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.nlh.nlmsg_len = sizeof(r);
	r.nlh.nlmsg_type = SOCK_DESTROY;
	r.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.nlh.nlmsg_seq = DIAG_SEQ;
	r.req.sdiag_family = (unsigned char)e->family;
	r.req.sdiag_protocol = (unsigned char)protocol;
	r.req.idiag_states = ~0u;
	memcpy(r.req.id.idiag_src, e->local, n);
	memcpy(r.req.id.idiag_dst, e->remote, n);
	r.req.id.idiag_sport = htons((unsigned short)e->lport);
	r.req.id.idiag_dport = htons((unsigned short)e->rport);
	r.req.id.idiag_if = e->ifindex;
	/* without a cookie (a /proc/net entry) the kernel takes the address alone */
	r.req.id.idiag_cookie[0] = e->has_cookie ? e->cookie[0] : INET_DIAG_NOCOOKIE;
	r.req.id.idiag_cookie[1] = e->has_cookie ? e->cookie[1] : INET_DIAG_NOCOOKIE;
	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
		return -1;
	if (sendto(fd, &r, sizeof(r), 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
	    (ssize_t)sizeof(r))
		rc = -1;
	else
		rc = read_ack(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
