/* crlf.h - turn bare LF into CRLF, for typing line protocols by hand. */
#ifndef SK_CRLF_H
#define SK_CRLF_H

#include <stdbool.h>
#include <stddef.h>

struct sk_crlf {
	bool last_cr; /* the previous chunk ended with CR */
};

/*
 * Copies in[0..n) to out, writing CRLF for each LF that does not already
 * follow a CR (also across chunks). out must hold 2 * n bytes. Returns
 * the number of bytes written to out.
 */
size_t sk_crlf_convert(struct sk_crlf *st, const unsigned char *in, size_t n, unsigned char *out);

#endif
