#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
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

static int send_request(int fd, int family, int protocol, unsigned states, unsigned lo, unsigned hi)
{
	struct diag_request r;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	size_t len = sizeof(r.nlh) + sizeof(r.req);

	memset(&r, 0, sizeof(r));
	r.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.nlh.nlmsg_seq = 1;
	r.req.sdiag_family = (unsigned char)family;
	r.req.sdiag_protocol = (unsigned char)protocol;
	r.req.idiag_states = states;
	if (lo > 0 && lo <= hi && hi <= 65535) {
		r.attr.nla_type = INET_DIAG_REQ_BYTECODE;
		r.attr.nla_len = (unsigned short)(sizeof(r.attr) + port_filter(r.ops, lo, hi));
		len += r.attr.nla_len;
	}
	r.nlh.nlmsg_len = (unsigned)len;
	if (sendto(fd, &r, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) != (ssize_t)len)
		return -1;
	return 0;
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

/*
 * Reads the answers until NLMSG_DONE. Returns the count, or -1 with errno
 * (a dump that failed or was cut short counts for nothing: the caller
 * reads /proc/net instead).
 */
static long read_answers(int fd, void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx)
{
	static _Alignas(struct nlmsghdr) char buf[32768];
	struct sk_procnet_entry e;
	long count = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		struct nlmsghdr *h;
		int len, err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (errno = EPROTO, -1) : -1;
		if (n > (ssize_t)sizeof(buf)) {
			errno = EMSGSIZE; /* the kernel's datagram did not fit */
			return -1;
		}
		len = (int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				if ((err = message_error(h)) != 0 || h->nlmsg_type == NLMSG_ERROR) {
					errno = err ? err : EPROTO;
					return -1;
				}
				return count;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			to_entry(NLMSG_DATA(h), &e);
			fn(ctx, &e);
			count++;
		}
	}
}

long sk_sockdiag_read(int family, int protocol, unsigned states, unsigned lo, unsigned hi,
		      void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	long n;
	int saved;

	if (fd < 0)
		return -1;
	if (send_request(fd, family, protocol, states, lo, hi) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	n = read_answers(fd, fn, ctx);
	saved = errno;
	close(fd);
	errno = saved;
	return n;
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
	r.nlh.nlmsg_seq = 1;
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
