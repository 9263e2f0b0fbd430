/* The plain-fd endpoint: read/write (send/recv on sockets) on the fd itself. */
#include "endpoint.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_sock(const struct sk_endpoint *ep)
{
	return ep->type == S_IFSOCK;
}

static ssize_t fd_read(struct sk_endpoint *ep, void *buf, size_t n)
{
	return is_sock(ep) ? recv(ep->fd, buf, n, MSG_DONTWAIT) : read(ep->fd, buf, n);
}

static ssize_t fd_write(struct sk_endpoint *ep, const void *buf, size_t n)
{
	if (is_sock(ep))
		return send(ep->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(ep->fd, buf, n);
}

/* A socket gets a FIN; anything else has no half-close and stays as it is. */
static int fd_shutdown_write(struct sk_endpoint *ep)
{
	return is_sock(ep) ? shutdown(ep->fd, SHUT_WR) : 0;
}

static bool fd_pending(const struct sk_endpoint *ep)
{
	(void)ep;
	return false;
}

static short fd_poll_events(const struct sk_endpoint *ep, short want)
{
	(void)ep;
	return want;
}

static const char *fd_strerror(const struct sk_endpoint *ep, int e)
{
	(void)ep;
	return strerror(e);
}

static void fd_close(struct sk_endpoint *ep)
{
	if (ep->saved_flags >= 0)
		fcntl(ep->fd, F_SETFL, ep->saved_flags);
	ep->saved_flags = -1;
}

static const struct sk_endpoint_ops fd_ops = {
    .read = fd_read,
    .write = fd_write,
    .shutdown_write = fd_shutdown_write,
    .pending = fd_pending,
    .poll_events = fd_poll_events,
    .strerror = fd_strerror,
    .close = fd_close,
};

void sk_endpoint_fd(struct sk_endpoint *ep, int fd)
{
	struct stat st;
	int fl = -1;

	memset(ep, 0, sizeof(*ep));
	ep->ops = &fd_ops;
	ep->fd = fd;
	ep->saved_flags = -1;
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	ep->zero_copy = true;
	ep->type = st.st_mode & S_IFMT;
	ep->tty = S_ISCHR(st.st_mode) && isatty(fd);
	if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		fl = fcntl(fd, F_GETFL);
	ep->append = S_ISREG(st.st_mode) && fl >= 0 && (fl & O_APPEND);
	/* Local pipes and sockets go non-blocking for the relay's lifetime. */
	if (S_ISREG(st.st_mode) || fl < 0 || (fl & O_NONBLOCK))
		return;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
		ep->saved_flags = fl;
}

void sk_endpoint_close(struct sk_endpoint *ep)
{
	if (ep)
		ep->ops->close(ep);
}
