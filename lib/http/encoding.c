/* Accept-Encoding negotiation: which precompressed sibling of a file to send. */
#include "encoding.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* What an element may name that matters here; indexes of a weight table. */
enum coding { C_BR, C_ZSTD, C_GZIP, C_IDENTITY, C_STAR, C_COUNT };

#define UNLISTED (-1) /* a weight table entry the value did not set */

/* In the order that breaks ties between equal weights. */
static const struct {
	enum sk_enc enc;
	enum coding c;
} choices[] = {
    {SK_ENC_BR, C_BR}, {SK_ENC_ZSTD, C_ZSTD}, {SK_ENC_GZIP, C_GZIP}, {SK_ENC_IDENTITY, C_IDENTITY}};

/* The end of the list element starting at v[i]: the next ',' outside a quoted-string, or n. */
static size_t element_end(const char *v, size_t n, size_t i)
{
	bool quoted = false;

	for (; i < n; i++) {
		if (quoted && v[i] == '\\')
			i++; /* quoted-pair: the next byte is taken as it is */
		else if (v[i] == '"')
			quoted = !quoted;
		else if (!quoted && v[i] == ',')
			break;
	}
	return i < n ? i : n;
}

/* A qvalue (RFC 9110 12.4.2) in thousandths, or -1. */
static int qvalue(const char *s, size_t n)
{
	int q, scale = 100;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q <= 1000 ? q : -1;
}

static int coding_of(const char *t, size_t n)
{
	static const struct {
		const char *name;
		enum coding c;
	} names[] = {{"br", C_BR},	 {"zstd", C_ZSTD},	   {"gzip", C_GZIP},
		     {"x-gzip", C_GZIP}, {"identity", C_IDENTITY}, {"*", C_STAR}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && strncasecmp(t, names[i].name, n) == 0)
			return (int)names[i].c;
	return -1;
}

/*
 * Parses one element e[0..n): OWS coding *( OWS ";" OWS "q=" qvalue ) OWS,
 * one q at most. Returns the coding (with *q in thousandths), or -1 for a
 * coding of no interest or an element that breaks the grammar.
 */
static int element(const char *e, size_t n, int *q)
{
	size_t i = sk_http_skip_ows(e, n, 0), start = i, end = sk_http_token_end(e, n, i), p;
	bool weighted = false;

	if (end == start)
		return -1;
	*q = 1000;
	for (i = sk_http_skip_ows(e, n, end); i < n; i = sk_http_skip_ows(e, n, i)) {
		if (e[i] != ';')
			return -1;
		p = sk_http_skip_ows(e, n, i + 1);
		i = sk_http_token_end(e, n, p);
		if (weighted || i - p != 1 || (e[p] | 0x20) != 'q' || i == n || e[i] != '=')
			return -1;
		p = i + 1;
		i = sk_http_token_end(e, n, p);
		if ((*q = qvalue(e + p, i - p)) < 0)
			return -1;
		weighted = true;
	}
	return coding_of(e + start, end - start);
}

/* The weight of coding c: its own, else that of "*", else 0 (identity: 1, the least). */
static int weight(const int *w, enum coding c)
{
	if (w[c] != UNLISTED)
		return w[c];
	if (w[C_STAR] != UNLISTED)
		return w[C_STAR];
	return c == C_IDENTITY ? 1 : 0;
}

enum sk_enc sk_enc_choose(const char *v, size_t len, unsigned avail)
{
	int w[C_COUNT], q, c, best_q = 0;
	enum sk_enc best = SK_ENC_IDENTITY;
	size_t i, end;

	if (!v)
		return SK_ENC_IDENTITY;
	for (i = 0; i < C_COUNT; i++)
		w[i] = UNLISTED;
	for (i = 0; i <= len; i = end + 1) {
		end = element_end(v, len, i);
		c = element(v + i, end - i, &q);
		if (c >= 0 && (w[c] == UNLISTED || q < w[c]))
			w[c] = q;
	}
	for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
		if (choices[i].enc != SK_ENC_IDENTITY && !(avail & (unsigned)choices[i].enc))
			continue;
		q = weight(w, choices[i].c);
		if (q > best_q) {
			best = choices[i].enc;
			best_q = q;
		}
	}
	return best;
}

const char *sk_enc_name(enum sk_enc e)
{
	switch (e) {
	case SK_ENC_BR: return "br";
	case SK_ENC_ZSTD: return "zstd";
	case SK_ENC_GZIP: return "gzip";
	default: return "identity";
	}
}

const char *sk_enc_suffix(enum sk_enc e)
{
	switch (e) {
	case SK_ENC_BR: return ".br";
	case SK_ENC_ZSTD: return ".zst";
	case SK_ENC_GZIP: return ".gz";
	default: return "";
	}
}
