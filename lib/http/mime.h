/* mime.h - Content-Type by file name: a built-in table and /etc/mime.types. */
#ifndef SK_MIME_H
#define SK_MIME_H

#include <stddef.h>

struct sk_mime_entry {
	char *ext, *type;
};

struct sk_mime {
	struct sk_mime_entry *extra; /* from a mime.types file */
	size_t count;
};

/*
 * Adds the types of a mime.types file ("type ext ext ..." lines) that the
 * built-in table lacks. A missing file is not an error. Returns 0, or -1
 * with errno ENOMEM.
 */
int sk_mime_load(struct sk_mime *m, const char *path);

/* Frees what sk_mime_load allocated. */
void sk_mime_free(struct sk_mime *m);

/*
 * Returns the Content-Type for a file name: text types with
 * "; charset=utf-8", application/octet-stream when the extension is
 * unknown. m may be NULL.
 */
const char *sk_mime_type(const struct sk_mime *m, const char *name, char *buf, size_t buflen);

#endif
