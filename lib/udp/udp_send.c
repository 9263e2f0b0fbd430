/*
 * The udp-send engine. One poll loop: input is cut into up to a batch of
 * datagrams, the batch goes out with sendmmsg as the socket takes it,
 * and only when all of it has gone is more input read, so a slow socket
 * holds the input back instead of growing a queue. Replies are taken
 * whenever the socket has them.
 *
 * Each step returns SK_UDP_SEND_DONE to go on, or the result to end
 * with, err filled and errno set.
 */
#include "udp_send.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "net.h"
#include "udp.h"

#define INBUF (256 * 1024)

struct sender {
	const struct sk_udp_send_opts *o;
	struct sk_udp_send_stats *st;
	char *err;
	size_t max;
	unsigned char *buf; /* input; buf[start, len) is not cut yet */
	size_t start, len;
	bool in_eof;
	struct iovec iov[SK_DGRAM_BATCH]; /* cut datagrams, iov[sent, niov) unsent */
	size_t niov, sent;
	struct sk_dgram_batch replies;
};

enum sk_udp_cut_result sk_udp_cut(const unsigned char *p, size_t n, size_t size, size_t max,
				  bool eof, size_t *len)
{
	const unsigned char *nl;

	*len = 0;
	if (n == 0)
		return SK_UDP_CUT_MORE;
	if (size) {
		if (n < size && !eof)
			return SK_UDP_CUT_MORE;
		*len = n < size ? n : size;
	} else {
		nl = memchr(p, '\n', n);
		if (!nl && !eof) {
			if (n <= max)
				return SK_UDP_CUT_MORE;
			*len = n;
			errno = EMSGSIZE;
			return SK_UDP_CUT_TOO_BIG;
		}
		*len = nl ? (size_t)(nl - p) + 1 : n;
	}
	if (*len > max) {
		errno = EMSGSIZE;
		return SK_UDP_CUT_TOO_BIG;
	}
	return SK_UDP_CUT_DATAGRAM;
}

void sk_udp_oversize_err(char *err, const char *what, size_t n, bool more, size_t max)
{
	sk_seterr(err, "%s of %s%zu bytes is over the UDP maximum of %zu bytes for %s", what,
		  more ? "more than " : "", n, max,
		  max == sk_udp_max_payload(AF_INET6) ? "IPv6" : "IPv4");
	errno = EMSGSIZE;
}

/* Names the oversize datagram; "more than" while the input goes on. */
static enum sk_udp_send_result oversize(const struct sender *s, const char *what, size_t n)
{
	sk_udp_oversize_err(s->err, what, n, !s->in_eof, s->max);
	return SK_UDP_SEND_OVERSIZE;
}

/* Cuts the next datagrams out of the input. */
static enum sk_udp_send_result cut(struct sender *s)
{
	enum sk_udp_cut_result rc;
	size_t dlen;

	while (s->niov < SK_DGRAM_BATCH) {
		rc = sk_udp_cut(s->buf + s->start, s->len - s->start, s->o->size, s->max, s->in_eof,
				&dlen);
		if (rc == SK_UDP_CUT_TOO_BIG)
			return oversize(s, s->o->size ? "a datagram" : "a line", dlen);
		if (rc == SK_UDP_CUT_MORE)
			break;
		s->iov[s->niov++] = (struct iovec){.iov_base = s->buf + s->start, .iov_len = dlen};
		s->start += dlen;
	}
	return SK_UDP_SEND_DONE;
}

/* Names the socket's failure: ECONNREFUSED is an ICMP port unreachable. */
static enum sk_udp_send_result net_error(const struct sender *s, const char *step)
{
	if (errno == ECONNREFUSED) {
		sk_seterr(s->err, "port unreachable (%s)", strerror(errno));
		return SK_UDP_SEND_UNREACHABLE;
	}
	sk_seterr(s->err, "%s: %s", step, strerror(errno));
	return SK_UDP_SEND_NET;
}

/* Writes the replies waiting on the socket to out. */
static enum sk_udp_send_result take_replies(struct sender *s)
{
	struct iovec out[SK_DGRAM_BATCH];
	size_t i, len;
	int n;

	while ((n = sk_dgram_recv(s->o->fd, &s->replies, SK_DGRAM_BATCH)) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			out[i].iov_base = (void *)sk_dgram_data(&s->replies, i, &len);
			out[i].iov_len = len;
			if (s->o->on_reply)
				s->o->on_reply(s->o->ctx, len);
		}
		s->st->replies += (unsigned)n;
		if (s->o->out < 0 || sk_writev_all(s->o->out, out, (size_t)n) == 0 ||
		    errno == EPIPE)
			continue;
		sk_seterr(s->err, "write to output: %s", strerror(errno));
		return SK_UDP_SEND_OUT_ERROR;
	}
	return n < 0 ? net_error(s, "receive") : SK_UDP_SEND_DONE;
}

/* Sends what the socket takes of the cut datagrams, counting them. */
static enum sk_udp_send_result send_cut(struct sender *s)
{
	int n = sk_dgram_send(s->o->fd, s->iov + s->sent, s->niov - s->sent, NULL, NULL);
	size_t i;

	if (n < 0 && errno == EMSGSIZE)
		return oversize(s, "a datagram", s->iov[s->sent].iov_len);
	if (n < 0)
		return net_error(s, "send");
	for (i = 0; i < (size_t)n; i++)
		s->st->bytes += s->iov[s->sent + i].iov_len;
	s->st->datagrams += (unsigned)n;
	s->sent += (size_t)n;
	return SK_UDP_SEND_DONE;
}

/* Reads more input once everything cut so far has gone. */
static enum sk_udp_send_result refill(struct sender *s)
{
	ssize_t n;

	memmove(s->buf, s->buf + s->start, s->len - s->start);
	s->len -= s->start;
	s->start = 0;
	n = read(s->o->in, s->buf + s->len, INBUF - s->len);
	if (n < 0 && errno != EINTR && errno != EAGAIN) {
		sk_seterr(s->err, "read from input: %s", strerror(errno));
		return SK_UDP_SEND_IN_ERROR;
	}
	if (n == 0)
		s->in_eof = true;
	if (n > 0)
		s->len += (size_t)n;
	return SK_UDP_SEND_DONE;
}

/* Cuts, sends and takes replies until the input is all sent. */
static enum sk_udp_send_result pump(struct sender *s)
{
	struct pollfd pfd[2];
	enum sk_udp_send_result rc;

	for (;;) {
		if (s->sent == s->niov) {
			s->sent = s->niov = 0;
			if ((rc = cut(s)))
				return rc;
			if (s->niov == 0 && s->in_eof)
				return SK_UDP_SEND_DONE;
		}
		pfd[0] = (struct pollfd){.fd = s->o->fd, .events = POLLIN};
		if (s->sent < s->niov)
			pfd[0].events |= POLLOUT;
		pfd[1] = (struct pollfd){.fd = s->o->in, .events = POLLIN};
		if (poll(pfd, s->sent < s->niov ? 1 : 2, -1) < 0 && errno != EINTR) {
			sk_seterr(s->err, "poll: %s", strerror(errno));
			return SK_UDP_SEND_ERROR;
		}
		if ((pfd[0].revents & (POLLIN | POLLERR)) && (rc = take_replies(s)))
			return rc;
		if ((pfd[0].revents & POLLOUT) && (rc = send_cut(s)))
			return rc;
		if (s->sent == s->niov && s->niov == 0 && pfd[1].revents && (rc = refill(s)))
			return rc;
	}
}

/* Takes replies until wait_ms has passed. */
static enum sk_udp_send_result wait_replies(struct sender *s)
{
	int64_t deadline = sk_deadline(s->o->wait_ms);
	enum sk_udp_send_result rc;

	while (sk_ms_left(deadline) > 0) {
		if (sk_wait_fd(s->o->fd, POLLIN, sk_ms_left(deadline)) > 0 &&
		    (rc = take_replies(s)))
			return rc;
	}
	return SK_UDP_SEND_DONE;
}

/* Points the input at the message, or allocates the input buffer. */
static enum sk_udp_send_result start(struct sender *s)
{
	if (sk_dgram_batch_init(&s->replies, SK_DGRAM_BATCH, 65536) < 0) {
		sk_seterr(s->err, "out of memory");
		return SK_UDP_SEND_ERROR;
	}
	if (!s->o->message) {
		if ((s->buf = malloc(INBUF)))
			return SK_UDP_SEND_DONE;
		sk_seterr(s->err, "out of memory");
		errno = ENOMEM;
		return SK_UDP_SEND_ERROR;
	}
	s->buf = (unsigned char *)s->o->message;
	s->len = s->o->message_len;
	s->in_eof = true;
	if (s->len > s->max)
		return oversize(s, "a message", s->len);
	s->iov[s->niov++] = (struct iovec){.iov_base = s->buf, .iov_len = s->len};
	s->start = s->len;
	return SK_UDP_SEND_DONE;
}

enum sk_udp_send_result sk_udp_send(const struct sk_udp_send_opts *o, struct sk_udp_send_stats *st,
				    char *err)
{
	struct sk_udp_send_stats dummy;
	struct sender s = {.o = o, .st = st ? st : &dummy, .err = err};
	enum sk_udp_send_result rc;
	int e;

	memset(s.st, 0, sizeof(*s.st));
	s.max = sk_udp_max_payload(sk_socket_family(o->fd));
	if (o->max && o->max < s.max)
		s.max = o->max;
	rc = start(&s);
	if (rc == SK_UDP_SEND_DONE)
		rc = pump(&s);
	if (rc == SK_UDP_SEND_DONE && o->wait_ms > 0)
		rc = wait_replies(&s);
	e = errno;
	if (!o->message)
		free(s.buf);
	sk_dgram_batch_free(&s.replies);
	errno = e;
	return rc;
}
