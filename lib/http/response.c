#include "response.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sk_hresp_reset(struct sk_hresp *r)
{
	if (r->file >= 0)
		close(r->file);
	r->file = -1;
	r->file_start = r->file_off = r->file_end = 0;
	r->out.len = r->out_off = 0;
	r->status = 0;
	r->body_bytes = 0;
}

void sk_hresp_free(struct sk_hresp *r)
{
	sk_hresp_reset(r);
	sk_buf_free(&r->out);
}

/* Status line, Date, Server and Connection; the caller adds the rest. */
static int head_start(struct sk_hresp *r, int status)
{
	sk_hresp_reset(r);
	r->status = status;
	return sk_buf_printf(&r->out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n%s%s", status,
			     sk_http_reason(status), r->date, r->server,
			     !r->keep_alive ? "Connection: close\r\n"
			     : r->http10    ? "Connection: keep-alive\r\n" /* 1.0 assumes close */
					    : "",
			     r->always ? r->always : "");
}

int sk_hresp_body(struct sk_hresp *r, int status, const char *ctype, const char *extra,
		  const char *body, size_t len, bool head_only)
{
	if (head_start(r, status) < 0 ||
	    sk_buf_printf(&r->out, "%sContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			  extra ? extra : "", ctype, len) < 0 ||
	    (!head_only && sk_buf_add(&r->out, body, len) < 0))
		return -1;
	r->body_bytes = head_only ? 0 : (long long)len;
	return 0;
}

int sk_hresp_error(struct sk_hresp *r, int status, bool head_only, const char *extra)
{
	char body[256];
	int n =
	    snprintf(body, sizeof(body), "<!doctype html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n",
		     status, sk_http_reason(status), status, sk_http_reason(status));

	if (status >= 400 && status != 401 && status != 404 && status != 416)
		r->keep_alive = false;
	return sk_hresp_body(r, status, "text/html; charset=utf-8", extra, body, (size_t)n,
			     head_only);
}

char *sk_hresp_location(const char *path, bool dir)
{
	char *loc = malloc(3 * strlen(path) + 16), *o = loc;
	const char *p = path, *slash;

	if (!loc) {
		errno = ENOMEM;
		return NULL;
	}
	/* Each segment encoded; the path never starts with "//": no other host. */
	o += sprintf(o, "Location: /");
	while (*p) {
		slash = strchr(p, '/');
		o += sk_url_encode(p, slash ? (size_t)(slash - p) : strlen(p), o);
		if (!slash)
			break;
		*o++ = '/';
		p = slash + 1;
	}
	strcpy(o, dir && path[0] ? "/\r\n" : "\r\n");
	return loc;
}

int sk_hresp_redirect(struct sk_hresp *r, const char *path, bool head_only)
{
	char *enc = sk_hresp_location(path, true);
	int rc;

	if (!enc)
		return -1;
	rc = sk_hresp_error(r, 301, head_only, enc);
	free(enc);
	return rc;
}

int sk_hresp_empty(struct sk_hresp *r, int status, const char *extra)
{
	return head_start(r, status) < 0 || sk_buf_printf(&r->out, "%s\r\n", extra ? extra : "") < 0
		   ? -1
		   : 0;
}

static bool not_modified(const struct sk_http_req *q, const struct stat *st, const char *etag)
{
	time_t since;

	if (q->if_none_match)
		return sk_http_etag_match(q->if_none_match, q->if_none_match_len, etag);
	return q->if_modified_since &&
	       sk_http_parse_date(q->if_modified_since, q->if_modified_since_len, &since) == 0 &&
	       st->st_mtim.tv_sec <= since;
}

/* If-Range: the range applies only to the same representation. */
static bool range_applies(const struct sk_http_req *q, const char *etag, const char *lastmod)
{
	if (!q->if_range)
		return true;
	if (q->if_range[0] == '"')
		return q->if_range_len == strlen(etag) &&
		       memcmp(q->if_range, etag, q->if_range_len) == 0;
	return q->if_range_len == strlen(lastmod) &&
	       memcmp(q->if_range, lastmod, q->if_range_len) == 0;
}

/* The body of a 200 or 206: in out when the cache holds it, else from a dup of the file. */
static int file_body(struct sk_hresp *r, const struct sk_fentry *e,
		     const struct sk_http_range *range)
{
	if (e->small)
		return sk_buf_add(&r->out, e->small + range->start, (size_t)range->len);
	/* A copy: the cache may close its own while we send. */
	r->file = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	if (r->file < 0)
		return -1;
	r->file_start = r->file_off = range->start;
	r->file_end = range->start + range->len;
	return 0;
}

int sk_hresp_file(struct sk_hresp *r, const struct sk_http_req *q, const struct sk_fentry *e,
		  const char *ctype, const char *extra)
{
	const struct stat *st = &e->st;
	char crange[96] = "";
	struct sk_http_range range = {0, st->st_size};
	bool head_only = q->method == SK_HEAD;
	int status = 200, rr = 0;

	if (not_modified(q, st, e->etag))
		return head_start(r, 304) < 0
			   ? -1
			   : sk_buf_printf(&r->out, "ETag: %s\r\nLast-Modified: %s\r\n%s\r\n",
					   e->etag, e->lastmod, extra ? extra : "");
	if (q->range && range_applies(q, e->etag, e->lastmod))
		rr = sk_http_range(q->range, q->range_len, st->st_size, &range);
	if (rr == SK_RANGE_UNSATISFIABLE) {
		snprintf(crange, sizeof(crange), "Content-Range: bytes */%lld\r\n",
			 (long long)st->st_size);
		return sk_hresp_error(r, 416, head_only, crange);
	}
	if (rr == SK_RANGE_OK) {
		status = 206;
		snprintf(crange, sizeof(crange), "Content-Range: bytes %lld-%lld/%lld\r\n",
			 (long long)range.start, (long long)(range.start + range.len - 1),
			 (long long)st->st_size);
	}
	if (head_start(r, status) < 0 ||
	    sk_buf_printf(&r->out,
			  "Content-Type: %s\r\nContent-Length: %lld\r\nLast-Modified: %s\r\n"
			  "ETag: %s\r\nAccept-Ranges: bytes\r\n%s%s\r\n",
			  ctype ? ctype : e->ctype, (long long)range.len, e->lastmod, e->etag,
			  crange, extra ? extra : "") < 0)
		return -1;
	r->body_bytes = head_only ? 0 : range.len;
	if (head_only || range.len == 0)
		return 0;
	return file_body(r, e, &range);
}
