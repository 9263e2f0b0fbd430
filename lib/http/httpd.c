/*
 * The static file server's connections, on one sk_loop: a small state
 * machine per connection (reading a request head, writing a response,
 * draining after the last one), pipelined requests answered in order,
 * bodies sent with sendfile(2), and responses that fit sent header and
 * body in one call. What a request gets is route.c's business.
 *
 * With a TLS context, a connection starts with the handshake (a state of
 * its own, under the same deadline as the request head), reads and writes
 * through its sk_tls session, and sends file bodies with pread(2) into a
 * buffer held only while a body is in flight. The plain path is left as
 * it is; the differences sit in the tls_* functions.
 */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "auth.h"
#include "clock.h"
#include "filecache.h"
#include "http.h"
#include "loop.h"
#include "net.h"
#include "response.h"
#include "route.h"
#include "tls.h"
#include "upload.h"

#define IN_CAP	   (SK_HTTP_MAX_HEAD + 1024)
#define MAX_EVENTS 256
#define SWEEP_MS   1000 /* how often deadlines are checked */
/*
 * The most one connection may send in one turn of the loop (one
 * full-size packet on loopback, whose MTU is 64 KiB): a client that reads
 * as fast as we send would otherwise keep the loop to itself for a whole
 * large file. Commit 95ffe5d measured 64 KiB turns against 256 KiB and
 * whole-body ones at 1 MiB files (wrk -c50): more req/s, for about 8%
 * more CPU per request. That CPU went mostly to the part-filled segment
 * each turn pushed, which body_turn() now avoids, not to the turns.
 */
#define WRITE_QUANTUM (64 * 1024)
/* TLS: a file body goes out through a buffer of this size, one per turn. */
#define TLS_BODY_CAP WRITE_QUANTUM

/* C_HANDSHAKE: TLS only, before the first request. C_SHUTDOWN: TLS only,
 * close_notify waits for the socket. C_DRAIN: response sent, write side
 * shut; unread input is discarded so the kernel does not answer it with
 * a reset that would destroy the response in flight. C_BODY: an upload's
 * body is coming (--upload). */
enum cstate { C_READ, C_WRITE, C_HANDSHAKE, C_SHUTDOWN, C_DRAIN, C_BODY };

/* Body bytes one upload may take in one turn of the loop, before the others get theirs. */
#define BODY_QUANTUM (1024 * 1024)
#define SPLICE_CHUNK (64 * 1024)

static const char basic_challenge[] =
    "WWW-Authenticate: Basic realm=\"sockctl\", charset=\"UTF-8\"\r\n";

#define DRAIN_MS 2000

struct server;

struct conn {
	struct server *s;
	int fd;
	enum cstate state;
	char host[SK_ADDRSTRLEN]; /* the client's address, for the log */
	char *in;		  /* IN_CAP bytes once the client sends; NULL while idle */
	size_t in_len, consumed;
	struct sk_hresp resp;
	int64_t deadline;
	unsigned batch; /* the accept_all() call that accepted it */
	size_t mss;	/* the segment size when the body in flight began, or 0 */
	char line[512]; /* the request line, escaped for the log */
	/* TLS only. */
	struct sk_tls *tls;	   /* the session, or NULL: plain */
	char *body;		   /* TLS_BODY_CAP bytes while a file body is sent, or NULL */
	size_t body_off, body_len; /* what of body is sent, what it holds */
	unsigned tls_want;	   /* the loop mask a TLS write that said EAGAIN waits for */
	/* --auth: the user of the request, for the log ("" : none). */
	char user[SK_AUTH_USER_MAX + 1];
	/* --upload: the body in flight, and what its answer will need. */
	struct sk_upload *up;
	char *loc;     /* "Location: ...\r\n" of the answer */
	bool interim;  /* resp is the 100 Continue: the body follows it */
	bool deferred; /* a request after an upload waits for the next turn of the loop */
	bool up_keep_alive, up_http10;
};

struct server {
	const struct sk_httpd_opts *o;
	struct sk_loop *loop;
	struct sk_fcache *cache;
	time_t now;	     /* the second that date and log_when are for */
	char date[32];	     /* the Date header */
	char log_when[64];   /* the log's local time (with on_log only) */
	struct conn **conns; /* by fd */
	size_t nconns, cap;
	bool accepting, stopping;
	bool fd_starved; /* accept ran out of fds: pause until a connection closes */
	unsigned batch;	 /* accept_all() calls, to spare the connections of this one */
	int64_t stop_by; /* when stopping: the end of the grace for responses in flight */
	int fail;	 /* the errno that ended the loop, or 0 */
	int pipe[2];	 /* uploads: socket -> pipe -> file with splice(2); -1 until needed */
};

/* Formats the Date header and the log's time again once the second has changed. */
static void clock_tick(struct server *s)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now == s->now)
		return;
	s->now = now;
	sk_http_date(now, s->date);
	if (s->o->on_log) {
		localtime_r(&now, &tm);
		strftime(s->log_when, sizeof(s->log_when), "%d/%b/%Y:%H:%M:%S %z", &tm);
	}
}

static const char *date_now(struct server *s)
{
	clock_tick(s);
	return s->date;
}

/* The request line for the log (the raw first line of a bad request), escaped. */
static void log_line(struct conn *c, const struct sk_http_req *r)
{
	const char *p = r ? r->method_str : c->in, *nl;
	size_t n = r ? r->line_len : c->in_len;

	if (!r && (nl = memchr(p, '\n', n)))
		n = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
	sk_log_escape(p, n < 120 ? n : 120, c->line);
}

enum handled {
	HANDLED_WAIT,	/* the head is not complete: wait for more bytes */
	HANDLED_READY,	/* a response is ready to send */
	HANDLED_BODY,	/* an upload's body comes next (c->up) */
	HANDLED_FAILED, /* not even a 500 could be built */
};

/*
 * A PUT or POST with --upload: checked, and ready for its body; or
 * answered at once (the body unread: the connection then closes). With
 * Expect: 100-continue, resp is the interim answer.
 */
static enum handled upload_begin(struct conn *c, struct server *s, const struct sk_http_req *r)
{
	char rel[SK_HTTP_MAX_TARGET + 1], allow[64];
	struct sk_hresp *resp = &c->resp;
	bool dir_slash;
	int st = 400;

	free(c->loc);
	c->loc = NULL;
	if (sk_http_target_path(r->target, r->target_len, rel, sizeof(rel), &dir_slash) == 0) {
		if (!(c->loc = sk_hresp_location(rel, r->method == SK_POST)) ||
		    !(c->up = calloc(1, sizeof(*c->up))))
			return HANDLED_FAILED;
		st = sk_upload_start(c->up, s->o->root, r, rel, dir_slash, s->o->max_upload,
				     (s->o->overwrite ? SK_UPLOAD_OVERWRITE : 0) |
					 (s->o->precompressed ? SK_UPLOAD_VARIANTS : 0));
		if (st < 0)
			return HANDLED_FAILED;
	}
	if (st) {
		if (c->up)
			sk_upload_free(c->up);
		free(c->up);
		c->up = NULL;
		free(c->loc);
		c->loc = NULL;
		/* 405: a POST to a file (which takes PUT), a PUT to a directory (POST). */
		snprintf(allow, sizeof(allow), "Allow: GET, HEAD%s, %s\r\n",
			 s->o->cors ? ", OPTIONS" : "", r->method == SK_POST ? "PUT" : "POST");
		return sk_hresp_error(resp, st, false, st == 405 ? allow : NULL) < 0
			   ? HANDLED_FAILED
			   : HANDLED_READY;
	}
	c->up_keep_alive = r->keep_alive && !s->stopping;
	c->up_http10 = r->minor == 0;
	if (r->expect_continue && r->minor >= 1 && !sk_upload_body_done(c->up)) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		c->interim = true;
		return sk_buf_add(&resp->out, cont, sizeof(cont) - 1) < 0 ? HANDLED_FAILED
									  : HANDLED_READY;
	}
	return HANDLED_BODY;
}

/* True for a CORS preflight, which is answered without credentials. */
static bool preflight(const struct server *s, const struct sk_http_req *r)
{
	return s->o->cors && r->method == SK_OPTIONS && r->origin && r->ac_method;
}

/* Builds the response to the head in c->in. */
static enum handled handle(struct conn *c, struct server *s)
{
	struct sk_http_req r;
	struct sk_hresp *resp = &c->resp;
	enum sk_http_parse_result pr = sk_http_parse(c->in, c->in_len, &r);
	bool ok = pr == SK_HTTP_COMPLETE;
	int rc;

	if (pr == SK_HTTP_PARTIAL && c->in_len < IN_CAP)
		return HANDLED_WAIT;
	sk_hresp_reset(resp);
	resp->server = s->o->server;
	resp->date = date_now(s);
	resp->always = s->o->headers;
	resp->keep_alive = ok && r.keep_alive && !r.has_body && !s->stopping;
	resp->http10 = ok && r.minor == 0;
	log_line(c, ok ? &r : NULL);
	c->consumed = ok ? r.head_len : c->in_len;
	c->user[0] = '\0';
	if (!ok) /* a head that fills the whole buffer is too large */
		rc = sk_hresp_error(resp, pr == SK_HTTP_BAD ? r.status : 431,
				    r.method_str && r.method == SK_HEAD, NULL);
	else if (s->o->auth && !preflight(s, &r) &&
		 sk_auth_check(s->o->auth, r.authorization, r.authorization_len, c->user) !=
		     SK_AUTH_OK)
		rc = sk_hresp_error(resp, 401, r.method == SK_HEAD, basic_challenge);
	else if (s->o->upload && (r.method == SK_PUT || r.method == SK_POST))
		return upload_begin(c, s, &r);
	else
		rc = sk_route(resp, s->cache, s->o, &r);
	return rc < 0 ? HANDLED_FAILED : HANDLED_READY;
}

static void log_response(const struct conn *c, struct server *s)
{
	char line[1024], bytes[24] = "-";
	int n;

	if (!s->o->on_log)
		return;
	clock_tick(s);
	if (c->resp.body_bytes > 0)
		snprintf(bytes, sizeof(bytes), "%lld", c->resp.body_bytes);
	n = snprintf(line, sizeof(line), "%s - %s [%s] \"%s\" %d %s\n", c->host,
		     c->user[0] ? c->user : "-", s->log_when, c->line, c->resp.status, bytes);
	s->o->on_log(s->o->ctx, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The log line of a client the access list refused: no request, no status. */
static void log_refused(struct server *s, const char *host)
{
	char line[256];
	int n;

	if (!s->o->on_log)
		return;
	clock_tick(s);
	n = snprintf(line, sizeof(line), "%s - - [%s] \"-\" - -\n", host, s->log_when);
	s->o->on_log(s->o->ctx, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void conn_close(struct conn *c)
{
	struct server *s = c->s;

	/* A failed delete needs nothing more: closing the fd drops it from epoll. */
	sk_loop_del(s->loop, c->fd);
	if (c->tls)
		sk_tls_free(c->tls);
	close(c->fd);
	s->conns[c->fd] = NULL;
	s->nconns--;
	s->fd_starved = false;
	sk_hresp_free(&c->resp);
	free(c->in);
	free(c->body);
	if (c->up) /* an upload cut short: its files vanish */
		sk_upload_free(c->up);
	free(c->up);
	free(c->loc);
	free(c);
}

/* Watches c for mask; a connection that cannot be watched is closed. Returns 0 or -1. */
static int watch(struct conn *c, unsigned mask)
{
	if (sk_loop_mod(c->s->loop, c->fd, mask) == 0)
		return 0;
	conn_close(c);
	return -1;
}

/*
 * The bytes of the body to send in this turn: WRITE_QUANTUM at most, cut
 * so that what the response has queued ends on a full segment. Each
 * sendfile(2) ends with a push, and a push sends a part-filled segment as
 * a packet of its own: 64 KiB turns behind a head of 250 bytes made 32
 * packets of a 1 MiB body on loopback (MSS 65483) where 17 carry it, and
 * each packet costs a receive, an ACK and a wake-up on the sending CPU
 * (about 215 against 140 us of CPU per response in tests/bench/http.sh).
 */
static size_t body_turn(struct conn *c)
{
	const struct sk_hresp *r = &c->resp;
	size_t left = (size_t)(r->file_end - r->file_off), turn = WRITE_QUANTUM, queued;
	int mss;

	if (r->file_off == r->file_start) {
		/* It grows with the peer's window: read it again for each body. */
		if (getsockopt(c->fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &(socklen_t){sizeof(mss)}) < 0)
			mss = 0;
		c->mss = mss > 0 && mss <= WRITE_QUANTUM ? (size_t)mss : 0;
	}
	if (c->mss) {
		queued = r->out.len + (size_t)(r->file_off - r->file_start);
		turn = WRITE_QUANTUM / c->mss * c->mss - queued % c->mss;
		if (turn < c->mss / 2)
			turn += c->mss; /* not a sliver of a turn */
	}
	return left < turn ? left : turn;
}

enum flushed {
	FLUSH_WAIT,	/* more to send once the socket is writable */
	FLUSH_COMPLETE, /* the whole response is sent */
	FLUSH_FAILED,	/* the connection is broken: close it */
};

/* The loop events that let a TLS call that said EAGAIN go on (want: POLLIN or POLLOUT). */
static unsigned tls_mask(const struct conn *c, short want)
{
	short ev = sk_tls_poll_events(c->tls, want);
	unsigned mask = (ev & POLLIN ? SK_LOOP_READ : 0) | (ev & POLLOUT ? SK_LOOP_WRITE : 0);

	return mask ? mask : want == POLLIN ? SK_LOOP_READ : SK_LOOP_WRITE;
}

/* A TLS write said -1 with errno e: wait for what the session needs, or fail. */
static enum flushed tls_write_failed(struct conn *c, int e)
{
	if (e != EAGAIN && e != EINTR)
		return FLUSH_FAILED;
	c->tls_want = tls_mask(c, POLLOUT);
	return FLUSH_WAIT;
}

/*
 * Refills the body buffer: what is left of the head first (so that head
 * and body share records), then the file. Returns 0, or -1 when the file
 * cannot be read or shrank under us.
 */
static int tls_fill(struct conn *c)
{
	struct sk_hresp *r = &c->resp;
	size_t n = r->out.len - r->out_off, room;
	ssize_t got;

	if (n > TLS_BODY_CAP)
		n = TLS_BODY_CAP;
	memcpy(c->body, r->out.p + r->out_off, n);
	r->out_off += n;
	room = TLS_BODY_CAP - n;
	if (room > (size_t)(r->file_end - r->file_off))
		room = (size_t)(r->file_end - r->file_off);
	if (room > 0) {
		got = pread(r->file, c->body + n, room, r->file_off);
		if (got <= 0)
			return -1;
		r->file_off += got;
		n += (size_t)got;
	}
	c->body_off = 0;
	c->body_len = n;
	return 0;
}

/*
 * conn_flush over TLS. A write that said EAGAIN is retried with the same
 * bytes: they stay in out or in the body buffer until taken. A file body
 * gets one buffer-full per turn of the loop (as WRITE_QUANTUM), and the
 * buffer is freed as soon as the body is sent.
 */
static enum flushed tls_flush(struct conn *c)
{
	struct sk_hresp *r = &c->resp;
	bool filled = false;
	ssize_t n;

	if (r->file < 0) {
		while (r->out_off < r->out.len) {
			n = sk_tls_write(c->tls, r->out.p + r->out_off, r->out.len - r->out_off);
			if (n < 0)
				return tls_write_failed(c, errno);
			r->out_off += (size_t)n;
		}
		return FLUSH_COMPLETE;
	}
	if (!c->body && !(c->body = malloc(TLS_BODY_CAP)))
		return FLUSH_FAILED;
	for (;;) {
		if (c->body_off == c->body_len) {
			if (r->out_off == r->out.len && r->file_off == r->file_end)
				break;
			if (filled) {
				c->tls_want = SK_LOOP_WRITE; /* the rest on a later turn */
				return FLUSH_WAIT;
			}
			if (tls_fill(c) < 0)
				return FLUSH_FAILED;
			filled = true;
		}
		n = sk_tls_write(c->tls, c->body + c->body_off, c->body_len - c->body_off);
		if (n < 0)
			return tls_write_failed(c, errno);
		c->body_off += (size_t)n;
	}
	close(r->file);
	r->file = -1;
	free(c->body); /* a connection between bodies holds no buffer */
	c->body = NULL;
	c->body_off = c->body_len = 0;
	return FLUSH_COMPLETE;
}

/* Writes what is pending. */
static enum flushed conn_flush(struct conn *c)
{
	struct sk_hresp *r = &c->resp;
	int more = r->file >= 0 ? MSG_MORE : 0;
	ssize_t n;

	if (c->tls)
		return tls_flush(c);

	while (r->out_off < r->out.len) {
		n = send(c->fd, r->out.p + r->out_off, r->out.len - r->out_off,
			 MSG_NOSIGNAL | more);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? FLUSH_WAIT : FLUSH_FAILED;
		r->out_off += (size_t)n;
	}
	if (r->file >= 0 && r->file_off < r->file_end) {
		n = sendfile(c->fd, r->file, &r->file_off, body_turn(c));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? FLUSH_WAIT : FLUSH_FAILED;
		if (n == 0)
			return FLUSH_FAILED; /* the file shrank under us */
		if (r->file_off < r->file_end)
			return FLUSH_WAIT; /* the rest on a later turn: epoll reports it writable */
	}
	if (r->file >= 0) {
		close(r->file);
		r->file = -1;
	}
	return FLUSH_COMPLETE;
}

static bool conn_process(struct conn *c);
static void conn_read(struct conn *c);

/*
 * Ends the writing direction (TLS: close_notify, then the FIN) and goes
 * on to drain; over TLS, again in C_SHUTDOWN while the socket is full.
 */
static void conn_shut(struct conn *c)
{
	if (!c->tls)
		shutdown(c->fd, SHUT_WR);
	else if (sk_tls_shutdown_write(c->tls) < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			conn_close(c);
			return;
		}
		c->state = C_SHUTDOWN;
		watch(c, tls_mask(c, POLLOUT));
		return;
	}
	c->state = C_DRAIN;
	watch(c, SK_LOOP_READ);
}

/* After a response: log it, then close or go on with the next request. */
static void conn_done(struct conn *c)
{
	struct server *s = c->s;

	log_response(c, s);
	if (!c->resp.keep_alive || s->stopping) {
		c->deadline = sk_deadline(DRAIN_MS);
		conn_shut(c);
		return;
	}
	memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
	c->in_len -= c->consumed;
	c->consumed = 0;
	if (c->in_len == 0) {
		free(c->in); /* idle connections hold no buffer */
		c->in = NULL;
	}
	c->state = C_READ;
	c->deadline = sk_deadline(s->o->timeout_ms);
	if (c->deferred && c->in_len > 0) {
		/* After an upload: the next request on the next turn (the socket is writable). */
		watch(c, SK_LOOP_READ | SK_LOOP_WRITE);
		return;
	}
	c->deferred = false;
	if (watch(c, SK_LOOP_READ) < 0)
		return;
	/*
	 * A pipelined request already here is answered first (this recurses
	 * at most once per request in the buffer, which is not refilled).
	 */
	if (c->in_len > 0 && !conn_process(c))
		return;
	/*
	 * Decrypted bytes may wait inside the session, where epoll cannot see
	 * them: the socket is writable, so watching that brings us back to
	 * read them on the next turn of the loop, not by recursion, which a
	 * client could make as deep as it pipelines.
	 */
	if (c->tls && sk_tls_pending(c->tls))
		watch(c, SK_LOOP_READ | SK_LOOP_WRITE);
}

static void body_begin(struct conn *c);

static void conn_write(struct conn *c)
{
	enum flushed rc = conn_flush(c);

	if (rc == FLUSH_FAILED) {
		if (!c->interim)
			log_response(c, c->s);
		conn_close(c);
	} else if (rc == FLUSH_COMPLETE && c->interim) {
		c->interim = false; /* 100 Continue is out: now the body */
		body_begin(c);
	} else if (rc == FLUSH_COMPLETE) {
		c->s->fd_starved = false; /* a response's file fd was just closed */
		conn_done(c);
	} else {
		/* Only now that a send would block is writability worth watching. */
		c->deadline = sk_deadline(c->s->o->timeout_ms);
		if (sk_loop_mod(c->s->loop, c->fd, c->tls ? c->tls_want : SK_LOOP_WRITE) < 0) {
			log_response(c, c->s); /* cut short, as when a send fails */
			conn_close(c);
		}
	}
}

/*
 * Answers the head in c->in, if it is complete. Returns true when it is
 * not (c waits in C_READ for more), false when c went on (or was closed).
 */
static bool conn_process(struct conn *c)
{
	enum handled rc = handle(c, c->s);

	if (rc == HANDLED_WAIT)
		return true;
	if (rc == HANDLED_FAILED) {
		conn_close(c); /* out of memory: nothing true to answer */
		return false;
	}
	if (rc == HANDLED_BODY) {
		body_begin(c);
		return false;
	}
	c->state = C_WRITE;
	c->deadline = sk_deadline(c->s->o->timeout_ms);
	conn_write(c);
	return false;
}

/* A TLS read said EAGAIN: an idle connection gives its buffer back, and waits. */
static void tls_read_wait(struct conn *c)
{
	if (c->in_len == 0) {
		free(c->in);
		c->in = NULL;
	}
	watch(c, tls_mask(c, POLLIN));
}

static void conn_read(struct conn *c)
{
	ssize_t n;

	do {
		if (!c->in && !(c->in = malloc(IN_CAP))) {
			conn_close(c);
			return;
		}
		n = c->tls ? sk_tls_read(c->tls, c->in + c->in_len, IN_CAP - c->in_len)
			   : recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
		/* TLS: 0 is the client's close_notify. */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n < 0) {
			if (c->tls)
				tls_read_wait(c);
			return;
		}
		c->in_len += (size_t)n;
		/* A partial head may go on in bytes the session already holds. */
	} while (conn_process(c) && c->tls && sk_tls_pending(c->tls) && c->in_len < IN_CAP);
}

/* ---------------------------------------------------------------- uploads */

/* The upload's answer, status st, sent as any response is. */
static void upload_answer(struct conn *c, int st)
{
	struct sk_hresp *resp = &c->resp;
	static const char created[] = "Created.\n", see[] = "Stored.\n";
	int rc;

	if (c->up)
		sk_upload_free(c->up);
	free(c->up);
	c->up = NULL;
	c->consumed = 0; /* the buffer holds only what follows the body */
	sk_hresp_reset(resp);
	resp->keep_alive = c->up_keep_alive && !c->s->stopping && st < 400;
	resp->http10 = c->up_http10;
	resp->date = date_now(c->s);
	if (st == 201 || st == 303)
		rc = sk_hresp_body(resp, st, "text/plain; charset=utf-8", c->loc,
				   st == 201 ? created : see,
				   st == 201 ? sizeof(created) - 1 : sizeof(see) - 1, false);
	else if (st == 204)
		rc = sk_hresp_empty(resp, 204, NULL);
	else
		rc = sk_hresp_error(resp, st, false, NULL);
	free(c->loc); /* in the head now, or not needed */
	c->loc = NULL;
	if (rc < 0) {
		conn_close(c);
		return;
	}
	/*
	 * The body's reads refilled the buffer: answering what follows by
	 * recursion (conn_done) could go as deep as the client pipelines.
	 */
	c->deferred = true;
	c->state = C_WRITE;
	c->deadline = sk_deadline(c->s->o->timeout_ms);
	conn_write(c);
}

/* The body has arrived: the files go into place, and the answer out. */
static void upload_end(struct conn *c)
{
	const struct sk_upload *u = c->up;
	int st = sk_upload_finish(c->up);
	char rel[SK_HTTP_MAX_TARGET + SK_MP_MAX_NAME + 2];
	size_t i;

	/* What the cache knew of those names is old now. */
	for (i = 0; i < u->nlinked; i++) {
		snprintf(rel, sizeof(rel), "%s%s%s", u->dir_rel, u->dir_rel[0] ? "/" : "",
			 u->files[i].name);
		sk_fcache_forget(c->s->cache, rel);
	}
	upload_answer(c, st < 0 ? 500 : st);
}

/*
 * Hands the upload the body bytes in c->in past what is consumed, and
 * keeps what follows the body (a pipelined request). Returns 0, or -1
 * when c went on (answered or closed).
 */
static int body_take(struct conn *c)
{
	long long n;
	int st;

	if (c->in_len > c->consumed) {
		n = sk_upload_feed(c->up, c->in + c->consumed, c->in_len - c->consumed, &st);
		if (n < 0) {
			upload_answer(c, st);
			return -1;
		}
		c->consumed += (size_t)n;
	}
	if (c->consumed) {
		memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
		c->in_len -= c->consumed;
		c->consumed = 0;
	}
	if (sk_upload_body_done(c->up)) {
		upload_end(c);
		return -1;
	}
	return 0;
}

/*
 * Moves up to max body bytes from the socket into the file with
 * splice(2), through the server's pipe. Returns the bytes moved, 0 at
 * the client's EOF, or -1 with errno (EAGAIN: nothing waiting; *st set
 * when the file could not take them).
 */
static ssize_t body_splice(struct conn *c, unsigned long long max, int *st)
{
	struct server *s = c->s;
	ssize_t n, m;
	size_t moved = 0;

	*st = 0;
	if (s->pipe[0] < 0 && pipe2(s->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		s->pipe[0] = s->pipe[1] = -1;
		return -2; /* no pipe: through the buffer */
	}
	n = splice(c->fd, NULL, s->pipe[1], NULL, max < SPLICE_CHUNK ? (size_t)max : SPLICE_CHUNK,
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n <= 0)
		return n;
	while (moved < (size_t)n) {
		m = splice(s->pipe[0], NULL, sk_upload_direct_fd(c->up), NULL, (size_t)n - moved,
			   SPLICE_F_MOVE);
		if (m <= 0) {
			/* The file took no more: what is left in the pipe is dropped with it. */
			*st = m == 0 || errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? 507
											     : 500;
			close(s->pipe[0]);
			close(s->pipe[1]);
			s->pipe[0] = s->pipe[1] = -1;
			return -1;
		}
		moved += (size_t)m;
	}
	sk_upload_direct_done(c->up, (unsigned long long)n);
	return n;
}

/* Reads the body as it comes, a quantum a turn, so that other clients get theirs. */
static void body_read(struct conn *c)
{
	unsigned long long direct;
	size_t taken = 0;
	ssize_t n;
	int st;

	while (taken < BODY_QUANTUM) {
		direct = !c->tls && c->in_len == 0 ? sk_upload_direct(c->up) : 0;
		n = direct ? body_splice(c, direct, &st) : -2;
		if (n == -1 && st) {
			upload_answer(c, st);
			return;
		}
		if (n == -2) {
			if (!c->in && !(c->in = malloc(IN_CAP))) {
				conn_close(c);
				return;
			}
			n = c->tls ? sk_tls_read(c->tls, c->in + c->in_len, IN_CAP - c->in_len)
				   : recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
			if (n > 0)
				c->in_len += (size_t)n;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c); /* gone in the middle: nothing is left of it */
			return;
		}
		if (n < 0) {
			if (c->tls)
				watch(c, tls_mask(c, POLLIN));
			return;
		}
		taken += (size_t)n;
		c->deadline = sk_deadline(c->s->o->timeout_ms);
		if (body_take(c) < 0) /* answered, or closed */
			return;
	}
	/* Its turn is over: TLS bytes held in the session bring it back through writability. */
	if (c->tls && sk_tls_pending(c->tls))
		watch(c, SK_LOOP_READ | SK_LOOP_WRITE);
}

static void body_begin(struct conn *c)
{
	c->state = C_BODY;
	c->deadline = sk_deadline(c->s->o->timeout_ms);
	if (body_take(c) < 0 || watch(c, SK_LOOP_READ) < 0)
		return;
	body_read(c);
}

static const char https_hint[] = "This port speaks HTTPS: use an https:// URL.\n";

/* A client spoke plain HTTP to the TLS port: a plain 400 that says so, then a close. */
static void tls_plaintext(struct conn *c)
{
	struct sk_hresp *resp = &c->resp;
	ssize_t n;

	sk_tls_free(c->tls);
	c->tls = NULL; /* plain from here on */
	if (!c->in && !(c->in = malloc(IN_CAP))) {
		conn_close(c);
		return;
	}
	/* What has come of the request, for the log line; the rest is drained. */
	n = recv(c->fd, c->in, IN_CAP, 0);
	c->in_len = n > 0 ? (size_t)n : 0;
	c->consumed = c->in_len;
	sk_hresp_reset(resp);
	resp->server = c->s->o->server;
	resp->date = date_now(c->s);
	resp->always = c->s->o->headers;
	resp->keep_alive = false;
	log_line(c, NULL);
	if (sk_hresp_body(resp, 400, "text/plain; charset=utf-8", NULL, https_hint,
			  sizeof(https_hint) - 1, false) < 0) {
		conn_close(c);
		return;
	}
	c->state = C_WRITE;
	c->deadline = sk_deadline(c->s->o->timeout_ms);
	conn_write(c);
}

/* Takes the TLS handshake a step; a failed one is closed and never logged. */
static void tls_handshake(struct conn *c)
{
	char err[SK_ERRLEN];

	switch (sk_tls_handshake(c->tls, err)) {
	case SK_TLS_DONE:
		c->state = C_READ;
		/* The request may have come right behind the client's Finished. */
		if (watch(c, SK_LOOP_READ) == 0)
			conn_read(c);
		break;
	case SK_TLS_WANT_READ: watch(c, SK_LOOP_READ); break;
	case SK_TLS_WANT_WRITE: watch(c, SK_LOOP_WRITE); break;
	case SK_TLS_PLAINTEXT: tls_plaintext(c); break;
	default: conn_close(c); break;
	}
}

static void conn_drain(struct conn *c)
{
	char sink[4096];
	ssize_t n = recv(c->fd, sink, sizeof(sink), 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

static void conn_event(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	struct conn *c = ctx;

	(void)l;
	(void)fd;
	(void)events; /* what the state waits for, or an error its next call finds */
	switch (c->state) {
	case C_READ:
		if (c->deferred) { /* a request that waited behind an upload */
			c->deferred = false;
			if (watch(c, SK_LOOP_READ) < 0 || !conn_process(c))
				break;
		}
		conn_read(c);
		break;
	case C_WRITE: conn_write(c); break;
	case C_HANDSHAKE: tls_handshake(c); break;
	case C_SHUTDOWN: conn_shut(c); break;
	case C_DRAIN: conn_drain(c); break;
	case C_BODY: body_read(c); break;
	}
}

/*
 * The idle keep-alive connection closest to its deadline, or NULL. Inside
 * accept_all(), spare_batch spares the ones it has just accepted (they
 * have not had the chance to send yet).
 */
static struct conn *oldest_idle(const struct server *s, bool spare_batch)
{
	struct conn *best = NULL;
	size_t i;

	for (i = 0; i < s->cap; i++) {
		struct conn *c = s->conns[i];

		if (c && c->state == C_READ && c->in_len == 0 &&
		    (!spare_batch || c->batch != s->batch) &&
		    (!best || c->deadline < best->deadline))
			best = c;
	}
	return best;
}

/* Makes room for fd in the table. Returns 0, or -1 with errno ENOMEM. */
static int conns_fit(struct server *s, int fd)
{
	size_t cap = (size_t)fd * 2 + 64;
	struct conn **t;

	if ((size_t)fd < s->cap)
		return 0;
	t = realloc(s->conns, cap * sizeof(*t));
	if (!t)
		return -1;
	memset(t + s->cap, 0, (cap - s->cap) * sizeof(*t));
	s->conns = t;
	s->cap = cap;
	return 0;
}

/* Takes an accepted fd into the loop as c. Returns 0, or -1 (fd closed, c freed). */
static int conn_start(struct server *s, struct conn *c, int fd)
{
	char err[SK_ERRLEN];

	if ((s->o->tls && !(c->tls = sk_tls_new(s->o->tls, fd, NULL, NULL, err))) ||
	    conns_fit(s, fd) < 0 || sk_loop_add(s->loop, fd, SK_LOOP_READ, conn_event, c) < 0) {
		if (c->tls)
			sk_tls_free(c->tls);
		close(fd);
		free(c);
		return -1;
	}
	c->s = s;
	c->fd = fd;
	c->state = c->tls ? C_HANDSHAKE : C_READ;
	c->resp.file = -1;
	c->batch = s->batch;
	c->deadline = sk_deadline(s->o->timeout_ms);
	s->conns[fd] = c;
	s->nconns++;
	return 0;
}

/*
 * True when the access list lets the client at from in; a refused one is
 * closed (fd) and logged.
 */
static bool admit(struct server *s, int fd, const struct sockaddr_storage *from, const char *host)
{
	if (!s->o->acl || sk_acl_allows(s->o->acl, (const struct sockaddr *)from))
		return true;
	close(fd);
	log_refused(s, host);
	return false;
}

static void accept_all(struct server *s)
{
	struct sockaddr_storage from;
	struct conn *c;
	int fd;

	s->batch++;
	for (;;) {
		if (s->nconns >= s->o->max_conns && !oldest_idle(s, true))
			return;
		c = calloc(1, sizeof(*c));
		fd = c ? sk_accept_from(s->o->lfd, &from, c->host) : -1;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && sk_fcache_release(s->cache))
			fd = sk_accept_from(s->o->lfd, &from, c->host);
		if (fd < 0) {
			/* Out of fds: wait for a connection to close, do not spin. */
			s->fd_starved = errno == EMFILE || errno == ENFILE;
			free(c);
			return;
		}
		/* The host part of "addr:port" for the log. */
		*strrchr(c->host, ':') = '\0';
		if (!admit(s, fd, &from, c->host)) {
			free(c);
			continue;
		}
		/* At the cap, the new client takes the place of an idle one. */
		if (s->nconns >= s->o->max_conns)
			conn_close(oldest_idle(s, true));
		conn_start(s, c, fd);
	}
}

static void on_listen(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	(void)l;
	(void)fd;
	(void)events;
	accept_all(ctx);
}

/* Ends the loop for a failure of its own (errno), to be reported by sk_httpd_run. */
static void fail(struct server *s)
{
	s->fail = errno ? errno : EIO;
	sk_loop_stop(s->loop);
}

/* Stops or resumes watching the listening socket as the cap allows. */
static void pace_accept(struct server *s)
{
	bool want = !s->stopping && !s->fd_starved &&
		    (s->nconns < s->o->max_conns || oldest_idle(s, false));
	int rc;

	if (want == s->accepting)
		return;
	rc = want ? sk_loop_add(s->loop, s->o->lfd, SK_LOOP_READ, on_listen, s)
		  : sk_loop_del(s->loop, s->o->lfd);
	if (rc < 0)
		fail(s);
	s->accepting = want;
}

/* Closes connections past their deadline; when stopping, idle ones too. */
static void sweep(struct server *s)
{
	int64_t now = sk_now_ms();
	size_t i;

	for (i = 0; i < s->cap; i++) {
		struct conn *c = s->conns[i];

		if (!c)
			continue;
		if ((c->deadline >= 0 && now >= c->deadline) ||
		    (s->stopping && (c->state == C_READ || c->state == C_HANDSHAKE)))
			conn_close(c);
	}
}

/* Stopping swept once when it began; nothing turns idle after that. */
static int on_sweep(struct sk_loop *l, void *ctx)
{
	(void)l;
	sweep(ctx);
	return SWEEP_MS;
}

static void on_stop(struct sk_loop *l, int fd, unsigned events, void *ctx)
{
	struct server *s = ctx;

	(void)events;
	/* Level-triggered and never read here: stop watching it. */
	if (sk_loop_del(l, fd) < 0) {
		fail(s);
		return;
	}
	s->stopping = true;
	s->stop_by = sk_deadline(s->o->timeout_ms >= 0 ? s->o->timeout_ms : 10000);
	/* conn_done() turns finished connections to C_DRAIN from now on. */
	sweep(s);
}

static void before_sleep(struct sk_loop *l, void *ctx)
{
	struct server *s = ctx;

	pace_accept(s);
	if (s->stopping && (s->nconns == 0 || sk_ms_left(s->stop_by) == 0))
		sk_loop_stop(l);
}

int sk_httpd_run(const struct sk_httpd_opts *o, char *err)
{
	struct server s = {.o = o, .stop_by = -1, .pipe = {-1, -1}};
	size_t i;

	s.cache = sk_fcache_new(o->root, o->mime);
	s.loop = s.cache ? sk_loop_new(MAX_EVENTS) : NULL;
	if (!s.loop ||
	    (o->stop_fd >= 0 && sk_loop_add(s.loop, o->stop_fd, SK_LOOP_READ, on_stop, &s) < 0) ||
	    sk_loop_timer(s.loop, SWEEP_MS, on_sweep, &s) < 0) {
		sk_seterr(err, "epoll: %s", strerror(errno));
		sk_loop_free(s.loop);
		sk_fcache_free(s.cache);
		return -1;
	}
	sk_loop_before_sleep(s.loop, before_sleep, &s);
	if (sk_loop_run(s.loop) < 0)
		s.fail = errno;
	for (i = 0; i < s.cap; i++)
		if (s.conns[i])
			conn_close(s.conns[i]);
	sk_loop_free(s.loop);
	sk_fcache_free(s.cache);
	free(s.conns);
	if (s.pipe[0] >= 0) {
		close(s.pipe[0]);
		close(s.pipe[1]);
	}
	if (s.fail) {
		errno = s.fail;
		sk_seterr(err, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}
