#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool sk_http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int sk_http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool eq_ci(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* The end of the line starting at p: the '\n', or NULL. Sets *len without CR. */
static const char *line_end(const char *p, const char *end, size_t *len)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (!nl)
		return NULL;
	*len = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
	return nl;
}

static enum sk_http_method method_kind(const char *m, size_t n)
{
	static const char *const other[] = {"DELETE", "CONNECT", "TRACE", "PATCH"};
	size_t i;

	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return SK_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return SK_HEAD;
	if (n == 3 && memcmp(m, "PUT", 3) == 0)
		return SK_PUT;
	if (n == 4 && memcmp(m, "POST", 4) == 0)
		return SK_POST;
	if (n == 7 && memcmp(m, "OPTIONS", 7) == 0)
		return SK_OPTIONS;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (n == strlen(other[i]) && memcmp(m, other[i], n) == 0)
			return SK_OTHER_KNOWN;
	return SK_UNKNOWN;
}

/* method SP request-target SP HTTP-version */
static int parse_request_line(const char *p, size_t n, struct sk_http_req *r)
{
	const char *end = p + n, *sp;
	size_t i;

	for (i = 0; i < n && sk_http_tchar((unsigned char)p[i]); i++)
		;
	if (i == 0 || i == n || p[i] != ' ')
		return 400;
	r->method_str = p;
	r->method_len = i;
	r->method = method_kind(p, i);
	p += i + 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p)
		return 400;
	for (i = 0; p + i < sp; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return 400; /* RFC 9112 3.2: visible ASCII only, no raw UTF-8 */
	if (i > SK_HTTP_MAX_TARGET)
		return 414;
	r->target = p;
	r->target_len = i;
	p = sp + 1;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || !isdigit((unsigned char)p[5]) ||
	    p[6] != '.' || !isdigit((unsigned char)p[7]))
		return 400;
	if (p[5] != '1')
		return 505;
	r->minor = p[7] == '0' ? 0 : 1;
	r->keep_alive = r->minor >= 1;
	return 0;
}

static int set_once(const char **field, size_t *flen, const char *v, size_t vlen)
{
	if (*field)
		return 400;
	*field = v;
	*flen = vlen;
	return 0;
}

static void parse_connection(const char *v, size_t n, struct sk_http_req *r)
{
	size_t i = 0, start, len;

	while (i < n) {
		while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
			i++;
		start = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		len = i - start;
		if (eq_ci(v + start, len, "close"))
			r->keep_alive = false;
		else if (eq_ci(v + start, len, "keep-alive") && r->minor == 0)
			r->keep_alive = true;
	}
}

struct body_framing {
	bool saw_cl, saw_te;
	unsigned long long cl;
	unsigned te_codings, te_chunked; /* over every Transfer-Encoding line */
	bool te_last_chunked;
};

size_t sk_http_skip_ows(const char *v, size_t n, size_t i)
{
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	return i;
}

size_t sk_http_token_end(const char *v, size_t n, size_t i)
{
	while (i < n && sk_http_tchar((unsigned char)v[i]))
		i++;
	return i;
}

/* The end of the quoted-string opening at v[i], or i when it is unterminated. */
static size_t quoted_end(const char *v, size_t n, size_t i)
{
	size_t k;

	for (k = i + 1; k < n; k++) {
		if (v[k] == '"')
			return k + 1;
		if (v[k] == '\\' && ++k == n)
			break; /* quoted-pair; parse_field has already refused control bytes */
	}
	return i;
}

/* *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ) from v[*pi]. */
static int coding_params(const char *v, size_t n, size_t *pi)
{
	size_t i = *pi, j;

	for (;;) {
		j = sk_http_skip_ows(v, n, i);
		if (j == n || v[j] != ';') {
			*pi = i;
			return 0;
		}
		j = sk_http_skip_ows(v, n, j + 1);
		i = sk_http_token_end(v, n, j);
		if (i == j)
			return 400;
		i = sk_http_skip_ows(v, n, i);
		if (i == n || v[i] != '=')
			return 400;
		j = sk_http_skip_ows(v, n, i + 1);
		i = j < n && v[j] == '"' ? quoted_end(v, n, j) : sk_http_token_end(v, n, j);
		if (i == j)
			return 400;
	}
}

/*
 * One Transfer-Encoding line: a #transfer-coding list (RFC 9112 6.1),
 * empty elements allowed as RFC 9110 5.6.1 asks of recipients. Lines
 * add up into one list; parse_fields judges the whole.
 */
static int transfer_encoding(const char *v, size_t n, struct body_framing *f)
{
	size_t i = 0, start;

	f->saw_te = true;
	for (;;) {
		i = sk_http_skip_ows(v, n, i);
		if (i < n && v[i] != ',') {
			start = i;
			i = sk_http_token_end(v, n, i);
			if (i == start)
				return 400;
			f->te_last_chunked = eq_ci(v + start, i - start, "chunked");
			f->te_chunked += f->te_last_chunked;
			f->te_codings++;
			if (coding_params(v, n, &i))
				return 400;
			i = sk_http_skip_ows(v, n, i);
		}
		if (i == n)
			return 0;
		if (v[i] != ',')
			return 400;
		i++;
	}
}

/*
 * RFC 9112 6.1 and 6.3: chunked must be the final coding and applied
 * once, and an HTTP/1.0 request with Transfer-Encoding has faulty
 * framing. Returns 0 or 400.
 */
static int check_framing(const struct body_framing *f, int minor)
{
	if (f->saw_te && (minor == 0 || f->saw_cl || f->te_codings == 0 || f->te_chunked != 1 ||
			  !f->te_last_chunked))
		return 400;
	return 0;
}

static int content_length(const char *v, size_t n, struct body_framing *f)
{
	unsigned long long x = 0;
	size_t i;

	if (n == 0 || n > 18)
		return 400;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return 400;
		x = x * 10 + (unsigned)(v[i] - '0');
	}
	if (f->saw_cl && f->cl != x)
		return 400;
	f->saw_cl = true;
	f->cl = x;
	return 0;
}

/* One header field line: name ":" OWS value OWS. */
static int parse_field(const char *p, size_t n, struct sk_http_req *r, struct body_framing *f)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n;
	size_t i, nlen;

	if (!colon || colon == p)
		return 400;
	nlen = (size_t)(colon - p);
	for (i = 0; i < nlen; i++)
		if (!sk_http_tchar((unsigned char)p[i]))
			return 400; /* also no space before the colon */
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; v + i < end; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			return 400;
	n = (size_t)(end - v);
	if (eq_ci(p, nlen, "host"))
		return set_once(&r->host, &r->host_len, v, n);
	if (eq_ci(p, nlen, "connection"))
		parse_connection(v, n, r);
	else if (eq_ci(p, nlen, "content-length"))
		return content_length(v, n, f);
	else if (eq_ci(p, nlen, "transfer-encoding"))
		return transfer_encoding(v, n, f);
	else if (eq_ci(p, nlen, "range"))
		return set_once(&r->range, &r->range_len, v, n);
	else if (eq_ci(p, nlen, "if-range"))
		return set_once(&r->if_range, &r->if_range_len, v, n);
	else if (eq_ci(p, nlen, "if-none-match"))
		return set_once(&r->if_none_match, &r->if_none_match_len, v, n);
	else if (eq_ci(p, nlen, "if-modified-since"))
		return set_once(&r->if_modified_since, &r->if_modified_since_len, v, n);
	else if (eq_ci(p, nlen, "authorization"))
		return set_once(&r->authorization, &r->authorization_len, v, n);
	else if (eq_ci(p, nlen, "origin"))
		return set_once(&r->origin, &r->origin_len, v, n);
	else if (eq_ci(p, nlen, "access-control-request-method"))
		return set_once(&r->ac_method, &r->ac_method_len, v, n);
	else if (eq_ci(p, nlen, "access-control-request-headers"))
		return set_once(&r->ac_headers, &r->ac_headers_len, v, n);
	else if (eq_ci(p, nlen, "content-type"))
		return set_once(&r->content_type, &r->content_type_len, v, n);
	else if (eq_ci(p, nlen, "accept-encoding") && !r->accept_encoding) {
		r->accept_encoding = v; /* a second line is not read: the first decides */
		r->accept_encoding_len = n;
	} else if (eq_ci(p, nlen, "content-range")) {
		r->content_range = true;
	} else if (eq_ci(p, nlen, "expect")) {
		if (eq_ci(v, n, "100-continue"))
			r->expect_continue = true;
		else
			r->expect_other = true;
	}
	return 0;
}

static int parse_fields(const char *p, const char *end, struct sk_http_req *r)
{
	struct body_framing f = {0};
	const char *nl;
	size_t n, count = 0;
	int rc;

	for (;;) {
		nl = line_end(p, end, &n);
		if (!nl)
			return -1;
		if (n == 0)
			break;
		if (*p == ' ' || *p == '\t')
			return 400; /* obsolete line folding */
		if (++count > SK_HTTP_MAX_HEADERS)
			return 431;
		if ((rc = parse_field(p, n, r, &f)))
			return rc;
		p = nl + 1;
	}
	if ((rc = check_framing(&f, r->minor)))
		return rc;
	r->chunked = f.saw_te;
	r->content_length = f.saw_cl ? f.cl : 0;
	r->has_body = r->chunked || r->content_length > 0;
	if (r->minor >= 1 && !r->host)
		return 400;
	return 0;
}

/* The parse itself: 0 complete, -1 for more bytes, or the error status. */
static int parse_head(const char *buf, size_t len, struct sk_http_req *req)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t n;
	int rc;

	memset(req, 0, sizeof(*req));
	while (p < end && (*p == '\r' || *p == '\n') && p - buf < 64)
		p++; /* empty lines before a request are ignored (RFC 9112 2.2) */
	nl = line_end(p, end, &n);
	if (!nl) {
		if ((size_t)(end - p) > SK_HTTP_MAX_TARGET + 64)
			return 414;
		return len > SK_HTTP_MAX_HEAD ? 431 : -1;
	}
	if ((rc = parse_request_line(p, n, req)))
		return rc;
	req->line_len = n;
	rc = parse_fields(nl + 1, end, req);
	if (rc == -1)
		return len > SK_HTTP_MAX_HEAD ? 431 : -1;
	if (rc)
		return rc;
	/* Find the blank line again to measure the head from buf. */
	for (p = nl + 1; (nl = line_end(p, end, &n)) && n > 0; p = nl + 1)
		;
	req->head_len = (size_t)(nl + 1 - buf);
	return req->head_len > SK_HTTP_MAX_HEAD ? 431 : 0;
}

enum sk_http_parse_result sk_http_parse(const char *buf, size_t len, struct sk_http_req *req)
{
	int rc = parse_head(buf, len, req);

	if (rc < 0)
		return SK_HTTP_PARTIAL;
	if (rc == 0)
		return SK_HTTP_COMPLETE;
	req->status = rc;
	return SK_HTTP_BAD;
}

/* Appends segment seg[0..n) to out at *o; "." is skipped, ".." pops. */
static int push_segment(const char *seg, size_t n, char *out, size_t outlen, size_t *o)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		if (*o == 0)
			return -1; /* above the root */
		while (*o > 0 && out[*o - 1] != '/')
			(*o)--;
		if (*o > 0)
			(*o)--;
		return 0;
	}
	if (*o + (*o > 0) + n + 1 > outlen)
		return -1;
	if (*o > 0)
		out[(*o)++] = '/';
	memcpy(out + *o, seg, n);
	*o += n;
	return 0;
}

/*
 * Drops scheme and authority from an absolute-form target (RFC 9112
 * 3.2.2): *t and *len then hold the path and what follows. Returns 1 when
 * the path is empty ("http://h?q" means "/"), 0 otherwise (also for a
 * target not in absolute-form), or -1 for an empty authority without a path.
 */
static int strip_absolute(const char **t, size_t *len)
{
	size_t skip, i;

	if (*len > 7 && strncasecmp(*t, "http://", 7) == 0)
		skip = 7;
	else if (*len > 8 && strncasecmp(*t, "https://", 8) == 0)
		skip = 8;
	else
		return 0;
	for (i = skip; i < *len && (*t)[i] != '/' && (*t)[i] != '?' && (*t)[i] != '#'; i++)
		; /* the authority ends at the path, query or fragment (RFC 3986 3.2) */
	if (i < *len && (*t)[i] == '/') {
		*t += i;
		*len -= i;
		return 0;
	}
	return i > skip ? 1 : -1;
}

int sk_http_target_path(const char *t, size_t len, char *out, size_t outlen, bool *dir_slash)
{
	char dec[SK_HTTP_MAX_TARGET + 1];
	size_t i, d = 0, o = 0, seg;
	int rc = strip_absolute(&t, &len);

	if (rc != 0) {
		if (rc < 0 || outlen == 0 || len > SK_HTTP_MAX_TARGET)
			return -1;
		out[0] = '\0';
		*dir_slash = true;
		return 0;
	}
	if (len == 0 || t[0] != '/' || len > SK_HTTP_MAX_TARGET)
		return -1;
	for (i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
		if (t[i] == '%') {
			int hi = i + 2 < len ? sk_http_hexval((unsigned char)t[i + 1]) : -1;
			int lo = hi >= 0 ? sk_http_hexval((unsigned char)t[i + 2]) : -1;

			if (lo < 0 || (hi == 0 && lo == 0))
				return -1;
			dec[d++] = (char)(hi << 4 | lo);
			i += 2;
		} else if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f) {
			return -1; /* raw NUL, space or control: never part of a target */
		} else {
			dec[d++] = t[i];
		}
	}
	*dir_slash = dec[d - 1] == '/';
	for (i = 0, seg = 0; i <= d; i++) {
		if (i == d || dec[i] == '/') {
			if (push_segment(dec + seg, i - seg, out, outlen, &o) < 0)
				return -1;
			seg = i + 1;
		}
	}
	out[o] = '\0';
	/* "/a/.." names the root, a directory: like "/a/../". */
	if (d >= 2 && dec[d - 1] == '.' &&
	    (dec[d - 2] == '/' || (d >= 3 && dec[d - 2] == '.' && dec[d - 3] == '/')))
		*dir_slash = true;
	return 0;
}

/* Parses decimal digits p[0..n) into *v. Returns 0 or -1. */
static int digits(const char *p, size_t n, off_t *v)
{
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

enum sk_http_range_result sk_http_range(const char *v, size_t len, off_t size,
					struct sk_http_range *r)
{
	const char *dash;
	off_t a, b;

	if (len < 7 || strncasecmp(v, "bytes=", 6) != 0 || memchr(v, ',', len))
		return SK_RANGE_IGNORE;
	v += 6;
	len -= 6;
	dash = memchr(v, '-', len);
	if (!dash)
		return SK_RANGE_IGNORE;
	if (dash == v) { /* -n: the last n bytes */
		if (digits(v + 1, len - 1, &b) < 0)
			return SK_RANGE_IGNORE;
		if (b == 0 || size == 0)
			return SK_RANGE_UNSATISFIABLE;
		r->start = b >= size ? 0 : size - b;
		r->len = size - r->start;
		return SK_RANGE_OK;
	}
	if (digits(v, (size_t)(dash - v), &a) < 0)
		return SK_RANGE_IGNORE;
	if (dash + 1 == v + len) {
		b = size - 1;
	} else if (digits(dash + 1, (size_t)(v + len - dash - 1), &b) < 0 || b < a) {
		return SK_RANGE_IGNORE;
	}
	if (a >= size)
		return SK_RANGE_UNSATISFIABLE;
	if (b >= size)
		b = size - 1;
	r->start = a;
	r->len = b - a + 1;
	return SK_RANGE_OK;
}

char *sk_http_date(time_t t, char *out)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return out;
}

int sk_http_parse_date(const char *s, size_t len, time_t *t)
{
	static const char *const fmt[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
					  "%a %b %e %H:%M:%S %Y"};
	char buf[64];
	struct tm tm;
	const char *end;
	size_t i;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(buf, fmt[i], &tm);
		if (end && *end == '\0') {
			*t = timegm(&tm);
			return 0;
		}
	}
	return -1;
}

bool sk_http_etag_match(const char *v, size_t len, const char *etag)
{
	size_t i = 0, start, elen;

	if (etag[0] == 'W' && etag[1] == '/')
		etag += 2;
	elen = strlen(etag);
	while (i < len) {
		while (i < len && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		if (i - start == 1 && v[start] == '*')
			return true;
		if (i - start > 2 && v[start] == 'W' && v[start + 1] == '/')
			start += 2;
		while (i > start && (v[i - 1] == ' ' || v[i - 1] == '\t'))
			i--;
		if (i - start == elen && memcmp(v + start, etag, elen) == 0)
			return true;
		while (i < len && v[i] != ',')
			i++;
	}
	return false;
}

size_t sk_html_escape(const char *s, size_t n, char *out)
{
	char *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			memcpy(o, "&amp;", 5);
			o += 5;
			break;
		case '<':
			memcpy(o, "&lt;", 4);
			o += 4;
			break;
		case '>':
			memcpy(o, "&gt;", 4);
			o += 4;
			break;
		case '"':
			memcpy(o, "&quot;", 6);
			o += 6;
			break;
		case '\'':
			memcpy(o, "&#39;", 5);
			o += 5;
			break;
		default: *o++ = s[i];
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

size_t sk_url_encode(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

size_t sk_log_escape(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

const char *sk_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	}
	return "Unknown";
}
