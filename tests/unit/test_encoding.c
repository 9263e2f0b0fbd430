/*
 * Unit tests of lib/http/encoding.c: what real clients send, every qvalue
 * form, the tie order, "*" and identity refusals, x-gzip and case,
 * duplicates, junk and malformed elements (ignored, not fatal), quoted
 * strings, whitespace, huge values, and that nothing is read past len.
 * Values are handed over in buffers of their exact size.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "encoding.h"

#define ALL SK_ENC_ALL
#define ID  SK_ENC_IDENTITY
#define GZ  SK_ENC_GZIP
#define ZS  SK_ENC_ZSTD
#define BR  SK_ENC_BR

static enum sk_enc choose_n(const char *v, size_t n, unsigned avail)
{
	char *copy = malloc(n ? n : 1);
	enum sk_enc e;

	memcpy(copy, v, n);
	e = sk_enc_choose(copy, n, avail);
	free(copy);
	return e;
}

static enum sk_enc choose(const char *v, unsigned avail)
{
	return choose_n(v, strlen(v), avail);
}

/* Whether v chooses want from avail; says what it chose otherwise. */
static bool is(const char *v, unsigned avail, enum sk_enc want)
{
	enum sk_enc got = choose(v, avail);

	if (got != want)
		fprintf(stderr, "'%s' (avail %u): %s, not %s\n", v, avail, sk_enc_name(got),
			sk_enc_name(want));
	return got == want;
}

static void test_clients(void)
{
	unsigned avail;

	for (avail = 0; avail <= 7; avail++)
		CHECK(sk_enc_choose(NULL, 0, avail) == ID);
	/* curl --compressed, browsers */
	CHECK(is("deflate, gzip, br, zstd", ALL, BR));
	CHECK(is("deflate, gzip, br, zstd", GZ | ZS, ZS));
	CHECK(is("deflate, gzip, br, zstd", GZ, GZ));
	CHECK(is("deflate, gzip, br, zstd", 0, ID));
	CHECK(is("gzip, deflate, br, zstd", ALL, BR));
	CHECK(is("gzip, deflate, br", ZS, ID));
	CHECK(is("gzip, deflate", ALL, GZ));
	CHECK(is("gzip", BR | ZS, ID));
	CHECK(is("br", ALL, BR));
	CHECK(is("zstd", ALL, ZS));
	CHECK(is("identity", ALL, ID));
	CHECK(is("deflate", ALL, ID));
	CHECK(is("", ALL, ID)); /* no coding wanted */
	CHECK(is("   ", ALL, ID));
	CHECK(is("gzip;q=1.0, identity; q=0.5, *;q=0", ALL, GZ)); /* RFC 9110's example */
	CHECK(is("compress, gzip", GZ, GZ));
	/* avail bits beyond the three are ignored */
	CHECK(is("gzip, br", 8 | 16 | GZ, GZ));
	CHECK(is("*", 8, ID));
}

static void test_qvalues(void)
{
	static const struct {
		const char *q;
		bool valid;
	} forms[] = {
	    {"0", true},     {"0.", true},    {"0.5", true},	  {"0.12", true},
	    {"0.123", true}, {"1", true},     {"1.", true},	  {"1.0", true},
	    {"1.00", true},  {"1.000", true}, {"0.1234", false},  {"1.001", false},
	    {"1.5", false},  {"2", false},    {".5", false},	  {"-1", false},
	    {"0.a", false},  {"", false},     {"01", false},	  {"1.0000", false},
	    {"0,5", false},  {"0.5x", false}, {"\"0.5\"", false}, {"1e0", false},
	    {"0 .5", false},
	};
	char v[64];
	size_t i;

	/*
	 * "gzip;q=0.001, br;q=X": a valid X other than 0 ties or beats gzip,
	 * so br wins; X 0 refuses br; an invalid X drops br's element, which
	 * leaves br unlisted, so refused too.
	 */
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(v, sizeof(v), "gzip;q=0.001, br;q=%s", forms[i].q);
		if (!forms[i].valid)
			CHECK(is(v, ALL, GZ));
		else if (strcmp(forms[i].q, "0") == 0 || strcmp(forms[i].q, "0.") == 0)
			CHECK(is(v, ALL, GZ));
		else
			CHECK(is(v, ALL, BR));
	}
	CHECK(is("gzip;q=1.0, br;q=0.5", ALL, GZ));
	CHECK(is("br;q=0.9, gzip;q=0.8", ALL, BR));
	CHECK(is("gzip;q=0.999, br;q=0.998", ALL, GZ));
	CHECK(is("gzip;q=0.002, zstd;q=0.001", ALL, GZ));
	CHECK(is("gzip;Q=0.7, br;q=0.6", ALL, GZ)); /* "q" in any case */
	CHECK(is("gzip;q=0", GZ, ID));
	CHECK(is("gzip;q=0.000", GZ, ID));
	CHECK(is("gzip;q=0.001", GZ, GZ)); /* beats identity left unsaid */
	CHECK(is("gzip;q=0.001, identity;q=0.002", GZ, ID));
	CHECK(is("gzip;q=0.001, identity;q=0.001", GZ, GZ));
	CHECK(is("br;q=0.5, identity", BR, ID));
	CHECK(is("br;q=0.5, identity;q=0.5", BR, BR));
}

static void test_ties(void)
{
	CHECK(is("gzip, zstd, br", ALL, BR));
	CHECK(is("br, zstd, gzip", ALL, BR));
	CHECK(is("gzip, zstd", ALL, ZS));
	CHECK(is("zstd, gzip", ALL, ZS));
	CHECK(is("gzip;q=0.5, br;q=0.50", ALL, BR));
	CHECK(is("gzip;q=1, br;q=1.000", ALL, BR));
	CHECK(is("gzip;q=0.3, zstd;q=0.300, br;q=0.2", ALL, ZS));
	CHECK(is("gzip, identity", ALL, GZ));
	CHECK(is("identity, gzip", ALL, GZ));
	CHECK(is("*", ALL, BR));
	CHECK(is("*", GZ | ZS, ZS));
	CHECK(is("*", GZ, GZ));
	CHECK(is("*", 0, ID));
}

static void test_star_identity(void)
{
	CHECK(is("*;q=0", ALL, ID)); /* nothing acceptable: identity all the same */
	CHECK(is("*;q=0", 0, ID));
	CHECK(is("*;q=0, gzip", ALL, GZ));
	CHECK(is("*;q=0, identity", ALL, ID));
	CHECK(is("gzip;q=0, *", GZ | BR, BR));
	CHECK(is("gzip;q=0, *", GZ, ID));
	CHECK(is("*;q=0.5, gzip", ALL, GZ));
	CHECK(is("*;q=0.5, identity", ALL, ID));
	CHECK(is("*;q=0.5, br;q=0.4", BR, ID)); /* identity takes *'s 0.5 */
	CHECK(is("*;q=0.5, br;q=0.4, identity;q=0.1", BR, BR));
	CHECK(is("identity;q=0", GZ, ID));
	CHECK(is("identity;q=0", ALL, ID));
	CHECK(is("identity;q=0, gzip;q=0.1", GZ, GZ));
	CHECK(is("identity;q=0, *", ALL, BR));
	CHECK(is("identity;q=0, *", GZ, GZ));
	CHECK(is("identity;q=0, *;q=0", ALL, ID));
}

static void test_names(void)
{
	CHECK(is("x-gzip", ALL, GZ));
	CHECK(is("X-GZIP;Q=0.7, br;q=0.6", ALL, GZ));
	CHECK(is("GZip", GZ, GZ));
	CHECK(is("BR", ALL, BR));
	CHECK(is("Zstd", ALL, ZS));
	CHECK(is("IDENTITY;q=0, *", GZ, GZ));
	CHECK(is("gzip2, brotli, zst, x-br, x-zstd", ALL, ID));
	CHECK(is("*gzip, gzip*", ALL, ID));
	/* a coding listed twice takes its lowest weight */
	CHECK(is("gzip, gzip;q=0", GZ, ID));
	CHECK(is("gzip;q=0, x-gzip", GZ, ID));
	CHECK(is("gzip;q=0.5, x-gzip;q=0.8, br;q=0.6", ALL, BR));
	CHECK(is("br, br;q=0.1, gzip;q=0.2", ALL, GZ));
	CHECK(is("*, *;q=0", ALL, ID));
	CHECK(!strcmp(sk_enc_name(SK_ENC_BR), "br") && !strcmp(sk_enc_suffix(SK_ENC_BR), ".br"));
	CHECK(!strcmp(sk_enc_name(SK_ENC_ZSTD), "zstd") &&
	      !strcmp(sk_enc_suffix(SK_ENC_ZSTD), ".zst"));
	CHECK(!strcmp(sk_enc_name(SK_ENC_GZIP), "gzip") &&
	      !strcmp(sk_enc_suffix(SK_ENC_GZIP), ".gz"));
	CHECK(!strcmp(sk_enc_name(SK_ENC_IDENTITY), "identity") &&
	      !strcmp(sk_enc_suffix(SK_ENC_IDENTITY), ""));
}

static void test_junk(void)
{
	CHECK(is("gzip;level=9", ALL, ID)); /* a parameter other than q: the element is dropped */
	CHECK(is("gzip;level=9, br", ALL, BR));
	CHECK(is("br;q=0.5;q=1, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;q=0.5;, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;q, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;q=, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;=0.5, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;q =0.5, gzip;q=0.1", ALL, GZ)); /* no space around '=' */
	CHECK(is("br;q= 0.5, gzip;q=0.1", ALL, GZ));
	CHECK(is("br;qq=0.5, gzip;q=0.1", ALL, GZ));
	CHECK(is("br q=0.5, gzip;q=0.1", ALL, GZ));
	CHECK(is("gzip br", ALL, ID));
	CHECK(is("gzip;q=0.5 junk", ALL, ID));
	CHECK(is("@@@, br", ALL, BR));
	CHECK(is("\"br\", gzip", ALL, GZ));
	CHECK(is(";q=1, gzip", ALL, GZ));
	CHECK(is("=, ;, \x01, \x7f, \xff\xfe, gzip", ALL, GZ));
	CHECK(is(",,, gzip ,,", ALL, GZ));
	CHECK(is(",", ALL, ID));
	CHECK(is("identity;q=0 junk, gzip;q=0.1", GZ, GZ));
	/* a ',' inside a quoted-string does not end the element */
	CHECK(is("gzip;x=\"a, br\"", BR, ID));
	CHECK(is("gzip;x=\"a, br\", zstd", ALL, ZS));
	CHECK(is("gzip;x=\"a\\\", br\", zstd", ALL, ZS));
	CHECK(is("gzip;x=\"a, br", BR, ID)); /* unterminated: to the end */
	CHECK(is("gzip;x=\"a\\", BR, ID));
}

static void test_whitespace(void)
{
	CHECK(is(" gzip\t,\tbr ", BR, BR));
	CHECK(is("gzip;\tq=0.5 ,br;q=0.4", ALL, GZ));
	CHECK(is("gzip ; q=0.5, br;q=0.4", ALL, GZ));
	CHECK(is("gzip\t;\tq=0.5\t, br;q=0.4", ALL, GZ));
	CHECK(is("gzip;q=0.5\t\t", GZ, GZ));
	CHECK(is("\t\t", ALL, ID));
	CHECK(is("gzip,br", ALL, BR));
	CHECK(is("gzip\r\n, br", ALL, BR)); /* the line end is not OWS: gzip's element dropped */
	CHECK(is("gzip\r\n, br", GZ, ID));
}

static void test_sizes(void)
{
	size_t n = 200000, i;
	char *v = malloc(n + 16);

	/* only len bytes count */
	CHECK(choose_n("gzipXXX", 4, GZ) == GZ);
	CHECK(choose_n("br, gzip", 2, ALL) == BR);
	CHECK(choose_n("br, gzip", 2, GZ) == ID);
	CHECK(choose_n("gzip;q=0.5", 8, GZ) == ID); /* "gzip;q=0" */
	CHECK(choose_n("", 0, ALL) == ID);
	/* huge values */
	for (i = 0; i + 9 <= n; i += 9)
		memcpy(v + i, "deflate, ", 9);
	memcpy(v + i, "br", 2);
	CHECK(choose_n(v, i + 2, ALL) == BR);
	CHECK(choose_n(v, i, ALL) == ID);
	memset(v, ' ', n);
	memcpy(v + n - 4, "zstd", 4);
	CHECK(choose_n(v, n, ALL) == ZS);
	memset(v, 'g', n);
	CHECK(choose_n(v, n, ALL) == ID);
	v[0] = '"';
	memcpy(v + n - 4, ", br", 4);
	CHECK(choose_n(v, n, ALL) == ID);
	memset(v, ',', n);
	CHECK(choose_n(v, n, ALL) == ID);
	memcpy(v, "br;q=0.", 7);
	memset(v + 7, '5', n - 7);
	CHECK(choose_n(v, n, ALL) == ID);
	free(v);
}

int main(void)
{
	test_clients();
	test_qvalues();
	test_ties();
	test_star_identity();
	test_names();
	test_junk();
	test_whitespace();
	test_sizes();
	return check_summary("encoding");
}
