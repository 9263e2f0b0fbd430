/* pidfd.h - signalling other processes without PID-reuse races. */
#ifndef SK_PIDFD_H
#define SK_PIDFD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Returns a close-on-exec pidfd for pid, or -1 with errno (ESRCH: gone). */
int sk_pidfd_open(pid_t pid);

/*
 * A close-on-exec copy of the process's fd, as pidfd_getfd(2) gives it
 * (the right to trace the process is needed). Returns it, or -1 with errno.
 */
int sk_pidfd_getfd(int pidfd, int fd);

/* Sends sig through a pidfd. Returns 0, or -1 with errno (ESRCH: it has exited). */
int sk_pidfd_signal(int pidfd, int sig);

/* Returns true when the process of pidfd has exited. */
bool sk_pidfd_exited(int pidfd);

/*
 * Waits up to ms milliseconds for the processes of fds[0..n) to exit,
 * setting exited[i] for each that has; fds[i] < 0 are skipped. Returns
 * the number still alive, or -1 with errno.
 */
int sk_pidfd_wait(const int *fds, bool *exited, size_t n, int ms);

/*
 * Parses a signal: a number 1-64, or a name with or without "SIG" in any
 * case ("TERM", "sigkill", "HUP"). Returns the number, or -1 with errno
 * EINVAL.
 */
int sk_parse_signal(const char *s);

/* The name of signal sig without "SIG" ("TERM"), or NULL when it has none. */
const char *sk_signal_name(int sig);

#endif
