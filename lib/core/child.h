/* child.h - child processes for -e: spawn, reap, stop, serve. */
#ifndef SK_CHILD_H
#define SK_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "sigfd.h"

/* How long stopped children get between SIGTERM and SIGKILL. */
#define SK_CHILD_GRACE_MS 2000

/*
 * Runs "/bin/sh -c cmd" with fd as its stdin and stdout (made blocking),
 * with default signal dispositions and an empty signal mask. Returns the
 * child's pid, or -1 with errno and err.
 */
pid_t sk_spawn_sh(const char *cmd, int fd, char *err);

/*
 * Runs "/bin/sh -c cmd" with in[0..inlen) on its stdin and collects its
 * stdout into out (outcap bytes; *outlen is how much it wrote, and more
 * than outcap sets *overflow, the rest being read and dropped). Returns
 * the command's exit code, or -1 with errno and err. A SIGINT or SIGTERM
 * on sigfd (from sk_stop_signals, or -1) stops the command and returns
 * -1 with errno EINTR.
 */
int sk_run_filter(const char *cmd, const unsigned char *in, size_t inlen, unsigned char *out,
		  size_t outcap, size_t *outlen, bool *overflow, int sigfd, char *err);

/* Turns a wait status into an exit code: the code, or 128 + signal. */
int sk_exit_code(int status);

/*
 * Waits for pid while reading sigfd (from sk_child_signals). SIGINT or
 * SIGTERM stops the child (SIGTERM, SIGKILL after the grace period).
 * Returns the child's exit code, or -1 with errno.
 */
int sk_wait_child(pid_t pid, int sigfd);

struct sk_exec_server {
	int lfd;     /* listening, non-blocking */
	int idle_ms; /* no child and no client for this long: ETIMEDOUT (-1: never) */
	const char *cmd;
	size_t max_conns; /* children at once */
	bool once;	  /* serve one connection, then return */
	int sigfd;	  /* from sk_child_signals */
	/* A connection was accepted and pid serves it. */
	void (*on_accept)(void *ctx, const char *peer, pid_t pid);
	/* A connection could not be served; msg says why. */
	void (*on_error)(void *ctx, const char *msg);
	void *ctx;
};

/*
 * Accepts connections and runs cmd for each, up to max_conns at once,
 * reaping children as they end, until SIGINT or SIGTERM (or, with once,
 * until the one child ends). Children still running are then stopped.
 * Returns the exit code of the last child with once, else 0; or -1 with
 * errno and err when the loop itself fails.
 */
int sk_exec_serve(const struct sk_exec_server *s, char *err);

#endif
