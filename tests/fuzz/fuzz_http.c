/*
 * libFuzzer harness: the HTTP request parser and what it feeds. Checks
 * more than "no crash": a parsed head lies inside the input, a resolved
 * path never climbs out (no ".." segment, no leading '/', no NUL), and a
 * satisfiable range lies inside the file. The chunked decoder runs on the
 * whole input and on the body after a chunked head: fed whole, one byte
 * at a time and in random slices (each its own buffer), it must reach the
 * same end, status, length and data every way, and a body limit may only
 * change the outcome into a 413.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *t, size_t n)
{
	char out[SK_HTTP_MAX_TARGET + 1], *seg, *save;
	bool slash;

	if (sk_http_target_path(t, n, out, sizeof(out), &slash) < 0)
		return;
	if (out[0] == '/' || strlen(out) > SK_HTTP_MAX_TARGET)
		abort();
	for (seg = strtok_r(out, "/", &save); seg; seg = strtok_r(NULL, "/", &save))
		if (strcmp(seg, "..") == 0 || strcmp(seg, ".") == 0)
			abort();
}

static void check_range(const char *v, size_t n, off_t size)
{
	struct sk_http_range r;
	enum sk_http_range_result rc = sk_http_range(v, n, size, &r);

	if (rc == SK_RANGE_OK && (r.start < 0 || r.len <= 0 || r.start + r.len > size))
		abort();
}

struct decoded {
	enum sk_chunked_result res;
	int status;
	size_t consumed;
	unsigned long long body_len, got;
	uint64_t sum; /* FNV-1a of the data handed out */
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	while (n--)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
	return h;
}

/* The next slice: the rest when *seed is 0, one byte when 1, else a random length. */
static size_t slice_len(uint64_t *seed, size_t rest)
{
	uint64_t r;

	if (*seed <= 1)
		return *seed == 0 ? rest : 1;
	*seed ^= *seed << 13; /* xorshift64 */
	*seed ^= *seed >> 7;
	*seed ^= *seed << 17;
	r = *seed % 4 == 0 ? *seed / 4 % 300 + 1 : *seed / 4 % 9 + 1; /* mostly short */
	return r < rest ? (size_t)r : rest;
}

/* Feeds one slice to c as a buffer of its own; returns the bytes used. */
static size_t feed_slice(struct sk_chunked *c, const char *in, size_t n, struct decoded *d)
{
	char *slice = malloc(n);
	const char *data;
	size_t pos, used, dlen;

	memcpy(slice, in, n);
	for (pos = 0; pos < n && d->res == SK_CHUNKED_MORE; pos += used) {
		d->res = sk_chunked_feed(c, slice + pos, n - pos, &used, &data, &dlen);
		if (used > n - pos || dlen > used || (dlen && data < slice + pos) ||
		    (dlen && data + dlen > slice + pos + used) || (!dlen && data) ||
		    (d->res == SK_CHUNKED_MORE && used == 0))
			abort();
		d->sum = fnv(d->sum, data, dlen);
		d->got += dlen;
	}
	free(slice);
	return pos;
}

static void decode(const char *in, size_t len, uint64_t seed, unsigned long long max,
		   struct decoded *d)
{
	struct sk_chunked c;
	const char *data;
	size_t n, used, dlen;

	memset(d, 0, sizeof(*d));
	d->sum = 0xcbf29ce484222325ULL;
	d->res = SK_CHUNKED_MORE;
	sk_chunked_init(&c, max);
	while (d->consumed < len && d->res == SK_CHUNKED_MORE) {
		n = slice_len(&seed, len - d->consumed);
		d->consumed += feed_slice(&c, in + d->consumed, n, d);
	}
	d->status = c.status;
	d->body_len = c.body_len;
	if (d->got != d->body_len || d->body_len > max ||
	    (d->res != SK_CHUNKED_ERROR) != !d->status)
		abort();
	if (d->res == SK_CHUNKED_ERROR && d->status != 400 &&
	    (d->status != 413 || max == SK_CHUNKED_NO_LIMIT))
		abort();
	if (d->res != SK_CHUNKED_MORE && (sk_chunked_feed(&c, in + d->consumed, len - d->consumed,
							  &used, &data, &dlen) != d->res ||
					  used || dlen))
		abort(); /* DONE and ERROR are final */
}

static bool same(const struct decoded *a, const struct decoded *b)
{
	return a->res == b->res && a->status == b->status && a->consumed == b->consumed &&
	       a->body_len == b->body_len && a->sum == b->sum;
}

static void check_chunked(const char *in, size_t len)
{
	struct decoded whole, bytes, split, limited;
	uint64_t h = fnv(0xcbf29ce484222325ULL, in, len);

	decode(in, len, 0, SK_CHUNKED_NO_LIMIT, &whole);
	decode(in, len, 1, SK_CHUNKED_NO_LIMIT, &bytes);
	decode(in, len, h | 2, SK_CHUNKED_NO_LIMIT, &split);
	if (!same(&whole, &bytes) || !same(&whole, &split))
		abort();
	decode(in, len, h >> 32 | 2, h % (len + 1), &limited);
	if (!(limited.res == SK_CHUNKED_ERROR && limited.status == 413) && !same(&whole, &limited))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct sk_http_req req;
	char esc[4 * 256 + 1];
	time_t t;
	enum sk_http_parse_result rc = sk_http_parse(buf, size, &req);

	if (rc == SK_HTTP_COMPLETE) {
		if (req.head_len > size || req.target < buf ||
		    req.target + req.target_len > buf + size)
			abort();
		if (req.line_len > req.head_len || req.method_len == 0)
			abort();
		check_path(req.target, req.target_len);
		if (req.range)
			check_range(req.range, req.range_len, 1000);
		if (req.if_modified_since)
			sk_http_parse_date(req.if_modified_since, req.if_modified_since_len, &t);
		if (req.if_none_match)
			sk_http_etag_match(req.if_none_match, req.if_none_match_len, "\"1-2-3\"");
		if (req.chunked ? !req.has_body || req.content_length || req.minor == 0
				: req.has_body != (req.content_length > 0))
			abort();
		if (req.chunked)
			check_chunked(buf + req.head_len, size - req.head_len);
	} else if (rc == SK_HTTP_BAD && req.status != 400 && req.status != 414 &&
		   req.status != 431 && req.status != 505) {
		abort();
	}
	check_chunked(buf, size);
	check_path(buf, size < SK_HTTP_MAX_TARGET ? size : SK_HTTP_MAX_TARGET);
	check_range(buf, size, (off_t)(size % 5000));
	sk_log_escape(buf, size < 256 ? size : 256, esc);
	for (size_t i = 0; esc[i]; i++)
		if ((unsigned char)esc[i] < 0x20 || (unsigned char)esc[i] >= 0x7f)
			abort();
	return 0;
}
