#include "chunked.h"

#include <stdbool.h>
#include <string.h>

#include "http.h"

/*
 * chunked-body   = *chunk last-chunk trailer-section CRLF
 * chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-val  = token / quoted-string
 * trailer-section = *( field-line CRLF )
 *
 * One state per place in that grammar; each byte moves it on or fails.
 */
enum state {
	S_SIZE0,	/* the first HEXDIG of a chunk-size */
	S_SIZE,		/* more HEXDIG, or what may follow them */
	S_BWS,		/* whitespace that must lead to ';' */
	S_EXT_NAME0,	/* after ';': BWS, then the name's first tchar */
	S_EXT_NAME,	/* in a chunk-ext-name */
	S_EXT_NAME_BWS, /* whitespace after a name: '=' or ';' next */
	S_EXT_VAL0,	/* after '=': BWS, then a token or a quoted-string */
	S_EXT_TOKEN,	/* in a token value */
	S_EXT_QUOTED,	/* in a quoted-string value */
	S_EXT_QPAIR,	/* after a backslash in it */
	S_EXT_END,	/* after the closing quote */
	S_SIZE_LF,	/* the LF of the chunk line */
	S_DATA,		/* chunk-data: c->left bytes */
	S_DATA_CR,	/* the CRLF after chunk-data */
	S_DATA_LF,
	S_TRAILER0,	 /* a trailer line's first byte, or the CR that ends the body */
	S_TRAILER_NAME,	 /* in a field-name */
	S_TRAILER_VALUE, /* after the colon, up to the CR */
	S_TRAILER_LF,
	S_END_LF, /* the LF that ends the body */
	S_DONE,
	S_ERROR
};

static bool ws(unsigned char b)
{
	return b == ' ' || b == '\t';
}

void sk_chunked_init(struct sk_chunked *c, unsigned long long max_body)
{
	memset(c, 0, sizeof(*c));
	c->state = S_SIZE0;
	c->max_body = max_body;
}

/*
 * The helpers below take one byte (or digit) and move c->state on. Each
 * returns 0, or the HTTP status of the rule the byte breaks.
 */

static int go(struct sk_chunked *c, enum state next)
{
	c->state = next;
	return 0;
}

/* One HEXDIG d of a chunk-size: 400 past SK_CHUNKED_MAX_SIZE, 413 past max_body. */
static int size_digit(struct sk_chunked *c, int d)
{
	if (c->left > (SK_CHUNKED_MAX_SIZE - (unsigned)d) / 16)
		return 400;
	c->left = c->left * 16 + (unsigned)d;
	if (c->left > c->max_body - c->body_len)
		return 413;
	c->state = S_SIZE;
	return 0;
}

/* After the size, a name, a token value or a quoted one: ';', BWS or CR. */
static int ext_next(struct sk_chunked *c, unsigned char b)
{
	if (b == ';')
		c->state = S_EXT_NAME0;
	else if (ws(b))
		c->state = S_BWS;
	else if (b == '\r')
		c->state = S_SIZE_LF;
	else
		return 400;
	return 0;
}

/* A byte of a quoted-string (RFC 9110 5.6.4): qdtext, quoted-pair, DQUOTE. */
static int quoted(struct sk_chunked *c, unsigned char b)
{
	bool text = b == '\t' || (b >= 0x20 && b != 0x7f); /* obs-text included */

	if (!text)
		return 400;
	if (c->state == S_EXT_QPAIR)
		c->state = S_EXT_QUOTED;
	else if (b == '"')
		c->state = S_EXT_END;
	else if (b == '\\')
		c->state = S_EXT_QPAIR;
	return 0;
}

/* A byte of chunk-ext: the state is one of S_BWS .. S_EXT_END. */
static int ext_byte(struct sk_chunked *c, unsigned char b)
{
	switch (c->state) {
	case S_BWS: return ws(b) ? 0 : b == ';' ? go(c, S_EXT_NAME0) : 400;
	case S_EXT_NAME0: return ws(b) ? 0 : sk_http_tchar(b) ? go(c, S_EXT_NAME) : 400;
	case S_EXT_NAME:
		if (sk_http_tchar(b))
			return 0;
		if (b == '=')
			return go(c, S_EXT_VAL0);
		return ws(b) ? go(c, S_EXT_NAME_BWS) : ext_next(c, b);
	case S_EXT_NAME_BWS:
		if (ws(b))
			return 0;
		if (b == '=')
			return go(c, S_EXT_VAL0);
		return b == ';' ? go(c, S_EXT_NAME0) : 400;
	case S_EXT_VAL0:
		if (ws(b))
			return 0;
		if (b == '"')
			return go(c, S_EXT_QUOTED);
		return sk_http_tchar(b) ? go(c, S_EXT_TOKEN) : 400;
	case S_EXT_TOKEN: return sk_http_tchar(b) ? 0 : ext_next(c, b);
	case S_EXT_QUOTED:
	case S_EXT_QPAIR: return quoted(c, b);
	default: return ext_next(c, b); /* S_EXT_END */
	}
}

/* A byte of the chunk line, chunk-size [ chunk-ext ] CR, up to SK_CHUNKED_MAX_LINE. */
static int line_byte(struct sk_chunked *c, unsigned char b)
{
	int d = sk_http_hexval(b);

	if (++c->line_len > SK_CHUNKED_MAX_LINE)
		return 400;
	if (c->state == S_SIZE0)
		return d >= 0 ? size_digit(c, d) : 400;
	if (c->state == S_SIZE)
		return d >= 0 ? size_digit(c, d) : ext_next(c, b);
	return ext_byte(c, b);
}

/* A byte of the trailer section or of the CRLF that ends the body. */
static int trailer_byte(struct sk_chunked *c, unsigned char b)
{
	if (++c->trailer_len > SK_CHUNKED_MAX_TRAILER)
		return 400;
	switch (c->state) {
	case S_TRAILER0:
		if (b == '\r')
			c->state = S_END_LF;
		else if (sk_http_tchar(b) && ++c->trailers <= SK_CHUNKED_MAX_TRAILERS)
			c->state = S_TRAILER_NAME;
		else
			return 400; /* also obs-fold, an empty name, a bare LF */
		return 0;
	case S_TRAILER_NAME:
		if (b == ':')
			c->state = S_TRAILER_VALUE;
		return b == ':' || sk_http_tchar(b) ? 0 : 400;
	case S_TRAILER_VALUE:
		if (b == '\r')
			c->state = S_TRAILER_LF;
		else if ((b < 0x20 && b != '\t') || b == 0x7f)
			return 400;
		return 0;
	default: /* S_TRAILER_LF, S_END_LF */
		if (b != '\n')
			return 400;
		c->state = c->state == S_END_LF ? S_DONE : S_TRAILER0;
		return 0;
	}
}

/* One byte anywhere but in chunk-data. */
static int step(struct sk_chunked *c, unsigned char b)
{
	switch (c->state) {
	case S_SIZE_LF:
		if (b != '\n')
			return 400;
		c->line_len = 0;
		c->state = c->left > 0 ? S_DATA : S_TRAILER0;
		return 0;
	case S_DATA_CR:
	case S_DATA_LF:
		if (b != (c->state == S_DATA_CR ? '\r' : '\n'))
			return 400;
		c->state = c->state == S_DATA_CR ? S_DATA_LF : S_SIZE0;
		return 0;
	default: return c->state < S_SIZE_LF ? line_byte(c, b) : trailer_byte(c, b);
	}
}

enum sk_chunked_result sk_chunked_feed(struct sk_chunked *c, const char *in, size_t len,
				       size_t *consumed, const char **data, size_t *data_len)
{
	size_t i = 0, n;
	int status;

	*data = NULL;
	*data_len = 0;
	while (i < len && c->state != S_DONE && c->state != S_ERROR) {
		if (c->state == S_DATA) {
			n = len - i < c->left ? len - i : (size_t)c->left;
			*data = in + i;
			*data_len = n;
			c->left -= n;
			c->body_len += n;
			i += n;
			if (c->left == 0)
				c->state = S_DATA_CR;
			break;
		}
		if ((status = step(c, (unsigned char)in[i])) != 0) {
			c->state = S_ERROR;
			c->status = status;
			break;
		}
		i++;
	}
	*consumed = i;
	if (c->state == S_DONE)
		return SK_CHUNKED_DONE;
	return c->state == S_ERROR ? SK_CHUNKED_ERROR : SK_CHUNKED_MORE;
}
