#include "route.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "encoding.h"
#include "listing.h"

/* A resolved target plus "/index.html". */
#define REL_MAX (SK_HTTP_MAX_TARGET + NAME_MAX + 16)

static const enum sk_enc codings[] = {SK_ENC_BR, SK_ENC_ZSTD, SK_ENC_GZIP};

/*
 * The answer for the regular file at rel (e, its cache entry): with
 * --precompressed, its best sibling by Accept-Encoding instead, typed as
 * the file, with Vary. Lookups change the cache, so e is looked up again
 * after the siblings are. Returns 0, or -1 with errno.
 */
static int file_response(struct sk_hresp *r, struct sk_fcache *cache, const struct sk_httpd_opts *o,
			 const struct sk_http_req *q, const struct sk_fentry *e, const char *rel)
{
	char ctype[sizeof(e->ctype)], path[REL_MAX + 8], extra[160];
	const char *cc = o->cache_control ? o->cache_control : "";
	unsigned avail = 0;
	enum sk_enc choice;
	struct stat st;
	size_t i;
	int fd;

	if (!o->precompressed)
		return sk_hresp_file(r, q, e, NULL, o->cache_control);
	memcpy(ctype, e->ctype, sizeof(ctype));
	for (i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", rel, sk_enc_suffix(codings[i])) >=
		    (int)sizeof(path))
			continue;
		if (sk_fcache_probe(cache, path)) /* a regular file; misses are remembered */
			avail |= (unsigned)codings[i];
		else if (errno == ENOMEM)
			return -1;
	}
	choice = avail ? sk_enc_choose(q->accept_encoding, q->accept_encoding_len, avail)
		       : SK_ENC_IDENTITY;
	snprintf(path, sizeof(path), "%s%s", rel, sk_enc_suffix(choice));
	e = sk_fcache_lookup(cache, path, &fd, &st);
	if (!e) { /* gone since: as if it never was */
		if (fd >= 0)
			close(fd);
		return errno == ENOMEM ? -1 : sk_hresp_error(r, 404, q->method == SK_HEAD, NULL);
	}
	if (!avail)
		return sk_hresp_file(r, q, e, NULL, o->cache_control);
	if (choice == SK_ENC_IDENTITY)
		snprintf(extra, sizeof(extra), "%sVary: Accept-Encoding\r\n", cc);
	else
		snprintf(extra, sizeof(extra),
			 "%sContent-Encoding: %s\r\nVary: Accept-Encoding\r\n", cc,
			 sk_enc_name(choice));
	return sk_hresp_file(r, q, e, choice == SK_ENC_IDENTITY ? NULL : ctype, extra);
}

static int listing_response(struct sk_hresp *r, const struct sk_httpd_opts *o, int fd,
			    const char *rel, bool head_only)
{
	struct sk_buf body = {0};
	int rc = sk_listing_html(&body, o->root, fd, rel, o->upload);

	if (rc == 0)
		rc = sk_hresp_body(r, 200, "text/html; charset=utf-8",
				   "Cache-Control: no-cache\r\n", body.p, body.len, head_only);
	sk_buf_free(&body);
	return rc;
}

/* A directory: its index.html, else a listing (when allowed), else 403. Closes fd. */
static int dir_response(struct sk_hresp *r, struct sk_fcache *cache, const struct sk_httpd_opts *o,
			const struct sk_http_req *q, int fd, const char *rel)
{
	bool head_only = q->method == SK_HEAD;
	const struct sk_fentry *e = NULL;
	char index[REL_MAX];
	struct stat st;
	int ifd = -1, rc;

	if (snprintf(index, sizeof(index), "%s%sindex.html", rel, rel[0] ? "/" : "") <
	    (int)sizeof(index))
		e = sk_fcache_lookup(cache, index, &ifd, &st);
	if (ifd >= 0)
		close(ifd); /* index.html that is not a regular file */
	if (e)
		rc = file_response(r, cache, o, q, e, index);
	else if (o->listing)
		rc = listing_response(r, o, fd, rel, head_only);
	else
		rc = sk_hresp_error(r, 403, head_only, NULL);
	close(fd);
	return rc;
}

/* Builds the response for a GET or HEAD. Returns 0, or -1 with errno. */
static int get(struct sk_hresp *r, struct sk_fcache *cache, const struct sk_httpd_opts *o,
	       const struct sk_http_req *q)
{
	char rel[SK_HTTP_MAX_TARGET + 1];
	bool head_only = q->method == SK_HEAD, dir_slash;
	const struct sk_fentry *e;
	struct stat st;
	int fd;

	if (sk_http_target_path(q->target, q->target_len, rel, sizeof(rel), &dir_slash) < 0)
		return sk_hresp_error(r, 400, head_only, NULL);
	e = sk_fcache_lookup(cache, rel, &fd, &st);
	if (e)
		return file_response(r, cache, o, q, e, rel);
	/* --fallback: what does not exist is answered with the fallback file. */
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR) && o->fallback &&
	    (e = sk_fcache_lookup(cache, o->fallback, &fd, &st)))
		return file_response(r, cache, o, q, e, o->fallback);
	if (fd < 0)
		return errno == ENOMEM
			   ? -1
			   : sk_hresp_error(r, errno == ENOENT || errno == ENOTDIR ? 404 : 403,
					    head_only, NULL);
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return sk_hresp_error(r, 403, head_only, NULL);
	}
	if (!dir_slash && rel[0]) {
		close(fd);
		return sk_hresp_redirect(r, rel, head_only);
	}
	return dir_response(r, cache, o, q, fd, rel);
}

/* The methods this server answers, as a list. */
static const char *methods(const struct sk_httpd_opts *o)
{
	if (o->cors && o->upload)
		return "GET, HEAD, OPTIONS, PUT, POST";
	return o->cors ? "GET, HEAD, OPTIONS" : o->upload ? "GET, HEAD, PUT, POST" : "GET, HEAD";
}

/* True when v is a list of tokens, as Access-Control-Request-Headers is. */
static bool token_list(const char *v, size_t n)
{
	size_t i;

	if (n == 0 || n > 1024)
		return false;
	for (i = 0; i < n; i++)
		if (!sk_http_tchar((unsigned char)v[i]) && v[i] != ',' && v[i] != ' ' &&
		    v[i] != '\t')
			return false;
	return true;
}

/* OPTIONS with --cors: a CORS preflight, or the methods. */
static int options(struct sk_hresp *r, const struct sk_httpd_opts *o, const struct sk_http_req *q)
{
	bool echo = q->ac_headers && token_list(q->ac_headers, q->ac_headers_len);
	char extra[1280];

	if (!q->origin || !q->ac_method) {
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", methods(o));
		return sk_hresp_empty(r, 204, extra);
	}
	snprintf(extra, sizeof(extra),
		 "Access-Control-Allow-Methods: %s\r\n%s%.*s%sAccess-Control-Max-Age: 86400\r\n",
		 methods(o), echo ? "Access-Control-Allow-Headers: " : "",
		 echo ? (int)q->ac_headers_len : 0, echo ? q->ac_headers : "", echo ? "\r\n" : "");
	return sk_hresp_empty(r, 204, extra);
}

int sk_route(struct sk_hresp *r, struct sk_fcache *cache, const struct sk_httpd_opts *o,
	     const struct sk_http_req *q)
{
	char allow[64];
	int rc;

	if (q->method == SK_GET || q->method == SK_HEAD) {
		rc = get(r, cache, o, q);
	} else if (q->method == SK_OPTIONS && o->cors) {
		rc = options(r, o, q);
	} else if (q->method == SK_UNKNOWN) {
		rc = sk_hresp_error(r, 501, false, NULL);
	} else {
		snprintf(allow, sizeof(allow), "Allow: %s\r\n", methods(o));
		rc = sk_hresp_error(r, 405, false, allow);
	}
	if (rc == 0)
		return 0;
	return sk_hresp_error(r, 500, q->method == SK_HEAD, NULL);
}
