/*
 * Unit tests of lib/http/chunked.c: every body is decoded whole and in
 * slices of 1, 2, 3, 5 and 7 bytes (each slice its own buffer, so that a
 * read past it shows under ASan), and every way must agree.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chunked.h"

struct outcome {
	enum sk_chunked_result res;
	int status;
	size_t consumed; /* over all calls */
	unsigned long long body_len;
	char body[256];
	size_t got; /* bytes of data handed out */
	bool bad_span;
};

static void take(struct outcome *o, const char *data, size_t len, const char *in, size_t used)
{
	if ((len && (data < in || data + len > in + used)) || (!len && data))
		o->bad_span = true;
	if (len && o->got + len <= sizeof(o->body))
		memcpy(o->body + o->got, data, len);
	o->got += len;
}

/* Feeds in[0..len) in slices of step bytes (0: all at once) until DONE or ERROR. */
static void decode(const char *in, size_t len, size_t step, unsigned long long max,
		   struct outcome *o)
{
	struct sk_chunked c;
	size_t off = 0, n, pos, used, dlen;
	const char *data;
	char *slice;

	memset(o, 0, sizeof(*o));
	sk_chunked_init(&c, max);
	o->res = SK_CHUNKED_MORE;
	while (off < len && o->res == SK_CHUNKED_MORE) {
		n = step && len - off > step ? step : len - off;
		slice = malloc(n);
		memcpy(slice, in + off, n);
		for (pos = 0; pos < n && o->res == SK_CHUNKED_MORE; pos += used) {
			o->res = sk_chunked_feed(&c, slice + pos, n - pos, &used, &data, &dlen);
			take(o, data, dlen, slice + pos, used);
			if (o->res == SK_CHUNKED_MORE && used == 0)
				o->bad_span = true; /* no progress */
			if (o->bad_span)
				break;
		}
		free(slice);
		off += pos;
		if (o->bad_span || pos < n)
			break;
	}
	o->consumed = off;
	o->status = c.status;
	o->body_len = c.body_len;
}

/*
 * Decodes in every way; checks the result, status, bytes consumed (want_used;
 * (size_t)-1 for all of in) and body. Returns whether all held.
 */
static bool same(const char *in, size_t len, unsigned long long max, enum sk_chunked_result res,
		 int status, size_t want_used, const char *body)
{
	static const size_t steps[] = {0, 1, 2, 3, 5, 7};
	struct outcome o;
	size_t i, blen = strlen(body);
	bool ok = true;

	if (want_used == (size_t)-1)
		want_used = len;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		decode(in, len, steps[i], max, &o);
		if (o.res != res || o.status != status || o.consumed != want_used ||
		    o.got != blen || o.body_len != blen || memcmp(o.body, body, blen) != 0 ||
		    o.bad_span) {
			fprintf(stderr, "step %zu: res %d status %d consumed %zu got %zu\n",
				steps[i], o.res, o.status, o.consumed, o.got);
			ok = false;
		}
	}
	return ok;
}

#define OK(s, body) same(s, sizeof(s) - 1, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, -1, body)
#define BAD(s, at)  same(s, sizeof(s) - 1, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_ERROR, 400, at, "")
#define BAD_AFTER(s, at, b)                                                                        \
	same(s, sizeof(s) - 1, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_ERROR, 400, at, b)

static void valid(void)
{
	CHECK(OK("5\r\nhello\r\n0\r\n\r\n", "hello"));
	CHECK(OK("0\r\n\r\n", ""));
	CHECK(OK("3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n", "abcd"));
	CHECK(OK("00A\r\n0123456789\r\n0000\r\n\r\n", "0123456789"));
	CHECK(OK("a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n", "01234567890123456789a"));
	CHECK(OK("4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n")); /* data is data */
}

/* Binary data, which OK() cannot spell: compared by length and bytes. */
static void binary(void)
{
	static const char in[] = "3\r\n\0\xff\n\r\n0\r\n\r\n";
	struct outcome o;

	decode(in, sizeof(in) - 1, 1, SK_CHUNKED_NO_LIMIT, &o);
	CHECK(o.res == SK_CHUNKED_DONE && o.got == 3 && memcmp(o.body, "\0\xff\n", 3) == 0);
	decode(in, sizeof(in) - 1, 0, SK_CHUNKED_NO_LIMIT, &o);
	CHECK(o.res == SK_CHUNKED_DONE && o.got == 3 && memcmp(o.body, "\0\xff\n", 3) == 0);
}

static void extensions(void)
{
	CHECK(OK("3;a\r\nabc\r\n0\r\n\r\n", "abc"));
	CHECK(OK("3;a=b;c;d=\"x;y\\\"z\" ; e = f\r\nabc\r\n0;last\r\n\r\n", "abc"));
	CHECK(OK("3 ;a\t;\tb=\"\"\r\nabc\r\n0\r\n\r\n", "abc"));
	CHECK(OK("3;q=\"\xc3\xa9\\\xff\t\"\r\nabc\r\n0\r\n\r\n", "abc")); /* obs-text */
	CHECK(OK("3;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nabc\r\n0\r\n\r\n", "abc"));
	CHECK(BAD("5;\r\n", 2));
	CHECK(BAD("5;;a\r\n", 2));
	CHECK(BAD("5;=x\r\n", 2));
	CHECK(BAD("5;a=\r\n", 4));
	CHECK(BAD("5;a=;\r\n", 4));
	CHECK(BAD("5;a b\r\n", 4));
	CHECK(BAD("5;a=b c\r\n", 6));
	CHECK(BAD("5;a=\"x\"y\r\n", 7));
	CHECK(BAD("5;a=\"x\r\n\"\r\n", 6));
	CHECK(BAD("5;a=\"\x01\"\r\n", 5));
	CHECK(BAD("5;a=\"\\\x01\"\r\n", 6));
	CHECK(BAD("5;a=\"\x7f\"\r\n", 5));
	CHECK(BAD("5;a\x7f\r\n", 3));
	CHECK(BAD("5;a=@\r\n", 4));
	CHECK(BAD("5;a=b@\r\n", 5));
	CHECK(BAD("5;\xc3\xa9\r\n", 2));
	CHECK(BAD("5;a \r\n", 4));   /* BWS leads to '=' or ';', never to the line end */
	CHECK(BAD("5;a=b \r\n", 6)); /* likewise */
	CHECK(BAD("5 \r\n", 2));
	CHECK(BAD("5;a\n", 3));
}

static void sizes(void)
{
	CHECK(BAD("\r\n", 0));
	CHECK(BAD(";a\r\n", 0));
	CHECK(BAD("x\r\n", 0));
	CHECK(BAD("+5\r\n", 0));
	CHECK(BAD("-5\r\n", 0));
	CHECK(BAD(" 5\r\n", 0));
	CHECK(BAD("0x5\r\n", 1));
	CHECK(BAD("5x\r\n", 1));
	CHECK(BAD("5\x00\r\n", 1));
	CHECK(BAD("5.0\r\n", 1));
	CHECK(BAD("4000000000000001\r\n", 15));	 /* 2^62 + 1 */
	CHECK(BAD("10000000000000000\r\n", 16)); /* 2^64 would wrap to 0 */
	CHECK(BAD("FFFFFFFFFFFFFFFFF\r\n", 15));
	CHECK(same("4000000000000000\r\nab", 20, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_MORE, 0, -1,
		   "ab")); /* 2^62 is the largest */
	CHECK(same("5\r\nhel", 6, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_MORE, 0, -1, "hel"));
	CHECK(same("", 0, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_MORE, 0, -1, ""));
}

/* CRLF, and only CRLF, after the chunk line, the data, each trailer and the body. */
static void line_ends(void)
{
	CHECK(BAD("5\nhello\r\n0\r\n\r\n", 1));
	CHECK(BAD("5\rhello\r\n0\r\n\r\n", 2));
	CHECK(BAD("5\r\r\nhello\r\n", 2));
	CHECK(BAD_AFTER("5\r\nhelloX\r\n0\r\n\r\n", 8, "hello"));
	CHECK(BAD_AFTER("5\r\nhello\n0\r\n\r\n", 8, "hello"));
	CHECK(BAD_AFTER("5\r\nhello\r0\r\n\r\n", 9, "hello"));
	CHECK(BAD_AFTER("5\r\nhello\r\n\r\n0\r\n\r\n", 10, "hello"));
	CHECK(BAD("0\r\n\n", 3));
	CHECK(BAD("0\r\n\r\r", 4));
	CHECK(BAD("0\n\r\n", 1));
	CHECK(BAD("0\r\nA: b\n\r\n", 7));
	CHECK(BAD("0\r\nA: b\r\r\n", 8));
}

static void trailers(void)
{
	char big[SK_CHUNKED_MAX_TRAILER + 64], *p;
	int i;

	CHECK(OK("1\r\nx\r\n0\r\nExpires: never\r\nX-Sum:\t abc\xff \r\n\r\n", "x"));
	CHECK(OK("0\r\nA:\r\n\r\n", ""));
	CHECK(BAD("0\r\nNoColon\r\n\r\n", 10));
	CHECK(BAD("0\r\n: v\r\n\r\n", 3));
	CHECK(BAD("0\r\nA : v\r\n\r\n", 4));
	CHECK(BAD("0\r\nA: b\r\n folded\r\n\r\n", 9));
	CHECK(BAD("0\r\nA: b\x01\r\n\r\n", 7));
	CHECK(BAD("0\r\nA: b\x7f\r\n\r\n", 7));
	CHECK(BAD("0\r\nA\xc3: b\r\n\r\n", 4));
	/* SK_CHUNKED_MAX_TRAILERS lines pass, one more does not. */
	p = big + sprintf(big, "0\r\n");
	for (i = 0; i < SK_CHUNKED_MAX_TRAILERS; i++)
		p += sprintf(p, "T%d:v\r\n", i);
	strcpy(p, "\r\n");
	CHECK(same(big, strlen(big), SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, -1, ""));
	sprintf(p, "X:v\r\n\r\n");
	CHECK(same(big, strlen(big), SK_CHUNKED_NO_LIMIT, SK_CHUNKED_ERROR, 400, (size_t)(p - big),
		   ""));
	/* The trailer section stops at SK_CHUNKED_MAX_TRAILER bytes. */
	p = big + sprintf(big, "0\r\nX: ");
	memset(p, 'a', SK_CHUNKED_MAX_TRAILER - 7);
	strcpy(p + SK_CHUNKED_MAX_TRAILER - 7, "\r\n\r\n"); /* "X: a...\r\n\r\n": the bound */
	CHECK(same(big, strlen(big), SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, -1, ""));
	strcpy(p + SK_CHUNKED_MAX_TRAILER - 7, "a\r\n\r\n");
	CHECK(same(big, strlen(big), SK_CHUNKED_NO_LIMIT, SK_CHUNKED_ERROR, 400,
		   3 + SK_CHUNKED_MAX_TRAILER, ""));
}

/* The chunk line stops at SK_CHUNKED_MAX_LINE bytes, CR included. */
static void long_lines(void)
{
	char line[SK_CHUNKED_MAX_LINE + 64];

	memset(line, 'a', sizeof(line));
	memcpy(line, "1;", 2);
	memcpy(line + SK_CHUNKED_MAX_LINE - 1, "\r\nx\r\n0\r\n\r\n", 10);
	CHECK(
	    same(line, SK_CHUNKED_MAX_LINE + 9, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, -1, "x"));
	memcpy(line + SK_CHUNKED_MAX_LINE, "\r\nx\r\n0\r\n\r\n", 10);
	CHECK(same(line, SK_CHUNKED_MAX_LINE + 10, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_ERROR, 400,
		   SK_CHUNKED_MAX_LINE, ""));
	memset(line, '0', sizeof(line)); /* leading zeros count too */
	CHECK(same(line, sizeof(line), SK_CHUNKED_NO_LIMIT, SK_CHUNKED_ERROR, 400,
		   SK_CHUNKED_MAX_LINE, ""));
	/* The bound is per line: the next chunk line starts again from 0. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "1;", 2);
	memcpy(line + SK_CHUNKED_MAX_LINE - 1, "\r\nx\r\n0;", 7);
	memcpy(line + SK_CHUNKED_MAX_LINE + 6, "b\r\n\r\n", 5);
	CHECK(
	    same(line, SK_CHUNKED_MAX_LINE + 11, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, -1, "x"));
}

static void limits(void)
{
	static const char two[] = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";

	CHECK(same("5\r\nhello\r\n0\r\n\r\n", 15, 5, SK_CHUNKED_DONE, 0, -1, "hello"));
	CHECK(same("5\r\nhello\r\n0\r\n\r\n", 15, 4, SK_CHUNKED_ERROR, 413, 0, ""));
	CHECK(same("0\r\n\r\n", 5, 0, SK_CHUNKED_DONE, 0, -1, ""));
	CHECK(same(two, sizeof(two) - 1, 6, SK_CHUNKED_DONE, 0, -1, "abcdef"));
	CHECK(same(two, sizeof(two) - 1, 5, SK_CHUNKED_ERROR, 413, 8, "abc"));
	CHECK(same("00000006\r\n", 10, 5, SK_CHUNKED_ERROR, 413, 7, ""));
	CHECK(same("FFFFFFFFFFFFFFFFF\r\n", 19, 1000, SK_CHUNKED_ERROR, 413, 2, ""));
}

/* DONE leaves what follows alone; DONE and ERROR are final. */
static void pipelining(void)
{
	static const char in[] = "2;x=y\r\nhi\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	struct sk_chunked c;
	const char *data;
	size_t used, dlen;

	CHECK(same(in, sizeof(in) - 1, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, 22, "hi"));
	CHECK(same("0\r\n\r\n0\r\n\r\n", 10, SK_CHUNKED_NO_LIMIT, SK_CHUNKED_DONE, 0, 5, ""));
	sk_chunked_init(&c, SK_CHUNKED_NO_LIMIT);
	CHECK(sk_chunked_feed(&c, "0\r\n\r\n", 5, &used, &data, &dlen) == SK_CHUNKED_DONE &&
	      used == 5 && dlen == 0 && !data);
	CHECK(sk_chunked_feed(&c, "1\r\nx", 4, &used, &data, &dlen) == SK_CHUNKED_DONE &&
	      used == 0 && dlen == 0);
	sk_chunked_init(&c, SK_CHUNKED_NO_LIMIT);
	CHECK(sk_chunked_feed(&c, "z", 1, &used, &data, &dlen) == SK_CHUNKED_ERROR && used == 0 &&
	      c.status == 400);
	CHECK(sk_chunked_feed(&c, "0\r\n\r\n", 5, &used, &data, &dlen) == SK_CHUNKED_ERROR &&
	      used == 0 && c.status == 400);
	/* A call stops after a span of data; the caller goes on from *consumed. */
	sk_chunked_init(&c, SK_CHUNKED_NO_LIMIT);
	CHECK(sk_chunked_feed(&c, in, sizeof(in) - 1, &used, &data, &dlen) == SK_CHUNKED_MORE &&
	      used == 9 && dlen == 2 && data == in + 7);
	CHECK(sk_chunked_feed(&c, in + 9, sizeof(in) - 10, &used, &data, &dlen) ==
		  SK_CHUNKED_DONE &&
	      used == 13 && dlen == 0 && c.body_len == 2);
}

int main(void)
{
	valid();
	binary();
	extensions();
	sizes();
	line_ends();
	trailers();
	long_lines();
	limits();
	pipelining();
	return check_summary("chunked");
}
