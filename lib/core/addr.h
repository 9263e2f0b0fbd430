/* addr.h - host literals, name resolution and printable addresses. */
#ifndef SK_ADDR_H
#define SK_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "err.h"

/* Room for "[v6%scope]:port" and for a unix socket path. */
#define SK_ADDRSTRLEN 128

/*
 * Copies host into buf without the brackets of "[::1]". Returns buf, or
 * NULL with errno EINVAL when the brackets do not match or the host does
 * not fit in buflen bytes.
 */
char *sk_host_unbracket(const char *host, char *buf, size_t buflen);

/*
 * Formats a socket address as "127.0.0.1:80", "[::1]:80" (IPv4-mapped
 * IPv6 addresses as IPv4), a unix path, "@name" for an abstract unix
 * socket, or "(unnamed)". Returns buf.
 */
char *sk_addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

/* Formats the local address of fd like sk_addr_format. Returns buf. */
char *sk_local_addr(int fd, char *buf, size_t buflen);

/* The local port of an IPv4 or IPv6 socket, or 0 when it has none. */
unsigned sk_local_port(int fd);

struct sk_resolve_opts {
	int family;   /* AF_UNSPEC, AF_INET or AF_INET6 */
	int socktype; /* SOCK_STREAM or SOCK_DGRAM */
	bool numeric; /* literals only, no DNS */
	bool passive; /* for bind(): a NULL host is the wildcard */
};

/*
 * Resolves host (bracketed IPv6 allowed; NULL with passive for the
 * wildcard) and port. Returns a list to free with freeaddrinfo, or NULL
 * with err naming the host and the reason.
 */
struct addrinfo *sk_resolve(const char *host, unsigned port, const struct sk_resolve_opts *opts,
			    char *err);

#endif
