/* sigfd.h - SIGINT, SIGTERM (and SIGCHLD) as a readable fd: the way to stop cleanly. */
#ifndef SK_SIGFD_H
#define SK_SIGFD_H

/*
 * Blocks SIGINT and SIGTERM and returns a non-blocking, close-on-exec
 * signalfd that reports them, or -1 with errno: the way to stop cleanly.
 */
int sk_stop_signals(void);

/*
 * Like sk_stop_signals, with SIGCHLD too, for code that reaps children
 * (sk_wait_child, sk_exec_serve).
 */
int sk_child_signals(void);

/*
 * Reads every signal waiting on a signalfd. Returns the last SIGINT or
 * SIGTERM among them, or 0 when there was none (only SIGCHLD, or nothing).
 */
int sk_read_stop_signal(int sigfd);

#endif
