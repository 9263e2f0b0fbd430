/*
 * The forwarder: a pair of sockets per client, client and target, on one
 * sk_loop, each pair a small state machine:
 *
 *   P_TLS_IN     --tls-in: the client's handshake
 *   P_CONNECTING a non-blocking connect, every address of the target (or
 *                of the proxy) in turn, under one deadline
 *   P_PROXY      --proxy: the proxy's handshake (lib/proxy), under the
 *                same deadline
 *   P_TLS_OUT    --tls-out: the handshake with the target (after the
 *                PROXY header, which goes first, in the clear)
 *   P_RELAY      two flows, client -> target ("up") and back ("down")
 *
 * A flow between two plain sockets starts with recv and send through a
 * buffer (cheaper for small messages) and, once a read brings 16 KiB or
 * more, moves its bytes with splice(2) through a pipe taken from a small pool
 * only while bytes wait in it;
 * with TLS on either side (or no_splice), through a buffer held only
 * while bytes wait in it. So a pair that is idle holds neither. A flow
 * that reads EOF half-closes its destination (TLS: close_notify, then
 * the FIN) once its bytes are out; the pair ends when both flows have.
 * A read or write error on one side resets the other (SO_LINGER 0).
 */
#include "forward.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "loop.h"
#include "net.h"
#include "proxy.h"
#include "proxyproto.h"
#include "sigfd.h"
#include "tls.h"

#define MAX_EVENTS 256
#define SWEEP_MS   1000
#define BUF_CAP	   (64 * 1024)
#define PIPE_CAP   (256 * 1024)
#define POOL_MAX   32
#define TURNS	   16	       /* moves per flow per event: then the others get their turn */
#define BULK_MIN   (16 * 1024) /* a read this big makes a flow bulk: it splices from then on */

enum pstate { P_TLS_IN, P_CONNECTING, P_PROXY, P_TLS_OUT, P_RELAY };

struct pair;

struct side {
	struct pair *p;
	int fd;
	struct sk_tls *tls;
	unsigned mask;			  /* watched for; 0: not in the loop */
	char addr[2 * SK_ADDRSTRLEN + 8]; /* through a proxy: "TARGET via PROXY" */
};

struct flow {
	struct side *src, *dst;
	int pipe[2]; /* splice: bytes wait here (-1: none held) */
	size_t in_pipe;
	bool pipe_full; /* the last fill found no room */
	char *buf;	/* copy: bytes wait in buf[off, off + len) */
	size_t off, len;
	bool eof;	/* src is at its end */
	bool shut_wait; /* dst's shutdown said EAGAIN */
	bool done;	/* eof, everything out, dst half-closed */
	bool again;	/* stopped for fairness with more to do */
	bool drained;	/* src gave less than asked: no read until the next event */
	bool bulk;	/* a read brought BULK_MIN: splice from now on */
	uint64_t bytes;
	uint64_t spliced; /* of bytes, those moved by splice(2) */
};

struct fwd;

struct pair {
	struct fwd *f;
	enum pstate state;
	struct side c, t;
	struct flow up, down;
	const struct addrinfo *next;  /* the next target address to try */
	const struct addrinfo *retry; /* the one being tried */
	struct sk_proxy_hs *phs;      /* the proxy's handshake, while it runs */
	bool proxied;		      /* the proxy opened the tunnel */
	unsigned char *hdr;	      /* the PROXY header, until it is sent */
	size_t hdr_len, hdr_off;
	int64_t started, last_active, deadline;
	bool fd_wait; /* connecting waits for a free fd (the table was full) */
	char why[SK_ADDRSTRLEN + SK_ERRLEN + 16];
	struct pair *prev, *nxt;
};

struct fwd {
	const struct sk_fwd_opts *o;
	struct sk_loop *loop;
	struct pair *pairs;
	size_t n;
	int pool[POOL_MAX][2];
	size_t npool;
	bool accepting, stopping, fd_starved;
	int reserve; /* an fd held so that a client accepted can have its target's socket */
	int64_t stop_by;
	int fail;
};

const char *sk_fwd_end_name(enum sk_fwd_end e)
{
	static const char *const names[] = {"closed", "reset",	 "unreachable", "tls-failed",
					    "idle",   "stopped", "refused"};

	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

/* ---------------------------------------------------------------- pipes */

static int pipe_get(struct fwd *f, int fds[2])
{
	if (f->npool > 0) {
		f->npool--;
		fds[0] = f->pool[f->npool][0];
		fds[1] = f->pool[f->npool][1];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	fcntl(fds[0], F_SETPIPE_SZ, PIPE_CAP);
	return 0;
}

/* Gives a pipe back to the pool when it is empty (held bytes: closed, never reused). */
static void pipe_put(struct fwd *f, int fds[2], size_t held)
{
	if (fds[0] < 0)
		return;
	if (held == 0 && f->npool < POOL_MAX) {
		f->pool[f->npool][0] = fds[0];
		f->pool[f->npool][1] = fds[1];
		f->npool++;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	fds[0] = fds[1] = -1;
}

/* ---------------------------------------------------------------- sides */

static ssize_t side_read(struct side *s, void *buf, size_t n)
{
	return s->tls ? sk_tls_read(s->tls, buf, n) : recv(s->fd, buf, n, MSG_DONTWAIT);
}

static ssize_t side_write(struct side *s, const void *buf, size_t n)
{
	return s->tls ? sk_tls_write(s->tls, buf, n)
		      : send(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static const char *side_strerror(const struct side *s, int e)
{
	return s->tls ? sk_tls_strerror(s->tls, e) : strerror(e);
}

/* The loop mask for wanting to read (POLLIN) or write (POLLOUT) on s. */
static unsigned side_want(const struct side *s, short want)
{
	short ev = s->tls ? sk_tls_poll_events(s->tls, want) : want;

	return (ev & POLLIN ? SK_LOOP_READ : 0) | (ev & POLLOUT ? SK_LOOP_WRITE : 0);
}

static void side_event(struct sk_loop *l, int fd, unsigned events, void *ctx);

/* Watches s for mask: out of the loop when 0, so a hung-up socket does not spin. */
static int side_watch(struct side *s, unsigned mask)
{
	struct fwd *f = s->p->f;
	int rc = 0;

	if (s->fd < 0 || mask == s->mask)
		return 0;
	if (mask == 0)
		rc = sk_loop_del(f->loop, s->fd);
	else if (s->mask == 0)
		rc = sk_loop_add(f->loop, s->fd, mask, side_event, s);
	else
		rc = sk_loop_mod(f->loop, s->fd, mask);
	s->mask = mask;
	return rc;
}

static void side_close(struct side *s, bool reset)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (s->fd < 0)
		return;
	/* The close takes it out of epoll: no EPOLL_CTL_DEL. */
	if (s->mask)
		sk_loop_forget(s->p->f->loop, s->fd);
	s->mask = 0;
	if (reset)
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	sk_tls_free(s->tls);
	s->tls = NULL;
	close(s->fd);
	s->fd = -1;
}

/* ---------------------------------------------------------------- pairs */

static void try_connect(struct pair *p);

/* fds were freed: the pairs that waited for one to reach the target try again. */
static void retry_fd_waiters(struct fwd *f)
{
	struct pair *p = f->pairs, *next;

	for (; p && !f->fd_starved; p = next) {
		next = p->nxt;
		if (p->fd_wait) {
			p->fd_wait = false;
			try_connect(p); /* may end p, or starve again */
		}
	}
}

static void pair_end(struct pair *p, enum sk_fwd_end end, bool reset_client, bool reset_target)
{
	struct fwd *f = p->f;
	struct sk_fwd_record r = {
	    .client = p->c.addr,
	    .target = p->t.addr[0] ? p->t.addr : f->o->target.name,
	    .up = p->up.bytes,
	    .down = p->down.bytes,
	    .ms = sk_now_ms() - p->started,
	    .end = end,
	    .why = p->why,
	    .spliced = p->up.spliced + p->down.spliced,
	};

	if (f->o->on_end)
		f->o->on_end(f->o->ctx, &r);
	side_close(&p->c, reset_client);
	side_close(&p->t, reset_target);
	pipe_put(f, p->up.pipe, p->up.in_pipe);
	pipe_put(f, p->down.pipe, p->down.in_pipe);
	free(p->up.buf);
	free(p->down.buf);
	free(p->hdr);
	sk_proxy_hs_free(p->phs);
	if (p->prev)
		p->prev->nxt = p->nxt;
	else
		f->pairs = p->nxt;
	if (p->nxt)
		p->nxt->prev = p->prev;
	f->n--;
	f->fd_starved = false;
	free(p);
}

/* A failure: both sides are reset, the reason kept for the log. */
static void pair_fail(struct pair *p, enum sk_fwd_end end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pair_fail(struct pair *p, enum sk_fwd_end end, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	pair_end(p, end, true, true);
}

static void pair_relay(struct pair *p, const struct side *s, unsigned events);
static void pair_update(struct pair *p);

/* ---------------------------------------------------------------- flows */

static int move_failed(struct flow *fl, bool at_dst, int e);

/* Whether the flow going the other way between the same two sides is over. */
static bool other_done(const struct flow *fl)
{
	const struct pair *p = fl->src->p;

	return (fl == &p->up ? &p->down : &p->up)->done;
}

/* Half-closes dst once the flow has delivered everything after src's EOF. */
static int flow_finish(struct flow *fl)
{
	int rc;

	if (fl->done || !fl->eof || fl->in_pipe > 0 || fl->len > 0)
		return 0;
	if (!fl->dst->tls && other_done(fl)) {
		/* The pair ends now: the close sends the FIN (nothing is left unread to make it a
		 * reset). */
		fl->done = true;
		return 0;
	}
	rc = fl->dst->tls ? sk_tls_shutdown_write(fl->dst->tls) : shutdown(fl->dst->fd, SHUT_WR);
	fl->shut_wait = rc < 0 && (errno == EAGAIN || errno == EINTR);
	/* A half-close that fails while the other way is still open: no clean end. */
	if (rc < 0 && !fl->shut_wait && !other_done(fl))
		return move_failed(fl, true, errno);
	fl->done = !fl->shut_wait || other_done(fl);
	if (fl->done)
		fl->shut_wait = false;
	return 0;
}

/* What a failed move means: 0 wait, -1 failure at src (at_dst false) or dst. */
static int move_failed(struct flow *fl, bool at_dst, int e)
{
	struct pair *p = fl->src->p;
	const struct side *s = at_dst ? fl->dst : fl->src;

	if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
		return 0;
	snprintf(p->why, sizeof(p->why), "%s %s: %s", at_dst ? "write to" : "read from",
		 s == &p->c ? "client" : "target", side_strerror(s, e));
	return -1;
}

static int copy_turn(struct flow *fl);

/* splice(2) through the flow's pipe. Returns 1 when bytes moved, 0 when none could, -1 on failure.
 */
static int splice_turn(struct fwd *f, struct flow *fl)
{
	int moved = 0;
	ssize_t n;

	if (!fl->eof && !fl->drained && fl->in_pipe < PIPE_CAP) {
		/* No pipe to be had (a full fd table): this turn goes through a buffer. */
		if (fl->pipe[0] < 0 && pipe_get(f, fl->pipe) < 0)
			return copy_turn(fl);
		n = splice(fl->src->fd, NULL, fl->pipe[1], NULL, PIPE_CAP - fl->in_pipe,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			fl->in_pipe += (size_t)n;
			moved = 1;
			/* Less than asked for: the socket is drained; epoll says when there is
			 * more. */
			fl->drained = (size_t)n < PIPE_CAP - (fl->in_pipe - (size_t)n);
		} else if (n == 0) {
			fl->eof = true;
		} else if (errno == EAGAIN) {
			fl->pipe_full = fl->in_pipe > 0; /* with bytes in it, the pipe is full */
		} else if (move_failed(fl, false, errno) < 0) {
			return -1;
		}
	}
	if (fl->in_pipe > 0) {
		n = splice(fl->pipe[0], NULL, fl->dst->fd, NULL, fl->in_pipe,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			fl->in_pipe -= (size_t)n;
			fl->bytes += (uint64_t)n;
			fl->spliced += (uint64_t)n;
			fl->pipe_full = false;
			moved = 1;
		} else if (n < 0 && move_failed(fl, true, errno) < 0) {
			return -1;
		}
	}
	if (fl->in_pipe == 0)
		pipe_put(f, fl->pipe, 0);
	return moved;
}

/* Through the flow's buffer (TLS, or no splice). Same returns. */
static int copy_turn(struct flow *fl)
{
	int moved = 0;
	ssize_t n;

	if (!fl->eof && !fl->drained && fl->len == 0) {
		if (!fl->buf && !(fl->buf = malloc(BUF_CAP)))
			return move_failed(fl, false, ENOMEM);
		n = side_read(fl->src, fl->buf, BUF_CAP);
		if (n > 0) {
			fl->off = 0;
			fl->len = (size_t)n;
			moved = 1;
			/* A plain socket drained (TLS may hold more where epoll cannot see it). */
			fl->drained = !fl->src->tls && (size_t)n < BUF_CAP;
			fl->bulk = (size_t)n >= BULK_MIN;
		} else if (n == 0) {
			fl->eof = true;
		} else if (errno == ECONNABORTED && fl->src->tls) {
			/*
			 * A TLS peer's TCP close without close_notify: what came
			 * is delivered and passed on as an EOF (a reset would
			 * destroy it), the possible truncation told in the log.
			 */
			move_failed(fl, false, errno);
			fl->eof = true;
		} else if (move_failed(fl, false, errno) < 0) {
			return -1;
		}
	}
	if (fl->len > 0) {
		n = side_write(fl->dst, fl->buf + fl->off, fl->len);
		if (n > 0) {
			fl->off += (size_t)n;
			fl->len -= (size_t)n;
			fl->bytes += (uint64_t)n;
			moved = 1;
		} else if (n < 0 && move_failed(fl, true, errno) < 0) {
			return -1;
		}
	}
	return moved;
}

/* Moves what the flow can now, TURNS moves at most. Returns 0, or -1 (p->why set). */
static int flow_pump(struct pair *p, struct flow *fl)
{
	bool splice_ok = !p->f->o->no_splice && !p->c.tls && !p->t.tls;
	int i, rc = 1;

	if (fl->done)
		return 0;
	if (fl->shut_wait)
		return flow_finish(fl);
	fl->again = false;
	fl->drained = false;
	for (i = 0; i < TURNS && rc > 0; i++) {
		/*
		 * Small messages go through the buffer (recv and send cost less
		 * than two splices through a pipe); once a read brings BULK_MIN,
		 * the flow is bulk and splices. Bytes a buffer holds go first.
		 */
		rc = splice_ok && fl->bulk && fl->len == 0 ? splice_turn(p->f, fl) : copy_turn(fl);
		if (rc < 0)
			return -1;
		if (rc > 0)
			p->last_active = sk_now_ms();
	}
	/* Cut short with bytes to move: come back next turn (bytes inside TLS are invisible). */
	fl->again = rc > 0;
	if (fl->len == 0) {
		free(fl->buf); /* kept across the turns; a flow with nothing waiting holds none */
		fl->buf = NULL;
	}
	return flow_finish(fl);
}

/* What the flow's ends wait for. */
static void flow_interest(const struct flow *fl, unsigned *src_mask, unsigned *dst_mask)
{
	*src_mask = *dst_mask = 0;
	if (fl->done)
		return;
	if (fl->shut_wait) {
		*dst_mask = side_want(fl->dst, POLLOUT);
		return;
	}
	if (fl->again) {
		/* dst is writable: the loop comes straight back. */
		*dst_mask = SK_LOOP_WRITE;
		return;
	}
	if (!fl->eof && fl->len == 0 && !fl->pipe_full && fl->in_pipe < PIPE_CAP)
		*src_mask = side_want(fl->src, POLLIN);
	if (fl->len > 0 || fl->in_pipe > 0)
		*dst_mask = side_want(fl->dst, POLLOUT);
}

/* Watches both sides for what the two flows wait for; ends the pair when both are done. */
static void pair_relay_watch(struct pair *p)
{
	unsigned up_src, up_dst, down_src, down_dst;

	if (p->up.done && p->down.done) {
		pair_end(p, SK_FWD_CLOSED, false, false);
		return;
	}
	flow_interest(&p->up, &up_src, &up_dst);
	flow_interest(&p->down, &down_src, &down_dst);
	if (side_watch(&p->c, up_src | down_dst) < 0 || side_watch(&p->t, up_dst | down_src) < 0)
		pair_fail(p, SK_FWD_RESET, "watch: %s", strerror(errno));
}

/*
 * Pumps the flows that the event on side s (NULL: both, as at the start)
 * can move: s's incoming flow when it is readable, its outgoing one when
 * it is writable; both on an error, or when either end is TLS (a read
 * may have needed the socket writable, or the reverse). A flow cut short
 * for fairness is pumped again whatever the event.
 */
static void pair_relay(struct pair *p, const struct side *s, unsigned events)
{
	bool any = !s || (events & SK_LOOP_ERR) || p->c.tls || p->t.tls;
	bool rd = events & SK_LOOP_READ, wr = events & SK_LOOP_WRITE;
	bool up = any || p->up.again || (s == &p->c ? rd : wr);
	bool down = any || p->down.again || (s == &p->t ? rd : wr);

	if ((up && flow_pump(p, &p->up) < 0) || (down && flow_pump(p, &p->down) < 0)) {
		pair_end(p, SK_FWD_RESET, true, true);
		return;
	}
	pair_relay_watch(p);
}

/* ---------------------------------------------------------------- set-up */

static void start_relay(struct pair *p)
{
	p->state = P_RELAY;
	p->deadline = -1;
	p->last_active = sk_now_ms();
	pair_relay(p, NULL, 0);
}

static void tls_step(struct pair *p, struct side *s)
{
	char err[SK_ERRLEN];

	switch (sk_tls_handshake(s->tls, err)) {
	case SK_TLS_DONE:
		if (p->state == P_TLS_IN)
			pair_update(p); /* on to connecting */
		else
			start_relay(p);
		return;
	case SK_TLS_WANT_READ:
		if (side_watch(s, SK_LOOP_READ) < 0)
			pair_fail(p, SK_FWD_RESET, "watch: %s", strerror(errno));
		return;
	case SK_TLS_WANT_WRITE:
		if (side_watch(s, SK_LOOP_WRITE) < 0)
			pair_fail(p, SK_FWD_RESET, "watch: %s", strerror(errno));
		return;
	case SK_TLS_PLAINTEXT:
		pair_fail(p, SK_FWD_TLS_FAILED, "%s", "the client spoke plain text");
		return;
	default: pair_fail(p, SK_FWD_TLS_FAILED, "%s", err); return;
	}
}

/* The proxy's address, out of the target's "TARGET via PROXY". */
static const char *proxy_addr(const struct pair *p)
{
	const char *via = strstr(p->t.addr, " via ");

	return via ? via + 5 : p->t.addr;
}

/*
 * The proxy's handshake, as far as it goes now. Returns true once the
 * tunnel is open.
 */
static bool proxy_step(struct pair *p)
{
	const struct sk_fwd_opts *o = p->f->o;
	char err[SK_ERRLEN], via[SK_ADDRSTRLEN];
	enum sk_proxy_step s;

	if (!p->phs) {
		/* From here on the log names the target, and the proxy it goes through. */
		snprintf(via, sizeof(via), "%.*s", SK_ADDRSTRLEN - 1, p->t.addr);
		snprintf(p->t.addr, sizeof(p->t.addr), "%.*s via %s", SK_ADDRSTRLEN - 1,
			 o->target.name, via);
		p->state = P_PROXY;
		if (!(p->phs = sk_proxy_hs_new(o->proxy, &o->proxy_dest, err))) {
			pair_fail(p, SK_FWD_UNREACHED, "proxy %s: %s: %s", via,
				  sk_proxy_kind_name(o->proxy->kind), err);
			return false;
		}
	}
	s = sk_proxy_step(p->phs, p->t.fd, err);
	if (s == SK_PROXY_STEP_FAILED) {
		/* The client is reset, as when the target itself cannot be reached. */
		snprintf(p->why, sizeof(p->why), "proxy %.*s: %s", SK_ADDRSTRLEN - 1, proxy_addr(p),
			 err);
		pair_end(p, SK_FWD_UNREACHED, true, false);
		return false;
	}
	if (s != SK_PROXY_STEP_DONE) {
		if (side_watch(&p->t, s == SK_PROXY_STEP_READ ? SK_LOOP_READ : SK_LOOP_WRITE) < 0)
			pair_fail(p, SK_FWD_RESET, "watch: %s", strerror(errno));
		return false;
	}
	sk_proxy_hs_free(p->phs);
	p->phs = NULL;
	p->proxied = true;
	p->state = P_CONNECTING;
	return true;
}

/* The target answered: the proxy's handshake, the PROXY header, then TLS or the relay. */
static void target_ready(struct pair *p)
{
	const struct sk_fwd_opts *o = p->f->o;
	char err[SK_ERRLEN];
	ssize_t n;

	if (!o->target.ai)
		snprintf(p->t.addr, sizeof(p->t.addr), "%s", o->target.unix_path);
	else if (!p->t.addr[0] && p->retry)
		sk_addr_format(p->retry->ai_addr, p->retry->ai_addrlen, p->t.addr,
			       sizeof(p->t.addr));
	if (o->proxy && !p->proxied && !proxy_step(p))
		return;
	while (p->hdr_off < p->hdr_len) {
		n = send(p->t.fd, p->hdr + p->hdr_off, p->hdr_len - p->hdr_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			side_watch(&p->t, SK_LOOP_WRITE);
			return;
		}
		if (n < 0) {
			pair_fail(p, SK_FWD_RESET, "PROXY header: %s", strerror(errno));
			return;
		}
		p->hdr_off += (size_t)n;
	}
	free(p->hdr); /* sent: a pair keeps nothing it no longer needs */
	p->hdr = NULL;
	p->hdr_len = p->hdr_off = 0;
	if (o->tls_out && !p->t.tls) {
		p->t.tls = sk_tls_new(o->tls_out, p->t.fd, o->tls_name, o->sni, err);
		if (!p->t.tls) {
			pair_fail(p, SK_FWD_TLS_FAILED, "%s", err);
			return;
		}
		sk_tls_set_peer(p->t.tls, p->t.addr);
		p->state = P_TLS_OUT;
		p->deadline = sk_deadline(o->connect_ms);
		tls_step(p, &p->t);
		return;
	}
	start_relay(p);
}

/* Opens a non-blocking connect to the next target address. Returns 0 (pending or done) or -1. */
static int open_target(struct pair *p, bool *now)
{
	const struct sk_fwd_opts *o = p->f->o;
	struct sockaddr_un un;
	const struct sockaddr *sa;
	socklen_t len;
	int fd, family, one = 1;

	if (o->target.ai) {
		p->retry = p->next;
		sa = p->next->ai_addr;
		len = p->next->ai_addrlen;
		family = p->next->ai_family;
		p->next = p->next->ai_next;
	} else {
		len = sk_unix_addr(o->target.unix_path, &un, NULL);
		if (len == (socklen_t)-1)
			return -1;
		sa = (const struct sockaddr *)&un;
		family = AF_UNIX;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && p->f->reserve >= 0) {
		/* The table is full: the reserve is for this; no more clients until fds free up. */
		close(p->f->reserve);
		p->f->reserve = -1;
		p->f->fd_starved = true;
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		if (o->target.ai && (errno == EMFILE || errno == ENFILE))
			p->next = p->retry; /* the same address, once there is an fd */
		return -1;
	}
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->t.fd = fd;
	*now = connect(fd, sa, len) == 0;
	if (*now || errno == EINPROGRESS)
		return 0;
	return -1;
}

/* The reason a connect failed with e, naming the proxy when it was the proxy's. */
static void connect_failed(struct pair *p, int e)
{
	char addr[SK_ADDRSTRLEN] = "";

	if (p->f->o->proxy && p->retry)
		sk_addr_format(p->retry->ai_addr, p->retry->ai_addrlen, addr, sizeof(addr));
	snprintf(p->why, sizeof(p->why), "%s%s%sconnect: %s", addr[0] ? "proxy " : "", addr,
		 addr[0] ? ": " : "", strerror(e));
}

/* Tries target addresses until one connects or is pending; resets the client if none. */
static void try_connect(struct pair *p)
{
	bool now = false;

	if (p->state != P_CONNECTING) /* -w is the connect's own, whatever a handshake took */
		p->deadline = sk_deadline(p->f->o->connect_ms);
	p->state = P_CONNECTING;
	for (;;) {
		if (open_target(p, &now) == 0) {
			if (now)
				target_ready(p);
			else if (side_watch(&p->t, SK_LOOP_WRITE) < 0)
				pair_fail(p, SK_FWD_RESET, "watch: %s", strerror(errno));
			return;
		}
		if (errno == EMFILE || errno == ENFILE) {
			/* No fd for the target now: wait for a pair to close, under the deadline.
			 */
			p->fd_wait = true;
			p->f->fd_starved = true;
			if (p->f->o->target.ai && !p->next)
				p->next = p->f->o->target.ai;
			return;
		}
		connect_failed(p, errno);
		side_close(&p->t, false);
		if (!p->f->o->target.ai || !p->next) {
			pair_end(p, SK_FWD_UNREACHED, true, false);
			return;
		}
	}
}

/* A pending connect finished: on, or the next address. */
static void connect_done(struct pair *p)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(p->t.fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == 0) {
		target_ready(p);
		return;
	}
	connect_failed(p, e);
	side_close(&p->t, false);
	if (p->f->o->target.ai && p->next)
		try_connect(p);
	else
		pair_end(p, SK_FWD_UNREACHED, true, false);
}

/* Moves a pair on from where it stands after its client's handshake (or none). */
static void pair_update(struct pair *p)
{
	side_watch(&p->c, 0); /* nothing from the client until the target is there */
	try_connect(p);
}

static void side_event(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	struct side *s = ctx;
	struct pair *p = s->p;

	(void)l;
	(void)fd;
	switch (p->state) {
	case P_TLS_IN: tls_step(p, &p->c); break;
	case P_CONNECTING:
		if (s == &p->t && p->hdr_off < p->hdr_len && p->t.addr[0])
			target_ready(p); /* the PROXY header waited for room */
		else if (s == &p->t)
			connect_done(p);
		break;
	case P_PROXY:
		if (s == &p->t)
			target_ready(p);
		break;
	case P_TLS_OUT: tls_step(p, &p->t); break;
	case P_RELAY: pair_relay(p, s, events); break;
	}
}

/* ---------------------------------------------------------------- accept */

/* The PROXY header for the client at peer on fd, into p->hdr. Returns 0 or -1 (ENOMEM). */
static int make_header(struct pair *p, int fd, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	int n;

	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
		memset(&local, 0, sizeof(local));
	if (!(p->hdr = malloc(SK_PROXY_HDR_MAX)))
		return -1;
	n = sk_proxy_header(p->f->o->proxy_protocol, (const struct sockaddr *)peer,
			    (const struct sockaddr *)&local, p->hdr);
	p->hdr_len = n > 0 ? (size_t)n : 0;
	return 0;
}

static struct pair *pair_new(struct fwd *f, int fd, const struct sockaddr_storage *peer,
			     socklen_t plen)
{
	const struct sk_fwd_opts *o = f->o;
	struct pair *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->f = f;
	if (o->proxy_protocol && make_header(p, fd, peer) < 0) {
		free(p);
		return NULL;
	}
	p->c = (struct side){.p = p, .fd = fd};
	p->t = (struct side){.p = p, .fd = -1};
	p->up = (struct flow){.src = &p->c, .dst = &p->t, .pipe = {-1, -1}};
	p->down = (struct flow){.src = &p->t, .dst = &p->c, .pipe = {-1, -1}};
	p->next = o->target.ai;
	p->started = sk_now_ms();
	p->deadline = sk_deadline(o->connect_ms);
	sk_addr_format((const struct sockaddr *)peer, plen, p->c.addr, sizeof(p->c.addr));
	p->nxt = f->pairs;
	if (f->pairs)
		f->pairs->prev = p;
	f->pairs = p;
	f->n++;
	return p;
}

/* A refused client: closed at once, and told to on_end. */
static void refuse(struct fwd *f, int fd, const struct sockaddr_storage *peer, socklen_t plen)
{
	struct sk_fwd_record r = {.target = f->o->target.name, .end = SK_FWD_REFUSED, .why = ""};
	char addr[SK_ADDRSTRLEN];

	sk_addr_format((const struct sockaddr *)peer, plen, addr, sizeof(addr));
	r.client = addr;
	close(fd);
	if (f->o->on_end)
		f->o->on_end(f->o->ctx, &r);
}

static void start_pair(struct fwd *f, int fd, const struct sockaddr_storage *peer, socklen_t plen)
{
	const struct sk_fwd_opts *o = f->o;
	struct pair *p;
	char err[SK_ERRLEN];

	if (o->acl && !sk_acl_allows(o->acl, (const struct sockaddr *)peer)) {
		refuse(f, fd, peer, plen);
		return;
	}
	p = pair_new(f, fd, peer, plen);
	if (!p) {
		close(fd);
		return;
	}
	if (!o->tls_in) {
		pair_update(p);
		return;
	}
	p->c.tls = sk_tls_new(o->tls_in, fd, NULL, NULL, err);
	if (!p->c.tls) {
		pair_fail(p, SK_FWD_TLS_FAILED, "%s", err);
		return;
	}
	sk_tls_set_peer(p->c.tls, p->c.addr);
	p->state = P_TLS_IN;
	tls_step(p, &p->c);
}

static void accept_all(struct fwd *f)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	int fd, one = 1;

	while (f->n < f->o->max_conns && !f->stopping) {
		/* A client is taken only with an fd in reserve for its target. */
		if (f->reserve < 0 && (f->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 &&
		    (errno == EMFILE || errno == ENFILE)) {
			f->fd_starved = true;
			return;
		}
		plen = sizeof(peer);
		fd = accept4(f->o->lfd, (struct sockaddr *)&peer, &plen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of fds: wait for a pair to close, do not spin. */
			f->fd_starved = errno == EMFILE || errno == ENFILE;
			return;
		}
		if (peer.ss_family != AF_UNIX)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		start_pair(f, fd, &peer, plen);
	}
}

static void on_listen(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	(void)l;
	(void)fd;
	(void)events;
	accept_all(ctx);
}

/* ---------------------------------------------------------------- the loop */

static void fail(struct fwd *f)
{
	f->fail = errno ? errno : EIO;
	sk_loop_stop(f->loop);
}

static void pace_accept(struct fwd *f)
{
	bool want = !f->stopping && !f->fd_starved && f->n < f->o->max_conns;
	int rc;

	if (want == f->accepting)
		return;
	rc = want ? sk_loop_add(f->loop, f->o->lfd, SK_LOOP_READ, on_listen, f)
		  : sk_loop_del(f->loop, f->o->lfd);
	if (rc < 0)
		fail(f);
	f->accepting = want;
}

static void end_all(struct fwd *f, enum sk_fwd_end end)
{
	while (f->pairs) {
		snprintf(f->pairs->why, sizeof(f->pairs->why), "%s", "");
		pair_end(f->pairs, end, true, true);
	}
}

/* Whether the flow holds bytes its destination has not taken. */
static bool owed(const struct flow *fl)
{
	return fl->in_pipe > 0 || fl->len > 0;
}

/* Deadlines of the set-up states, and --idle. */
static int on_sweep(struct sk_loop *l, void *ctx)
{
	struct fwd *f = ctx;
	int64_t now = sk_now_ms();
	struct pair *p = f->pairs, *next;

	(void)l;
	for (; p; p = next) {
		next = p->nxt;
		if (p->state == P_PROXY && p->deadline >= 0 && now >= p->deadline) {
			sk_proxy_hs_timeout(p->phs);
			pair_fail(p, SK_FWD_UNREACHED, "proxy %s: %s", proxy_addr(p),
				  sk_proxy_hs_error(p->phs));
		} else if (p->state == P_CONNECTING && p->deadline >= 0 && now >= p->deadline) {
			connect_failed(p, ETIMEDOUT);
			pair_end(p, SK_FWD_UNREACHED, true, true);
		} else if (p->state != P_RELAY && p->deadline >= 0 && now >= p->deadline)
			pair_fail(p, SK_FWD_TLS_FAILED, "%s", "TLS handshake: timed out");
		else if (p->state == P_RELAY && f->o->idle_ms >= 0 &&
			 now - p->last_active >= f->o->idle_ms)
			/* A side still owed bytes is reset: a FIN would say "complete". */
			pair_end(p, SK_FWD_IDLE, owed(&p->down), owed(&p->up));
	}
	return SWEEP_MS;
}

static void on_stop(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	struct fwd *f = ctx;

	(void)l;
	(void)events;
	if (!sk_read_stop_signal(fd))
		return;
	if (f->stopping) {
		end_all(f, SK_FWD_STOPPED); /* a second signal: at once */
		return;
	}
	f->stopping = true;
	/* New clients are refused, not left waiting in the backlog. */
	shutdown(f->o->lfd, SHUT_RD);
	f->stop_by = sk_deadline(f->o->grace_ms);
}

static void before_sleep(struct sk_loop *l, void *ctx)
{
	struct fwd *f = ctx;

	if (!f->fd_starved)
		retry_fd_waiters(f); /* outside any pair's event: they may end here */
	pace_accept(f);
	if (!f->stopping)
		return;
	if (f->pairs && sk_ms_left(f->stop_by) == 0)
		end_all(f, SK_FWD_STOPPED);
	if (!f->pairs)
		sk_loop_stop(l);
}

int sk_fwd_run(const struct sk_fwd_opts *o, char *err)
{
	struct fwd f = {.o = o, .stop_by = -1, .reserve = -1};
	size_t i;

	f.loop = sk_loop_new(MAX_EVENTS);
	if (!f.loop ||
	    (o->stop_fd >= 0 && sk_loop_add(f.loop, o->stop_fd, SK_LOOP_READ, on_stop, &f) < 0) ||
	    sk_loop_timer(f.loop, SWEEP_MS, on_sweep, &f) < 0) {
		sk_seterr(err, "epoll: %s", strerror(errno));
		sk_loop_free(f.loop);
		return -1;
	}
	sk_loop_before_sleep(f.loop, before_sleep, &f);
	if (sk_loop_run(f.loop) < 0)
		f.fail = errno;
	end_all(&f, SK_FWD_STOPPED);
	for (i = 0; i < f.npool; i++) {
		close(f.pool[i][0]);
		close(f.pool[i][1]);
	}
	if (f.reserve >= 0)
		close(f.reserve);
	sk_loop_free(f.loop);
	if (f.fail) {
		errno = f.fail;
		sk_seterr(err, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}
