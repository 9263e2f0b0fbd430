/*
 * Unit tests of lib/core/loop.c over pipes and socketpairs: events reach
 * their callbacks, timers fire (once, periodically, on the next turn),
 * fds and timers deleted from callbacks stay quiet, an event collected
 * for an fd that was deleted, closed and reused in the same turn is never
 * delivered to the new registration, and epoll_ctl failures come back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "loop.h"

struct seen {
	int calls;
	unsigned events;
	int fd;
};

static void count_fd(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	struct seen *s = ctx;
	char b[64];

	(void)l;
	s->calls++;
	s->events |= events;
	s->fd = fd;
	if (events & SK_LOOP_READ)
		(void)!read(fd, b, sizeof(b));
}

static int stop_timer(struct sk_loop *l, void *ctx)
{
	(void)ctx;
	sk_loop_stop(l);
	return -1;
}

/* Runs l until it stops, or for ms at most. Returns the milliseconds taken. */
static int64_t run_for(struct sk_loop *l, int ms)
{
	int64_t t0 = sk_now_ms(), id = sk_loop_timer(l, ms, stop_timer, NULL);

	CHECK(sk_loop_run(l) == 0);
	sk_loop_timer_del(l, id);
	return sk_now_ms() - t0;
}

static void readable(void)
{
	struct sk_loop *l = sk_loop_new(0);
	struct seen s = {0};
	int p[2];

	CHECK(l && pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK(sk_loop_add(l, p[0], SK_LOOP_READ, count_fd, &s) == 0);
	CHECK(sk_loop_mask(l, p[0]) == SK_LOOP_READ);
	run_for(l, 20);
	CHECK(s.calls == 0);
	CHECK(write(p[1], "x", 1) == 1);
	run_for(l, 20);
	CHECK(s.calls == 1 && s.events == SK_LOOP_READ && s.fd == p[0]);
	/* The write end closed: readable with a hang-up, and read says 0. */
	close(p[1]);
	s = (struct seen){0};
	run_for(l, 20);
	CHECK(s.calls > 0 && (s.events & SK_LOOP_READ) && (s.events & SK_LOOP_ERR));
	CHECK(sk_loop_del(l, p[0]) == 0);
	CHECK(sk_loop_mask(l, p[0]) == -1);
	close(p[0]);
	sk_loop_free(l);
}

static void writable_and_mod(void)
{
	struct sk_loop *l = sk_loop_new(4);
	struct seen s = {0};
	int sv[2];

	CHECK(l && socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(sk_loop_add(l, sv[0], 0, count_fd, &s) == 0);
	run_for(l, 20);
	CHECK(s.calls == 0); /* watched for nothing but errors */
	CHECK(sk_loop_mod(l, sv[0], SK_LOOP_WRITE) == 0);
	CHECK(sk_loop_mod(l, sv[0], SK_LOOP_WRITE) == 0); /* unchanged: no call */
	CHECK(sk_loop_mask(l, sv[0]) == SK_LOOP_WRITE);
	run_for(l, 20);
	CHECK(s.calls > 0 && s.events == SK_LOOP_WRITE);
	CHECK(sk_loop_mod(l, sv[0], SK_LOOP_READ | SK_LOOP_WRITE) == 0);
	CHECK(write(sv[1], "x", 1) == 1);
	s = (struct seen){0};
	run_for(l, 20);
	CHECK(s.events == (SK_LOOP_READ | SK_LOOP_WRITE));
	sk_loop_free(l);
	close(sv[0]);
	close(sv[1]);
}

/* Edge-triggered: one report per change, even when nothing is read. */
struct edge {
	int calls;
};

static void edge_fd(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	(void)l;
	(void)fd;
	(void)events;
	((struct edge *)ctx)->calls++;
}

static int spin(struct sk_loop *l, void *ctx)
{
	int *turns = ctx;

	if (--*turns == 0)
		sk_loop_stop(l);
	return 0;
}

static void edge(void)
{
	struct sk_loop *l = sk_loop_new(0);
	struct edge level = {0}, et = {0};
	int a[2], b[2], turns = 5;

	CHECK(l && pipe2(a, O_CLOEXEC | O_NONBLOCK) == 0 && pipe2(b, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK(sk_loop_add(l, a[0], SK_LOOP_READ, edge_fd, &level) == 0);
	CHECK(sk_loop_add(l, b[0], SK_LOOP_READ | SK_LOOP_EDGE, edge_fd, &et) == 0);
	CHECK(write(a[1], "x", 1) == 1 && write(b[1], "x", 1) == 1);
	CHECK(sk_loop_timer(l, 0, spin, &turns) > 0);
	CHECK(sk_loop_run(l) == 0);
	CHECK(level.calls == 5 && et.calls == 1);
	sk_loop_free(l);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

/* Two readable pipes; whichever callback runs first deletes the other. */
struct pair {
	struct sk_loop *l;
	int rd[2];
	int calls[2];
	int replaced_calls;
	bool reuse; /* also close the other fd and reuse its number */
	int new_wr; /* the write end of the pipe that took the number */
};

static void replacement(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	(void)l;
	(void)fd;
	(void)events;
	((struct pair *)ctx)->replaced_calls++;
}

static void pair_fd(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	struct pair *p = ctx;
	int me = fd == p->rd[0] ? 0 : 1, other = p->rd[1 - me], q[2];

	(void)events;
	p->calls[me]++;
	if (p->calls[0] + p->calls[1] > 1)
		return;
	CHECK(sk_loop_del(l, other) == 0);
	if (!p->reuse)
		return;
	/* The same number, now a pipe with nothing to read. */
	CHECK(pipe2(q, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK(dup3(q[0], other, O_CLOEXEC) == other);
	close(q[0]);
	p->new_wr = q[1]; /* open: the new read end is quiet, not hung up */
	CHECK(sk_loop_add(l, other, SK_LOOP_READ, replacement, p) == 0);
}

static void delete_in_batch(bool reuse)
{
	struct pair p = {.l = sk_loop_new(0), .reuse = reuse, .new_wr = -1};
	int a[2], b[2];

	CHECK(p.l && pipe2(a, O_CLOEXEC | O_NONBLOCK) == 0 &&
	      pipe2(b, O_CLOEXEC | O_NONBLOCK) == 0);
	p.rd[0] = a[0];
	p.rd[1] = b[0];
	CHECK(sk_loop_add(p.l, a[0], SK_LOOP_READ | SK_LOOP_EDGE, pair_fd, &p) == 0);
	CHECK(sk_loop_add(p.l, b[0], SK_LOOP_READ | SK_LOOP_EDGE, pair_fd, &p) == 0);
	CHECK(write(a[1], "x", 1) == 1 && write(b[1], "x", 1) == 1);
	run_for(p.l, 30);
	/* One of the two ran; the other's collected event was dropped. */
	CHECK(p.calls[0] + p.calls[1] == 1);
	CHECK(p.replaced_calls == 0);
	CHECK(!reuse || p.new_wr >= 0);
	if (p.new_wr >= 0)
		close(p.new_wr);
	sk_loop_free(p.l);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

/* A callback that deletes and closes its own fd, then a new fd takes the number. */
static void self_delete(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	(void)events;
	(*(int *)ctx)++;
	CHECK(sk_loop_del(l, fd) == 0);
	close(fd);
}

static void delete_self(void)
{
	struct sk_loop *l = sk_loop_new(0);
	int p[2], calls = 0;

	CHECK(l && pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK(sk_loop_add(l, p[0], SK_LOOP_READ, self_delete, &calls) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	run_for(l, 30);
	CHECK(calls == 1);
	close(p[1]);
	sk_loop_free(l);
}

struct tick {
	int calls;
	int every;     /* ms, or -1: once */
	int64_t other; /* a timer to end on the first call */
	struct sk_loop *l;
};

static int tick(struct sk_loop *l, void *ctx)
{
	struct tick *t = ctx;

	t->calls++;
	if (t->other > 0)
		CHECK(sk_loop_timer_del(l, t->other) == 0);
	t->other = 0;
	return t->every;
}

static int64_t self_id;

static int end_self(struct sk_loop *l, void *ctx)
{
	(*(int *)ctx)++;
	CHECK(sk_loop_timer_del(l, self_id) == 0);
	return 5; /* ignored: it ended itself */
}

static void timers(void)
{
	struct sk_loop *l = sk_loop_new(0);
	struct tick once = {.every = -1}, every = {.every = 10}, killer = {.every = -1};
	struct tick victim = {.every = -1};
	int64_t took, vid;
	int self_calls = 0;

	CHECK(l != NULL);
	CHECK(sk_loop_timer(l, 5, tick, &once) > 0);
	CHECK(sk_loop_timer(l, 10, tick, &every) > 0);
	vid = sk_loop_timer(l, 40, tick, &victim);
	killer.other = vid;
	CHECK(sk_loop_timer(l, 20, tick, &killer) > 0);
	self_id = sk_loop_timer(l, 1, end_self, &self_calls);
	took = run_for(l, 105);
	CHECK(took >= 100 && took < 1000);
	CHECK(once.calls == 1);
	CHECK(every.calls >= 5 && every.calls <= 11);
	CHECK(killer.calls == 1 && victim.calls == 0);
	CHECK(sk_loop_timer_del(l, vid) == -1 && errno == ENOENT);
	CHECK(self_calls == 1);
	sk_loop_free(l);
}

static void hook(struct sk_loop *l, void *ctx)
{
	if (++*(int *)ctx == 3)
		sk_loop_stop(l);
}

static void before_sleep(void)
{
	struct sk_loop *l = sk_loop_new(0);
	int turns = 0, ticks = 1000;

	CHECK(l != NULL);
	sk_loop_before_sleep(l, hook, &turns);
	CHECK(sk_loop_timer(l, 0, spin, &ticks) > 0); /* never sleeps */
	CHECK(sk_loop_run(l) == 0);
	CHECK(turns == 3 && ticks == 998);
	sk_loop_free(l);
}

static void errors(void)
{
	struct sk_loop *l = sk_loop_new(0);
	struct seen s = {0};
	int p[2], f = open("/dev/null", O_RDONLY | O_CLOEXEC), closed;

	CHECK(l && pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0 && f >= 0);
	CHECK(sk_loop_add(l, -1, SK_LOOP_READ, count_fd, &s) == -1 && errno == EINVAL);
	CHECK(sk_loop_add(l, f, SK_LOOP_READ, count_fd, &s) == -1 && errno == EPERM);
	CHECK(sk_loop_mask(l, f) == -1);
	CHECK(sk_loop_add(l, p[0], SK_LOOP_READ, count_fd, &s) == 0);
	CHECK(sk_loop_add(l, p[0], SK_LOOP_READ, count_fd, &s) == -1 && errno == EEXIST);
	CHECK(sk_loop_mod(l, p[1], SK_LOOP_WRITE) == -1 && errno == ENOENT);
	CHECK(sk_loop_del(l, p[1]) == -1 && errno == ENOENT);
	closed = dup(p[0]);
	CHECK(closed >= 0 && close(closed) == 0);
	CHECK(sk_loop_add(l, closed, SK_LOOP_READ, count_fd, &s) == -1 && errno == EBADF);
	/* Closed before it was deleted: the kernel dropped it, the loop forgets it. */
	close(p[0]);
	CHECK(sk_loop_del(l, p[0]) == -1 && errno == EBADF);
	CHECK(sk_loop_mask(l, p[0]) == -1);
	close(p[1]);
	close(f);
	sk_loop_free(l);
	sk_loop_free(NULL);
}

int main(void)
{
	readable();
	writable_and_mod();
	edge();
	delete_in_batch(false);
	delete_in_batch(true);
	delete_self();
	timers();
	before_sleep();
	errors();
	return check_summary("loop");
}
