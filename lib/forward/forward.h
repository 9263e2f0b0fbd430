/*
 * forward.h - the port forwarder: every client of a listening socket
 * relayed to a target, in one event loop (lib/core/loop), with splice(2)
 * between plain sockets and a buffer where TLS is on a side.
 */
#ifndef SK_FORWARD_H
#define SK_FORWARD_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "err.h"
#include "proxy.h"

struct sk_tls_ctx;
struct sk_proxy;

/* Where clients go: every address of a name in turn, or a unix socket. */
struct sk_fwd_target {
	const struct addrinfo *ai; /* NULL: unix_path */
	const char *unix_path;	   /* "@name": abstract */
	const char *name;	   /* HOST, or the path: for the log and TLS's name check */
};

/* How a connection ended, for the log. */
enum sk_fwd_end {
	SK_FWD_CLOSED,	   /* both directions finished */
	SK_FWD_RESET,	   /* one side reset (or failed); the other was reset */
	SK_FWD_UNREACHED,  /* the target could not be reached: the client was reset */
	SK_FWD_TLS_FAILED, /* a TLS handshake failed */
	SK_FWD_IDLE,	   /* --idle passed with nothing moving */
	SK_FWD_STOPPED,	   /* cut at the end of the grace after a stop signal */
	SK_FWD_REFUSED,	   /* the access list refused the client */
};

/* One finished connection. */
struct sk_fwd_record {
	const char *client, *target; /* ADDR:PORT (target: as reached, or its name) */
	uint64_t up, down;	     /* bytes client -> target, target -> client */
	int64_t ms;		     /* duration */
	enum sk_fwd_end end;
	const char *why;  /* the reason of a failure, or "" */
	uint64_t spliced; /* of up + down, the bytes that went by splice(2) */
};

struct sk_fwd_opts {
	int lfd; /* listening, non-blocking */
	struct sk_fwd_target target;
	int connect_ms;			 /* per connection attempt, all addresses included */
	int idle_ms;			 /* -1: none */
	size_t max_conns;		 /* clients at once; more wait in the backlog */
	int grace_ms;			 /* after a stop: how long open connections may finish */
	struct sk_tls_ctx *tls_in;	 /* TLS to clients, or NULL */
	struct sk_tls_ctx *tls_out;	 /* TLS to the target, or NULL */
	const char *tls_name;		 /* name checked on the target's certificate */
	const char *sni;		 /* SNI sent to the target, or NULL */
	const struct sk_proxy *proxy;	 /* --proxy (target.ai: its addresses), or NULL */
	struct sk_proxy_dest proxy_dest; /* what the proxy is asked to reach */
	int proxy_protocol;		 /* 0, 1 or 2 */
	const struct sk_acl *acl;	 /* NULL: everyone */
	bool no_splice;			 /* read/write through a buffer only */
	int stop_fd;			 /* readable: stop (a second time: at once) */
	/* Called as each connection ends (and for each refused client). */
	void (*on_end)(void *ctx, const struct sk_fwd_record *r);
	void *ctx;
};

/* Names an ending: "closed", "reset", "unreachable", ... */
const char *sk_fwd_end_name(enum sk_fwd_end e);

/*
 * Serves until stop_fd is readable, then stops accepting (closing lfd's
 * watch), lets open connections finish for up to grace_ms, closes the
 * rest, and returns 0; a second readable stop_fd closes them at once.
 * Returns -1 with errno and err when the loop itself fails.
 */
int sk_fwd_run(const struct sk_fwd_opts *o, char *err);

#endif
