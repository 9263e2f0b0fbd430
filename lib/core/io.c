#include "io.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "net.h"

int sk_writev_all(int fd, struct iovec *iov, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : (int)n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && sk_wait_fd(fd, POLLOUT, -1) >= 0)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int sk_write_all(int fd, const void *p, size_t n)
{
	struct iovec iov = {.iov_base = (void *)p, .iov_len = n};

	return sk_writev_all(fd, &iov, 1);
}
