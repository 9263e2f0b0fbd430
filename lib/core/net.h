/* net.h - TCP and unix stream sockets: connect, listen, accept. */
#ifndef SK_NET_H
#define SK_NET_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr.h"
#include "err.h"

struct addrinfo;

/* sk_connect flags */
#define SK_CONNECT_BROADCAST 1 /* SO_BROADCAST first, for datagrams */

/*
 * Connects a socket of each address's type (stream or datagram) to the
 * first address of targets that answers, binding to the address of src
 * of the same family first when src is not NULL. All attempts share one
 * deadline of timeout_ms (negative: none). Returns a non-blocking,
 * close-on-exec socket and stores the peer's address in peer
 * (SK_ADDRSTRLEN bytes) when not NULL; or -1 with errno from the last
 * attempt (ETIMEDOUT when the deadline passed) and err naming the
 * address and step.
 */
int sk_connect(const struct addrinfo *targets, const struct addrinfo *src, int timeout_ms,
	       int flags, char *peer, char *err);

struct sk_listen_opts {
	const char *host; /* NULL: every local address */
	unsigned port;	  /* 0: the kernel chooses */
	int family;	  /* AF_UNSPEC: IPv6 and IPv4 together if possible */
	bool numeric;
	int socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	int backlog;	/* for SOCK_STREAM */
	bool reuseport; /* SO_REUSEPORT: sockets of the same user share the port */
};

/*
 * Creates a bound (and, for streams, listening) non-blocking,
 * close-on-exec socket. With no host and AF_UNSPEC, binds the IPv6
 * wildcard accepting IPv4 too, or the IPv4 wildcard where the machine
 * has no IPv6. Returns the socket, or -1 with errno (EADDRINUSE when the
 * port is taken) and err naming the address.
 */
int sk_listen(const struct sk_listen_opts *opts, char *err);

/*
 * Creates a listening unix socket at path ("@name": abstract). A stale
 * socket file that nobody listens on is replaced; anything else at path
 * gives EADDRINUSE. Returns the socket or -1 with errno and err.
 */
int sk_unix_listen(const char *path, int socktype, int backlog, char *err);

/*
 * Fills sun from path ("@name": abstract). Returns the address length,
 * or (socklen_t)-1 with errno ENAMETOOLONG and err.
 */
socklen_t sk_unix_addr(const char *path, struct sockaddr_un *sun, char *err);

/*
 * Connects to the unix socket at path ("@name": abstract) within
 * timeout_ms (negative: none). Returns a non-blocking socket or -1 with
 * errno and err.
 */
int sk_unix_connect(const char *path, int socktype, int timeout_ms, char *err);

/*
 * Accepts a connection as a non-blocking, close-on-exec socket and, when
 * peer is not NULL, formats the client's address into it
 * (SK_ADDRSTRLEN bytes). Returns the socket, or -1 with errno (EAGAIN
 * when none is waiting).
 */
int sk_accept(int lfd, char *peer);

/*
 * sk_accept that also stores the client's address in from (when not
 * NULL), for an access list. Returns the same.
 */
int sk_accept_from(int lfd, struct sockaddr_storage *from, char *peer);

/*
 * Waits until fd reports one of events, up to timeout_ms (negative:
 * forever), restarting after signals. Returns the revents, 0 on timeout,
 * or -1 with errno.
 */
int sk_wait_fd(int fd, short events, int timeout_ms);

/* Sets or clears O_NONBLOCK. Returns 0, or -1 with errno. */
int sk_set_nonblock(int fd, bool on);

#endif
