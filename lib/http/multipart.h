/* multipart.h - a strict, incremental multipart/form-data parser (RFC 7578, RFC 2046 5.1.1). */
#ifndef SK_MULTIPART_H
#define SK_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#define SK_MP_MAX_BOUNDARY  70	 /* RFC 2046: 1 to 70 characters */
#define SK_MP_MAX_PART_HEAD 8192 /* a part's header section, line ends included; more is 400 */
#define SK_MP_MAX_NAME	    255	 /* a file name or field name, decoded; longer is 400 */
#define SK_MP_MAX_CTYPE	    127	 /* a part's Content-Type value; longer is 400 */

/*
 * From a Content-Type value ctype[0..len): returns 0 and the boundary, as a
 * string, in out (SK_MP_MAX_BOUNDARY + 1 bytes) for multipart/form-data
 * (type and subtype in any case; parameters as RFC 9110 5.6.6 has them,
 * names in any case, values a token or a quoted-string; OWS around the
 * whole). Returns -1 for any other type, a malformed value, a missing,
 * repeated or empty boundary, or one longer than SK_MP_MAX_BOUNDARY, with
 * a byte outside RFC 2046's bchars or ending in a space (out may be
 * written to either way). No errno.
 */
int sk_mp_boundary(const char *ctype, size_t len, char *out);

enum sk_mp_event {
	SK_MP_MORE,	/* all input consumed: feed more */
	SK_MP_PART,	/* a part's headers are complete: mp->part is filled */
	SK_MP_DATA,	/* *data, *data_len: bytes of the current part's body */
	SK_MP_PART_END, /* the current part's body ended */
	SK_MP_DONE, /* the close delimiter was seen (anything after it, the epilogue, is ignored) */
	SK_MP_ERROR, /* malformed: mp->why says what (static text, for a log), answer 400 */
};

/* What a part's header section said; strings are NUL-terminated. */
struct sk_mp_part {
	char name[SK_MP_MAX_NAME + 1];	   /* the form field name (Content-Disposition name=) */
	char filename[SK_MP_MAX_NAME + 1]; /* decoded file name ("" if none), not yet vetted */
	bool has_filename;		   /* filename= or filename*= was present */
	char ctype[SK_MP_MAX_CTYPE + 1];   /* the part's Content-Type, or "" */
};

/*
 * The parser: a state machine that takes a body in slices of any size and
 * holds at most the delimiter's bytes and one part's header section (the
 * struct is about 9 KB; nothing is allocated). Read part, why and parts;
 * the rest is private.
 */
struct sk_multipart {
	int state;
	const char *why;	  /* after SK_MP_ERROR: what broke, static text */
	unsigned long long parts; /* parts whose headers were complete */
	struct sk_mp_part part;	  /* the current part, after SK_MP_PART */
	size_t delim_len;	  /* bytes in delim */
	size_t match;		  /* bytes of delim matched at the end of the input so far */
	size_t lead;		  /* of them, the first ones that were never input: 2 or 0 */
	size_t head_len;	  /* bytes in head */
	/*
	 * CRLF "--" boundary. It is also the hold-back: input that may start
	 * a delimiter is consumed and counted in match, and when it turns out
	 * to be data, it is handed out from here (the held bytes are always
	 * delim[lead..match)).
	 */
	char delim[4 + SK_MP_MAX_BOUNDARY];
	char head[SK_MP_MAX_PART_HEAD]; /* the part's header section so far */
};

/*
 * Starts parsing a body whose boundary is the string boundary, as
 * sk_mp_boundary gave it. A boundary it would refuse leaves the parser in
 * error: the first sk_mp_feed returns SK_MP_ERROR.
 */
void sk_mp_init(struct sk_multipart *mp, const char *boundary);

/*
 * Parses in[0..len) (len may be 0). Sets *consumed to the bytes it used,
 * and *data, *data_len to a span of part data (NULL and 0 unless the
 * result is SK_MP_DATA, when it is never empty). The span lies in
 * in[0..*consumed) or, for bytes held back from an earlier call, in
 * mp->delim; either way it is valid until the next call.
 *
 * SK_MP_MORE is the only result that asks for more input: it consumed all
 * of it. After SK_MP_PART, SK_MP_DATA or SK_MP_PART_END, call again with
 * in + *consumed and len - *consumed, even when that is 0 (a close
 * delimiter that ends the input gives SK_MP_PART_END, then SK_MP_DONE on
 * a call with nothing left). Events come in the order
 * (PART DATA* PART_END)+ DONE, MORE anywhere, ERROR anywhere instead of
 * the rest.
 *
 * Returns SK_MP_DONE once the close delimiter ("--" boundary "--") has
 * ended the last part; the epilogue after it is not read. A delimiter may
 * follow a part's header section at once, the CRLF of its empty line
 * serving as the delimiter's too (the part is then empty), so a part's
 * data never starts with "--" boundary.
 *
 * Returns SK_MP_ERROR, with mp->why, for a body that breaks RFC 2046
 * 5.1.1 or RFC 7578: no part before the close delimiter; a delimiter line (also the
 * first) followed by something other than transport padding and CRLF or
 * "--"; a line end other than CRLF in a delimiter line or a header
 * section; a header section past SK_MP_MAX_PART_HEAD, with obs-fold, a
 * control byte or a line that is not a field; a part without
 * Content-Disposition form-data with a name=, or with two of it; a
 * malformed, repeated or too long (past SK_MP_MAX_NAME decoded) name=,
 * filename= or filename*= (RFC 8187, UTF-8 only; a %00 in it is an error
 * too); a Content-Type past SK_MP_MAX_CTYPE or repeated; a
 * Content-Transfer-Encoding other than 7bit, 8bit or binary. *consumed is
 * then the offset of the byte that broke the rule, or the end of the
 * header section that did. After SK_MP_DONE or SK_MP_ERROR it returns the
 * same again and consumes nothing. No errno.
 *
 * The body's own end is the caller's: when the input ends (Content-Length
 * or the chunked body reached) without SK_MP_DONE, the body is truncated,
 * and the caller answers 400 and keeps nothing of it. Neither the number of
 * parts nor their sizes are bounded here. A filename is decoded as sent
 * (quoted-pairs, or RFC 8187's percent-encoding for filename*=, which is
 * preferred when both are present) but not vetted: see sk_mp_safe_name.
 */
enum sk_mp_event sk_mp_feed(struct sk_multipart *mp, const char *in, size_t len, size_t *consumed,
			    const char **data, size_t *data_len);

/*
 * True when name may be created as-is in a directory: 1 to
 * SK_MP_MAX_NAME bytes of valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates), not "." or "..", without '/', '\\', a C0 control byte, DEL
 * or a C1 control (U+0080 to U+009F); and the same holds for its
 * percent-decoded form, decoded again while any %XX is left (so "%2e%2e",
 * "a%2fb", "%00" and "%252e%252e" are refused: "in any encoding").
 */
bool sk_mp_safe_name(const char *name);

#endif
