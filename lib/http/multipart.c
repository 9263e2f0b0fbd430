#include "multipart.h"

#include <stdint.h>
#include <string.h>

#include "http.h"

/*
 * multipart-body  := [preamble CRLF] dash-boundary transport-padding CRLF
 *                    body-part *encapsulation close-delimiter
 *                    [transport-padding [CRLF epilogue]]
 * encapsulation   := delimiter transport-padding CRLF body-part
 * delimiter       := CRLF dash-boundary
 * dash-boundary   := "--" boundary
 * close-delimiter := delimiter "--"
 * body-part       := MIME-part-headers [CRLF *OCTET]
 *
 * (RFC 2046 5.1.1). A part's data ends where the next delimiter starts:
 * the CRLF before "--" is the delimiter's, never data. The search for a
 * delimiter starts as if a CRLF had just been read, both at the start of
 * the body, so that the first one may open it, and at the start of a
 * part's data: a part with no [CRLF *OCTET] is MIME-part-headers followed
 * by a delimiter, and readers that scan the whole body for CRLF "--"
 * boundary (or Go's mime/multipart) see one there too, so data that
 * starts with "--" boundary is never data. RFC 7578 asks each part for a
 * Content-Disposition form-data with a name.
 */
enum state {
	S_PREAMBLE, /* looking for the first delimiter; the bytes are dropped */
	S_BODY,	    /* a part's data, looking for the next delimiter */
	S_AFTER,    /* after a delimiter: "--", transport padding or CR */
	S_CLOSE,    /* after its '-': the second one */
	S_PAD,	    /* in transport padding: more of it, or CR */
	S_LF,	    /* the LF that ends a delimiter line */
	S_HEAD,	    /* a part's header section, up to its empty line */
	S_END,	    /* the close delimiter ended the last part: DONE next */
	S_DONE,
	S_ERROR
};

static bool ws(unsigned char b)
{
	return b == ' ' || b == '\t';
}

static unsigned char lower(unsigned char b)
{
	return b >= 'A' && b <= 'Z' ? (unsigned char)(b + 'a' - 'A') : b;
}

static bool alnum(unsigned char b)
{
	return (b >= '0' && b <= '9') || (lower(b) >= 'a' && lower(b) <= 'z');
}

/* True when s[0..n) is lit in any case (ASCII only, in any locale). */
static bool ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (n != strlen(lit))
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

/* RFC 2046 bchars; a boundary may not end in the space. */
static bool bchar(unsigned char b)
{
	return alnum(b) || (b != 0 && strchr("'()+_,-./:=? ", b) != NULL);
}

static bool valid_boundary(const char *b, size_t n)
{
	size_t i;

	if (n == 0 || n > SK_MP_MAX_BOUNDARY || b[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if (!bchar((unsigned char)b[i]))
			return false;
	return true;
}

static void skip_ows(const char **p, const char *end)
{
	while (*p < end && ws((unsigned char)**p))
		(*p)++;
}

/* Moves *p past a token (1*tchar); returns its length, 0 when there is none. */
static size_t token(const char **p, const char *end)
{
	const char *s = *p;

	while (*p < end && sk_http_tchar((unsigned char)**p))
		(*p)++;
	return (size_t)(*p - s);
}

/* qdtext, and what a quoted-pair may escape, less the '"' and '\\' of qdtext's gap. */
static bool qtext(unsigned char b)
{
	return b == '\t' || (b >= 0x20 && b != 0x7f);
}

/*
 * Reads a token or a quoted-string (RFC 9110 5.6.2, 5.6.4) at *p, before
 * end, and moves *p past it. Its value, the quoted-pairs \\" and \\\\ undone
 * (any other backslash is kept, as browsers mean it), goes to out
 * (cap bytes and a NUL) unless out is NULL. Returns the value's length, -1
 * when malformed, or -2 when longer than cap.
 */
static long value(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;
	unsigned char b;

	if (s == end)
		return -1;
	if (*s != '"') {
		n = token(p, end);
		if (n == 0)
			return -1;
		if (n > cap)
			return -2;
		if (out) {
			memcpy(out, s, n);
			out[n] = '\0';
		}
		return (long)n;
	}
	for (s++; s < end && *s != '"'; s++, n++) {
		/*
		 * Browsers send a '\\' in a file name as it is (the HTML form
		 * encoding escapes only '"' and line ends): it stays, to be
		 * refused as a path separator, unless it quotes a '"' or a '\\'
		 * as curl's --form-escape writes them.
		 */
		if (*s == '\\' && s + 1 < end && (s[1] == '"' || s[1] == '\\'))
			s++;
		b = (unsigned char)*s;
		if (!qtext(b))
			return -1;
		if (n == cap)
			return -2;
		if (out)
			out[n] = (char)b;
	}
	if (s == end)
		return -1; /* no closing quote */
	if (out)
		out[n] = '\0';
	*p = s + 1;
	return (long)n;
}

int sk_mp_boundary(const char *ctype, size_t len, char *out)
{
	const char *p = ctype, *end = ctype + len, *s;
	size_t n;
	long v;
	bool found = false;

	skip_ows(&p, end);
	s = p;
	if (!ieq(s, token(&p, end), "multipart") || p == end || *p++ != '/')
		return -1;
	s = p;
	if (!ieq(s, token(&p, end), "form-data"))
		return -1;
	for (;;) {
		skip_ows(&p, end);
		if (p == end)
			break;
		if (*p++ != ';')
			return -1;
		skip_ows(&p, end);
		if (p == end || *p == ';')
			continue; /* RFC 9110 allows an empty parameter */
		s = p;
		n = token(&p, end);
		if (n == 0 || p == end || *p++ != '=')
			return -1;
		if (!ieq(s, n, "boundary")) {
			if (value(&p, end, NULL, SIZE_MAX) < 0)
				return -1;
			continue;
		}
		if (found || (v = value(&p, end, out, SK_MP_MAX_BOUNDARY)) < 0 ||
		    !valid_boundary(out, (size_t)v))
			return -1;
		found = true;
	}
	return found ? 0 : -1;
}

void sk_mp_init(struct sk_multipart *mp, const char *boundary)
{
	size_t n = strnlen(boundary, SK_MP_MAX_BOUNDARY + 1);

	memset(mp, 0, offsetof(struct sk_multipart, head));
	mp->state = S_PREAMBLE;
	if (!valid_boundary(boundary, n)) {
		mp->state = S_ERROR;
		mp->why = "no boundary, or a bad one";
		return;
	}
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, n);
	mp->delim_len = 4 + n;
	mp->match = mp->lead = 2; /* as if after a CRLF: the body may open with "--" boundary */
}

static enum sk_mp_event fail(struct sk_multipart *mp, const char *why)
{
	mp->state = S_ERROR;
	mp->why = why;
	return SK_MP_ERROR;
}

/* How many bytes of in[0..len) go on with a match of the delimiter from its byte at. */
static size_t extend(const struct sk_multipart *mp, size_t at, const char *in, size_t len)
{
	size_t n = 0;

	while (n < len && at + n < mp->delim_len && in[n] == mp->delim[at + n])
		n++;
	return n;
}

/*
 * In S_PREAMBLE or S_BODY with mp->match bytes of the delimiter held back:
 * takes the input that goes on with it. When a byte does not, the held
 * bytes but the mp->lead that were never input are data (dropped in the
 * preamble), and in[*i] is looked at again.
 */
static enum sk_mp_event resume(struct sk_multipart *mp, const char *in, size_t len, size_t *i,
			       const char **data, size_t *data_len)
{
	size_t n = extend(mp, mp->match, in + *i, len - *i), lead = mp->lead;

	*i += n;
	if (mp->match + n == mp->delim_len) {
		mp->match = mp->lead = 0;
		mp->state = S_AFTER;
		return SK_MP_MORE;
	}
	if (*i == len) {
		mp->match += n;
		return SK_MP_MORE;
	}
	*i -= n; /* those bytes go on from a byte other than CR: no delimiter starts there */
	n = mp->match;
	mp->match = mp->lead = 0;
	if (mp->state == S_PREAMBLE || n == lead)
		return SK_MP_MORE;
	*data = mp->delim + lead;
	*data_len = n - lead;
	return SK_MP_DATA;
}

/*
 * In S_PREAMBLE or S_BODY with nothing held back: the bytes up to a
 * delimiter, or to what may be the start of one at the end of the input,
 * are data (dropped in the preamble). Takes that and the delimiter or its
 * start too.
 */
static enum sk_mp_event search(struct sk_multipart *mp, const char *in, size_t len, size_t *i,
			       const char **data, size_t *data_len)
{
	const char *start = in + *i, *end = in + len, *cr;
	size_t n = 0;
	bool body = mp->state == S_BODY;

	for (cr = start; (cr = memchr(cr, '\r', (size_t)(end - cr))) != NULL; cr++) {
		n = extend(mp, 0, cr, (size_t)(end - cr));
		if (n == mp->delim_len || cr + n == end)
			break;
	}
	if (!cr) {
		cr = end;
		n = 0;
	}
	*i = (size_t)(cr - in) + n;
	if (n == mp->delim_len)
		mp->state = S_AFTER;
	else
		mp->match = n;
	if (!body || cr == start)
		return SK_MP_MORE;
	*data = start;
	*data_len = (size_t)(cr - start);
	return SK_MP_DATA;
}

/*
 * A byte of a delimiter line after the boundary. The first delimiter
 * opens the first part; each later one ends a part, and the close
 * delimiter ends the body.
 */
static enum sk_mp_event after(struct sk_multipart *mp, unsigned char b)
{
	switch (mp->state) {
	case S_AFTER:
		if (b == '-')
			mp->state = S_CLOSE;
		else if (ws(b))
			mp->state = S_PAD;
		else if (b == '\r')
			mp->state = S_LF;
		else
			return fail(mp, "a delimiter followed by other than CRLF or \"--\"");
		return SK_MP_MORE;
	case S_CLOSE:
		if (b != '-')
			return fail(mp, "a delimiter followed by other than CRLF or \"--\"");
		if (mp->parts == 0)
			return fail(mp, "the close delimiter before any part");
		mp->state = S_END;
		return SK_MP_PART_END;
	case S_PAD:
		if (b == '\r')
			mp->state = S_LF;
		else if (!ws(b))
			return fail(mp, "a delimiter followed by other than CRLF or \"--\"");
		return SK_MP_MORE;
	default: /* S_LF */
		if (b != '\n')
			return fail(mp, "a CR without LF after a delimiter");
		mp->state = S_HEAD;
		mp->head_len = 0;
		return mp->parts > 0 ? SK_MP_PART_END : SK_MP_MORE;
	}
}

/* RFC 8187 attr-char. */
static bool attr_char(unsigned char b)
{
	return alnum(b) || (b != 0 && strchr("!#$&+-.^_`|~", b) != NULL);
}

/*
 * Decodes an RFC 8187 ext-value, charset "'" [ language ] "'" value-chars,
 * from s[0..n) into out (SK_MP_MAX_NAME + 1 bytes). Returns NULL, or why not.
 */
static const char *ext_value(const char *s, size_t n, char *out)
{
	const char *end = s + n, *q = memchr(s, '\'', n);
	size_t o = 0;
	int hi, lo;
	unsigned char b;

	if (!q || !ieq(s, (size_t)(q - s), "utf-8"))
		return "a filename*= not in UTF-8";
	for (s = q + 1; s < end && *s != '\''; s++)
		if (*s != '-' && !alnum((unsigned char)*s)) /* the language tag, loosely */
			return "a malformed filename*=";
	if (s == end)
		return "a malformed filename*=";
	for (s++; s < end; out[o++] = (char)b) {
		if (*s == '%') {
			if (end - s < 3 || (hi = sk_http_hexval((unsigned char)s[1])) < 0 ||
			    (lo = sk_http_hexval((unsigned char)s[2])) < 0)
				return "a malformed filename*=";
			b = (unsigned char)(hi << 4 | lo);
			s += 3;
		} else if (attr_char((unsigned char)*s)) {
			b = (unsigned char)*s++;
		} else {
			return "a malformed filename*=";
		}
		if (b == 0)
			return "a NUL in filename*=";
		if (o == SK_MP_MAX_NAME)
			return "a file name too long";
	}
	out[o] = '\0';
	return NULL;
}

/* The parameters of Content-Disposition that matter here. */
struct disp {
	bool name, filename, filename_ext;
	char plain[SK_MP_MAX_NAME + 1]; /* filename=, used when there is no filename*= */
};

/* One disposition-parm: name=value at *p, before end. Returns NULL, or why not. */
static const char *disp_param(struct sk_mp_part *part, struct disp *d, const char **p,
			      const char *end)
{
	const char *s = *p, *v;
	size_t n = token(p, end);
	bool *seen = NULL;
	long got;

	if (n == 0 || *p == end || *(*p)++ != '=')
		return "a malformed Content-Disposition";
	v = *p;
	if (ieq(s, n, "name")) {
		seen = &d->name;
		got = value(p, end, part->name, SK_MP_MAX_NAME);
	} else if (ieq(s, n, "filename")) {
		seen = &d->filename;
		got = value(p, end, d->plain, SK_MP_MAX_NAME);
	} else if (ieq(s, n, "filename*")) {
		seen = &d->filename_ext;
		got = (long)token(p, end); /* an ext-value is made of tchars */
		if (got == 0)
			got = -1;
	} else {
		got = value(p, end, NULL, SIZE_MAX); /* another parameter: checked, ignored */
	}
	if (seen && *seen)
		return "a repeated Content-Disposition parameter";
	if (seen)
		*seen = true;
	if (got == -2)
		return "a name or file name too long";
	if (got < 0)
		return "a malformed Content-Disposition";
	if (seen == &d->filename_ext)
		return ext_value(v, (size_t)got, part->filename);
	return NULL;
}

/*
 * Content-Disposition: "form-data" *( OWS ";" OWS disposition-parm ), as
 * RFC 6266 4.1 and RFC 7578 4.2 have it. Returns NULL, or why not.
 */
static const char *disposition(struct sk_mp_part *part, const char *v, size_t len)
{
	const char *p = v, *end = v + len, *why;
	struct disp d = {0};

	if (!ieq(v, token(&p, end), "form-data"))
		return "a Content-Disposition other than form-data";
	for (;;) {
		skip_ows(&p, end);
		if (p == end)
			break;
		if (*p++ != ';')
			return "a malformed Content-Disposition";
		skip_ows(&p, end);
		if ((why = disp_param(part, &d, &p, end)) != NULL)
			return why;
	}
	if (!d.name)
		return "a Content-Disposition without name=";
	part->has_filename = d.filename || d.filename_ext;
	if (d.filename && !d.filename_ext)
		memcpy(part->filename, d.plain, sizeof(d.plain));
	return NULL;
}

/*
 * One header field line s[0..n), without its CRLF. *seen has bit 1 once a
 * Content-Disposition was seen, bit 2 once a Content-Type was. Returns
 * NULL, or why not.
 */
static const char *field(struct sk_mp_part *part, const char *s, size_t n, unsigned *seen)
{
	const char *p = s, *end = s + n, *v;
	size_t k = token(&p, end);

	if (k == 0 || p == end || *p++ != ':')
		return n > 0 && ws((unsigned char)s[0]) ? "obs-fold in a part header"
							: "a malformed part header line";
	skip_ows(&p, end);
	while (end > p && ws((unsigned char)end[-1]))
		end--;
	for (v = p; v < end; v++)
		if (!qtext((unsigned char)*v))
			return "a control byte in a part header";
	n = (size_t)(end - p);
	if (ieq(s, k, "content-disposition")) {
		if (*seen & 1)
			return "a repeated Content-Disposition";
		*seen |= 1;
		return disposition(part, p, n);
	}
	if (ieq(s, k, "content-type")) {
		if (*seen & 2)
			return "a repeated Content-Type";
		if (n > SK_MP_MAX_CTYPE)
			return "a part Content-Type too long";
		*seen |= 2;
		memcpy(part->ctype, p, n);
		part->ctype[n] = '\0';
		return NULL;
	}
	if (ieq(s, k, "content-transfer-encoding") && !ieq(p, n, "7bit") && !ieq(p, n, "8bit") &&
	    !ieq(p, n, "binary"))
		return "a Content-Transfer-Encoding other than 7bit, 8bit or binary";
	return NULL; /* another field: ignored */
}

/* The header section in mp->head is complete: its field lines, then CRLF. */
static enum sk_mp_event head_done(struct sk_multipart *mp)
{
	const char *p = mp->head, *end = mp->head + mp->head_len - 2, *eol, *why;
	unsigned seen = 0;

	memset(&mp->part, 0, sizeof(mp->part));
	for (; p < end; p = eol + 2) {
		/* Each line ends in CRLF, and a CR stands nowhere else: head() saw to it. */
		eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol)
			return fail(mp, "a malformed part header line");
		if ((why = field(&mp->part, p, (size_t)(eol - p), &seen)) != NULL)
			return fail(mp, why);
	}
	if (!(seen & 1))
		return fail(mp, "a part without Content-Disposition");
	mp->parts++;
	mp->state = S_BODY;
	mp->match = mp->lead = 2; /* the empty line's CRLF may be the delimiter's too */
	return SK_MP_PART;
}

/*
 * In S_HEAD: gathers the header section, up to SK_MP_MAX_PART_HEAD bytes,
 * with CRLF and only CRLF as line ends, until its empty line.
 */
static enum sk_mp_event head(struct sk_multipart *mp, const char *in, size_t len, size_t *i)
{
	unsigned char b, prev;

	for (; *i < len; (*i)++) {
		b = (unsigned char)in[*i];
		prev = mp->head_len ? (unsigned char)mp->head[mp->head_len - 1] : 0;
		if (mp->head_len == SK_MP_MAX_PART_HEAD)
			return fail(mp, "a part header section too large");
		if (prev == '\r' && b != '\n')
			return fail(mp, "a CR without LF in a part header");
		if (b == '\n' && prev != '\r')
			return fail(mp, "a bare LF in a part header");
		mp->head[mp->head_len++] = (char)b;
		if (b == '\n' && (mp->head_len == 2 || mp->head[mp->head_len - 3] == '\n')) {
			(*i)++;
			return head_done(mp);
		}
	}
	return SK_MP_MORE;
}

enum sk_mp_event sk_mp_feed(struct sk_multipart *mp, const char *in, size_t len, size_t *consumed,
			    const char **data, size_t *data_len)
{
	enum sk_mp_event ev = SK_MP_MORE;
	size_t i = 0;

	*data = NULL;
	*data_len = 0;
	*consumed = 0;
	if (mp->state == S_END)
		mp->state = S_DONE;
	if (mp->state == S_DONE)
		return SK_MP_DONE;
	if (mp->state == S_ERROR)
		return SK_MP_ERROR;
	while (ev == SK_MP_MORE && i < len) {
		switch (mp->state) {
		case S_PREAMBLE:
		case S_BODY:
			if (mp->match > 0)
				ev = resume(mp, in, len, &i, data, data_len);
			else
				ev = search(mp, in, len, &i, data, data_len);
			break;
		case S_HEAD: ev = head(mp, in, len, &i); break;
		default:
			ev = after(mp, (unsigned char)in[i]);
			if (ev != SK_MP_ERROR)
				i++;
		}
	}
	*consumed = i;
	return ev;
}

/*
 * True when s[0..n) is UTF-8 as RFC 3629 has it, with no C1 control
 * (U+0080 to U+009F).
 */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, more;
	unsigned long cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			more = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			more = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			more = 3;
		else
			return false;
		cp = s[i] & (0x3fu >> more); /* the lead byte's bits */
		if (n - i <= more)
			return false;
		for (k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp <= 0x9f || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false; /* a C1 control, overlong, a surrogate, past Unicode */
		i += more + 1;
	}
	return true;
}

/* The checks of sk_mp_safe_name on one spelling, s[0..n). */
static bool safe_as_is(const char *s, size_t n)
{
	size_t i;
	unsigned char b;

	if (n == 0 || n > SK_MP_MAX_NAME || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++) {
		b = (unsigned char)s[i];
		if (b < 0x20 || b == 0x7f || b == '/' || b == '\\')
			return false;
	}
	return utf8_ok((const unsigned char *)s, n);
}

/* Percent-decodes s[0..n) into out (n bytes at most); returns the decoded length. */
static size_t pct_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && n - i > 2 &&
		    (hi = sk_http_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = sk_http_hexval((unsigned char)s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

bool sk_mp_safe_name(const char *name)
{
	char buf[2][SK_MP_MAX_NAME];
	const char *s = name;
	size_t n = strnlen(name, SK_MP_MAX_NAME + 1), m;
	int k = 0;

	for (;;) {
		if (!safe_as_is(s, n))
			return false;
		m = pct_decode(s, n, buf[k]);
		if (m == n)
			return true; /* no %XX left */
		s = buf[k];
		n = m;
		k ^= 1;
	}
}
