/*
 * tls.h - TLS sessions, the one module that sees the TLS library.
 *
 * A context (struct sk_tls_ctx) holds what every session of a command
 * shares: the role, the trust, the certificate, the protocol floor. A
 * session (struct sk_tls) runs over one connected, non-blocking socket;
 * sk_tls_endpoint() turns it into a relay endpoint, and serve-http drives
 * it through the same ops. Nothing here blocks except
 * sk_tls_handshake_wait(), which polls with a deadline.
 *
 * Built without TLS (make TLS=0, or no OpenSSL headers), every function
 * exists, sk_tls_built_in() is false and the constructors fail with
 * ENOTSUP and "TLS is not built in".
 */
#ifndef SK_TLS_H
#define SK_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "endpoint.h"
#include "err.h"

#define SK_TLS_FP_LEN 72 /* "sha256:" + 64 hex digits + NUL */

/* True when TLS is built in. */
bool sk_tls_built_in(void);

/* Writes "OpenSSL 3.0.19" (the library in use), or "not built in", into buf. */
void sk_tls_library(char *buf, size_t len);

enum sk_tls_role { SK_TLS_CLIENT, SK_TLS_SERVER };

struct sk_tls_config {
	enum sk_tls_role role;
	const char *cert_file; /* PEM certificate (and chain); NULL: none (server: made up) */
	const char *key_file;  /* PEM key; NULL: in cert_file */
	const char *alpn;      /* comma list, "h2,http/1.1"; NULL: none */
	int min_version;       /* 12 or 13 (TLS 1.2 / 1.3) */
	/* Client. */
	const char *ca_file; /* trusted PEM certificates; NULL: the system's store */
	const char *pin;     /* a fingerprint (sk_tls_parse_pin's forms); NULL: none */
	bool insecure;	     /* verify nothing */
	/* Server. */
	const char *client_ca_file; /* require a client certificate issued by these */
	const char *const *names;   /* made-up certificate: extra DNS names or IPs, NULL-ended */
	bool release_buffers;	    /* idle sessions give their buffers back (many idle clients) */
};

struct sk_tls_ctx;
struct sk_tls;

/*
 * Parses a --tls-min value ("1.2" or "1.3"). Returns 12 or 13, or -1
 * when s is neither.
 */
int sk_tls_parse_min(const char *s);

/*
 * Parses a certificate fingerprint: "sha256:" and 64 hex digits, or 32
 * colon-separated hex pairs ("AB:CD:..."), either case. Stores the 32
 * bytes in out. Returns 0, or -1 with err saying what is wrong.
 */
int sk_tls_parse_pin(const char *s, unsigned char out[32], char *err);

/*
 * Makes a context: TLS 1.2 and 1.3 only (from min_version up), the
 * library's default ciphers at security level 2, no compression, no
 * renegotiation. A server without cert_file gets a fresh self-signed
 * ECDSA P-256 certificate for the host's name, localhost, 127.0.0.1, ::1
 * and names. Returns the context, or NULL with err (unreadable or
 * mismatched certificate and key, a bad pin, ...; errno EINVAL for a bad
 * setting, ENOTSUP without TLS, ENOMEM).
 */
struct sk_tls_ctx *sk_tls_ctx_new(const struct sk_tls_config *c, char *err);

void sk_tls_ctx_free(struct sk_tls_ctx *ctx);

/* The context's own certificate's fingerprint, "sha256:" + 64 lowercase hex digits, or "". */
const char *sk_tls_ctx_fingerprint(const struct sk_tls_ctx *ctx);

/*
 * Starts a session over the connected socket fd (made non-blocking; it
 * stays the caller's to close). A client checks the server's certificate
 * against verify_name (a DNS name or an IP literal; ignored with a pin
 * or insecure) and sends sni (NULL: none; never an IP literal). Returns
 * the session, or NULL with err (ENOMEM, ENOTSUP).
 */
struct sk_tls *sk_tls_new(struct sk_tls_ctx *ctx, int fd, const char *verify_name, const char *sni,
			  char *err);

void sk_tls_free(struct sk_tls *t);

/* Names the peer ("127.0.0.1:5555") in t's messages; "the peer" until then. */
void sk_tls_set_peer(struct sk_tls *t, const char *peer);

/* The socket t runs over. */
int sk_tls_fd(const struct sk_tls *t);

enum sk_tls_step {
	SK_TLS_DONE = 0,       /* the handshake is over (and the peer verified) */
	SK_TLS_WANT_READ = 1,  /* call again once fd is readable */
	SK_TLS_WANT_WRITE = 2, /* call again once fd is writable */
	SK_TLS_FAILED = -1,    /* err says why; the session is dead */
	SK_TLS_PLAINTEXT = -2, /* server: the client spoke plain text (an HTTP request?) */
};

/*
 * Takes the handshake one step. A client's verification failure is
 * SK_TLS_FAILED with "certificate verify failed for NAME: REASON" in err,
 * before any application data moves. A server whose client starts with
 * a printable ASCII letter gets SK_TLS_PLAINTEXT, nothing read.
 */
enum sk_tls_step sk_tls_handshake(struct sk_tls *t, char *err);

/*
 * Runs the handshake to its end, polling fd for up to timeout_ms (-1:
 * no limit) and stop_fd (-1: none). Returns 0, or -1 with err (errno
 * ETIMEDOUT, EINTR when stop_fd became readable, EPROTO when TLS failed,
 * EPROTONOSUPPORT for SK_TLS_PLAINTEXT).
 */
int sk_tls_handshake_wait(struct sk_tls *t, int timeout_ms, int stop_fd, char *err);

/*
 * One line about the finished handshake: "TLSv1.3, TLS_AES_256_GCM_SHA384,
 * ALPN h2, peer CN=example.com, sha256:..." (no ALPN, no peer parts when
 * there are none).
 */
void sk_tls_describe(const struct sk_tls *t, char *buf, size_t len);

/* The peer certificate's fingerprint into fp (SK_TLS_FP_LEN), "" when none. */
void sk_tls_peer_fingerprint(const struct sk_tls *t, char *fp);

/*
 * Reads or writes application data (the endpoint's read and write ops).
 * Return as the endpoint ops do: -1 with errno EAGAIN when the session
 * waits for the socket (sk_tls_poll_events says for what), 0 from read
 * at the peer's close_notify, -1 with EPIPE when the peer is gone, and
 * -1 with EPROTO for a TLS failure, including ECONNABORTED for a TCP
 * close without close_notify (sk_tls_strerror has the text).
 */
ssize_t sk_tls_read(struct sk_tls *t, void *buf, size_t n);
ssize_t sk_tls_write(struct sk_tls *t, const void *buf, size_t n);

/*
 * Sends close_notify, then half-closes the socket. Returns 0, or -1 with
 * errno (EAGAIN: again once sk_tls_poll_events(t, POLLOUT) is ready).
 */
int sk_tls_shutdown_write(struct sk_tls *t);

/* True when read can return something without waiting on the socket. */
bool sk_tls_pending(const struct sk_tls *t);

/* The poll(2) events that let a read (want POLLIN) or write (POLLOUT) that said EAGAIN go on. */
short sk_tls_poll_events(const struct sk_tls *t, short want);

/* The text for errno e from one of t's calls: the TLS reason where there is one. */
const char *sk_tls_strerror(const struct sk_tls *t, int e);

/*
 * Makes ep an endpoint over t (its ops are the calls above; no zero
 * copy). t stays the caller's to free, after ep.
 */
void sk_tls_endpoint(struct sk_endpoint *ep, struct sk_tls *t);

/*
 * Runs "/bin/sh -c cmd" in this process's group with a socketpair as its
 * stdin and stdout, and relays between it and the handshaken session t
 * until the command has closed its end and the peer's data is delivered
 * (or the peer has gone). stop_fd (from sk_stop_signals, or -1) stops it.
 * Returns the command's exit code (128 + the signal when stopped), with
 * err set when the relay failed (a truncated or reset connection), or -1
 * with err when the command could not start.
 */
int sk_tls_carry(struct sk_tls *t, const char *cmd, int stop_fd, char *err);

#endif
