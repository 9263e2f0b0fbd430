/* chunked.h - a strict, incremental decoder of chunked message bodies (RFC 9112 7.1). */
#ifndef SK_CHUNKED_H
#define SK_CHUNKED_H

#include <stddef.h>

#define SK_CHUNKED_MAX_SIZE	(1ULL << 62) /* a larger chunk-size is 400 */
#define SK_CHUNKED_MAX_LINE	4096	     /* a chunk line (size, extensions, CR) */
#define SK_CHUNKED_MAX_TRAILER	16384	     /* the trailer section, line ends included */
#define SK_CHUNKED_MAX_TRAILERS 100	     /* trailer field lines */
#define SK_CHUNKED_NO_LIMIT	(~0ULL)	     /* max_body when the caller sets none */

enum sk_chunked_result {
	SK_CHUNKED_MORE,  /* feed the input not consumed yet, or more input */
	SK_CHUNKED_DONE,  /* last chunk and trailer section complete */
	SK_CHUNKED_ERROR, /* malformed or too large: see status */
};

/*
 * The decoder: a state machine that holds no input, so a body may arrive
 * in slices of any size. Read status and body_len; the rest is private.
 */
struct sk_chunked {
	int state;
	int status;		     /* after SK_CHUNKED_ERROR: 400, or 413 past max_body */
	unsigned long long body_len; /* data bytes so far */
	unsigned long long max_body;
	unsigned long long left; /* the chunk-size being read, then its bytes still to come */
	size_t line_len;	 /* bytes of the chunk line so far */
	size_t trailer_len;	 /* bytes of the trailer section so far */
	unsigned trailers;	 /* trailer field lines so far */
};

/*
 * Starts decoding a body of at most max_body data bytes
 * (SK_CHUNKED_NO_LIMIT for no limit but SK_CHUNKED_MAX_SIZE per chunk).
 */
void sk_chunked_init(struct sk_chunked *c, unsigned long long max_body);

/*
 * Decodes from in[0..len). Sets *consumed to the bytes it used, and
 * *data, *data_len to the body bytes among them (one span inside in; NULL
 * and 0 when there are none). It stops after a span of data, so call it
 * again with in + *consumed while the result is SK_CHUNKED_MORE and input
 * is left; MORE with all of the input consumed asks for more input.
 *
 * Returns SK_CHUNKED_DONE once the last chunk and the trailer section
 * (checked like header fields, then dropped) have ended with CRLF:
 * anything after in + *consumed is not part of the body (a pipelined
 * request). Returns SK_CHUNKED_ERROR with c->status 400 for a body that
 * breaks RFC 9112 7.1 (chunk-size not 1*HEXDIG or above
 * SK_CHUNKED_MAX_SIZE, a bad chunk extension, a line end other than CRLF,
 * a bad trailer field, a chunk line or trailer section past its bound),
 * or 413 once the chunk-sizes add up past max_body; *consumed is then the
 * offset of the byte that broke the rule. After DONE or ERROR it returns
 * the same again and consumes nothing. Never fails otherwise; no errno.
 */
enum sk_chunked_result sk_chunked_feed(struct sk_chunked *c, const char *in, size_t len,
				       size_t *consumed, const char **data, size_t *data_len);

#endif
