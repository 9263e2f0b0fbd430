#include "outbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sk_buf_reserve(struct sk_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (more > SIZE_MAX / 2 - b->len) {
		errno = ENOMEM;
		return -1;
	}
	while (cap < b->len + more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->p, cap);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Formats into the free space, and again only when it did not fit. */
int sk_buf_printf(struct sk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sk_buf_reserve(b, 256) < 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= b->cap - b->len) {
		if (sk_buf_reserve(b, (size_t)n + 1) < 0)
			return -1;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
	}
	b->len += (size_t)n;
	return 0;
}

int sk_buf_add(struct sk_buf *b, const void *p, size_t n)
{
	if (sk_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void sk_buf_free(struct sk_buf *b)
{
	free(b->p);
	*b = (struct sk_buf){0};
}
