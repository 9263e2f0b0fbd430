#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holders.h"

/* Reads all of fd. Returns the bytes read (*buf to free), or -1. */
static ssize_t read_all(int fd, char **buf)
{
	size_t len = 0, cap = 0;
	char *b = NULL, *nb;
	ssize_t n;

	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			if (!(nb = realloc(b, cap))) {
				free(b);
				return -1;
			}
			b = nb;
		}
		n = read(fd, b + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(b);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*buf = b;
	return (ssize_t)len;
}

ssize_t sk_netns_call(const char *root, pid_t pid, unsigned long ino, int (*fn)(void *ctx, int fd),
		      void *ctx, char **out)
{
	char path[4096], *buf = NULL;
	int nsfd, p[2], status = -1, err;
	ssize_t len;
	pid_t child;

	snprintf(path, sizeof(path), "%s/%d/ns/net", root, (int)pid);
	if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	if (sk_netns_of(root, pid) != ino) { /* its process exited meanwhile */
		close(nsfd);
		errno = ESRCH;
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		err = errno;
		close(nsfd);
		errno = err;
		return -1;
	}
	if ((child = fork()) < 0) {
		err = errno;
		close(nsfd), close(p[0]), close(p[1]);
		errno = err;
		return -1;
	}
	if (child == 0) {
		close(p[0]);
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(errno & 0xff ? errno & 0xff : EPERM);
		err = fn(ctx, p[1]);
		_exit(err & 0xff ? err & 0xff : err ? EIO : 0);
	}
	close(nsfd);
	close(p[1]);
	len = read_all(p[0], &buf);
	err = errno;
	close(p[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (len < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		free(buf);
		errno = len < 0 ? err : WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
		return -1;
	}
	*out = buf;
	return len;
}
