/*
 * The event loop. Each watched fd has a slot, indexed by fd, with its
 * callback and a registration number that epoll hands back with every
 * event: an event whose number is not the slot's current one belongs to
 * a registration deleted since it was collected (perhaps of an fd closed
 * and reused within the same turn) and is dropped. Timers are a short
 * array scanned each turn, as in ae.c: loops keep a handful of them, and
 * per-connection deadlines belong in one sweep timer, not one timer each.
 */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"

struct fd_slot {
	sk_loop_fd_fn *fn; /* NULL: not watched */
	void *ctx;
	unsigned mask;
	uint32_t reg; /* the registration number its events carry */
};

struct timer {
	int64_t id; /* 0: ended, removed at the end of the turn */
	int64_t when;
	sk_loop_timer_fn *fn;
	void *ctx;
};

struct sk_loop {
	int ep;
	bool stop;
	struct epoll_event *events;
	int max_events;
	struct fd_slot *fds;
	size_t nfds; /* slots allocated */
	uint32_t next_reg;
	struct timer *timers;
	size_t ntimers, timers_cap;
	int64_t next_id;
	sk_loop_hook_fn *before_sleep;
	void *before_sleep_ctx;
};

struct sk_loop *sk_loop_new(int max_events)
{
	struct sk_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->max_events = max_events > 0 ? max_events : 64;
	l->events = calloc((size_t)l->max_events, sizeof(*l->events));
	l->ep = l->events ? epoll_create1(EPOLL_CLOEXEC) : -1;
	if (l->ep < 0) {
		int e = l->events ? errno : ENOMEM;

		free(l->events);
		free(l);
		errno = e;
		return NULL;
	}
	l->next_id = 1;
	return l;
}

void sk_loop_free(struct sk_loop *l)
{
	if (!l)
		return;
	close(l->ep);
	free(l->events);
	free(l->fds);
	free(l->timers);
	free(l);
}

static struct fd_slot *slot_of(const struct sk_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].fn)
		return NULL;
	return &l->fds[fd];
}

static uint32_t epoll_mask(unsigned mask)
{
	return (mask & SK_LOOP_READ ? EPOLLIN : 0) | (mask & SK_LOOP_WRITE ? EPOLLOUT : 0) |
	       (mask & SK_LOOP_EDGE ? EPOLLET : 0);
}

static int ctl(struct sk_loop *l, int op, int fd, unsigned mask, uint32_t reg)
{
	struct epoll_event ev = {.events = epoll_mask(mask),
				 .data.u64 = (uint64_t)reg << 32 | (uint32_t)fd};

	return epoll_ctl(l->ep, op, fd, &ev);
}

/* Makes room for slot fd. Returns 0, or -1 with errno ENOMEM. */
static int grow_fds(struct sk_loop *l, int fd)
{
	size_t n = (size_t)fd * 2 + 64;
	struct fd_slot *t;

	if ((size_t)fd < l->nfds)
		return 0;
	t = realloc(l->fds, n * sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return -1;
	}
	memset(t + l->nfds, 0, (n - l->nfds) * sizeof(*t));
	l->fds = t;
	l->nfds = n;
	return 0;
}

int sk_loop_add(struct sk_loop *l, int fd, unsigned mask, sk_loop_fd_fn *fn, void *ctx)
{
	uint32_t reg;

	if (fd < 0 || !fn) {
		errno = EINVAL;
		return -1;
	}
	if (slot_of(l, fd)) {
		errno = EEXIST;
		return -1;
	}
	if (grow_fds(l, fd) < 0)
		return -1;
	reg = ++l->next_reg;
	if (ctl(l, EPOLL_CTL_ADD, fd, mask, reg) < 0)
		return -1;
	l->fds[fd] = (struct fd_slot){.fn = fn, .ctx = ctx, .mask = mask, .reg = reg};
	return 0;
}

int sk_loop_mod(struct sk_loop *l, int fd, unsigned mask)
{
	struct fd_slot *s = slot_of(l, fd);

	if (!s) {
		errno = ENOENT;
		return -1;
	}
	if (s->mask == mask)
		return 0;
	if (ctl(l, EPOLL_CTL_MOD, fd, mask, s->reg) < 0)
		return -1;
	s->mask = mask;
	return 0;
}

int sk_loop_forget(struct sk_loop *l, int fd)
{
	struct fd_slot *s = slot_of(l, fd);

	if (!s) {
		errno = ENOENT;
		return -1;
	}
	s->fn = NULL; /* its collected events no longer match: reg is left behind */
	s->ctx = NULL;
	s->mask = 0;
	return 0;
}

int sk_loop_del(struct sk_loop *l, int fd)
{
	int rc;

	if (!slot_of(l, fd)) {
		errno = ENOENT;
		return -1;
	}
	rc = epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	sk_loop_forget(l, fd);
	return rc;
}

int sk_loop_mask(const struct sk_loop *l, int fd)
{
	const struct fd_slot *s = slot_of(l, fd);

	return s ? (int)s->mask : -1;
}

int64_t sk_loop_timer(struct sk_loop *l, int ms, sk_loop_timer_fn *fn, void *ctx)
{
	if (l->ntimers == l->timers_cap) {
		size_t cap = l->timers_cap ? 2 * l->timers_cap : 8;
		struct timer *t = realloc(l->timers, cap * sizeof(*t));

		if (!t) {
			errno = ENOMEM;
			return -1;
		}
		l->timers = t;
		l->timers_cap = cap;
	}
	l->timers[l->ntimers++] = (struct timer){
	    .id = l->next_id, .when = sk_now_ms() + (ms > 0 ? ms : 0), .fn = fn, .ctx = ctx};
	return l->next_id++;
}

int sk_loop_timer_del(struct sk_loop *l, int64_t id)
{
	size_t i;

	for (i = 0; i < l->ntimers; i++) {
		if (id > 0 && l->timers[i].id == id) {
			l->timers[i].id = 0;
			return 0;
		}
	}
	errno = ENOENT;
	return -1;
}

void sk_loop_before_sleep(struct sk_loop *l, sk_loop_hook_fn *fn, void *ctx)
{
	l->before_sleep = fn;
	l->before_sleep_ctx = ctx;
}

void sk_loop_stop(struct sk_loop *l)
{
	l->stop = true;
}

/* Milliseconds until the first timer is due: epoll_wait's timeout (-1: none). */
static int wait_ms(const struct sk_loop *l)
{
	int64_t first = -1;
	size_t i;

	for (i = 0; i < l->ntimers; i++)
		if (l->timers[i].id && (first < 0 || l->timers[i].when < first))
			first = l->timers[i].when;
	return sk_ms_left(first);
}

/* Calls the timers that are due; those added meanwhile wait for the next turn. */
static void run_timers(struct sk_loop *l)
{
	size_t i, j, n = l->ntimers;
	int64_t now = sk_now_ms(), id;
	int next;

	for (i = 0; i < n && !l->stop; i++) {
		if (!l->timers[i].id || l->timers[i].when > now)
			continue;
		id = l->timers[i].id;
		next = l->timers[i].fn(l, l->timers[i].ctx); /* may add: l->timers moves */
		if (l->timers[i].id != id)
			continue; /* it ended itself */
		if (next < 0)
			l->timers[i].id = 0;
		else
			l->timers[i].when = sk_now_ms() + next;
	}
	for (i = j = 0; i < l->ntimers; i++)
		if (l->timers[i].id)
			l->timers[j++] = l->timers[i];
	l->ntimers = j;
}

/* Hands one collected event to its fd's callback, unless it is stale. */
static void dispatch(struct sk_loop *l, const struct epoll_event *e)
{
	int fd = (int)(uint32_t)e->data.u64;
	struct fd_slot *s = slot_of(l, fd);
	unsigned ev = 0;

	if (!s || s->reg != (uint32_t)(e->data.u64 >> 32))
		return;
	if (e->events & EPOLLIN)
		ev |= SK_LOOP_READ;
	if (e->events & EPOLLOUT)
		ev |= SK_LOOP_WRITE;
	if (e->events & (EPOLLERR | EPOLLHUP))
		ev |= SK_LOOP_ERR | (s->mask & (SK_LOOP_READ | SK_LOOP_WRITE));
	/* An earlier callback of this turn may have stopped watching some of it. */
	ev &= s->mask | SK_LOOP_ERR;
	if (ev)
		s->fn(l, fd, ev, s->ctx);
}

int sk_loop_run(struct sk_loop *l)
{
	int n, i;

	l->stop = false;
	while (!l->stop) {
		if (l->before_sleep)
			l->before_sleep(l, l->before_sleep_ctx);
		if (l->stop)
			break;
		n = epoll_wait(l->ep, l->events, l->max_events, wait_ms(l));
		if (n < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < n && !l->stop; i++)
			dispatch(l, &l->events[i]);
		if (!l->stop)
			run_timers(l);
	}
	return 0;
}
