#include "crlf.h"

size_t sk_crlf_convert(struct sk_crlf *st, const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\n' && !st->last_cr)
			out[o++] = '\r';
		out[o++] = in[i];
		st->last_cr = in[i] == '\r';
	}
	return o;
}
