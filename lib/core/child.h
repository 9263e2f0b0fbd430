/*
 * child.h - the one supervisor of the processes sockctl starts: -e
 * commands, udp-recv -e filters and serve-http workers. Each child leads
 * a process group of its own, so that what it forks is stopped with it:
 * stopping is SIGTERM to the group, SIGKILL to the group after a grace.
 */
#ifndef SK_CHILD_H
#define SK_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "sigfd.h"

/* How long stopped -e children get between SIGTERM and SIGKILL. */
#define SK_CHILD_GRACE_MS 2000

/*
 * A group whose leader has ended: what is left of it got SIGTERM and gets
 * SIGKILL at kill_at, unless it is gone by then.
 */
struct sk_child_group {
	pid_t pgid;
	int64_t kill_at; /* sk_now_ms() time */
	bool killed;
};

/*
 * The children of one supervisor, each the leader of its own process
 * group. The supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER):
 * what a leader leaves behind becomes its child, so it sees the group
 * empty out and no process of the group's id can appear in between.
 */
struct sk_child_set {
	pid_t *pid; /* the leaders still running */
	size_t n, cap;
	struct sk_child_group *left; /* groups whose leader ended */
	size_t nleft, capleft;
	int grace_ms; /* between SIGTERM and SIGKILL */
	/*
	 * 0: a second stop signal during the grace means SIGKILL at once.
	 * Above 0: it is passed on as a second SIGTERM, and SIGKILL follows
	 * this many ms later (workers that end at once their own way).
	 */
	int second_grace_ms;
	int last_code;	 /* the exit code of the last leader reaped */
	size_t failures; /* leaders that ended on their own with a code other than 0 */
	/* A leader ended on its own with code (exit code, or 128 + signal); may be NULL. */
	void (*on_exit)(void *ctx, pid_t pid, int code);
	void *ctx;
};

/*
 * Makes an empty set for at most cap running children, and makes this
 * process a child subreaper. Returns 0, or -1 with errno ENOMEM.
 */
int sk_child_set_init(struct sk_child_set *s, size_t cap, int grace_ms);

/* Frees the set; its children must have been stopped (sk_child_stop_all). */
void sk_child_set_free(struct sk_child_set *s);

/*
 * Runs "/bin/sh -c cmd" in a new process group, with in and out as its
 * stdin and stdout, default signal dispositions and an empty signal mask,
 * and adds it to the set. Returns the child's pid, or -1 with errno and
 * err (ENOSPC: the set is full).
 */
pid_t sk_child_spawn_io(struct sk_child_set *s, const char *cmd, int in, int out, char *err);

/* sk_child_spawn_io with fd (made blocking) as both stdin and stdout. */
pid_t sk_child_spawn_sh(struct sk_child_set *s, const char *cmd, int fd, char *err);

/*
 * Runs "/bin/sh -c cmd" like sk_child_spawn_sh, but in the caller's
 * process group and outside any set: for a process that leads the group
 * and carries the command's connection for it (TLS). Returns the pid,
 * or -1 with errno and err.
 */
pid_t sk_spawn_sh_here(const char *cmd, int fd, char *err);

/*
 * fork(2) into a new process group that the set supervises. The child
 * gets SIGTERM should sockctl die without stopping it. Returns 0 in the
 * child, its pid in the parent, or -1 with errno and err.
 */
pid_t sk_child_fork(struct sk_child_set *s, char *err);

/*
 * Reaps, without blocking, every leader that has ended (calling on_exit)
 * and every other child (what ended leaders left behind). What a leader
 * left running in its group gets SIGTERM, and SIGKILL once grace_ms have
 * passed (checked here: call again by sk_child_next_ms). Returns how many
 * leaders were reaped.
 */
size_t sk_child_reap(struct sk_child_set *s);

/*
 * Returns the milliseconds until sk_child_reap has a group to SIGKILL, or
 * -1 when there is none.
 */
int sk_child_next_ms(const struct sk_child_set *s);

/*
 * Stops every child: SIGTERM to each process group, then, once every
 * group is gone or after grace_ms (or at once, when a second stop signal
 * arrives on sigfd (-1: none); with second_grace_ms, that much later,
 * the signal passed on), SIGKILL to what is left; reaps them all.
 * on_exit is not called; last_code is the last leader's. The set is empty
 * afterwards. Returns the stop signal read from sigfd meanwhile, or 0.
 */
int sk_child_stop_all(struct sk_child_set *s, int sigfd);

/*
 * Waits for child pid of the set to end, without reaping it, while
 * reading sigfd (-1: none). Returns 0 once it has ended, or the SIGINT or
 * SIGTERM that came first.
 */
int sk_child_wait(pid_t pid, int sigfd);

enum sk_supervise_result {
	SK_SUPERVISE_ALL_EXITED, /* no child is left */
	SK_SUPERVISE_SIGNALLED,	 /* a stop signal arrived; its number is in *sig */
	SK_SUPERVISE_FAILED,	 /* a child exited non-zero (with stop_on_failure) */
	SK_SUPERVISE_ERROR,	 /* waiting failed; errno says why */
};

/*
 * Reaps children as they end while reading sigfd (from sk_child_signals),
 * until none is left, a SIGINT or SIGTERM arrives (*sig is set), or, with
 * stop_on_failure, one exits non-zero. The children still running are
 * left to the caller (sk_child_stop_all).
 */
enum sk_supervise_result sk_child_supervise(struct sk_child_set *s, int sigfd, bool stop_on_failure,
					    int *sig);

/*
 * Runs "/bin/sh -c cmd" (in a process group of its own) with in[0..inlen)
 * on its stdin and collects its stdout into out (outcap bytes; *outlen is
 * how much it wrote, and more than outcap sets *overflow, the rest being
 * read and dropped). Returns the command's exit code, or -1 with errno
 * and err. A SIGINT or SIGTERM on sigfd (from sk_stop_signals, or -1)
 * stops the command's group and returns -1 with errno EINTR.
 */
int sk_run_filter(const char *cmd, const unsigned char *in, size_t inlen, unsigned char *out,
		  size_t outcap, size_t *outlen, bool *overflow, int sigfd, char *err);

/* Turns a wait status into an exit code: the code, or 128 + signal. */
int sk_exit_code(int status);

/*
 * Runs "/bin/sh -c cmd" on fd (which it closes: the child has it) and
 * waits for it while reading sigfd (from
 * sk_child_signals). SIGINT or SIGTERM stops its group (SIGTERM, SIGKILL
 * after the grace period). Returns the child's exit code, 128 + the
 * signal when stopped, or -1 with errno and err.
 */
int sk_run_child(const char *cmd, int fd, int sigfd, char *err);

/*
 * Like sk_run_child, for a forked process (in a group of its own) that
 * runs fn(arg) and exits with what it returns.
 */
int sk_run_forked(int (*fn)(void *arg), void *arg, int sigfd, char *err);

struct sk_acl;

struct sk_exec_server {
	int lfd;     /* listening, non-blocking */
	int idle_ms; /* no child and no client for this long: ETIMEDOUT (-1: never) */
	const char *cmd;
	size_t max_conns; /* children at once */
	bool once;	  /* serve one connection, then return */
	int sigfd;	  /* from sk_child_signals */
	/* A connection was accepted and pid serves it. */
	void (*on_accept)(void *ctx, const char *peer, pid_t pid);
	/*
	 * Set: each connection is served by a forked process (a group of its
	 * own) that runs serve(ctx, fd, peer) and exits with its return,
	 * instead of cmd getting the socket.
	 */
	int (*serve)(void *ctx, int fd, const char *peer);
	/* A connection could not be served; msg says why. */
	void (*on_error)(void *ctx, const char *msg);
	/*
	 * Set: a client the access list refuses is closed at once, before any
	 * child starts, and told to on_refuse (may be NULL). It does not
	 * count as the one connection of once.
	 */
	const struct sk_acl *acl;
	void (*on_refuse)(void *ctx, const char *peer);
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
