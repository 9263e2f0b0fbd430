/*
 * The relay: two pumps, one per direction, driven by one poll loop.
 *
 * A pump moves bytes from src to dst in one of four modes:
 *   COPY      read(2) into a buffer, write(2) it out: works on anything,
 *             and is the only mode that can look at or change the bytes.
 *   SPLICE    splice(2) straight from src to dst; one of them is a pipe.
 *   SENDFILE  sendfile(2) from a regular file to a socket.
 *   PIPE      splice(2) into a private pipe and from it to dst, for two
 *             ends neither of which is a pipe (socket -> file).
 * The zero-copy modes drop to COPY when the kernel refuses (EINVAL and
 * friends), picking up whatever is already in the private pipe.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crlf.h"

#define BUF_SIZE     (64 * 1024)
#define SPLICE_CHUNK (1 << 20)
#define PIPE_SIZE    (1 << 20)
#define BURST	     8

enum mode { MODE_COPY, MODE_SPLICE, MODE_SENDFILE, MODE_PIPE };

/* What a step can end with besides success (0) and failure (-1). */
#define STEP_OUT_GONE 1

struct pump {
	enum sk_dir dir;
	enum mode mode;
	int src, dst; /* dst -1: discard */
	bool src_sock, dst_sock;
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
	uint64_t taken;	 /* bytes read from src, for on_data offsets */
	uint64_t *moved; /* bytes written to dst */
};

static bool is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool fallback_errno(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == EXDEV || e == EBADF;
}

static enum mode choose_mode(int src, int dst)
{
	struct stat s, d;

	if (fstat(src, &s) < 0 || fstat(dst, &d) < 0 || isatty(src) || isatty(dst) ||
	    S_ISDIR(s.st_mode))
		return MODE_COPY;
	if (S_ISREG(d.st_mode) && (fcntl(dst, F_GETFL) & O_APPEND))
		return MODE_COPY;
	if (S_ISFIFO(s.st_mode) || S_ISFIFO(d.st_mode))
		return MODE_SPLICE;
	if (S_ISREG(s.st_mode) && S_ISSOCK(d.st_mode))
		return MODE_SENDFILE;
	return MODE_PIPE;
}

static int to_copy(struct pump *p, char *err)
{
	p->mode = MODE_COPY;
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

static int pump_init(struct pump *p, enum sk_dir dir, int src, int dst,
		     const struct sk_relay_opts *o, uint64_t *moved, char *err)
{
	p->dir = dir;
	p->src = src;
	p->dst = dst;
	p->moved = moved;
	if (src < 0) {
		p->done = true;
		return 0;
	}
	p->src_sock = is_socket(src);
	p->dst_sock = dst >= 0 && is_socket(dst);
	p->use_crlf = dir == SK_DIR_SEND && o->crlf;
	if (o->no_splice || o->on_data || p->use_crlf || dst < 0)
		return to_copy(p, err);
	p->mode = choose_mode(src, dst);
	if (p->mode == MODE_COPY || (p->mode == MODE_PIPE && make_pipe(p) < 0))
		return to_copy(p, err);
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
			  strerror(e));
		return 0;
	}
	sk_seterr(err, "%s: %s", what[p->dir][at_dst], strerror(e));
	errno = e;
	return -1;
}

/* Which end a splice or sendfile error belongs to. */
static bool error_at_dst(const struct pump *p, int e)
{
	if (e == EPIPE || e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO)
		return true;
	return p->dst_sock && !p->src_sock;
}

static int copy_fill(struct pump *p, const struct sk_relay_opts *o, char *err)
{
	unsigned char *into = p->use_crlf ? p->scratch : p->buf;
	size_t room = p->use_crlf ? BUF_SIZE / 2 : BUF_SIZE;
	ssize_t n;

	n = p->src_sock ? recv(p->src, into, room, MSG_DONTWAIT) : read(p->src, into, room);
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
	if (p->dst < 0) {
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
	n = p->dst_sock ? send(p->dst, p->buf + p->off, p->len, MSG_DONTWAIT | MSG_NOSIGNAL)
			: write(p->dst, p->buf + p->off, p->len);
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
		if (p->mode == MODE_SENDFILE)
			n = sendfile(p->dst, p->src, NULL, SPLICE_CHUNK);
		else
			n = splice(p->src, NULL, p->dst, NULL, SPLICE_CHUNK,
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
			p->want_dst = p->mode == MODE_SENDFILE || !dst_was_ready || i > 0;
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

	n = splice(p->src, NULL, p->pipefd[1], NULL, p->pipe_cap - p->pending,
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

	n = splice(p->pipefd[0], NULL, p->dst, NULL, p->pending, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
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

static int pump_step(struct pump *p, short src_rev, short dst_rev, const struct sk_relay_opts *o,
		     char *err)
{
	int rc = 0;

	switch (p->mode) {
	case MODE_COPY:
		if (dst_rev)
			rc = copy_drain(p, err);
		if (rc == 0 && src_rev && p->len == 0 && p->pending == 0 && !p->src_eof &&
		    !p->dst_gone) {
			rc = copy_fill(p, o, err);
			if (rc == 0 && p->len > 0)
				rc = copy_drain(p, err);
		}
		return rc;
	case MODE_SPLICE:
	case MODE_SENDFILE: return src_rev || dst_rev ? direct_move(p, dst_rev != 0, err) : 0;
	case MODE_PIPE:
		if (src_rev)
			rc = pipe_fill(p, err);
		if (rc == 0 && p->mode == MODE_PIPE && p->pending > 0)
			rc = pipe_drain(p, err);
		return rc;
	}
	return 0;
}

static void pump_interest(const struct pump *p, short *src_ev, short *dst_ev)
{
	*src_ev = *dst_ev = 0;
	if (p->done || p->dst_gone)
		return;
	switch (p->mode) {
	case MODE_COPY:
		if (p->len == 0 && p->pending == 0 && !p->src_eof)
			*src_ev = POLLIN;
		if (p->len > 0 || p->pending > 0)
			*dst_ev = POLLOUT;
		break;
	case MODE_SPLICE:
		if (!p->src_eof && p->want_dst)
			*dst_ev = POLLOUT;
		else if (!p->src_eof)
			*src_ev = POLLIN;
		break;
	case MODE_SENDFILE:
		if (!p->src_eof)
			*dst_ev = POLLOUT;
		break;
	case MODE_PIPE:
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

/* Closes finished directions. Returns true when the relay is over. */
static bool settle(struct pump *send, struct pump *recv, const struct sk_relay_opts *o)
{
	if (!send->done && pump_drained(send)) {
		send->done = true;
		if (!send->dst_gone && !o->no_shutdown)
			shutdown(o->net, SHUT_WR);
		if (o->in_eof && send->src_eof)
			*o->in_eof = true;
	}
	if (!recv->done && pump_drained(recv))
		recv->done = true;
	return recv->done && (send->done || o->stop_on_peer_eof);
}

struct saved_fl {
	int fd, flags;
};

/* Local pipes and sockets go non-blocking for the relay's lifetime. */
static void nonblock_save(struct saved_fl *s, int fd)
{
	struct stat st;

	s->fd = -1;
	if (fd < 0 || fstat(fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	s->flags = fcntl(fd, F_GETFL);
	if (s->flags < 0 || (s->flags & O_NONBLOCK))
		return;
	if (fcntl(fd, F_SETFL, s->flags | O_NONBLOCK) == 0)
		s->fd = fd;
}

static void nonblock_restore(const struct saved_fl *s)
{
	if (s->fd >= 0)
		fcntl(s->fd, F_SETFL, s->flags);
}

struct loop {
	struct pollfd pfd[5];
	int idx[2][2]; /* [pump][src, dst] -> pfd index, or -1 */
	int nfds;
};

static void loop_add(struct loop *l, int slot[2], int src, int dst, short src_ev, short dst_ev)
{
	slot[0] = slot[1] = -1;
	if (src_ev) {
		l->pfd[l->nfds] = (struct pollfd){.fd = src, .events = src_ev};
		slot[0] = l->nfds++;
	}
	if (dst_ev) {
		l->pfd[l->nfds] = (struct pollfd){.fd = dst, .events = dst_ev};
		slot[1] = l->nfds++;
	}
}

static short revents(const struct loop *l, int i)
{
	return i < 0 ? 0 : l->pfd[i].revents;
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
	short ev[2][2];
	uint64_t before;
	int i, rc;

	for (;;) {
		if (settle(&pumps[0], &pumps[1], o))
			return pumps[0].dst_gone ? SK_RELAY_ERROR : SK_RELAY_DONE;
		l.nfds = 0;
		if (o->stop_fd >= 0)
			l.pfd[l.nfds++] = (struct pollfd){.fd = o->stop_fd, .events = POLLIN};
		for (i = 0; i < 2; i++) {
			pump_interest(&pumps[i], &ev[i][0], &ev[i][1]);
			loop_add(&l, l.idx[i], pumps[i].src, pumps[i].dst, ev[i][0], ev[i][1]);
		}
		rc = poll(l.pfd, (nfds_t)l.nfds, poll_timeout(o, now, last_active, next_tick));
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
		for (i = 0; rc > 0 && i < 2; i++) {
			int r = pump_step(&pumps[i], revents(&l, l.idx[i][0]),
					  revents(&l, l.idx[i][1]), o, err);
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

int sk_relay(const struct sk_relay_opts *o, struct sk_relay_stats *st, char *err)
{
	struct pump pumps[2];
	struct saved_fl saved[2];
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
	nonblock_save(&saved[0], o->in);
	nonblock_save(&saved[1], o->out == o->in ? -1 : o->out);
	rc = relay_loop(pumps, o, st, err);
	nonblock_restore(&saved[1]);
	nonblock_restore(&saved[0]);
out:
	pump_free(&pumps[0]);
	pump_free(&pumps[1]);
	return rc;
}
