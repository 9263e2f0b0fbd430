#include "route.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listing.h"

/* A resolved target plus "/index.html". */
#define REL_MAX (SK_HTTP_MAX_TARGET + NAME_MAX + 16)

static int listing_response(struct sk_hresp *r, const struct sk_httpd_opts *o, int fd,
			    const char *rel, bool head_only)
{
	struct sk_buf body = {0};
	int rc = sk_listing_html(&body, o->root, fd, rel);

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
		rc = sk_hresp_file(r, q, e);
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
		return sk_hresp_file(r, q, e);
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

int sk_route(struct sk_hresp *r, struct sk_fcache *cache, const struct sk_httpd_opts *o,
	     const struct sk_http_req *q)
{
	int rc;

	if (q->method == SK_OTHER_KNOWN)
		rc = sk_hresp_error(r, 405, false, "Allow: GET, HEAD\r\n");
	else if (q->method == SK_UNKNOWN)
		rc = sk_hresp_error(r, 501, false, NULL);
	else
		rc = get(r, cache, o, q);
	if (rc == 0)
		return 0;
	return sk_hresp_error(r, 500, q->method == SK_HEAD, NULL);
}
