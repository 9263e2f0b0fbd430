#include "fsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Whether openat2 answers here: an old kernel says ENOSYS, and a seccomp
 * filter that does not know it (some container runtimes) says EPERM; both
 * mean the fallback, checked once rather than failing every request.
 */
static bool openat2_works(int dirfd)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
	long fd = syscall(SYS_openat2, dirfd, ".", &how, sizeof(how));

	if (fd >= 0) {
		close((int)fd);
		return true;
	}
	return errno != ENOSYS && errno != EPERM;
}

int sk_root_open(struct sk_root *r, const char *path, bool no_openat2)
{
	r->no_openat2 = no_openat2;
	r->real = realpath(path, NULL);
	if (!r->real)
		return -1;
	r->dirfd = open(r->real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		free(r->real);
		r->real = NULL;
		return -1;
	}
	if (!r->no_openat2)
		r->no_openat2 = !openat2_works(r->dirfd);
	return 0;
}

void sk_root_close(struct sk_root *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->real);
	r->dirfd = -1;
	r->real = NULL;
}

/* True when path is the root or lies under it. */
static bool under_root(const struct sk_root *r, const char *path)
{
	size_t n = strlen(r->real);

	if (strcmp(r->real, "/") == 0)
		return true;
	return strncmp(path, r->real, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * Without openat2: open, then ask the kernel where the open file really
 * is. Checking a path and opening it after would race with a symlink
 * swapped in between; the fd cannot change under us. Fails closed when
 * /proc cannot tell.
 */
static int open_by_realpath(const struct sk_root *r, const char *rel)
{
	char full[PATH_MAX], link[64], where[PATH_MAX];
	ssize_t n;
	int fd;

	if (snprintf(full, sizeof(full), "%s/%s", r->real, rel) >= (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, where, sizeof(where) - 1);
	if (n < 0 || (size_t)n >= sizeof(where) - 1) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	where[n] = '\0';
	if (!under_root(r, where)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

int sk_open_beneath(const struct sk_root *r, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (rel[0] == '/' || strcmp(rel, "..") == 0 || strncmp(rel, "../", 3) == 0) {
		errno = EXDEV;
		return -1;
	}
	if (!r->no_openat2) {
		fd = syscall(SYS_openat2, r->dirfd, rel[0] ? rel : ".", &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
	}
	return open_by_realpath(r, rel);
}
