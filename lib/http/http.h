/* http.h - HTTP/1.x request parsing (RFC 9112) and the pieces a static server needs. */
#ifndef SK_HTTP_H
#define SK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SK_HTTP_MAX_TARGET  8192  /* a longer request-target gets 414 */
#define SK_HTTP_MAX_HEAD    16384 /* a longer request head gets 431 */
#define SK_HTTP_MAX_HEADERS 100	  /* more header fields get 431 */

enum sk_http_method { SK_GET, SK_HEAD, SK_PUT, SK_POST, SK_OPTIONS, SK_OTHER_KNOWN, SK_UNKNOWN };

/* A parsed request head. Strings point into the caller's buffer. */
struct sk_http_req {
	enum sk_http_method method;
	const char *method_str;
	size_t method_len;
	int minor;	    /* HTTP/1.minor: 0 or 1 */
	const char *target; /* the request-target as sent */
	size_t target_len;
	const char *host, *range, *if_range, *if_none_match, *if_modified_since;
	size_t host_len, range_len, if_range_len, if_none_match_len, if_modified_since_len;
	/* For --auth, --cors, --precompressed and --upload (NULL: absent). */
	const char *authorization, *origin, *ac_method, *ac_headers, *accept_encoding;
	size_t authorization_len, origin_len, ac_method_len, ac_headers_len, accept_encoding_len;
	const char *content_type;
	size_t content_type_len;
	bool expect_continue; /* Expect: 100-continue */
	bool expect_other;    /* an Expect the server cannot meet: 417 */
	bool content_range;   /* Content-Range: a partial PUT, which is refused (RFC 9110 14.5) */
	bool keep_alive;      /* by version and Connection */
	bool has_body;	      /* Content-Length > 0 or chunked */
	bool chunked; /* Transfer-Encoding ends in chunked: the body is chunked (chunked.h) */
	unsigned long long content_length; /* the Content-Length value; 0 when absent or chunked */
	size_t line_len;		   /* the request line without its line end */
	size_t head_len;		   /* bytes of the whole head, blank line included */
	int status;			   /* with SK_HTTP_BAD: the error status to answer */
};

enum sk_http_parse_result {
	SK_HTTP_PARTIAL,  /* more bytes are needed */
	SK_HTTP_COMPLETE, /* req is filled */
	SK_HTTP_BAD,	  /* req->status says how to answer */
};

/*
 * Parses the request head at buf[0..len). Returns SK_HTTP_COMPLETE (req
 * filled), SK_HTTP_PARTIAL when more bytes are needed, or SK_HTTP_BAD with
 * req->status for a bad request: 400, 414 (target too long), 431 (head
 * too large) or 505 (HTTP version); an unknown method parses fine as
 * SK_UNKNOWN (501 is the caller's answer). Methods other than GET and
 * HEAD that HTTP defines parse fine as SK_OTHER_KNOWN (405 is the
 * caller's answer). Body framing is checked as RFC 9112 6 asks: 400 for
 * a Transfer-Encoding whose codings (all its field lines, one list) do
 * not end in a single chunked, for Transfer-Encoding in an HTTP/1.0
 * request or next to Content-Length, and for a bad or disagreeing
 * Content-Length; the caller closes after answering a 400.
 */
enum sk_http_parse_result sk_http_parse(const char *buf, size_t len, struct sk_http_req *req);

/*
 * Turns a request-target into a path relative to the served directory:
 * drops the scheme and authority of an absolute-form target ("http://"
 * or "https://", any case; an empty path there is "/"), drops the query,
 * percent-decodes once, and resolves "." and ".."
 * segments, collapsing repeated slashes. out (outlen bytes) gets a path
 * without a leading slash ("" for the root); *dir_slash says the target
 * ended in '/'. Returns 0, or -1 for a target that is malformed, holds
 * raw control bytes, an encoded NUL or a bad escape, or climbs above the
 * root.
 */
int sk_http_target_path(const char *target, size_t len, char *out, size_t outlen, bool *dir_slash);

/* A byte range resolved against a file size. */
struct sk_http_range {
	off_t start, len;
};

enum sk_http_range_result {
	SK_RANGE_UNSATISFIABLE = -1, /* answer 416 */
	SK_RANGE_IGNORE = 0,	     /* not a single byte range: serve the whole file */
	SK_RANGE_OK = 1,	     /* r is set */
};

/*
 * Parses a Range value for a file of size bytes: one range "bytes=a-b",
 * "a-" or "-n".
 */
enum sk_http_range_result sk_http_range(const char *v, size_t len, off_t size,
					struct sk_http_range *r);

/* True when c may stand in a token (RFC 9110 tchar), in any locale. */
bool sk_http_tchar(unsigned char c);

/* The index past the spaces and tabs (OWS) at v[i], before n. */
size_t sk_http_skip_ows(const char *v, size_t n, size_t i);

/* The index past the token at v[i], before n (i itself when there is none). */
size_t sk_http_token_end(const char *v, size_t n, size_t i);

/* The value of hex digit c (either case), or -1. */
int sk_http_hexval(unsigned char c);

/* Formats t as an IMF-fixdate into out (32 bytes). Returns out. */
char *sk_http_date(time_t t, char *out);

/* Parses an HTTP date (IMF-fixdate, RFC 850 or asctime). Returns 0 or -1. */
int sk_http_parse_date(const char *s, size_t len, time_t *t);

/*
 * True when the If-None-Match value v lists etag (or is "*"), with weak
 * comparison as RFC 9110 asks for that header.
 */
bool sk_http_etag_match(const char *v, size_t len, const char *etag);

/* Writes s with & < > " ' escaped for HTML. out needs 6 * n + 1 bytes. Returns the length. */
size_t sk_html_escape(const char *s, size_t n, char *out);

/* Percent-encodes a path segment (unreserved bytes stay). out needs 3 * n + 1 bytes. */
size_t sk_url_encode(const char *s, size_t n, char *out);

/*
 * Writes s for a log line: printable ASCII as it is, '"' and '\\' with a
 * backslash, anything else as \xHH. out needs 4 * n + 1 bytes. Returns the length.
 */
size_t sk_log_escape(const char *s, size_t n, char *out);

/* The reason phrase of an HTTP status. */
const char *sk_http_reason(int status);

#endif
