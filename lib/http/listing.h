/* listing.h - HTML listings of directories. */
#ifndef SK_LISTING_H
#define SK_LISTING_H

#include <stdbool.h>

#include "fsafe.h"
#include "outbuf.h"

/*
 * A listing shows at most this many entries: a directory of millions would
 * otherwise cost the memory of its whole page and stall every other client
 * while it is built.
 */
#define SK_LISTING_MAX 10000

/*
 * Appends to body the HTML page that lists the directory open as fd, at
 * rel beneath root: subdirectories first, then files, by name; entries a
 * request could not reach (links out of the root) are left out; with
 * upload_form, a form that POSTs files to the directory. Returns 0, or -1
 * with errno (ENOMEM, or the directory could not be read): the page is
 * then incomplete.
 */
int sk_listing_html(struct sk_buf *body, const struct sk_root *root, int fd, const char *rel,
		    bool upload_form);

#endif
