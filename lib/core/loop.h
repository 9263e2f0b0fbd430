/*
 * loop.h - an event loop over epoll (redis's ae.c is the model): fds with
 * a callback each, timers, a hook before each wait, run until stopped.
 */
#ifndef SK_LOOP_H
#define SK_LOOP_H

#include <stdint.h>

struct sk_loop;

/* What an fd is watched for, and what a callback is told. */
#define SK_LOOP_READ  1u /* readable (or at its end: a read says which) */
#define SK_LOOP_WRITE 2u /* writable */
#define SK_LOOP_EDGE  4u /* watch: report changes only (EPOLLET) */
#define SK_LOOP_ERR   8u /* told: an error or hang-up (always watched) */

/*
 * Called with what happened to fd: SK_LOOP_READ and/or SK_LOOP_WRITE
 * among those watched, plus SK_LOOP_ERR on an error or hang-up (which
 * also sets the watched READ/WRITE bits, so that the read or write that
 * follows finds the cause). The callback may add, change or delete any
 * fd, its own included, and close it after deleting it: an event already
 * collected for a deleted fd is never delivered, not even when the fd
 * number was reused for a new registration in the same turn.
 */
typedef void sk_loop_fd_fn(struct sk_loop *l, int fd, unsigned events, void *ctx);

/*
 * Called when a timer is due. Returns the milliseconds until it fires
 * again (0: on the next turn, without sleeping), or -1 to end it.
 */
typedef int sk_loop_timer_fn(struct sk_loop *l, void *ctx);

/* Called before each wait for events (after the callbacks of a turn). */
typedef void sk_loop_hook_fn(struct sk_loop *l, void *ctx);

/*
 * Returns a new loop that collects up to max_events events per wait
 * (64 when 0), or NULL with errno (from epoll_create1, or ENOMEM).
 */
struct sk_loop *sk_loop_new(int max_events);

/* Closes the loop's epoll fd and frees it; fds it watched stay open. NULL is fine. */
void sk_loop_free(struct sk_loop *l);

/*
 * Watches fd for mask (SK_LOOP_READ, SK_LOOP_WRITE, SK_LOOP_EDGE; 0 watches
 * only for errors) and calls fn with ctx. Returns 0, or -1 with errno:
 * EEXIST when fd is already watched, ENOMEM, or epoll_ctl's.
 */
int sk_loop_add(struct sk_loop *l, int fd, unsigned mask, sk_loop_fd_fn *fn, void *ctx);

/*
 * Watches fd for mask instead; no system call when mask is unchanged.
 * Returns 0, or -1 with errno: ENOENT when fd is not watched, or
 * epoll_ctl's (the old mask then stays).
 */
int sk_loop_mod(struct sk_loop *l, int fd, unsigned mask);

/*
 * Stops watching fd; events already collected for it are dropped. Returns
 * 0, or -1 with errno: ENOENT when fd was not watched, or epoll_ctl's
 * (EBADF when fd was closed first; the loop forgets it all the same).
 */
int sk_loop_del(struct sk_loop *l, int fd);

/*
 * Stops watching fd without a system call, for a caller about to close
 * fd (its last descriptor: closing it takes it out of epoll); events
 * already collected for it are dropped. Returns 0, or -1 with errno
 * ENOENT when fd was not watched.
 */
int sk_loop_forget(struct sk_loop *l, int fd);

/* Returns the mask fd is watched for, or -1 when it is not watched. */
int sk_loop_mask(const struct sk_loop *l, int fd);

/*
 * Calls fn with ctx in ms milliseconds (0 or less: on the next turn,
 * without sleeping), then as often as fn asks. Returns the timer's id (> 0), or
 * -1 with errno ENOMEM.
 */
int64_t sk_loop_timer(struct sk_loop *l, int ms, sk_loop_timer_fn *fn, void *ctx);

/* Ends a timer, also from inside a callback. Returns 0, or -1 with errno ENOENT. */
int sk_loop_timer_del(struct sk_loop *l, int64_t id);

/* Calls fn with ctx before each wait for events (NULL: nothing). */
void sk_loop_before_sleep(struct sk_loop *l, sk_loop_hook_fn *fn, void *ctx);

/*
 * Runs turns (wait for events or the next timer, call the callbacks, then
 * the due timers) until sk_loop_stop. Returns 0 once stopped, or -1 with
 * errno when epoll_wait fails (EINTR is not a failure).
 */
int sk_loop_run(struct sk_loop *l);

/* Makes sk_loop_run return after the callback that calls this. */
void sk_loop_stop(struct sk_loop *l);

#endif
