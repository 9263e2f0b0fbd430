/* netns.h - a piece of work done inside another network namespace. */
#ifndef SK_NETNS_H
#define SK_NETNS_H

#include <sys/types.h>

/*
 * Runs fn in a child process that joins the network namespace of pid
 * (root/PID/ns/net, whose inode must still be ino: the process may have
 * exited and its PID gone to another). fn writes its answer to fd and
 * returns 0 or an errno. Returns the answer's length with *out (free it),
 * or -1 with errno: ESRCH when that namespace's process is gone, EPERM
 * when this process may not join it, or fn's errno.
 */
ssize_t sk_netns_call(const char *root, pid_t pid, unsigned long ino, int (*fn)(void *ctx, int fd),
		      void *ctx, char **out);

#endif
