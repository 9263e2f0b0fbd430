/* udp.h - datagram sockets: limits, multicast, batched send and receive. */
#ifndef SK_UDP_H
#define SK_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "err.h"

/* Datagrams that one batched call moves at most. */
#define SK_DGRAM_BATCH 64

/* The largest UDP payload: 65507 bytes over IPv4, 65527 over IPv6. */
size_t sk_udp_max_payload(int family);

/* Returns the address family of socket fd, or AF_UNSPEC. */
int sk_socket_family(int fd);

/*
 * Asks for a receive buffer of bytes (the kernel may cap it). Returns 0,
 * or -1 with errno.
 */
int sk_udp_rcvbuf(int fd, int bytes);

/*
 * Joins the multicast group (an IPv4 or IPv6 literal) on fd, on the
 * interface the routing table picks. Returns 0, or -1 with errno and err.
 */
int sk_udp_join(int fd, const char *group, char *err);

/* Datagrams received by one sk_dgram_recv call. */
struct sk_dgram_batch {
	size_t cap, count;   /* room for cap, count filled */
	size_t bufsize;	     /* bytes per datagram buffer */
	unsigned char *bufs; /* cap * bufsize */
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *from;
};

/*
 * Allocates room for cap datagrams of up to bufsize bytes. Untouched
 * buffer pages cost no memory. Returns 0, or -1 with errno ENOMEM.
 */
int sk_dgram_batch_init(struct sk_dgram_batch *b, size_t cap, size_t bufsize);

/* Frees what sk_dgram_batch_init allocated. */
void sk_dgram_batch_free(struct sk_dgram_batch *b);

/* The i-th datagram of the last sk_dgram_recv: payload, length, sender. */
const unsigned char *sk_dgram_data(const struct sk_dgram_batch *b, size_t i, size_t *len);
const struct sockaddr *sk_dgram_from(const struct sk_dgram_batch *b, size_t i, socklen_t *len);

/*
 * Receives up to max (at most cap) waiting datagrams without blocking.
 * Returns how many, 0 when none is waiting, or -1 with errno (for a
 * connected socket, ECONNREFUSED reports an ICMP port unreachable).
 */
int sk_dgram_recv(int fd, struct sk_dgram_batch *b, size_t max);

/*
 * Sends n datagrams (iov[i] each) on a connected socket, to[i] when to is
 * not NULL, with as few calls as the kernel allows. Returns how many
 * were sent before the socket would block (the caller waits for POLLOUT
 * and sends the rest), or -1 with errno.
 */
int sk_dgram_send(int fd, const struct iovec *iov, size_t n, const struct sockaddr *const *to,
		  const socklen_t *tolen);

#endif
