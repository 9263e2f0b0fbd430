/*
 * response.h - HTTP/1.1 responses built in memory: the status line and
 * head, error pages, redirects, inline bodies and file bodies (sent
 * afterwards with sendfile).
 */
#ifndef SK_RESPONSE_H
#define SK_RESPONSE_H

#include <stdbool.h>
#include <sys/types.h>

#include "filecache.h"
#include "http.h"
#include "outbuf.h"

/*
 * One response. The caller sets server, date, keep_alive and http10, then
 * builds it; a builder that fails (-1, errno ENOMEM) leaves it
 * incomplete, never to be sent: answer 500 instead, or close.
 */
struct sk_hresp {
	const char *server; /* the Server header */
	const char *date;   /* the Date header, an IMF-fixdate */
	const char *always; /* header lines for every response ("Name: value\r\n"...), or NULL */
	bool keep_alive;    /* cleared by error statuses that end the connection */
	bool http10;	    /* the request was HTTP/1.0 */
	struct sk_buf out;  /* status line, head, and any body that fits in memory */
	size_t out_off;	    /* bytes of out already sent */
	int file;	    /* a body still to send from this fd (owned), or -1 */
	off_t file_start, file_off, file_end; /* the body's range, and how far it went */
	int status;			      /* for the log */
	long long body_bytes;		      /* for the log */
};

/* Empties r for the next response (its buffer is kept; a file is closed). */
void sk_hresp_reset(struct sk_hresp *r);

/* Frees what r holds. */
void sk_hresp_free(struct sk_hresp *r);

/*
 * Builds a response with an inline body of len bytes (left out for HEAD)
 * and extra header lines ("Name: value\r\n"..., or NULL). Returns 0, or
 * -1 with errno ENOMEM.
 */
int sk_hresp_body(struct sk_hresp *r, int status, const char *ctype, const char *extra,
		  const char *body, size_t len, bool head_only);

/*
 * Builds an error page for status (also 301 and the like), with extra
 * header lines or NULL. Statuses from 400 up, but for 401, 404 and 416,
 * end the connection. Returns 0, or -1 with errno ENOMEM.
 */
int sk_hresp_error(struct sk_hresp *r, int status, bool head_only, const char *extra);

/*
 * Builds a 301 to the directory path ("a/b" -> "/a/b/"), each segment
 * percent-encoded. Returns 0, or -1 with errno ENOMEM.
 */
int sk_hresp_redirect(struct sk_hresp *r, const char *path, bool head_only);

/*
 * "Location: /PATH\r\n" for a path beneath the root, each segment
 * percent-encoded (never "//host"), with a trailing slash when dir and
 * the path is not the root. Returns it (malloc'd), or NULL with errno
 * ENOMEM.
 */
char *sk_hresp_location(const char *path, bool dir);

/*
 * Builds a response without a body or Content-Length (204), with extra
 * header lines or NULL. Returns 0, or -1 with errno ENOMEM.
 */
int sk_hresp_empty(struct sk_hresp *r, int status, const char *extra);

/*
 * Builds the answer to req for a cached file: 200, 206 for a Range, 304
 * when it is not modified, 416. A small body goes into out, a larger one
 * is left to send from r->file (a dup of the cache's fd, which the cache
 * may close meanwhile). ctype (NULL: the file's own) is the Content-Type
 * (a precompressed file is typed as the file it stands for); extra (or
 * NULL) are header lines for the 200, 206 and 304. Returns 0, or -1 with
 * errno (ENOMEM, or dup's).
 */
int sk_hresp_file(struct sk_hresp *r, const struct sk_http_req *req, const struct sk_fentry *e,
		  const char *ctype, const char *extra);

#endif
