/* outbuf.h - a growable byte buffer that responses are built in. */
#ifndef SK_OUTBUF_H
#define SK_OUTBUF_H

#include <stddef.h>

struct sk_buf {
	char *p;
	size_t len, cap;
};

/* Makes room for more bytes after len. Returns 0, or -1 with errno ENOMEM. */
int sk_buf_reserve(struct sk_buf *b, size_t more);

/*
 * Appends printf-formatted text (no NUL counted in len). Returns 0, or -1
 * with errno (ENOMEM, or EOVERFLOW from vsnprintf); on failure len is as
 * it was.
 */
int sk_buf_printf(struct sk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends n bytes. Returns 0, or -1 with errno ENOMEM (len as it was). */
int sk_buf_add(struct sk_buf *b, const void *p, size_t n);

/* Frees the bytes and empties b. */
void sk_buf_free(struct sk_buf *b);

#endif
