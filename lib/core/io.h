/* io.h - writes that finish, whatever the kernel takes per call. */
#ifndef SK_IO_H
#define SK_IO_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * Writes all n iovecs to fd, restarting after signals, partial writes
 * and EAGAIN (waiting for POLLOUT). iov is modified. Returns 0, or -1
 * with errno (EPIPE when the reader has gone).
 */
int sk_writev_all(int fd, struct iovec *iov, size_t n);

/* Writes p[0..n) to fd like sk_writev_all. Returns 0 or -1 with errno. */
int sk_write_all(int fd, const void *p, size_t n);

#endif
