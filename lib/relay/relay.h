/* relay.h - move bytes between a network endpoint and two local ones. */
#ifndef SK_RELAY_H
#define SK_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
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

/* How a direction moves its bytes (see relay.c). */
enum sk_relay_mode {
	SK_MODE_COPY,	  /* read into a buffer, write it out: any endpoint */
	SK_MODE_SPLICE,	  /* splice(2) from src to dst, one of them a pipe */
	SK_MODE_SENDFILE, /* sendfile(2) from a regular file to a socket */
	SK_MODE_PIPE,	  /* splice(2) through a private pipe (socket -> file) */
};

struct sk_relay_stats {
	uint64_t sent, received;
	int64_t started_ms;
};

struct sk_relay_opts {
	struct sk_endpoint *net; /* the connection */
	struct sk_endpoint *in;	 /* NULL: send nothing */
	struct sk_endpoint *out; /* NULL: read and discard what arrives */
	bool *in_eof;		 /* in/out: in has hit EOF (NULL: no) */
	bool no_shutdown;	 /* no net shutdown_write at in's EOF */
	bool crlf;		 /* LF -> CRLF on the way out */
	bool stop_on_peer_eof;	 /* end when the peer does, even if in is open */
	bool no_splice;		 /* plain read/write only */
	/*
	 * in and out are one local socket, a connection in its own right
	 * (a -e command's, carried over TLS): the peer's EOF half-closes it,
	 * and once in has hit EOF and its other end is closed for good
	 * (POLLHUP), the relay is over, as a close(2) would end it.
	 */
	bool local_socket;
	int idle_ms; /* -1: no idle timeout */
	int stop_fd; /* -1: none */
	int tick_ms; /* period of on_tick */
	/* Sees each chunk as it passes; forces the read/write path. */
	void (*on_data)(void *ctx, enum sk_dir dir, const unsigned char *p, size_t n,
			uint64_t offset);
	void (*on_tick)(void *ctx, const struct sk_relay_stats *st);
	/* Told each direction's mode when the relay starts, and again if the
	 * kernel refuses zero-copy and the direction drops to SK_MODE_COPY. */
	void (*on_mode)(void *ctx, enum sk_dir dir, enum sk_relay_mode mode);
	void *ctx;
};

/* Returns the name of mode m: "copy", "splice", "sendfile" or "pipe". */
const char *sk_relay_mode_name(enum sk_relay_mode m);

/*
 * Relays until the conversation is over: in's EOF half-closes net
 * (its shutdown_write, unless no_shutdown), and the relay ends once the peer has
 * closed and everything it sent is written to out, and in is finished
 * too (or stop_on_peer_eof). A reader closing out ends it too. Zero-copy
 * (splice, sendfile) is used where both ends of a direction are zero_copy
 * endpoints that allow it, with a read/write fallback through the ops.
 * The endpoints stay the caller's to close. Returns an sk_relay_result;
 * st counts the bytes moved.
 */
enum sk_relay_result sk_relay(const struct sk_relay_opts *o, struct sk_relay_stats *st, char *err);

#endif
