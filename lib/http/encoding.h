/*
 * encoding.h - Accept-Encoding negotiation (RFC 9110 12.5.3) for
 * serve-http --precompressed: which sibling of a file (X.br, X.zst, X.gz)
 * or X itself to send.
 */
#ifndef SK_ENCODING_H
#define SK_ENCODING_H

#include <stddef.h>

/* Content codings; the non-zero ones are bits of a set of siblings that exist. */
enum sk_enc {
	SK_ENC_IDENTITY = 0, /* the file itself, always there */
	SK_ENC_GZIP = 1,
	SK_ENC_ZSTD = 2,
	SK_ENC_BR = 4,
};

#define SK_ENC_ALL (SK_ENC_GZIP | SK_ENC_ZSTD | SK_ENC_BR)

/*
 * Chooses among identity and the codings in avail (a set of SK_ENC_* bits;
 * other bits are ignored) the one the Accept-Encoding value v[0..len)
 * prefers. v NULL (no such field) or an empty value: identity.
 *
 * The value is a list of "coding *( OWS ; OWS param )" elements; the
 * weight "q=" qvalue (RFC 9110 12.4.2: "0", "0." and up to 3 digits, "1",
 * "1." and up to 3 zeros; "q" in any case, no space around '=') gives a
 * preference, 1 by default, and q=0 refuses. Codings are case-insensitive
 * and "x-gzip" is gzip. A coding not listed takes the weight of "*" if
 * that is listed, else it is refused, except identity, which is then
 * acceptable at the lowest preference (q=0.001). A coding listed more than
 * once takes its lowest weight. An element that breaks the grammar (a bad
 * token, qvalue or parameter, other parameters than q, q twice) is ignored
 * as if absent, not fatal.
 *
 * Of the acceptable codings in avail, the highest weight wins; ties go
 * br, then zstd, then gzip, then identity. When none is acceptable, even
 * identity (identity;q=0 or *;q=0), the answer is identity all the same,
 * as RFC 9110 allows. Reads v only within len; never fails.
 */
enum sk_enc sk_enc_choose(const char *v, size_t len, unsigned avail);

/* The content-coding name: "br", "zstd", "gzip" or "identity". */
const char *sk_enc_name(enum sk_enc e);

/* The suffix of the sibling file: ".br", ".zst", ".gz", or "" for identity. */
const char *sk_enc_suffix(enum sk_enc e);

#endif
