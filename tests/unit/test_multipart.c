/*
 * Unit tests of lib/http/multipart.c. Each body is parsed whole, in
 * slices of every size up to 64 and a few larger, split in two at every
 * offset, in three at every pair of offsets when it is short, and in
 * random slices; each slice is a buffer of its own, so that a read past it
 * shows under ASan. Every way must give the same transcript of events, the
 * one expected, and keep the rules of sk_mp_feed on every call.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "multipart.h"

/*
 * A transcript: PART as <name>[filename](ctype), the [] only with a file
 * name and the () only with a type; DATA as its bytes; PART_END as </>;
 * DONE as <$>; ERROR as <!why@offset>.
 */
struct transcript {
	char buf[20000];
	size_t len;
	const char *bad; /* a broken rule of sk_mp_feed, or NULL */
};

static void put(struct transcript *t, const char *s, size_t n)
{
	if (n > sizeof(t->buf) - t->len) {
		t->bad = "transcript too long";
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void put_str(struct transcript *t, const char *s)
{
	put(t, s, strlen(s));
}

static void record(struct transcript *t, const struct sk_multipart *mp, enum sk_mp_event ev,
		   const char *data, size_t dlen, size_t offset)
{
	char num[32];

	switch (ev) {
	case SK_MP_MORE: break;
	case SK_MP_PART:
		put_str(t, "<");
		put_str(t, mp->part.name);
		put_str(t, ">");
		if (mp->part.has_filename) {
			put_str(t, "[");
			put_str(t, mp->part.filename);
			put_str(t, "]");
		}
		if (mp->part.ctype[0]) {
			put_str(t, "(");
			put_str(t, mp->part.ctype);
			put_str(t, ")");
		}
		break;
	case SK_MP_DATA: put(t, data, dlen); break;
	case SK_MP_PART_END: put_str(t, "</>"); break;
	case SK_MP_DONE: put_str(t, "<$>"); break;
	case SK_MP_ERROR:
		snprintf(num, sizeof(num), "@%zu>", offset);
		put_str(t, "<!");
		put_str(t, mp->why ? mp->why : "(no why)");
		put_str(t, num);
		break;
	}
}

/* The rules of one call: what it consumed and handed out, and the order of events. */
static const char *call_rules(const struct sk_multipart *mp, enum sk_mp_event ev, const char *in,
			      size_t avail, size_t used, const char *data, size_t dlen,
			      bool *in_part)
{
	bool in_input = data >= in && data + dlen <= in + used;
	bool held = data >= mp->delim && data + dlen <= mp->delim + mp->delim_len;

	if (used > avail || (ev == SK_MP_MORE && used != avail))
		return "consumed";
	if (ev == SK_MP_DATA ? dlen == 0 || !(in_input || held) : data != NULL || dlen != 0)
		return "data span";
	if ((ev == SK_MP_PART && *in_part) ||
	    ((ev == SK_MP_DATA || ev == SK_MP_PART_END) && !*in_part) ||
	    (ev == SK_MP_DONE && *in_part))
		return "event order";
	if (ev == SK_MP_PART)
		*in_part = true;
	else if (ev == SK_MP_PART_END)
		*in_part = false;
	return NULL;
}

/*
 * Parses in[0..len) with boundary b, in slices of lens[0..n) bytes and then
 * the rest, calling as sk_mp_feed asks (until MORE, DONE or ERROR, with
 * nothing left too).
 */
static void parse(const char *b, const char *in, size_t len, const size_t *lens, size_t n,
		  struct transcript *t)
{
	static struct sk_multipart mp;
	enum sk_mp_event ev = SK_MP_MORE;
	size_t off = 0, k = 0, sz, pos, used, dlen, calls = 0, match;
	const char *data;
	char *slice;
	bool in_part = false;
	int state;

	t->len = 0;
	t->bad = NULL;
	sk_mp_init(&mp, b);
	while (ev != SK_MP_DONE && ev != SK_MP_ERROR && !t->bad && (off < len || k <= n)) {
		sz = k < n ? lens[k] : len - off;
		sz = sz < len - off ? sz : len - off;
		k++;
		slice = malloc(sz ? sz : 1);
		memcpy(slice, in + off, sz);
		pos = 0;
		do {
			state = mp.state;
			match = mp.match;
			ev = sk_mp_feed(&mp, slice + pos, sz - pos, &used, &data, &dlen);
			t->bad =
			    call_rules(&mp, ev, slice + pos, sz - pos, used, data, dlen, &in_part);
			if (!t->bad && ev != SK_MP_MORE && used == 0 && mp.state == state &&
			    mp.match == match && ev != SK_MP_DONE && ev != SK_MP_ERROR)
				t->bad = "no progress";
			if (++calls > 3 * len + 10)
				t->bad = "too many calls";
			record(t, &mp, ev, data, dlen, off + pos + used);
			pos += used;
		} while (!t->bad && ev != SK_MP_MORE && ev != SK_MP_DONE && ev != SK_MP_ERROR);
		free(slice);
		off += pos;
	}
	if (!t->bad && (ev == SK_MP_DONE || ev == SK_MP_ERROR) &&
	    (sk_mp_feed(&mp, in + off, len - off, &used, &data, &dlen) != ev || used || dlen))
		t->bad = "DONE and ERROR are final";
}

static void show(const char *what, const char *s, size_t n)
{
	size_t i;

	fprintf(stderr, "  %s: \"", what);
	for (i = 0; i < n && i < 400; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "\"%s\n", n > 400 ? " ..." : "");
}

struct want {
	const char *b, *in, *out;
	size_t len, out_len;
	bool ok;
};

/* Parses w->in in slices of lens[0..n); on the first disagreement, says how. */
static void try_slices(struct want *w, const size_t *lens, size_t n)
{
	static struct transcript t;
	size_t i;

	parse(w->b, w->in, w->len, lens, n, &t);
	if (!w->ok || (!t.bad && t.len == w->out_len && memcmp(t.buf, w->out, t.len) == 0))
		return;
	w->ok = false;
	fprintf(stderr, "multipart: boundary \"%s\", slices", w->b);
	for (i = 0; i < n && i < 20; i++)
		fprintf(stderr, " %zu", lens[i]);
	fprintf(stderr, "%s, then the rest: %s\n", n > 20 ? " ..." : "", t.bad ? t.bad : "");
	show("input", w->in, w->len);
	show("want", w->out, w->out_len);
	show("got", t.buf, t.len);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Parses in every way; true when every way gave the transcript out. */
static bool agree(const char *b, const char *in, size_t len, const char *out, size_t out_len)
{
	static const size_t big[] = {100, 127, 128, 1000, 4096};
	struct want w = {b, in, out, len, out_len, true};
	size_t *lens = malloc((len + 2) * sizeof(*lens)), i, j, n;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	try_slices(&w, NULL, 0);
	for (i = 1; i <= 64 + sizeof(big) / sizeof(big[0]) && w.ok; i++) {
		for (n = 0; n < len + 1; n++)
			lens[n] = i <= 64 ? i : big[i - 65];
		try_slices(&w, lens, n);
	}
	for (i = 0; i <= len && w.ok; i++)
		if (len <= 4096 || i < 300 || len - i < 300 || i % 7 == 0)
			try_slices(&w, &i, 1);
	for (i = 0; i <= len && len <= 160 && w.ok; i++) {
		for (j = 0; j <= len - i && w.ok; j++) {
			lens[0] = i;
			lens[1] = j;
			try_slices(&w, lens, 2);
		}
	}
	for (i = 0; i < 200 && w.ok; i++) {
		for (n = 0; n < len + 1; n++)
			lens[n] = xorshift(&seed) % 4 == 0 ? seed / 4 % 300 : seed / 4 % 9 + 1;
		try_slices(&w, lens, n);
	}
	free(lens);
	return w.ok;
}

#define B		 "bound"
#define SAME(b, in, out) agree(b, in, sizeof(in) - 1, out, sizeof(out) - 1)
#define OK(in, out)	 SAME(B, in, out)

/* in parses, every way, to the transcript before and then fails for why at offset at. */
static bool fails(const char *b, const char *in, size_t len, const char *before, size_t at,
		  const char *why)
{
	char out[1024];
	int n = snprintf(out, sizeof(out), "%s<!%s@%zu>", before, why, at);

	return agree(b, in, len, out, (size_t)n);
}

#define BAD(in, before, at, why) fails(B, in, sizeof(in) - 1, before, at, why)
#define AT(prefix)		 (sizeof(prefix) - 1)

/* Parts as they are often written below. */
#define DASH "--" B "\r\n"
#define CD   "Content-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n"
#define HEAD DASH CD "\r\n"
#define END  "\r\n--" B "--\r\n"

static void real_bodies(void)
{
	/* Chromium 156: fetch() of a FormData (a field, two files, an empty file input). */
	CHECK(SAME("----WebKitFormBoundary62ZqTTo1nFmSGBrY",
		   "------WebKitFormBoundary62ZqTTo1nFmSGBrY\r\n"
		   "Content-Disposition: form-data; name=\"title\"\r\n"
		   "\r\n"
		   "hello\r\n"
		   "world\r\n"
		   "------WebKitFormBoundary62ZqTTo1nFmSGBrY\r\n"
		   "Content-Disposition: form-data; name=\"f\"; "
		   "filename=\"na\xc3\xafve %22q%22.txt\"\r\n"
		   "Content-Type: text/plain\r\n"
		   "\r\n"
		   "line one\r\n"
		   "--not a boundary\r\n"
		   "\r\n"
		   "end\r\n"
		   "------WebKitFormBoundary62ZqTTo1nFmSGBrY\r\n"
		   "Content-Disposition: form-data; name=\"g\"; filename=\"bin.dat\"\r\n"
		   "Content-Type: application/octet-stream\r\n"
		   "\r\n"
		   "\x00\r\n"
		   "--\xff\r\n"
		   "------WebKitFormBoundary62ZqTTo1nFmSGBrY\r\n"
		   "Content-Disposition: form-data; name=\"e\"; filename=\"\"\r\n"
		   "Content-Type: application/octet-stream\r\n"
		   "\r\n"
		   "\r\n"
		   "------WebKitFormBoundary62ZqTTo1nFmSGBrY--\r\n",
		   "<title>hello\r\nworld</>"
		   "<f>[na\xc3\xafve %22q%22.txt](text/plain)line one\r\n--not a "
		   "boundary\r\n\r\nend</>"
		   "<g>[bin.dat](application/octet-stream)\x00\r\n--\xff</>"
		   "<e>[](application/octet-stream)</><$>"));
	/*
	 * curl 7.88 -F name=value -F 'f=@a.txt;type=text/plain' -F g=@bin.dat:
	 * bin.dat holds long prefixes of curl's own delimiter.
	 */
	CHECK(SAME("------------------------3eed98e967ea252a",
		   "--------------------------3eed98e967ea252a\r\n"
		   "Content-Disposition: form-data; name=\"name\"\r\n"
		   "\r\n"
		   "value\r\n"
		   "--------------------------3eed98e967ea252a\r\n"
		   "Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
		   "Content-Type: text/plain\r\n"
		   "\r\n"
		   "hello\r\n"
		   "world\n"
		   "--x\r\n"
		   "\r\n"
		   "--------------------------3eed98e967ea252a\r\n"
		   "Content-Disposition: form-data; name=\"g\"; filename=\"bin.dat\"\r\n"
		   "Content-Type: application/octet-stream\r\n"
		   "\r\n"
		   "\x00\x01\r\n"
		   "\r\n"
		   "------------------------\r\n"
		   "--------------------------\r\n"
		   "----\xff\r\n"
		   "--------------------------3eed98e967ea252a--\r\n",
		   "<name>value</>"
		   "<f>[a.txt](text/plain)hello\r\nworld\n--x\r\n</>"
		   "<g>[bin.dat](application/octet-stream)\x00\x01\r\n\r\n------------------------"
		   "\r\n--------------------------\r\n----\xff</><$>"));
	/* curl --form-escape: quoted-pairs in the file name. */
	CHECK(SAME("------------------------52b0165012824535",
		   "--------------------------52b0165012824535\r\n"
		   "Content-Disposition: form-data; name=\"g\"; "
		   "filename=\"na\\\"\xc3\xaf\\\\ve.txt\"\r\n"
		   "Content-Type: text/plain\r\n"
		   "\r\n"
		   "hello\r\n"
		   "world\n"
		   "--x\r\n"
		   "\r\n"
		   "--------------------------52b0165012824535--\r\n",
		   "<g>[na\"\xc3\xaf\\ve.txt](text/plain)hello\r\nworld\n--x\r\n</><$>"));
	/*
	 * curl's default (and the browsers') percent-encodes '"' but sends a
	 * backslash bare: it is kept (the upload then refuses the name).
	 */
	CHECK(SAME("------------------------fc42478f1d6de160",
		   "--------------------------fc42478f1d6de160\r\n"
		   "Content-Disposition: form-data; name=\"g\"; filename=\"a\\b %22q%22.txt\"\r\n"
		   "Content-Type: text/plain\r\n"
		   "\r\n"
		   "hello\r\n"
		   "--------------------------fc42478f1d6de160--\r\n",
		   "<g>[a\\b %22q%22.txt](text/plain)hello</><$>"));
}

/* One file part holding d[0..n): its data must come out exactly, every way. */
static bool holds(const char *b, const char *d, size_t n)
{
	char in[512], out[512];
	int h, o;

	h = snprintf(in, sizeof(in), "--%s\r\n" CD "\r\n", b);
	o = snprintf(out, sizeof(out), "<f>[x]");
	if (h < 0 || o < 0 || (size_t)h + n + 80 > sizeof(in) || (size_t)o + n + 8 > sizeof(out))
		return false;
	memcpy(in + h, d, n);
	h += (int)n + snprintf(in + h + n, sizeof(in) - (size_t)h - n, "\r\n--%s--\r\n", b);
	memcpy(out + o, d, n);
	memcpy(out + o + n, "</><$>", 6);
	return agree(b, in, (size_t)h, out, (size_t)o + n + 6);
}

#define HOLDS(d)      holds(B, d, sizeof(d) - 1)
#define HOLDS_B(b, d) holds(b, d, sizeof(d) - 1)

/* Data that looks like the start of a delimiter but is not passes through unchanged. */
static void lookalikes(void)
{
	static const char long_b[] = "0123456789'()+_,-./:=? abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
				     "KLMNOPQRSTU";

	CHECK(sizeof(long_b) - 1 == SK_MP_MAX_BOUNDARY);
	CHECK(HOLDS(""));
	CHECK(HOLDS("\r"));
	CHECK(HOLDS("\n"));
	CHECK(HOLDS("\r\n"));
	CHECK(HOLDS("\r\n\r\n"));
	CHECK(HOLDS("\r\n-"));
	CHECK(HOLDS("\r\n--"));
	CHECK(HOLDS("\r\n--b"));
	CHECK(HOLDS("\r\n--boun"));
	CHECK(HOLDS("\r\n--boun\r\n--boun"));
	CHECK(HOLDS("\r\n--bounX"));
	CHECK(HOLDS("\r\n--other"));
	CHECK(HOLDS("\r\n--BOUND")); /* the boundary is matched as it is, case and all */
	CHECK(HOLDS("\r\r\n--boun"));
	CHECK(HOLDS("\r\r\r\n--boun\r"));
	CHECK(HOLDS("\r\n-\r\n--"));
	CHECK(HOLDS("\r\n--\r\n--boun"));
	CHECK(HOLDS("\r\n --bound"));
	CHECK(HOLDS("\n--bound")); /* a bare LF does not start a delimiter */
	CHECK(HOLDS("\r--bound")); /* nor does a bare CR */
	CHECK(HOLDS("-"));	   /* at the start of the data, after the empty line's CRLF */
	CHECK(HOLDS("--"));
	CHECK(HOLDS("--boun"));
	CHECK(HOLDS("--bounX"));
	CHECK(HOLDS("-\r\n--boun"));
	CHECK(HOLDS("x--bound\r\n"));
	CHECK(HOLDS("\r\n--bou\rnd"));
	CHECK(HOLDS("\x00\r\n\x00--bound\xff\r\n-\xff"));
	CHECK(HOLDS_B("a", "\r\n--b\r\n-a\r\n--\r\n-"));
	CHECK(HOLDS_B(long_b, "\r\n--0123456789'()+_,-./:=? abcdefghij\r\n--0"));
	CHECK(HOLDS_B(long_b,
		      "--0123456789'()+_,-./:=? abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
		      "\r\n--0123456789'()+_,-./:=? abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"));
}

/* Preamble, padding, parts in a row, epilogue, and bodies cut short. */
static void structure(void)
{
	CHECK(OK("preamble\r\n--bound\r\n" CD "\r\nx" END, "<f>[x]x</><$>"));
	CHECK(OK("\r\n--bound\r\n" CD "\r\nx" END, "<f>[x]x</><$>"));
	CHECK(OK("a--bound\r\n\r\n--boun\r\n--bound\r\n" CD "\r\nx" END, "<f>[x]x</><$>"));
	CHECK(OK("--bound \t \r\n" CD "\r\nx\r\n--bound\t\r\n" CD "\r\ny\r\n--bound-- \r\n",
		 "<f>[x]x</><f>[x]y</><$>"));
	CHECK(OK(HEAD "\r\n--bound\r\n" CD "\r\n\r\n--bound--", "<f>[x]</><f>[x]</><$>"));
	CHECK(OK(HEAD "x" END "epilogue\r\n--bound\r\nnot a part\n", "<f>[x]x</><$>"));
	CHECK(OK(HEAD "x\r\n--bound--garbage", "<f>[x]x</><$>"));
	CHECK(OK(DASH "Content-Disposition: form-data; name=\"title\"\r\n\r\nhi" END,
		 "<title>hi</><$>"));
	/* A delimiter right after the header section: the empty line's CRLF is its too. */
	CHECK(OK(HEAD "--bound--\r\n", "<f>[x]</><$>"));
	CHECK(OK(HEAD "--bound\r\n" CD "\r\nx" END, "<f>[x]</><f>[x]x</><$>"));
	/* Cut short: never DONE, which the caller must take as a 400. */
	CHECK(OK("", ""));
	CHECK(OK("--bou", ""));
	CHECK(OK(DASH "Content-Disposition: form", ""));
	CHECK(OK(HEAD "abc", "<f>[x]abc"));
	CHECK(OK(HEAD "abc\r\n--bou", "<f>[x]abc"));
	CHECK(OK(HEAD "abc\r\n--bound", "<f>[x]abc"));
	CHECK(OK(HEAD "abc\r\n--bound-", "<f>[x]abc"));
	CHECK(OK(HEAD "abc\r\n--bound\r\n", "<f>[x]abc</>"));
	CHECK(OK("preamble without a delimiter\r\n--boun", ""));
}

/* Errors in delimiter lines. */
static void delimiters(void)
{
	CHECK(BAD("--bound--\r\n", "", AT("--bound-"), "the close delimiter before any part"));
	CHECK(BAD("pre\r\n--bound--", "", AT("pre\r\n--bound-"),
		  "the close delimiter before any part"));
	CHECK(BAD("--boundary\r\n", "", AT("--bound"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD("--bound\n", "", AT("--bound"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD("--bound\r\r\n", "", AT("--bound\r"), "a CR without LF after a delimiter"));
	CHECK(BAD("--bound \tx\r\n", "", AT("--bound \t"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD("--bound-x", "", AT("--bound-"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD(HEAD "abc\r\n--boundz", "<f>[x]abc", AT(HEAD "abc\r\n--bound"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD(HEAD "--boundz", "<f>[x]", AT(HEAD "--bound"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD(HEAD "abc\r\n--bound-\r\n", "<f>[x]abc", AT(HEAD "abc\r\n--bound-"),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD(HEAD "abc\r\n--bound \n", "<f>[x]abc", AT(HEAD "abc\r\n--bound "),
		  "a delimiter followed by other than CRLF or \"--\""));
	CHECK(BAD(HEAD "abc\r\n--bound\rX", "<f>[x]abc", AT(HEAD "abc\r\n--bound\r"),
		  "a CR without LF after a delimiter"));
}

/* The header section: its lines, its fields, and Content-Disposition. */
static void headers(void)
{
	CHECK(OK(DASH "content-disposition: FORM-DATA; NAME=f; FileName=a.txt\r\n\r\nd" END,
		 "<f>[a.txt]d</><$>"));
	CHECK(OK(DASH "X-Unknown: whatever; \"x\r\n" CD "Content-Type:  text/plain; "
		      "charset=utf-8 \t\r\nContent-Transfer-Encoding: BINARY\r\n\r\nd" END,
		 "<f>[x](text/plain; charset=utf-8)d</><$>"));
	CHECK(OK(DASH "Content-Disposition:form-data;name=\"f\";filename=\"x\"\r\n\r\nd" END,
		 "<f>[x]d</><$>"));
	CHECK(OK(DASH "Content-Disposition: form-data ; name=\"f\" ;\tfoo=\"a;b\\\"\" ; "
		      "bar=baz\r\n\r\nd" END,
		 "<f>d</><$>"));
	CHECK(OK(DASH "Content-Disposition: form-data; name=\"\"\r\n\r\nd" END, "<>d</><$>"));
	CHECK(OK(DASH "Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: 8bit\r\n" CD
		      "\r\nd" END,
		 "<f>[x]d</><$>"));
	CHECK(BAD(DASH "\r\nd" END, "", AT(DASH "\r\n"), "a part without Content-Disposition"));
	CHECK(BAD(DASH "Content-Type: text/plain\r\n\r\nd" END, "",
		  AT(DASH "Content-Type: text/plain\r\n\r\n"),
		  "a part without Content-Disposition"));
	CHECK(BAD(DASH CD CD "\r\n", "", AT(DASH CD CD "\r\n"), "a repeated Content-Disposition"));
	CHECK(BAD(DASH "Content-Disposition: attachment; name=\"f\"\r\n\r\n", "",
		  AT(DASH "Content-Disposition: attachment; name=\"f\"\r\n\r\n"),
		  "a Content-Disposition other than form-data"));
	CHECK(BAD(DASH "Content-Disposition: form-data\r\n\r\n", "",
		  AT(DASH "Content-Disposition: form-data\r\n\r\n"),
		  "a Content-Disposition without name="));
	CHECK(BAD(DASH "Content-Disposition: form-data; filename=\"x\"\r\n\r\n", "",
		  AT(DASH "Content-Disposition: form-data; filename=\"x\"\r\n\r\n"),
		  "a Content-Disposition without name="));
	CHECK(BAD(DASH "Content-Disposition: form-data;\r\n name=\"f\"\r\n\r\n", "",
		  AT(DASH "Content-Disposition: form-data;\r\n name=\"f\"\r\n\r\n"),
		  "a malformed Content-Disposition"));
	CHECK(BAD(DASH "Content-Disposition: form-data; name=\"f\"\r\n X: y\r\n\r\n", "",
		  AT(DASH "Content-Disposition: form-data; name=\"f\"\r\n X: y\r\n\r\n"),
		  "obs-fold in a part header"));
	CHECK(BAD(DASH "Content-Disposition : form-data; name=\"f\"\r\n\r\n", "",
		  AT(DASH "Content-Disposition : form-data; name=\"f\"\r\n\r\n"),
		  "a malformed part header line"));
	CHECK(BAD(DASH "NoColon\r\n" CD "\r\n", "", AT(DASH "NoColon\r\n" CD "\r\n"),
		  "a malformed part header line"));
	CHECK(BAD(DASH ": v\r\n" CD "\r\n", "", AT(DASH ": v\r\n" CD "\r\n"),
		  "a malformed part header line"));
	CHECK(BAD(DASH "X: a\x01z\r\n" CD "\r\n", "", AT(DASH "X: a\x01z\r\n" CD "\r\n"),
		  "a control byte in a part header"));
	CHECK(BAD(DASH "X: a\x7fz\r\n" CD "\r\n", "", AT(DASH "X: a\x7fz\r\n" CD "\r\n"),
		  "a control byte in a part header"));
	CHECK(BAD(DASH "X: a\x00z\r\n" CD "\r\n", "", AT(DASH "X: a\x00z\r\n" CD "\r\n"),
		  "a control byte in a part header"));
	CHECK(BAD(DASH "X: y\n" CD "\r\n", "", AT(DASH "X: y"), "a bare LF in a part header"));
	CHECK(BAD(DASH CD "\n", "", AT(DASH CD), "a bare LF in a part header"));
	CHECK(BAD(DASH "X: y\rz\r\n", "", AT(DASH "X: y\r"), "a CR without LF in a part header"));
	CHECK(BAD(DASH "\n", "", AT(DASH), "a bare LF in a part header"));
	CHECK(BAD(DASH CD "Content-Type: a/b\r\nContent-Type: a/b\r\n\r\n", "",
		  AT(DASH CD "Content-Type: a/b\r\nContent-Type: a/b\r\n\r\n"),
		  "a repeated Content-Type"));
	CHECK(BAD(DASH CD "Content-Transfer-Encoding: base64\r\n\r\n", "",
		  AT(DASH CD "Content-Transfer-Encoding: base64\r\n\r\n"),
		  "a Content-Transfer-Encoding other than 7bit, 8bit or binary"));
	/* A bad part after a good one: the good one was whole. */
	CHECK(BAD(HEAD "a\r\n--bound\r\nX: y\r\n\r\nb" END, "<f>[x]a</>",
		  AT(HEAD "a\r\n--bound\r\nX: y\r\n\r\n"), "a part without Content-Disposition"));
}

#define DISP(params)	      DASH "Content-Disposition: form-data; " params "\r\n\r\n"
#define DISP_OK(params, out)  OK(DISP(params) "d" END, out "d</><$>")
#define DISP_BAD(params, why) BAD(DISP(params) "d" END, "", AT(DISP(params)), why)

/* The parameters of Content-Disposition: name=, filename= and filename*=. */
static void dispositions(void)
{
	CHECK(DISP_OK("name=f; filename=\"a\\\"b\\\\c\\d\"", "<f>[a\"b\\c\\d]"));
	CHECK(DISP_OK("name=\"f\"; filename=\"\"", "<f>[]"));
	CHECK(DISP_OK("name=\"f\"; filename=\" x \t\"", "<f>[ x \t]"));
	CHECK(DISP_OK("name=\"f\"; filename=\"\xe2\x82\xac.txt\"", "<f>[\xe2\x82\xac.txt]"));
	CHECK(DISP_OK("name=\"f\"; filename=\"../../etc/passwd\"", "<f>[../../etc/passwd]"));
	CHECK(DISP_OK("name=f; filename*=UTF-8''na%C3%AFve%20%22q%22.txt",
		      "<f>[na\xc3\xafve \"q\".txt]"));
	CHECK(DISP_OK("name=f; filename*=utf-8'en-GB'%e2%82%ac", "<f>[\xe2\x82\xac]"));
	CHECK(DISP_OK("name=f; filename*=UTF-8''", "<f>[]"));
	CHECK(DISP_OK("name=f; filename=\"plain.txt\"; filename*=UTF-8''ext.txt", "<f>[ext.txt]"));
	CHECK(DISP_OK("name=f; filename*=UTF-8''ext.txt; filename=\"plain.txt\"", "<f>[ext.txt]"));
	CHECK(DISP_OK("name=f; name*=UTF-8''x", "<f>")); /* unknown: ignored */
	CHECK(DISP_OK("name=\"a;b=c\\\"\"", "<a;b=c\">"));
	CHECK(DISP_BAD("name=f; name=g", "a repeated Content-Disposition parameter"));
	CHECK(
	    DISP_BAD("name=f; filename=a; FILENAME=b", "a repeated Content-Disposition parameter"));
	CHECK(DISP_BAD("name=f; filename*=UTF-8''a; filename*=UTF-8''b",
		       "a repeated Content-Disposition parameter"));
	CHECK(DISP_BAD("name=f;", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f;;", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name = f", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f g", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f, filename=x", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=\"f", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=\"f\\", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=\"f\"x", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f; filename=a/b@c", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f; foo=\"unterminated", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f; filename*=ISO-8859-1''a", "a filename*= not in UTF-8"));
	CHECK(DISP_BAD("name=f; filename*=''a", "a filename*= not in UTF-8"));
	CHECK(DISP_BAD("name=f; filename*=a", "a filename*= not in UTF-8"));
	CHECK(DISP_BAD("name=f; filename*=\"UTF-8''a\"", "a malformed Content-Disposition"));
	CHECK(DISP_BAD("name=f; filename*=UTF-8'a", "a malformed filename*="));
	CHECK(DISP_BAD("name=f; filename*=UTF-8'e_n'a", "a malformed filename*="));
	CHECK(DISP_BAD("name=f; filename*=UTF-8''a%2", "a malformed filename*="));
	CHECK(DISP_BAD("name=f; filename*=UTF-8''a%zz", "a malformed filename*="));
	CHECK(DISP_BAD("name=f; filename*=UTF-8''a'b", "a malformed filename*="));
	CHECK(DISP_BAD("name=f; filename*=UTF-8''a*b", "a malformed filename*="));
	CHECK(DISP_BAD("name=f; filename*=UTF-8''a%00b", "a NUL in filename*="));
}

static char big_in[SK_MP_MAX_PART_HEAD + 2048], big_out[2048];

/* The header section holds SK_MP_MAX_PART_HEAD bytes, empty line included, and no more. */
static void head_limit(void)
{
	static const char cd[] = "Content-Disposition: form-data; name=\"f\"\r\n";
	size_t n, fill = SK_MP_MAX_PART_HEAD - AT(cd) - AT("X: \r\n\r\n");
	int k;

	for (k = 0; k < 2; k++) {
		n = (size_t)sprintf(big_in, DASH "%sX: ", cd);
		memset(big_in + n, 'a', fill + (size_t)k);
		n += fill + (size_t)k;
		n += (size_t)sprintf(big_in + n, "\r\n\r\nd" END);
		if (k == 0)
			CHECK(agree(B, big_in, n, "<f>d</><$>", 10));
		else
			CHECK(fails(B, big_in, n, "", AT(DASH) + SK_MP_MAX_PART_HEAD,
				    "a part header section too large"));
	}
}

/*
 * A header section of pre, unit count times, post: when count is at most
 * max, the part comes out as open, 'n' count times, close; past it, the
 * header section fails for why.
 */
static bool at_bound(const char *pre, const char *unit, size_t count, const char *post,
		     const char *open, const char *close, size_t max, const char *why)
{
	size_t n = (size_t)sprintf(big_in, DASH "%s", pre), o, i;

	for (i = 0; i < count; i++)
		n += (size_t)sprintf(big_in + n, "%s", unit);
	n += (size_t)sprintf(big_in + n, "%s\r\n\r\nd" END, post);
	if (count > max)
		return fails(B, big_in, n, "", n - AT("d" END), why);
	o = (size_t)sprintf(big_out, "%s", open);
	memset(big_out + o, 'n', count);
	o += count;
	o += (size_t)sprintf(big_out + o, "%sd</><$>", close);
	return agree(B, big_in, n, big_out, o);
}

/* Names and file names of SK_MP_MAX_NAME bytes pass, longer do not; likewise types. */
static void name_limits(void)
{
	size_t k;

	for (k = SK_MP_MAX_NAME; k <= SK_MP_MAX_NAME + 1; k++) {
		CHECK(at_bound("Content-Disposition: form-data; name=\"", "n", k, "\"", "<", ">",
			       SK_MP_MAX_NAME, "a name or file name too long"));
		CHECK(at_bound("Content-Disposition: form-data; name=f; filename=", "n", k, "",
			       "<f>[", "]", SK_MP_MAX_NAME, "a name or file name too long"));
		CHECK(at_bound("Content-Disposition: form-data; name=f; filename*=UTF-8''", "%6E",
			       k, "", "<f>[", "]", SK_MP_MAX_NAME, "a file name too long"));
	}
	for (k = SK_MP_MAX_CTYPE; k <= SK_MP_MAX_CTYPE + 1; k++)
		CHECK(at_bound("Content-Disposition: form-data; name=f\r\nContent-Type: ", "n", k,
			       "", "<f>(", ")", SK_MP_MAX_CTYPE, "a part Content-Type too long"));
}

/* The calls themselves: where spans point, what is consumed, and what is final. */
static void calls(void)
{
	static struct sk_multipart mp;
	static const char body[] = HEAD "abc\r\n--bo";
	const char *data;
	size_t used, dlen;

	/* A tail that may start a delimiter is held back, then handed out from mp. */
	sk_mp_init(&mp, B);
	CHECK(sk_mp_feed(&mp, body, AT(body), &used, &data, &dlen) == SK_MP_PART &&
	      used == AT(HEAD) && dlen == 0 && !data);
	CHECK(sk_mp_feed(&mp, body + used, AT("abc\r\n--bo"), &used, &data, &dlen) == SK_MP_DATA &&
	      used == AT("abc\r\n--bo") && dlen == 3 && data == body + AT(HEAD));
	CHECK(mp.match == 6);
	CHECK(sk_mp_feed(&mp, "", 0, &used, &data, &dlen) == SK_MP_MORE && used == 0 && !data);
	CHECK(sk_mp_feed(&mp, "ux", 2, &used, &data, &dlen) == SK_MP_DATA && used == 0 &&
	      data == mp.delim && dlen == 6 && memcmp(data, "\r\n--bo", 6) == 0);
	CHECK(sk_mp_feed(&mp, "ux", 2, &used, &data, &dlen) == SK_MP_DATA && used == 2 &&
	      dlen == 2 && memcmp(data, "ux", 2) == 0);
	/* The close delimiter at the very end: PART_END, then DONE with nothing left. */
	CHECK(sk_mp_feed(&mp, "\r\n--bound--", 11, &used, &data, &dlen) == SK_MP_PART_END &&
	      used == 11);
	CHECK(sk_mp_feed(&mp, "", 0, &used, &data, &dlen) == SK_MP_DONE && used == 0);
	CHECK(sk_mp_feed(&mp, "x", 1, &used, &data, &dlen) == SK_MP_DONE && used == 0 && !dlen);
	/* DONE consumes the close delimiter and not a byte of the epilogue. */
	sk_mp_init(&mp, B);
	CHECK(sk_mp_feed(&mp, HEAD "\r\n--bound--\r\nepi", AT(HEAD "\r\n--bound--\r\nepi"), &used,
			 &data, &dlen) == SK_MP_PART &&
	      used == AT(HEAD));
	CHECK(sk_mp_feed(&mp, "\r\n--bound--\r\nepi", 16, &used, &data, &dlen) == SK_MP_PART_END &&
	      used == 11);
	CHECK(sk_mp_feed(&mp, "\r\nepi", 5, &used, &data, &dlen) == SK_MP_DONE && used == 0);
	CHECK(mp.parts == 1);
	/* ERROR is final, and why stays. */
	sk_mp_init(&mp, B);
	CHECK(sk_mp_feed(&mp, "--bound--", 9, &used, &data, &dlen) == SK_MP_ERROR && used == 8);
	CHECK(sk_mp_feed(&mp, HEAD, AT(HEAD), &used, &data, &dlen) == SK_MP_ERROR && used == 0 &&
	      strcmp(mp.why, "the close delimiter before any part") == 0);
	/* A boundary sk_mp_boundary would refuse. */
	sk_mp_init(&mp, "");
	CHECK(sk_mp_feed(&mp, HEAD, AT(HEAD), &used, &data, &dlen) == SK_MP_ERROR && used == 0);
	sk_mp_init(&mp, "bad boundary ");
	CHECK(sk_mp_feed(&mp, "", 0, &used, &data, &dlen) == SK_MP_ERROR);
	sk_mp_init(&mp, "01234567890123456789012345678901234567890123456789012345678901234567890");
	CHECK(sk_mp_feed(&mp, "", 0, &used, &data, &dlen) == SK_MP_ERROR);
	sk_mp_init(&mp, "a\"b");
	CHECK(sk_mp_feed(&mp, "", 0, &used, &data, &dlen) == SK_MP_ERROR);
}

static bool boundary_is(const char *ctype, const char *want)
{
	char out[SK_MP_MAX_BOUNDARY + 1];

	memset(out, 'x', sizeof(out));
	if (!want)
		return sk_mp_boundary(ctype, strlen(ctype), out) == -1;
	return sk_mp_boundary(ctype, strlen(ctype), out) == 0 && strcmp(out, want) == 0;
}

static void boundaries(void)
{
	static const char b70[] =
	    "0123456789012345678901234567890123456789012345678901234567890123456789";

	CHECK(boundary_is("multipart/form-data; boundary=----WebKitFormBoundary62ZqTTo1nFmSGBrY",
			  "----WebKitFormBoundary62ZqTTo1nFmSGBrY"));
	CHECK(boundary_is("multipart/form-data; boundary=abc", "abc"));
	CHECK(boundary_is("Multipart/Form-Data;BOUNDARY=abc", "abc"));
	CHECK(boundary_is("  multipart/form-data ;\t boundary=\"abc\"  ", "abc"));
	CHECK(boundary_is("multipart/form-data; boundary=\"a b:c=d/e?f,g(h)'+_.\"",
			  "a b:c=d/e?f,g(h)'+_."));
	CHECK(
	    boundary_is("multipart/form-data; boundary=\"a\\\\bc\"", NULL)); /* '\\' is no bchar */
	CHECK(boundary_is("multipart/form-data; charset=utf-8; boundary=x; foo=\"b;boundary=y\"",
			  "x"));
	CHECK(boundary_is("multipart/form-data;; boundary=x;", "x"));
	CHECK(boundary_is("multipart/form-data; boundary=0123456789012345678901234567890123456789"
			  "012345678901234567890123456789",
			  b70));
	CHECK(boundary_is("multipart/form-data; boundary=a", "a"));
	CHECK(boundary_is("multipart/form-data; boundary=01234567890123456789012345678901234567890"
			  "1234567890123456789012345678901",
			  NULL)); /* 71 */
	CHECK(boundary_is("multipart/form-data", NULL));
	CHECK(boundary_is("multipart/form-data;", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=\"\"", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=\"abc", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=\"abc \"", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=\"a\x01"
			  "b\"",
			  NULL));
	CHECK(boundary_is("multipart/form-data; boundary=\"a\\\"b\"", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=a!b", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=a*b", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=\"a\xc3\xa9\"", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=a b", NULL));
	CHECK(boundary_is("multipart/form-data; boundary=a; boundary=a", NULL));
	CHECK(boundary_is("multipart/form-data; boundary = a", NULL));
	CHECK(boundary_is("multipart/form-data boundary=a", NULL));
	CHECK(boundary_is("multipart/form-data; =a; boundary=b", NULL));
	CHECK(boundary_is("multipart/form-data; foo; boundary=b", NULL));
	CHECK(boundary_is("multipart/mixed; boundary=abc", NULL));
	CHECK(boundary_is("multipart/form-datax; boundary=abc", NULL));
	CHECK(boundary_is("multipart/; boundary=abc", NULL));
	CHECK(boundary_is("multipart; boundary=abc", NULL));
	CHECK(boundary_is("application/x-www-form-urlencoded", NULL));
	CHECK(boundary_is("text/plain; boundary=abc", NULL));
	CHECK(boundary_is("", NULL));
	/* Only len bytes are read. */
	{
		char out[SK_MP_MAX_BOUNDARY + 1];

		CHECK(sk_mp_boundary("multipart/form-data; boundary=abcdef", 33, out) == 0 &&
		      strcmp(out, "abc") == 0);
	}
}

static void safe_names(void)
{
	char name[SK_MP_MAX_NAME + 2];

	CHECK(sk_mp_safe_name("ok.txt"));
	CHECK(sk_mp_safe_name("na\xc3\xafve.txt"));
	CHECK(sk_mp_safe_name("\xe2\x82\xac \xf0\x9f\x98\x80"));
	CHECK(sk_mp_safe_name("..."));
	CHECK(sk_mp_safe_name(".hidden"));
	CHECK(sk_mp_safe_name("a..b"));
	CHECK(sk_mp_safe_name("100%.txt"));
	CHECK(sk_mp_safe_name("%zz%2"));
	CHECK(sk_mp_safe_name("a%20b"));
	CHECK(sk_mp_safe_name("na%22q%22.txt"));
	CHECK(sk_mp_safe_name("%2e%2e%2e"));
	CHECK(!sk_mp_safe_name(""));
	CHECK(!sk_mp_safe_name("."));
	CHECK(!sk_mp_safe_name(".."));
	CHECK(!sk_mp_safe_name("%2e%2e"));
	CHECK(!sk_mp_safe_name("%2E."));
	CHECK(!sk_mp_safe_name("%2e"));
	CHECK(!sk_mp_safe_name("%252e%252e"));
	CHECK(!sk_mp_safe_name("a/b"));
	CHECK(!sk_mp_safe_name("/etc"));
	CHECK(!sk_mp_safe_name("a%2Fb"));
	CHECK(!sk_mp_safe_name("a%252fb"));
	CHECK(!sk_mp_safe_name("a\\b"));
	CHECK(!sk_mp_safe_name("a%5cb"));
	CHECK(!sk_mp_safe_name("\x01"));
	CHECK(!sk_mp_safe_name("a\tb"));
	CHECK(!sk_mp_safe_name("a\nb"));
	CHECK(!sk_mp_safe_name("a\x7f"));
	CHECK(!sk_mp_safe_name("a%00b"));
	CHECK(!sk_mp_safe_name("a%0d%0a"));
	CHECK(!sk_mp_safe_name("a%7F"));
	CHECK(!sk_mp_safe_name("a\xc2\x9b"
			       "b")); /* C1 CSI */
	CHECK(!sk_mp_safe_name("a%c2%85"));
	CHECK(!sk_mp_safe_name("\xff.txt"));
	CHECK(!sk_mp_safe_name("a\xc3"));
	CHECK(!sk_mp_safe_name("a\xc3(b"));
	CHECK(!sk_mp_safe_name("\xc0\xae\xc0\xae")); /* overlong "..": invalid UTF-8 */
	CHECK(!sk_mp_safe_name("%c0%ae%c0%ae"));
	CHECK(!sk_mp_safe_name("\xe0\x80\xaf"));
	CHECK(!sk_mp_safe_name("\xed\xa0\x80"));     /* a surrogate */
	CHECK(!sk_mp_safe_name("\xf4\x90\x80\x80")); /* past U+10FFFF */
	CHECK(!sk_mp_safe_name("%ff"));
	memset(name, 'a', sizeof(name));
	name[SK_MP_MAX_NAME] = '\0';
	CHECK(sk_mp_safe_name(name));
	name[SK_MP_MAX_NAME] = 'a';
	name[SK_MP_MAX_NAME + 1] = '\0';
	CHECK(!sk_mp_safe_name(name));
}

int main(void)
{
	real_bodies();
	lookalikes();
	structure();
	delimiters();
	headers();
	dispositions();
	head_limit();
	name_limits();
	calls();
	boundaries();
	safe_names();
	return check_summary("multipart");
}
