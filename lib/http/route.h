/*
 * route.h - what a request gets: a file, an index.html, a listing, a
 * redirect to a directory's slash, or an error.
 */
#ifndef SK_ROUTE_H
#define SK_ROUTE_H

#include "filecache.h"
#include "http.h"
#include "httpd.h"
#include "response.h"

/*
 * Builds into r the response to the parsed request q, with the files of
 * cache (which the lookups fill) and the settings of o (root, listing).
 * A response that cannot be built becomes a 500. Returns 0, or -1 with
 * errno ENOMEM when not even that could be built: close the connection.
 */
int sk_route(struct sk_hresp *r, struct sk_fcache *cache, const struct sk_httpd_opts *o,
	     const struct sk_http_req *q);

#endif
