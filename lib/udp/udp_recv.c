/*
 * The udp-recv engine. One poll loop over the socket and the stop
 * signalfd; each wake-up takes a batch with recvmmsg, writes it out with
 * one writev (raw payloads, or JSON lines gathered in one buffer), then
 * echoes the batch with sendmmsg or answers it datagram by datagram.
 * A datagram that cannot be echoed or answered is reported through
 * on_error and serving goes on; each step returns SK_UDP_RECV_DONE to go
 * on, or the result to end with (err filled and errno set on failure).
 */
#include "udp_recv.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acl.h"
#include "addr.h"
#include "child.h"
#include "clock.h"
#include "io.h"
#include "json.h"
#include "net.h"
#include "sigfd.h"
#include "udp.h"

struct receiver {
	const struct sk_udp_recv_opts *o;
	char *err;
	size_t max;
	uint64_t left, *received; /* left: datagrams still wanted (count only) */
	struct sk_dgram_batch in;
	size_t keep[SK_DGRAM_BATCH]; /* the datagrams of in the access list lets in */
	char *out;		     /* json lines */
	size_t outcap;
	unsigned char *reply; /* exec */
};

static void report(const struct receiver *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands a message about one datagram to on_error. */
static void report(const struct receiver *r, const char *fmt, ...)
{
	char msg[SK_ERRLEN];
	va_list ap;

	if (!r->o->on_error)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->o->on_error(r->o->ctx, msg);
}

/* Writes iov to out; a reader that has gone is OUT_CLOSED, not an error. */
static enum sk_udp_recv_result write_out(const struct receiver *r, struct iovec *iov, size_t n)
{
	if (r->o->out < 0 || sk_writev_all(r->o->out, iov, n) == 0)
		return SK_UDP_RECV_DONE;
	if (errno == EPIPE)
		return SK_UDP_RECV_OUT_CLOSED;
	sk_seterr(r->err, "write to output: %s", strerror(errno));
	return SK_UDP_RECV_OUT_ERROR;
}

/* Writes the n kept datagrams of the batch to out, raw or as JSON lines. */
static enum sk_udp_recv_result show(struct receiver *r, size_t n)
{
	struct iovec iov[SK_DGRAM_BATCH];
	char from[SK_ADDRSTRLEN];
	const unsigned char *p;
	size_t i, k, len, used = 0;
	socklen_t flen;
	enum sk_udp_recv_result rc;

	for (k = 0; k < n; k++) {
		i = r->keep[k];
		p = sk_dgram_data(&r->in, i, &len);
		if (r->o->on_datagram || r->o->json) {
			const struct sockaddr *sa = sk_dgram_from(&r->in, i, &flen);

			sk_addr_format(sa, flen, from, sizeof(from));
		}
		if (r->o->on_datagram)
			r->o->on_datagram(r->o->ctx, from, len);
		if (!r->o->json) {
			iov[k] = (struct iovec){.iov_base = (void *)p, .iov_len = len};
			continue;
		}
		if (used + SK_JSON_DGRAM_MAX(strlen(from), len) > r->outcap) {
			iov[0] = (struct iovec){.iov_base = r->out, .iov_len = used};
			if ((rc = write_out(r, iov, 1)))
				return rc;
			used = 0;
		}
		used += sk_json_datagram(r->out + used, from, p, len);
	}
	if (r->o->json) {
		iov[0] = (struct iovec){.iov_base = r->out, .iov_len = used};
		return write_out(r, iov, 1);
	}
	return write_out(r, iov, n);
}

/*
 * Sends the n kept datagrams back to their senders; a failure goes to
 * on_error and ends the echo.
 */
static void echo_back(const struct receiver *r, size_t n)
{
	struct iovec iov[SK_DGRAM_BATCH];
	const struct sockaddr *to[SK_DGRAM_BATCH];
	socklen_t tolen[SK_DGRAM_BATCH];
	size_t i, len;
	int sent;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)sk_dgram_data(&r->in, r->keep[i], &len);
		iov[i].iov_len = len;
		to[i] = sk_dgram_from(&r->in, r->keep[i], &tolen[i]);
	}
	for (i = 0; i < n; i += (size_t)sent) {
		sent = sk_dgram_send(r->o->fd, iov + i, n - i, to + i, tolen + i);
		if (sent < 0) {
			report(r, "echo: %s", strerror(errno));
			return;
		}
		if (i + (size_t)sent < n)
			sk_wait_fd(r->o->fd, POLLOUT, 1000);
	}
}

/* Runs exec for datagram i and sends its output back. False: a stop signal came. */
static bool answer_one(const struct receiver *r, size_t i)
{
	char err[SK_ERRLEN], from[SK_ADDRSTRLEN];
	const struct sockaddr *to;
	const unsigned char *p;
	socklen_t tolen;
	size_t len, outlen;
	bool overflow;
	int code;

	p = sk_dgram_data(&r->in, i, &len);
	to = sk_dgram_from(&r->in, i, &tolen);
	sk_addr_format(to, tolen, from, sizeof(from));
	code = sk_run_filter(r->o->exec, p, len, r->reply, r->max, &outlen, &overflow,
			     r->o->stop_fd, err);
	if (code < 0 && errno == EINTR)
		return false;
	if (code < 0) {
		report(r, "%s", err);
		return true;
	}
	if (r->o->on_answer)
		r->o->on_answer(r->o->ctx, from, code);
	if (overflow)
		report(r, "reply to %s is over the UDP maximum of %zu bytes; not sent", from,
		       r->max);
	else if (outlen > 0 && sendto(r->o->fd, r->reply, outlen, MSG_NOSIGNAL, to, tolen) < 0)
		report(r, "reply to %s: %s", from, strerror(errno));
	return true;
}

/*
 * Lists in keep the n datagrams of the batch that the access list lets
 * in; the others are told to on_refused. Returns how many are kept.
 */
static size_t admit(struct receiver *r, size_t n)
{
	char from[SK_ADDRSTRLEN];
	const struct sockaddr *sa;
	socklen_t flen;
	size_t i, kept = 0;

	for (i = 0; i < n; i++) {
		sa = sk_dgram_from(&r->in, i, &flen);
		if (!r->o->acl || sk_acl_allows(r->o->acl, sa)) {
			r->keep[kept++] = i;
		} else if (r->o->on_refused) {
			sk_addr_format(sa, flen, from, sizeof(from));
			r->o->on_refused(r->o->ctx, from);
		}
	}
	return kept;
}

/* Takes one batch: drops what the access list refuses, writes, echoes or answers the rest. */
static enum sk_udp_recv_result take(struct receiver *r)
{
	size_t want = r->o->count && r->left < SK_DGRAM_BATCH ? (size_t)r->left : SK_DGRAM_BATCH;
	int got = sk_dgram_recv(r->o->fd, &r->in, want);
	enum sk_udp_recv_result rc;
	size_t i, n;

	if (got < 0 && errno != ECONNREFUSED) {
		sk_seterr(r->err, "receive: %s", strerror(errno));
		return SK_UDP_RECV_ERROR;
	}
	n = got > 0 ? admit(r, (size_t)got) : 0;
	if (n == 0)
		return SK_UDP_RECV_DONE;
	*r->received += n;
	if ((rc = show(r, n)))
		return rc;
	if (r->o->echo)
		echo_back(r, n);
	for (i = 0; r->o->exec && i < n; i++)
		if (!answer_one(r, r->keep[i]))
			return SK_UDP_RECV_STOPPED;
	if (r->o->count)
		r->left -= n;
	return SK_UDP_RECV_DONE;
}

/* Polls the socket and stop_fd until the count, the idle timeout or a stop. */
static enum sk_udp_recv_result serve(struct receiver *r)
{
	struct pollfd pfd[2] = {{.fd = r->o->fd, .events = POLLIN},
				{.fd = r->o->stop_fd, .events = POLLIN}};
	int64_t deadline = sk_deadline(r->o->idle_ms);
	uint64_t before;
	enum sk_udp_recv_result rc;

	while (!r->o->count || r->left > 0) {
		if (poll(pfd, 2, sk_ms_left(deadline)) < 0 && errno != EINTR) {
			sk_seterr(r->err, "poll: %s", strerror(errno));
			return SK_UDP_RECV_ERROR;
		}
		if (pfd[1].revents && sk_read_stop_signal(r->o->stop_fd))
			return SK_UDP_RECV_STOPPED;
		if (!pfd[0].revents) {
			if (sk_ms_left(deadline) == 0)
				return SK_UDP_RECV_TIMEOUT;
			continue;
		}
		before = *r->received;
		if ((rc = take(r)))
			return rc;
		if (*r->received != before)
			deadline = sk_deadline(r->o->idle_ms);
	}
	return SK_UDP_RECV_DONE;
}

enum sk_udp_recv_result sk_udp_recv(const struct sk_udp_recv_opts *o, uint64_t *received, char *err)
{
	uint64_t dummy;
	struct receiver r = {.o = o, .err = err, .left = o->count};
	enum sk_udp_recv_result rc = SK_UDP_RECV_ERROR;
	int e;

	r.received = received ? received : &dummy;
	*r.received = 0;
	r.max = sk_udp_max_payload(sk_socket_family(o->fd));
	if (o->max && o->max < r.max)
		r.max = o->max;
	r.outcap = SK_JSON_DGRAM_MAX(SK_ADDRSTRLEN, 65536);
	if (sk_dgram_batch_init(&r.in, SK_DGRAM_BATCH, 65536) < 0 ||
	    (o->json && !(r.out = malloc(r.outcap))) || (o->exec && !(r.reply = malloc(r.max)))) {
		sk_seterr(err, "out of memory");
		errno = ENOMEM;
	} else {
		rc = serve(&r);
	}
	e = errno;
	sk_dgram_batch_free(&r.in);
	free(r.out);
	free(r.reply);
	errno = e;
	return rc;
}
