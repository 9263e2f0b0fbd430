/*
 * libFuzzer harness: the multipart/form-data parser. The first byte picks
 * a slice size; up to the first LF comes a Content-Type value, whose
 * boundary (sk_mp_boundary) is used when it has one, else "bound"; the
 * rest is the body. It is parsed whole, one byte at a time, in slices of
 * the picked size and in random slices, each slice a buffer of its own,
 * calling as sk_mp_feed asks. Checks on every call: no more consumed than
 * given, all of it on MORE, a data span inside the slice's consumed bytes
 * or inside the hold-back in the parser, progress (a call that consumes
 * nothing changes the state), events in their order, DONE and ERROR
 * final. Checks on every way: each part's data is exactly the bytes
 * between its header section and the delimiter that ends it, with no
 * delimiter inside; and every way gives the same events at the same
 * offsets with the same parts and data. sk_mp_safe_name runs on each file
 * name and on the input, and what it lets through must hold no '/',
 * '\\' or control byte and not be "." or "..", as sent or once decoded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	const char *in; /* the body */
	size_t len;
	const char *delim; /* CRLF "--" boundary */
	size_t delim_len;
	uint64_t sum;	 /* FNV-1a of the events, their offsets, parts and data */
	size_t off;	 /* bytes consumed so far */
	size_t start;	 /* where the current part's data starts */
	char *part;	 /* the current part's data so far */
	size_t part_len; /* bytes in part */
	bool in_part;
	enum sk_mp_event last;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* The checks of sk_mp_safe_name's promise on one spelling. */
static void check_spelling(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SK_MP_MAX_NAME || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\')
			abort();
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static void check_safe(const char *name)
{
	char dec[SK_MP_MAX_NAME + 1];
	size_t n = strlen(name), i, o = 0;

	if (!sk_mp_safe_name(name))
		return;
	check_spelling(name, n);
	for (i = 0; i < n; i++) {
		if (name[i] == '%' && i + 2 < n && hexval(name[i + 1]) >= 0 &&
		    hexval(name[i + 2]) >= 0) {
			dec[o++] = (char)(hexval(name[i + 1]) << 4 | hexval(name[i + 2]));
			i += 2;
		} else {
			dec[o++] = name[i];
		}
	}
	check_spelling(dec, o);
}

/* True when in[at..) starts with the delimiter. */
static bool delim_at(const struct run *r, size_t at)
{
	return at <= r->len && r->len - at >= r->delim_len &&
	       memcmp(r->in + at, r->delim, r->delim_len) == 0;
}

/*
 * At PART_END: the part's data is the input from the end of its header
 * section up to a delimiter (for an empty part, one that starts there or
 * shares the CRLF that ends the header section), with no delimiter in it
 * and not starting with "--" boundary.
 */
static bool part_is_input(const struct run *r)
{
	size_t n = r->part_len;

	if (r->start + n > r->len || memcmp(r->part, r->in + r->start, n) != 0 ||
	    memmem(r->part, n, r->delim, r->delim_len) ||
	    (n >= r->delim_len - 2 && memcmp(r->part, r->delim + 2, r->delim_len - 2) == 0))
		return false;
	return delim_at(r, r->start + n) || (n == 0 && r->start >= 2 && delim_at(r, r->start - 2));
}

/* The event of one call, with the checks that need only it. */
static void event(struct run *r, const struct sk_multipart *mp, enum sk_mp_event ev,
		  const char *data, size_t dlen)
{
	uint64_t h = r->sum;
	unsigned char tag = (unsigned char)ev;

	if (ev == SK_MP_MORE)
		return; /* how often depends on the slices */
	if (ev != SK_MP_DATA)
		h = fnv(fnv(h, &tag, 1), &r->off,
			sizeof(r->off)); /* DATA is hashed as bytes only */
	switch (ev) {
	case SK_MP_PART:
		if (r->in_part || strlen(mp->part.name) > SK_MP_MAX_NAME ||
		    strlen(mp->part.filename) > SK_MP_MAX_NAME ||
		    strlen(mp->part.ctype) > SK_MP_MAX_CTYPE ||
		    (!mp->part.has_filename && mp->part.filename[0]))
			abort();
		h = fnv(h, mp->part.name, strlen(mp->part.name) + 1);
		h = fnv(h, mp->part.filename, strlen(mp->part.filename) + 1);
		h = fnv(h, &mp->part.has_filename, sizeof(mp->part.has_filename));
		h = fnv(h, mp->part.ctype, strlen(mp->part.ctype) + 1);
		r->in_part = true;
		r->start = r->off;
		r->part_len = 0;
		check_safe(mp->part.filename);
		break;
	case SK_MP_DATA:
		if (!r->in_part || r->part_len + dlen > r->len)
			abort();
		memcpy(r->part + r->part_len, data, dlen);
		r->part_len += dlen;
		h = fnv(h, data, dlen);
		break;
	case SK_MP_PART_END:
		if (!r->in_part || !part_is_input(r))
			abort();
		r->in_part = false;
		break;
	case SK_MP_DONE:
		if (r->in_part || mp->parts == 0)
			abort();
		break;
	case SK_MP_ERROR:
		h = fnv(h, &mp->why, sizeof(mp->why));
		if (!mp->why)
			abort();
		break;
	default: break;
	}
	r->sum = h;
}

/* Feeds one slice as sk_mp_feed asks; returns the bytes used. */
static size_t feed_slice(struct run *r, struct sk_multipart *mp, size_t n, size_t *calls)
{
	char *slice = malloc(n ? n : 1);
	const char *data, *s;
	size_t pos = 0, used, dlen, match, lead;
	enum sk_mp_event ev;
	int state;

	memcpy(slice, r->in + r->off, n);
	do {
		state = mp->state;
		match = mp->match;
		lead = mp->lead;
		ev = sk_mp_feed(mp, slice + pos, n - pos, &used, &data, &dlen);
		s = slice + pos;
		if (used > n - pos || (ev == SK_MP_MORE && used != n - pos))
			abort();
		if (ev == SK_MP_DATA ? dlen == 0 || !((data >= s && data + dlen <= s + used) ||
						      (data >= mp->delim &&
						       data + dlen <= mp->delim + mp->delim_len))
				     : data != NULL || dlen != 0)
			abort();
		if (ev != SK_MP_MORE && ev != SK_MP_DONE && ev != SK_MP_ERROR && used == 0 &&
		    mp->state == state && mp->match == match && mp->lead == lead)
			abort(); /* no progress */
		if (mp->match >= mp->delim_len || mp->head_len > SK_MP_MAX_PART_HEAD ||
		    ++*calls > 3 * r->len + 10)
			abort();
		pos += used;
		r->off += used;
		event(r, mp, ev, data, dlen);
	} while (ev != SK_MP_MORE && ev != SK_MP_DONE && ev != SK_MP_ERROR);
	free(slice);
	r->last = ev;
	return pos;
}

/* The next slice: the rest when *seed is 0, one byte when 1, else a random length. */
static size_t slice_len(uint64_t *seed, size_t rest)
{
	uint64_t x;

	if (*seed <= 1)
		return *seed == 0 ? rest : rest > 0;
	*seed ^= *seed << 13; /* xorshift64 */
	*seed ^= *seed >> 7;
	*seed ^= *seed << 17;
	x = *seed % 4 == 0 ? *seed / 4 % 300 : *seed / 4 % 9 + 1; /* mostly short, some empty */
	return x < rest ? (size_t)x : rest;
}

/* Parses r->in with boundary b: in fixed slices of step bytes, or as slice_len says. */
static uint64_t parse(struct run *r, const char *b, size_t step, uint64_t seed)
{
	struct sk_multipart *mp = malloc(sizeof(*mp));
	const char *data;
	size_t n, used, dlen, calls = 0, rounds = 0;

	sk_mp_init(mp, b);
	r->delim = mp->delim;
	r->delim_len = mp->delim_len;
	r->sum = 0xcbf29ce484222325ULL;
	r->off = r->part_len = 0;
	r->in_part = false;
	r->last = SK_MP_MORE;
	do {
		n = step ? (r->len - r->off < step ? r->len - r->off : step)
			 : slice_len(&seed, r->len - r->off);
		feed_slice(r, mp, n, &calls);
		if (++rounds > 2 * r->len + 10)
			abort();
	} while (r->off < r->len && r->last != SK_MP_DONE && r->last != SK_MP_ERROR);
	if ((r->last == SK_MP_DONE || r->last == SK_MP_ERROR) &&
	    (sk_mp_feed(mp, r->in + r->off, r->len - r->off, &used, &data, &dlen) != r->last ||
	     used || dlen || data))
		abort(); /* DONE and ERROR are final */
	r->sum = fnv(r->sum, &r->off, sizeof(r->off));
	free(mp);
	return r->sum;
}

/* A boundary sk_mp_boundary gave: 1 to 70 bytes, and one sk_mp_init takes. */
static void check_boundary(const char *b)
{
	struct sk_multipart *mp = malloc(sizeof(*mp));
	const char *data;
	size_t n = strlen(b), used, dlen;

	if (n == 0 || n > SK_MP_MAX_BOUNDARY || b[n - 1] == ' ')
		abort();
	sk_mp_init(mp, b);
	if (sk_mp_feed(mp, "", 0, &used, &data, &dlen) != SK_MP_MORE)
		abort();
	free(mp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *lf;
	char b[SK_MP_MAX_BOUNDARY + 1] = "bound";
	struct run r = {0};
	uint64_t whole, h;
	size_t step, ctlen;

	if (size < 1)
		return 0;
	step = data[0] % 64 + 1;
	in++;
	size--;
	lf = memchr(in, '\n', size < 256 ? size : 256);
	if (lf) {
		ctlen = (size_t)(lf - in);
		if (sk_mp_boundary(in, ctlen, b) == 0)
			check_boundary(b);
		else
			strcpy(b, "bound");
		size -= ctlen + 1;
		in = lf + 1;
	}
	r.in = in;
	r.len = size;
	r.part = malloc(size ? size : 1);
	whole = parse(&r, b, 0, 0);
	h = fnv(0xcbf29ce484222325ULL, in, size);
	if (parse(&r, b, 1, 0) != whole || parse(&r, b, step, 0) != whole ||
	    parse(&r, b, 0, h | 2) != whole)
		abort();
	free(r.part);
	if (size <= SK_MP_MAX_NAME + 1) {
		char name[SK_MP_MAX_NAME + 2];

		memcpy(name, in, size);
		name[size] = '\0';
		check_safe(name);
	}
	return 0;
}
