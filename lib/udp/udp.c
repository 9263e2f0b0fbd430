#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

size_t sk_udp_max_payload(int family)
{
	return family == AF_INET6 ? 65535 - 8 : 65535 - 20 - 8;
}

int sk_socket_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return AF_UNSPEC;
	return ss.ss_family;
}

int sk_udp_rcvbuf(int fd, int bytes)
{
	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

int sk_udp_join(int fd, const char *group, char *err)
{
	char name[64];
	struct ip_mreqn m4;
	struct ipv6_mreq m6;

	if (!sk_host_unbracket(group, name, sizeof(name))) {
		sk_seterr(err, "bad multicast group '%s'", group);
		return -1;
	}
	memset(&m4, 0, sizeof(m4));
	memset(&m6, 0, sizeof(m6));
	if (inet_pton(AF_INET, name, &m4.imr_multiaddr) == 1) {
		if (!IN_MULTICAST(ntohl(m4.imr_multiaddr.s_addr)))
			goto not_multicast;
		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m4, sizeof(m4)) == 0)
			return 0;
	} else if (inet_pton(AF_INET6, name, &m6.ipv6mr_multiaddr) == 1) {
		if (!IN6_IS_ADDR_MULTICAST(&m6.ipv6mr_multiaddr))
			goto not_multicast;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m6, sizeof(m6)) == 0)
			return 0;
	} else {
		sk_seterr(err, "bad multicast group '%s': not an IPv4 or IPv6 address", group);
		errno = EINVAL;
		return -1;
	}
	sk_seterr(err, "join %s: %s", group, strerror(errno));
	return -1;
not_multicast:
	sk_seterr(err, "bad multicast group '%s': not a multicast address", group);
	errno = EINVAL;
	return -1;
}

int sk_dgram_batch_init(struct sk_dgram_batch *b, size_t cap, size_t bufsize)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
	b->bufsize = bufsize;
	b->bufs = malloc(cap * bufsize);
	b->msgs = calloc(cap, sizeof(*b->msgs));
	b->iov = calloc(cap, sizeof(*b->iov));
	b->from = calloc(cap, sizeof(*b->from));
	if (!b->bufs || !b->msgs || !b->iov || !b->from) {
		sk_dgram_batch_free(b);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void sk_dgram_batch_free(struct sk_dgram_batch *b)
{
	free(b->bufs);
	free(b->msgs);
	free(b->iov);
	free(b->from);
	memset(b, 0, sizeof(*b));
}

const unsigned char *sk_dgram_data(const struct sk_dgram_batch *b, size_t i, size_t *len)
{
	*len = b->msgs[i].msg_len;
	return b->bufs + i * b->bufsize;
}

const struct sockaddr *sk_dgram_from(const struct sk_dgram_batch *b, size_t i, socklen_t *len)
{
	*len = b->msgs[i].msg_hdr.msg_namelen;
	return (const struct sockaddr *)&b->from[i];
}

int sk_dgram_recv(int fd, struct sk_dgram_batch *b, size_t max)
{
	size_t i, n = max < b->cap ? max : b->cap;
	int got;

	for (i = 0; i < n; i++) {
		b->iov[i] =
		    (struct iovec){.iov_base = b->bufs + i * b->bufsize, .iov_len = b->bufsize};
		b->msgs[i].msg_hdr = (struct msghdr){
		    .msg_name = &b->from[i],
		    .msg_namelen = sizeof(b->from[i]),
		    .msg_iov = &b->iov[i],
		    .msg_iovlen = 1,
		};
	}
	do
		got = recvmmsg(fd, b->msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	while (got < 0 && errno == EINTR);
	b->count = got > 0 ? (size_t)got : 0;
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return got;
}

int sk_dgram_send(int fd, const struct iovec *iov, size_t n, const struct sockaddr *const *to,
		  const socklen_t *tolen)
{
	struct mmsghdr msgs[SK_DGRAM_BATCH];
	size_t done = 0, i, k;
	int sent;

	while (done < n) {
		k = n - done < SK_DGRAM_BATCH ? n - done : SK_DGRAM_BATCH;
		for (i = 0; i < k; i++) {
			msgs[i].msg_hdr = (struct msghdr){
			    .msg_name = to ? (void *)to[done + i] : NULL,
			    .msg_namelen = to ? tolen[done + i] : 0,
			    .msg_iov = (struct iovec *)&iov[done + i],
			    .msg_iovlen = 1,
			};
		}
		sent = sendmmsg(fd, msgs, (unsigned)k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				return (int)done;
			return done > 0 ? (int)done : -1;
		}
		done += (size_t)sent;
		if ((size_t)sent < k)
			return (int)done;
	}
	return (int)done;
}
