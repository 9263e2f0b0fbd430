#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"

int sk_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

int sk_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t deadline = sk_deadline(timeout_ms);
	int rc;

	for (;;) {
		rc = poll(&pfd, 1, sk_ms_left(deadline));
		if (rc > 0)
			return pfd.revents;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Waits for a non-blocking connect to finish. Returns 0 or -1 with errno. */
static int finish_connect(int fd, int64_t deadline)
{
	int rc, soerr = 0;
	socklen_t len = sizeof(soerr);

	rc = sk_wait_fd(fd, POLLOUT, sk_ms_left(deadline));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

static const struct addrinfo *match_family(const struct addrinfo *list, int family)
{
	for (; list; list = list->ai_next)
		if (list->ai_family == family)
			return list;
	return NULL;
}

/* One attempt: returns a connected socket or -1 with errno and err. */
static int connect_one(const struct addrinfo *ai, const struct addrinfo *src, int64_t deadline,
		       int flags, char *err)
{
	char addr[SK_ADDRSTRLEN];
	const struct addrinfo *local = NULL;
	int fd;

	sk_addr_format(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
	if (src && !(local = match_family(src, ai->ai_family))) {
		sk_seterr(err, "connect to %s: source address is of another family", addr);
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		sk_seterr(err, "socket for %s: %s", addr, strerror(errno));
		return -1;
	}
	if ((flags & SK_CONNECT_BROADCAST) &&
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &(int){1}, sizeof(int)) < 0) {
		sk_seterr(err, "broadcast on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (local && bind(fd, local->ai_addr, local->ai_addrlen) < 0) {
		char la[SK_ADDRSTRLEN];

		sk_addr_format(local->ai_addr, local->ai_addrlen, la, sizeof(la));
		sk_seterr(err, "bind to source %s: %s", la, strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    (errno != EINPROGRESS || finish_connect(fd, deadline) < 0)) {
		sk_seterr(err, "connect to %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int sk_connect(const struct addrinfo *targets, const struct addrinfo *src, int timeout_ms,
	       int flags, char *peer, char *err)
{
	int64_t deadline = sk_deadline(timeout_ms);
	const struct addrinfo *ai;
	int fd = -1, one = 1;

	for (ai = targets; ai; ai = ai->ai_next) {
		fd = connect_one(ai, src, deadline, flags, err);
		if (fd >= 0)
			break;
		if (errno == ETIMEDOUT && sk_ms_left(deadline) == 0)
			return -1;
	}
	if (fd < 0)
		return -1;
	/* Best effort: without it small writes are only slower. */
	if (ai->ai_socktype == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer)
		sk_addr_format(ai->ai_addr, ai->ai_addrlen, peer, SK_ADDRSTRLEN);
	return fd;
}

/* Binds (and listens on) one address. Returns the socket or -1. */
static int bind_one(const struct sockaddr *sa, socklen_t len, const struct sk_listen_opts *o,
		    bool v6only, char *err)
{
	char addr[SK_ADDRSTRLEN];
	int fd, one = 1, v6 = v6only;

	sk_addr_format(sa, len, addr, sizeof(addr));
	fd = socket(sa->sa_family, o->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sk_seterr(err, "socket for %s: %s", addr, strerror(errno));
		return -1;
	}
	/*
	 * For TCP this only skips TIME_WAIT; for UDP it would let a second
	 * socket share the port, so a port in use would not be reported.
	 */
	if ((o->socktype == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (o->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0)) {
		sk_seterr(err, "socket options for %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, sa, len) < 0) {
		sk_seterr(err, "bind to %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (o->socktype == SOCK_STREAM && listen(fd, o->backlog) < 0) {
		sk_seterr(err, "listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_wildcard(const struct sk_listen_opts *o, char *err)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	int fd;

	s6.sin6_port = htons((unsigned short)o->port);
	s4.sin_port = htons((unsigned short)o->port);
	s4.sin_addr.s_addr = htonl(INADDR_ANY);
	if (o->family != AF_INET) {
		fd = bind_one((struct sockaddr *)&s6, sizeof(s6), o, o->family == AF_INET6, err);
		if (fd >= 0 || o->family == AF_INET6 ||
		    (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL))
			return fd;
	}
	return bind_one((struct sockaddr *)&s4, sizeof(s4), o, false, err);
}

int sk_listen(const struct sk_listen_opts *o, char *err)
{
	struct sk_resolve_opts ro = {
	    .family = o->family,
	    .socktype = o->socktype,
	    .numeric = o->numeric,
	    .passive = true,
	};
	struct addrinfo *res, *ai;
	int fd = -1;

	if (!o->host)
		return listen_wildcard(o, err);
	res = sk_resolve(o->host, o->port, &ro, err);
	if (!res)
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = bind_one(ai->ai_addr, ai->ai_addrlen, o, o->family == AF_INET6, err);
	freeaddrinfo(res);
	return fd;
}

socklen_t sk_unix_addr(const char *path, struct sockaddr_un *sun, char *err)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sun->sun_path)) {
		sk_seterr(err, "unix socket path must be 1 to %zu bytes long",
			  sizeof(sun->sun_path) - 1);
		errno = ENAMETOOLONG;
		return (socklen_t)-1;
	}
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@') {
		sun->sun_path[0] = '\0';
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (socklen_t)sizeof(*sun);
}

/* Returns true when path is a socket file that refuses connections. */
static bool stale_socket(const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st;
	int fd, rc;

	if (lstat(sun->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)sun, len);
	close(fd);
	return rc < 0 && errno == ECONNREFUSED;
}

int sk_unix_listen(const char *path, int socktype, int backlog, char *err)
{
	struct sockaddr_un sun;
	socklen_t len = sk_unix_addr(path, &sun, err);
	int fd;

	if (len == (socklen_t)-1)
		return -1;
	fd = socket(AF_UNIX, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sk_seterr(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, len) < 0 &&
	    !(errno == EADDRINUSE && path[0] != '@' && stale_socket(&sun, len) &&
	      unlink(path) == 0 && bind(fd, (struct sockaddr *)&sun, len) == 0)) {
		sk_seterr(err, "bind to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (socktype == SOCK_STREAM && listen(fd, backlog) < 0) {
		sk_seterr(err, "listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int sk_unix_connect(const char *path, int socktype, int timeout_ms, char *err)
{
	struct sockaddr_un sun;
	socklen_t len = sk_unix_addr(path, &sun, err);
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int fd, rc;

	if (len == (socklen_t)-1)
		return -1;
	/* A unix connect completes at once or waits for backlog room. */
	fd = socket(AF_UNIX, socktype | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sk_seterr(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (timeout_ms > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		sk_seterr(err, "connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	do
		rc = connect(fd, (struct sockaddr *)&sun, len);
	while (rc < 0 && errno == EINTR);
	if (rc < 0 || sk_set_nonblock(fd, true) < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			errno = ETIMEDOUT;
		sk_seterr(err, "connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	tv.tv_sec = tv.tv_usec = 0;
	if (timeout_ms > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		sk_seterr(err, "connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int sk_accept(int lfd, char *peer)
{
	return sk_accept_from(lfd, NULL, peer);
}

int sk_accept_from(int lfd, struct sockaddr_storage *from, char *peer)
{
	struct sockaddr_storage own;
	struct sockaddr_storage *ss = from ? from : &own;
	socklen_t len = sizeof(*ss);
	int fd, one = 1;

	do
		fd = accept4(lfd, (struct sockaddr *)ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	/* Best effort: without it small writes are only slower. */
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer)
		sk_addr_format((struct sockaddr *)ss, len, peer, SK_ADDRSTRLEN);
	return fd;
}
