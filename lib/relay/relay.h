/* relay.h - move bytes between a connected socket and two local fds. */
#ifndef SK_RELAY_H
#define SK_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum sk_dir {
	SK_DIR_SEND, /* local input -> network */
	SK_DIR_RECV, /* network -> local output */
};

enum sk_relay_result {
	SK_RELAY_DONE = 0,     /* the conversation is over */
	SK_RELAY_ERROR = -1,   /* err and errno say why */
	SK_RELAY_TIMEOUT = -2, /* idle_ms passed with no data */
	SK_RELAY_STOPPED = -3, /* stop_fd became readable */
};

struct sk_relay_stats {
	uint64_t sent, received;
	int64_t started_ms;
};

struct sk_relay_opts {
	int net;	       /* connected non-blocking socket */
	int in;		       /* -1: send nothing */
	int out;	       /* -1: read and discard what arrives */
	bool *in_eof;	       /* in/out: in has hit EOF (NULL: no) */
	bool no_shutdown;      /* no shutdown(SHUT_WR) at in's EOF */
	bool crlf;	       /* LF -> CRLF on the way out */
	bool stop_on_peer_eof; /* end when the peer does, even if in is open */
	bool no_splice;	       /* plain read/write only */
	int idle_ms;	       /* -1: no idle timeout */
	int stop_fd;	       /* -1: none */
	int tick_ms;	       /* period of on_tick */
	/* Sees each chunk as it passes; forces the read/write path. */
	void (*on_data)(void *ctx, enum sk_dir dir, const unsigned char *p, size_t n,
			uint64_t offset);
	void (*on_tick)(void *ctx, const struct sk_relay_stats *st);
	void *ctx;
};

/*
 * Relays until the conversation is over: in's EOF half-closes the
 * socket (unless no_shutdown), and the relay ends once the peer has
 * closed and everything it sent is written to out, and in is finished
 * too (or stop_on_peer_eof). A reader closing out ends it too. Zero-copy
 * (splice, sendfile) is used where the fds allow it, with a read/write
 * fallback. Returns an sk_relay_result; st counts the bytes moved.
 */
int sk_relay(const struct sk_relay_opts *o, struct sk_relay_stats *st, char *err);

#endif
