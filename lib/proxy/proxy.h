/*
 * proxy.h - the client side of SOCKS5 (RFC 1928, with RFC 1929's
 * username/password), SOCKS4, SOCKS4a and HTTP CONNECT: the --proxy URL,
 * and a handshake that is a state machine over bytes (sk_proxy_hs_*), so
 * that a blocking caller and an event loop drive the same code, and a
 * fuzzer can feed it without a socket.
 *
 * The handshake never consumes a byte past the proxy's answer: SOCKS
 * replies are read to their exact length, and an HTTP answer head is
 * peeked at and only its own bytes are taken, so whatever the target sent
 * behind it stays in the socket for the relay (or TLS).
 */
#ifndef SK_PROXY_H
#define SK_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "err.h"

enum sk_proxy_kind {
	SK_PROXY_SOCKS5,  /* the target's name resolved here */
	SK_PROXY_SOCKS5H, /* ... by the proxy */
	SK_PROXY_SOCKS4,  /* IPv4 addresses only, resolved here */
	SK_PROXY_SOCKS4A, /* the name resolved by the proxy */
	SK_PROXY_HTTP,	  /* HTTP CONNECT: the name resolved by the proxy */
};

#define SK_PROXY_NAME_MAX 255	/* a host name, a user name, a password */
#define SK_PROXY_HEAD_MAX 16384 /* an HTTP CONNECT answer head */

/* A parsed --proxy URL. Holds credentials: free with sk_proxy_wipe. */
struct sk_proxy {
	enum sk_proxy_kind kind;
	char host[SK_PROXY_NAME_MAX + 1]; /* without IPv6 brackets */
	unsigned port;
	bool auth; /* user (and pass) are set */
	char user[SK_PROXY_NAME_MAX + 1];
	char pass[SK_PROXY_NAME_MAX + 1];
};

/*
 * Parses SCHEME://[USER[:PASS]@]HOST[:PORT][/] (SCHEME: socks5, socks5h,
 * socks4, socks4a or http, any case; PORT: 1080 when absent; USER and
 * PASS percent-decoded). Returns 0, or -1 with errno EINVAL and err
 * saying what is wrong, never quoting the credentials.
 */
int sk_proxy_parse_url(const char *url, struct sk_proxy *px, char *err);

/*
 * Takes credentials as USER[:PASS] (not decoded), for the environment.
 * Returns 0, or -1 with errno EINVAL and err.
 */
int sk_proxy_set_auth(struct sk_proxy *px, const char *userpass, char *err);

/*
 * Checks that px's credentials fit its kind (SOCKS4 sends a user ID and
 * no password; SOCKS5 needs a user name). Returns 0, or -1 with err.
 */
int sk_proxy_check_auth(const struct sk_proxy *px, char *err);

/* Clears the credentials. */
void sk_proxy_wipe(struct sk_proxy *px);

/* "SOCKS5", "SOCKS4", "SOCKS4a" or "HTTP CONNECT". */
const char *sk_proxy_kind_name(enum sk_proxy_kind kind);

/* Whether the proxy, not this side, resolves the target's name. */
bool sk_proxy_resolves(enum sk_proxy_kind kind);

/*
 * The target to reach through the proxy: a name or a literal (brackets
 * allowed), and for SOCKS5 and SOCKS4 with a name, the address it
 * resolved to here (SOCKS4: IPv4).
 */
struct sk_proxy_dest {
	const char *host;
	unsigned port;
	const struct sockaddr *addr; /* NULL: none (a literal host, or the proxy resolves) */
	socklen_t addrlen;
};

struct sk_proxy_hs;

/*
 * A handshake with px for dest. The credentials are copied (and wiped
 * by sk_proxy_hs_free). Returns NULL with errno and err: EINVAL when the
 * target cannot be said in the protocol (a name longer than 255 bytes,
 * an IPv6 target through SOCKS4, a name through SOCKS5/SOCKS4 without an
 * address), ENOMEM.
 */
struct sk_proxy_hs *sk_proxy_hs_new(const struct sk_proxy *px, const struct sk_proxy_dest *dest,
				    char *err);

void sk_proxy_hs_free(struct sk_proxy_hs *hs);

/*
 * Each step, as the handshake takes it, without credentials
 * ("SOCKS5: the proxy chose username/password"), for -v.
 */
void sk_proxy_hs_set_log(struct sk_proxy_hs *hs, void (*log)(void *ctx, const char *line),
			 void *ctx);

/* ---- the machine, without a socket (tests and fuzzing use it directly) */

enum sk_proxy_state {
	SK_PROXY_SEND,	 /* bytes wait in sk_proxy_hs_output */
	SK_PROXY_RECV,	 /* it wants the proxy's bytes */
	SK_PROXY_DONE,	 /* the tunnel is open */
	SK_PROXY_FAILED, /* see sk_proxy_hs_error */
};

enum sk_proxy_state sk_proxy_hs_state(const struct sk_proxy_hs *hs);

/* The bytes to send now: sets *out and returns their count. */
size_t sk_proxy_hs_output(const struct sk_proxy_hs *hs, const unsigned char **out);

/* n of those bytes were sent. */
void sk_proxy_hs_sent(struct sk_proxy_hs *hs, size_t n);

/*
 * The most bytes the next sk_proxy_hs_input may take; and whether it may
 * take fewer than it is given (*partial: the HTTP head, whose end is
 * found in the bytes), so that a socket must be peeked at, not read.
 */
size_t sk_proxy_hs_want(const struct sk_proxy_hs *hs, bool *partial);

/*
 * Hands the machine n bytes the proxy sent. Returns how many it took
 * (at most sk_proxy_hs_want's), after which the state may have moved on
 * (SK_PROXY_FAILED: the answer was a refusal or malformed).
 */
size_t sk_proxy_hs_input(struct sk_proxy_hs *hs, const unsigned char *in, size_t n);

/*
 * The reason of SK_PROXY_FAILED ("SOCKS5: connection refused by the
 * destination (reply 5)"), and the errno that goes with it: ECONNREFUSED,
 * ENETUNREACH, EHOSTUNREACH or ETIMEDOUT when the proxy could not reach
 * the target (worth a retry), EACCES for a refusal of us, EPROTO for a
 * malformed answer, ECONNRESET when the proxy closed.
 */
const char *sk_proxy_hs_error(const struct sk_proxy_hs *hs);
int sk_proxy_hs_errno(const struct sk_proxy_hs *hs);

/*
 * The proxy closed (or reset) the connection before the handshake ended:
 * moves to SK_PROXY_FAILED naming the step.
 */
void sk_proxy_hs_eof(struct sk_proxy_hs *hs, int e);

/* The deadline passed: moves to SK_PROXY_FAILED naming what it waited for. */
void sk_proxy_hs_timeout(struct sk_proxy_hs *hs);

/* ---- over a non-blocking socket */

enum sk_proxy_step {
	SK_PROXY_STEP_DONE,
	SK_PROXY_STEP_READ,  /* wait for fd to be readable, then step again */
	SK_PROXY_STEP_WRITE, /* ... writable */
	SK_PROXY_STEP_FAILED,
};

/*
 * Moves the handshake on fd as far as it goes without blocking. On
 * SK_PROXY_STEP_FAILED, errno is set as for sk_proxy_hs_errno and err
 * holds the reason.
 */
enum sk_proxy_step sk_proxy_step(struct sk_proxy_hs *hs, int fd, char *err);

/*
 * Runs the handshake on fd to its end, within timeout_ms (negative: no
 * limit), giving up early when stop_fd (if >= 0) becomes readable
 * (errno EINTR). Returns 0, or -1 with errno and err.
 */
int sk_proxy_handshake_wait(struct sk_proxy_hs *hs, int fd, int timeout_ms, int stop_fd, char *err);

#endif
