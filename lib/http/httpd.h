/* httpd.h - a static HTTP/1.1 file server on one epoll loop. */
#ifndef SK_HTTPD_H
#define SK_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "fsafe.h"
#include "mime.h"

struct sk_acl;
struct sk_auth;
struct sk_tls_ctx;

struct sk_httpd_opts {
	int lfd;		    /* listening, non-blocking */
	const struct sk_root *root; /* the served directory */
	const struct sk_mime *mime;
	const char *server; /* the Server header, "sockctl/X.Y.Z" */
	bool listing;	    /* HTML listings of directories without index.html */
	int timeout_ms;	    /* request head and keep-alive idle limit */
	size_t max_conns;   /* connections at once */
	int stop_fd;	    /* readable: stop accepting, finish, return */
	/* Serve TLS with this server context (NULL: plain HTTP). The
	 * handshake counts against timeout_ms; a client that speaks plain
	 * HTTP gets a plain 400 that says to use https://. */
	struct sk_tls_ctx *tls;
	/* Set: a client it refuses is closed at once, before any TLS or
	 * HTTP, and logged with the request "-" and the status -. */
	const struct sk_acl *acl;
	/* Added to every response: "Name: value\r\n" lines (-H, --cors), or NULL. */
	const char *headers;
	bool cors;		   /* OPTIONS preflights answered (the headers carry the origin) */
	const char *cache_control; /* "Cache-Control: ...\r\n" on file responses, or NULL */
	const char *fallback;	   /* beneath the root: the answer for missing paths, or NULL */
	bool precompressed;	   /* .br, .zst, .gz siblings by Accept-Encoding */
	struct sk_auth *auth;	   /* Basic authentication of every request, or NULL */
	bool upload;		   /* PUT and multipart POST store files */
	bool overwrite;		   /* ... replacing what is there */
	unsigned long long max_upload;
	/* One Common Log Format line per response, newline included. */
	void (*on_log)(void *ctx, const char *line, size_t len);
	void *ctx;
};

/*
 * Serves until stop_fd becomes readable, then stops accepting, lets the
 * responses in flight finish (for up to timeout_ms) and returns 0; or
 * returns -1 with errno and err when the loop itself fails.
 */
int sk_httpd_run(const struct sk_httpd_opts *o, char *err);

#endif
