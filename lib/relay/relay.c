/*
 * The relay: two pumps, one per direction, driven by one poll loop.
 *
 * A pump moves bytes from its src endpoint to its dst endpoint in one
 * of four modes:
 *   COPY      the endpoints' read op into a buffer, their write op out:
 *             works on any endpoint (a TLS session too), and is the only
 *             mode that can look at or change the bytes.
 *   SPLICE    splice(2) straight from src to dst; one of them is a pipe.
 *   SENDFILE  sendfile(2) from a regular file to a socket.
 *   PIPE      splice(2) into a private pipe and from it to dst, for two
 *             ends neither of which is a pipe (socket -> file).
 * The zero-copy modes work on the fds of two zero_copy (plain fd)
 * endpoints, bypassing the ops; they drop to COPY when the kernel refuses
 * (EINVAL and friends), picking up whatever is already in the private
 * pipe. The loop polls each end's fd for what its poll_events op asks,
 * and does not wait at all for an end with a read pending or with no fd.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crlf.h"

#define BUF_SIZE     (64 * 1024)
#define SPLICE_CHUNK (1 << 20)
#define PIPE_SIZE    (1 << 20)
#define BURST	     8

/* What a step can end with besides success (0) and failure (-1). */
#define STEP_OUT_GONE 1

struct pump {
	enum sk_dir dir;
	enum sk_relay_mode mode;
	struct sk_endpoint *src, *dst; /* dst NULL: discard */
	const struct sk_relay_opts *o;
	bool use_crlf;
	struct sk_crlf crlf;
	unsigned char *buf, *scratch; /* COPY: buf[off, off + len) waits */
	size_t off, len;
	int pipefd[2]; /* PIPE: the private pipe, pending bytes in it */
	size_t pending, pipe_cap;
	bool pipe_full; /* PIPE: the last fill found no room */
	bool want_dst;	/* SPLICE: the last move was held up by dst */
	bool src_eof, done;
	bool dst_gone;	 /* SEND: the peer went away with data of ours still to send */
	bool shut_wait;	 /* SEND: dst's shutdown_write said EAGAIN; again when dst is ready */
	uint64_t taken;	 /* bytes read from src, for on_data offsets */
	uint64_t *moved; /* bytes written to dst */
};

static bool fallback_errno(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == EXDEV || e == EBADF;
}

const char *sk_relay_mode_name(enum sk_relay_mode m)
{
	static const char *const names[] = {"copy", "splice", "sendfile", "pipe"};

	return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

static enum sk_relay_mode choose_mode(const struct sk_endpoint *src, const struct sk_endpoint *dst)
{
	if (!src->zero_copy || !dst->zero_copy || src->tty || dst->tty || src->type == S_IFDIR)
		return SK_MODE_COPY;
	if (dst->type == S_IFREG && dst->append)
		return SK_MODE_COPY;
	if (src->type == S_IFIFO || dst->type == S_IFIFO)
		return SK_MODE_SPLICE;
	if (src->type == S_IFREG && dst->type == S_IFSOCK)
		return SK_MODE_SENDFILE;
	return SK_MODE_PIPE;
}

static void set_mode(struct pump *p, enum sk_relay_mode m)
{
	p->mode = m;
	if (p->o->on_mode)
		p->o->on_mode(p->o->ctx, p->dir, m);
}

static int to_copy(struct pump *p, char *err)
{
	set_mode(p, SK_MODE_COPY);
	if (!p->buf)
		p->buf = malloc(BUF_SIZE);
	if (p->use_crlf && !p->scratch)
		p->scratch = malloc(BUF_SIZE / 2);
	if (!p->buf || (p->use_crlf && !p->scratch)) {
		sk_seterr(err, "relay buffer: %s", strerror(ENOMEM));
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static int make_pipe(struct pump *p)
{
	int sz;

	if (pipe2(p->pipefd, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	fcntl(p->pipefd[0], F_SETPIPE_SZ, PIPE_SIZE);
	sz = fcntl(p->pipefd[0], F_GETPIPE_SZ);
	p->pipe_cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

static int pump_init(struct pump *p, enum sk_dir dir, struct sk_endpoint *src,
		     struct sk_endpoint *dst, const struct sk_relay_opts *o, uint64_t *moved,
		     char *err)
{
	enum sk_relay_mode m;

	p->dir = dir;
	p->src = src;
	p->dst = dst;
	p->o = o;
	p->moved = moved;
	if (!src) {
		p->done = true;
		return 0;
	}
	p->use_crlf = dir == SK_DIR_SEND && o->crlf;
	if (o->no_splice || o->on_data || p->use_crlf || !dst)
		return to_copy(p, err);
	m = choose_mode(src, dst);
	if (m == SK_MODE_COPY || (m == SK_MODE_PIPE && make_pipe(p) < 0))
		return to_copy(p, err);
	set_mode(p, m);
	return 0;
}

static void pump_free(struct pump *p)
{
	if (p->pipefd[0] >= 0) {
		close(p->pipefd[0]);
		close(p->pipefd[1]);
	}
	free(p->buf);
	free(p->scratch);
}

/* Says what a failed step means: 0 carry on, -1 fail, STEP_OUT_GONE. */
static int step_error(struct pump *p, bool at_dst, char *err)
{
	int e = errno;
	const struct sk_endpoint *ep = at_dst ? p->dst : p->src;
	static const char *const what[2][2] = {
	    {"read from input", "send"},
	    {"receive", "write to output"},
	};

	if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
		return 0;
	if (at_dst && e == EPIPE) {
		if (p->dir == SK_DIR_RECV)
			return STEP_OUT_GONE;
		/*
		 * The peer is gone with stdin not all sent: receive what it sent
		 * before it went, then fail, for the data that never arrived.
		 */
		p->dst_gone = true;
		sk_seterr(err, "send: %s (the peer closed before taking all of the input)",
			  ep->ops->strerror(ep, e));
		return 0;
	}
	sk_seterr(err, "%s: %s", what[p->dir][at_dst], ep->ops->strerror(ep, e));
	errno = e;
	return -1;
}

/* Which end a splice or sendfile error belongs to. */
static bool error_at_dst(const struct pump *p, int e)
{
	if (e == EPIPE || e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO)
		return true;
	return p->dst->type == S_IFSOCK && p->src->type != S_IFSOCK;
}

static int copy_fill(struct pump *p, char *err)
{
	const struct sk_relay_opts *o = p->o;
	unsigned char *into = p->use_crlf ? p->scratch : p->buf;
	size_t room = p->use_crlf ? BUF_SIZE / 2 : BUF_SIZE;
	ssize_t n;

	n = p->src->ops->read(p->src, into, room);
	if (n < 0)
		return step_error(p, false, err);
	if (n == 0) {
		p->src_eof = true;
		return 0;
	}
	p->off = 0;
	p->len = p->use_crlf ? sk_crlf_convert(&p->crlf, into, (size_t)n, p->buf) : (size_t)n;
	if (o->on_data)
		o->on_data(o->ctx, p->dir, p->buf, p->len, p->taken);
	p->taken += p->len;
	if (!p->dst) {
		*p->moved += p->len;
		p->len = 0;
	}
	return 0;
}

static int copy_drain(struct pump *p, char *err)
{
	ssize_t n;

	if (p->len == 0 && p->pending > 0) {
		/* Left in the private pipe when splice gave up. */
		n = read(p->pipefd[0], p->buf, p->pending < BUF_SIZE ? p->pending : BUF_SIZE);
		if (n <= 0)
			return n < 0 ? step_error(p, false, err) : 0;
		p->pending -= (size_t)n;
		p->off = 0;
		p->len = (size_t)n;
	}
	if (p->len == 0)
		return 0;
	n = p->dst->ops->write(p->dst, p->buf + p->off, p->len);
	if (n < 0)
		return step_error(p, true, err);
	p->off += (size_t)n;
	p->len -= (size_t)n;
	*p->moved += (size_t)n;
	return 0;
}

/* SPLICE and SENDFILE: move straight from src to dst. */
static int direct_move(struct pump *p, bool dst_was_ready, char *err)
{
	ssize_t n;
	int i;

	for (i = 0; i < BURST; i++) {
		if (p->mode == SK_MODE_SENDFILE)
			n = sendfile(p->dst->fd, p->src->fd, NULL, SPLICE_CHUNK);
		else
			n = splice(p->src->fd, NULL, p->dst->fd, NULL, SPLICE_CHUNK,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			*p->moved += (size_t)n;
			p->taken += (size_t)n;
			continue;
		}
		if (n == 0) {
			p->src_eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/*
			 * Either end may be the one that is not ready; wait
			 * for the other one than we just relied on.
			 */
			p->want_dst = p->mode == SK_MODE_SENDFILE || !dst_was_ready || i > 0;
			return 0;
		}
		if (fallback_errno(errno) && i == 0 && p->taken == 0)
			return to_copy(p, err);
		return step_error(p, error_at_dst(p, errno), err);
	}
	return 0;
}

static int pipe_fill(struct pump *p, char *err)
{
	ssize_t n;

	n = splice(p->src->fd, NULL, p->pipefd[1], NULL, p->pipe_cap - p->pending,
		   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (n > 0) {
		p->pending += (size_t)n;
		p->taken += (size_t)n;
		return 0;
	}
	if (n == 0) {
		p->src_eof = true;
		return 0;
	}
	if (errno == EAGAIN) {
		/* With bytes in the pipe, the pipe is the one that is full. */
		p->pipe_full = p->pending > 0;
		return 0;
	}
	if (fallback_errno(errno) && p->taken == 0)
		return to_copy(p, err);
	return step_error(p, false, err);
}

static int pipe_drain(struct pump *p, char *err)
{
	ssize_t n;

	n = splice(p->pipefd[0], NULL, p->dst->fd, NULL, p->pending,
		   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (n > 0) {
		p->pending -= (size_t)n;
		*p->moved += (size_t)n;
		p->pipe_full = false;
		return 0;
	}
	if (n < 0 && fallback_errno(errno))
		return to_copy(p, err);
	return n < 0 ? step_error(p, true, err) : 0;
}

/* Half-closes dst after the last byte; again while it says EAGAIN. */
static void shut_dst(struct pump *p)
{
	p->shut_wait = p->dst->ops->shutdown_write(p->dst) < 0 &&
		       (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

static int pump_step(struct pump *p, short src_rev, short dst_rev, char *err)
{
	int rc = 0;

	if (p->shut_wait) {
		if (dst_rev)
			shut_dst(p);
		return 0;
	}
	switch (p->mode) {
	case SK_MODE_COPY:
		if (dst_rev)
			rc = copy_drain(p, err);
		if (rc == 0 && src_rev && p->len == 0 && p->pending == 0 && !p->src_eof &&
		    !p->dst_gone) {
			rc = copy_fill(p, err);
			if (rc == 0 && p->len > 0)
				rc = copy_drain(p, err);
		}
		return rc;
	case SK_MODE_SPLICE:
	case SK_MODE_SENDFILE: return src_rev || dst_rev ? direct_move(p, dst_rev != 0, err) : 0;
	case SK_MODE_PIPE:
		if (src_rev)
			rc = pipe_fill(p, err);
		if (rc == 0 && p->mode == SK_MODE_PIPE && p->pending > 0)
			rc = pipe_drain(p, err);
		return rc;
	}
	return 0;
}

static void pump_interest(const struct pump *p, short *src_ev, short *dst_ev)
{
	*src_ev = *dst_ev = 0;
	if (p->shut_wait)
		*dst_ev = POLLOUT;
	if (p->done || p->dst_gone)
		return;
	switch (p->mode) {
	case SK_MODE_COPY:
		if (p->len == 0 && p->pending == 0 && !p->src_eof)
			*src_ev = POLLIN;
		if (p->len > 0 || p->pending > 0)
			*dst_ev = POLLOUT;
		break;
	case SK_MODE_SPLICE:
		if (!p->src_eof && p->want_dst)
			*dst_ev = POLLOUT;
		else if (!p->src_eof)
			*src_ev = POLLIN;
		break;
	case SK_MODE_SENDFILE:
		if (!p->src_eof)
			*dst_ev = POLLOUT;
		break;
	case SK_MODE_PIPE:
		if (!p->src_eof && !p->pipe_full && p->pending < p->pipe_cap)
			*src_ev = POLLIN;
		if (p->pending > 0)
			*dst_ev = POLLOUT;
		break;
	}
}

static bool pump_drained(const struct pump *p)
{
	return p->dst_gone || (p->src_eof && p->len == 0 && p->pending == 0);
}

/* local_socket: whether the other end of in is closed for good. */
static bool in_hung_up(const struct sk_relay_opts *o)
{
	struct pollfd p = {.fd = o->in->fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* Closes finished directions. Returns true when the relay is over. */
static bool settle(struct pump *send, struct pump *recv, const struct sk_relay_opts *o)
{
	if (!send->done && pump_drained(send)) {
		send->done = true;
		if (!send->dst_gone && !o->no_shutdown)
			shut_dst(send);
		if (o->in_eof && send->src_eof)
			*o->in_eof = true;
	}
	if (!recv->done && pump_drained(recv)) {
		recv->done = true;
		if (o->local_socket && !recv->dst_gone && recv->src_eof)
			recv->dst->ops->shutdown_write(recv->dst);
	}
	if (o->local_socket && send->done && !send->shut_wait && send->src_eof && in_hung_up(o))
		return true;
	return recv->done && ((send->done && !send->shut_wait) || o->stop_on_peer_eof);
}

struct loop {
	struct pollfd pfd[5];
	int idx[2][2];	   /* [pump][src, dst] -> pfd index, or -1 */
	short ready[2][2]; /* [pump][src, dst]: may go on without waiting */
	bool any_ready;
	int nfds;
};

/*
 * Adds what a pump's end ep waits for, want being POLLIN to read from it
 * or POLLOUT to write to it: the events its poll_events op names on its
 * fd, or nothing to wait for when its read is pending or it has no fd.
 */
static void loop_add(struct loop *l, int *slot, short *ready, const struct sk_endpoint *ep,
		     short want)
{
	*slot = -1;
	*ready = 0;
	if (!want || !ep)
		return;
	if (ep->fd < 0 || (want == POLLIN && ep->ops->pending(ep))) {
		*ready = want;
		l->any_ready = true;
		return;
	}
	l->pfd[l->nfds] = (struct pollfd){.fd = ep->fd, .events = ep->ops->poll_events(ep, want)};
	*slot = l->nfds++;
}

/* Fills l with what the stop fd and both pumps wait for. */
static void loop_build(struct loop *l, const struct pump *pumps, const struct sk_relay_opts *o)
{
	short ev[2];
	int i;

	l->nfds = 0;
	l->any_ready = false;
	if (o->stop_fd >= 0)
		l->pfd[l->nfds++] = (struct pollfd){.fd = o->stop_fd, .events = POLLIN};
	for (i = 0; i < 2; i++) {
		pump_interest(&pumps[i], &ev[0], &ev[1]);
		loop_add(l, &l->idx[i][0], &l->ready[i][0], pumps[i].src, ev[0]);
		loop_add(l, &l->idx[i][1], &l->ready[i][1], pumps[i].dst, ev[1]);
	}
}

/* What end [pump][end] may do now: its poll revents, or its readiness. */
static short revents(const struct loop *l, int pump, int end)
{
	int i = l->idx[pump][end];

	return (i < 0 ? 0 : l->pfd[i].revents) | l->ready[pump][end];
}

static int poll_timeout(const struct sk_relay_opts *o, int64_t now, int64_t last_active,
			int64_t next_tick)
{
	int64_t t = -1;

	if (o->idle_ms >= 0)
		t = last_active + o->idle_ms - now;
	if (next_tick >= 0 && (t < 0 || next_tick - now < t))
		t = next_tick - now;
	if (t < 0 && (o->idle_ms >= 0 || next_tick >= 0))
		t = 0;
	return t > 1000000 ? 1000000 : (int)t;
}

static int relay_loop(struct pump *pumps, const struct sk_relay_opts *o, struct sk_relay_stats *st,
		      char *err)
{
	int64_t now = sk_now_ms(), last_active = now;
	int64_t next_tick = o->on_tick ? now + o->tick_ms : -1;
	struct loop l;
	uint64_t before;
	int i, rc;

	for (;;) {
		if (settle(&pumps[0], &pumps[1], o))
			return pumps[0].dst_gone ? SK_RELAY_ERROR : SK_RELAY_DONE;
		loop_build(&l, pumps, o);
		rc = poll(l.pfd, (nfds_t)l.nfds,
			  l.any_ready ? 0 : poll_timeout(o, now, last_active, next_tick));
		if (rc < 0 && errno != EINTR) {
			sk_seterr(err, "poll: %s", strerror(errno));
			return SK_RELAY_ERROR;
		}
		now = sk_now_ms();
		if (next_tick >= 0 && now >= next_tick) {
			o->on_tick(o->ctx, st);
			next_tick = now + o->tick_ms;
		}
		if (o->stop_fd >= 0 && rc > 0 && l.pfd[0].revents)
			return SK_RELAY_STOPPED;
		before = st->sent + st->received + pumps[0].taken + pumps[1].taken;
		for (i = 0; (rc > 0 || l.any_ready) && i < 2; i++) {
			int r = pump_step(&pumps[i], revents(&l, i, 0), revents(&l, i, 1), err);
			if (r == STEP_OUT_GONE)
				return SK_RELAY_DONE;
			if (r < 0)
				return SK_RELAY_ERROR;
		}
		if (st->sent + st->received + pumps[0].taken + pumps[1].taken != before)
			last_active = now;
		else if (o->idle_ms >= 0 && now - last_active >= o->idle_ms)
			return SK_RELAY_TIMEOUT;
	}
}

enum sk_relay_result sk_relay(const struct sk_relay_opts *o, struct sk_relay_stats *st, char *err)
{
	struct pump pumps[2];
	int rc = SK_RELAY_ERROR;

	memset(st, 0, sizeof(*st));
	st->started_ms = sk_now_ms();
	memset(pumps, 0, sizeof(pumps));
	pumps[0].pipefd[0] = pumps[0].pipefd[1] = -1;
	pumps[1].pipefd[0] = pumps[1].pipefd[1] = -1;
	if (pump_init(&pumps[0], SK_DIR_SEND, o->in, o->net, o, &st->sent, err) < 0 ||
	    pump_init(&pumps[1], SK_DIR_RECV, o->net, o->out, o, &st->received, err) < 0)
		goto out;
	if (o->in_eof && *o->in_eof)
		pumps[0].src_eof = true;
	rc = relay_loop(pumps, o, st, err);
out:
	pump_free(&pumps[0]);
	pump_free(&pumps[1]);
	return rc;
}
