/* udp_recv.h - the udp-recv engine: receive datagrams, write them out, echo or answer them. */
#ifndef SK_UDP_RECV_H
#define SK_UDP_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct sk_acl;

enum sk_udp_recv_result {
	SK_UDP_RECV_DONE = 0,	     /* count datagrams were received */
	SK_UDP_RECV_ERROR = -1,	     /* poll, receive or memory: err and errno say why */
	SK_UDP_RECV_TIMEOUT = -2,    /* idle_ms passed without a datagram */
	SK_UDP_RECV_STOPPED = -3,    /* SIGINT or SIGTERM on stop_fd (it has been read) */
	SK_UDP_RECV_OUT_CLOSED = -4, /* out's reader has gone (EPIPE) */
	SK_UDP_RECV_OUT_ERROR = -5,  /* writing out failed: errno (err: "write to output: ...") */
};

struct sk_udp_recv_opts {
	int fd;		  /* bound non-blocking datagram socket */
	int out;	  /* each payload, or JSON line, is written here; -1: not written */
	bool json;	  /* one sk_json_datagram line per datagram instead of the payload */
	bool echo;	  /* send each datagram back to its sender */
	const char *exec; /* not NULL: run "/bin/sh -c exec" per datagram, send back its stdout */
	uint64_t count;	  /* end after this many datagrams; 0: no limit */
	int idle_ms;	  /* end after this long without a datagram; -1: never */
	int stop_fd;	  /* signalfd from sk_stop_signals, or -1 */
	size_t max;	  /* the largest reply of exec; 0: the UDP maximum */
	/*
	 * Set: a datagram from a sender it refuses is dropped before anything
	 * else (no output, echo or exec; it counts for none of count,
	 * idle_ms and *received) and told to on_refused (may be NULL).
	 */
	const struct sk_acl *acl;
	void (*on_refused)(void *ctx, const char *from);
	/* A datagram of len bytes arrived from from; called before it is written out. */
	void (*on_datagram)(void *ctx, const char *from, size_t len);
	/* exec answered the datagram from from and exited with code. */
	void (*on_answer)(void *ctx, const char *from, int code);
	/* A datagram could not be echoed or answered; msg says why. Serving goes on. */
	void (*on_error)(void *ctx, const char *msg);
	void *ctx;
};

/*
 * Receives datagrams in batches (recvmmsg) and writes each batch to out,
 * raw or as JSON lines, then echoes or answers it, until count datagrams
 * have come, idle_ms passes, out's reader goes, or a stop signal comes
 * (also while exec runs: it is stopped). An ICMP error reported on fd is
 * ignored. max is capped at the UDP maximum of fd's family. *received,
 * when received is not NULL, counts the datagrams, also on failure.
 * Returns an sk_udp_recv_result; ERROR and OUT_ERROR fill err (SK_ERRLEN
 * bytes) and leave errno set.
 */
enum sk_udp_recv_result sk_udp_recv(const struct sk_udp_recv_opts *o, uint64_t *received,
				    char *err);

#endif
