/* udp_send.h - the udp-send engine: cut input into datagrams, send them, take replies. */
#ifndef SK_UDP_SEND_H
#define SK_UDP_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum sk_udp_send_result {
	SK_UDP_SEND_DONE = 0,	      /* all sent, and the wait for replies is over */
	SK_UDP_SEND_ERROR = -1,	      /* poll or memory: err and errno say why */
	SK_UDP_SEND_NET = -2,	      /* the socket failed: err ("send: ...") and errno */
	SK_UDP_SEND_UNREACHABLE = -3, /* the peer's host said port unreachable (ICMP) */
	SK_UDP_SEND_OVERSIZE = -4,    /* a datagram over max: err names it, errno EMSGSIZE */
	SK_UDP_SEND_IN_ERROR = -5,    /* reading in failed: errno (err: "read from input: ...") */
	SK_UDP_SEND_OUT_ERROR = -6,   /* writing out failed: errno (err: "write to output: ...") */
};

struct sk_udp_send_stats {
	uint64_t datagrams, bytes; /* sent */
	uint64_t replies;	   /* received and written to out */
};

struct sk_udp_send_opts {
	int fd;		     /* connected non-blocking datagram socket */
	int in;		     /* the input to cut, when message is NULL */
	int out;	     /* replies go here, one write per batch; -1: dropped */
	const void *message; /* not NULL: the one datagram to send; in is not read */
	size_t message_len;
	size_t size; /* cut in into datagrams of size bytes; 0: one per line */
	size_t max;  /* the largest datagram; 0: the UDP maximum */
	int wait_ms; /* after the last datagram, wait this long for replies (<= 0: not) */
	/* A reply of len bytes arrived; called before it is written to out. */
	void (*on_reply)(void *ctx, size_t len);
	void *ctx;
};

enum sk_udp_cut_result {
	SK_UDP_CUT_TOO_BIG = -1, /* over max: errno EMSGSIZE */
	SK_UDP_CUT_MORE = 0,	 /* more input is needed first */
	SK_UDP_CUT_DATAGRAM = 1, /* *len bytes make a datagram */
};

/*
 * Finds the datagram at the start of p[0..n): the first line, its '\n'
 * included, or the first size bytes when size > 0; with eof (no more
 * input will follow) a shorter rest is a datagram too. More input is
 * always needed when n is 0. When it is too big, *len is its length or,
 * without eof, how many bytes of it are known.
 */
enum sk_udp_cut_result sk_udp_cut(const unsigned char *p, size_t n, size_t size, size_t max,
				  bool eof, size_t *len);

/*
 * Writes "WHAT of [more than ]N bytes is over the UDP maximum of MAX
 * bytes for IPv4|IPv6" into err (SK_ERRLEN bytes); more says that n is
 * only what is known so far. Sets errno to EMSGSIZE.
 */
void sk_udp_oversize_err(char *err, const char *what, size_t n, bool more, size_t max);

/*
 * Sends the message, or else in cut into datagrams (sk_udp_cut), batched
 * with as few system calls as the kernel allows, writing replies that
 * arrive meanwhile to out (EPIPE on out is ignored: sending goes on).
 * Once in's EOF is sent, waits wait_ms for more replies. max is capped
 * at the UDP maximum of fd's family. st, when not NULL, counts what was
 * sent and received, also on failure. Returns an sk_udp_send_result;
 * every failure fills err (SK_ERRLEN bytes) and leaves errno set.
 */
enum sk_udp_send_result sk_udp_send(const struct sk_udp_send_opts *o, struct sk_udp_send_stats *st,
				    char *err);

#endif
