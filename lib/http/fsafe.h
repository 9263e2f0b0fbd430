/* fsafe.h - open files strictly beneath a directory. */
#ifndef SK_FSAFE_H
#define SK_FSAFE_H

#include <stdbool.h>

struct sk_root {
	int dirfd;	 /* the directory, O_PATH | O_DIRECTORY */
	char *real;	 /* its canonical path, for the fallback */
	bool no_openat2; /* use the fallback (tests run both) */
};

/*
 * Opens the directory path as a root: files are then opened beneath it
 * with openat2(2), or with the fallback when no_openat2 is set or the
 * kernel (or a seccomp filter) refuses openat2, as checked once here.
 * Returns 0, or -1 with errno.
 */
int sk_root_open(struct sk_root *r, const char *path, bool no_openat2);

/* Closes what sk_root_open opened. */
void sk_root_close(struct sk_root *r);

/*
 * Opens rel ("" or a path without a leading slash and without "..")
 * read-only beneath the root. Symlinks are followed only while they stay
 * inside: openat2(2) with RESOLVE_BENEATH where the kernel has it, else
 * the file opened must lie under the root, as /proc/self/fd tells (no
 * /proc: refused). Returns a close-on-exec fd, or -1 with errno (EXDEV
 * for a path that leads outside).
 */
int sk_open_beneath(const struct sk_root *r, const char *rel);

#endif
