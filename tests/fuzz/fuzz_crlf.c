/*
 * libFuzzer harness: the --crlf converter, fed in chunks split where the
 * first byte says. Checks that the output has no bare LF and that taking
 * out the inserted CRs gives the input back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crlf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_crlf st = {0};
	unsigned char *out;
	size_t split, n, i, j;

	if (size == 0)
		return 0;
	split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	out = malloc(2 * size + 1);
	if (!out)
		return 0;
	n = sk_crlf_convert(&st, data, split, out);
	n += sk_crlf_convert(&st, data + split, size - split, out + n);
	if (n > 2 * size)
		abort();
	for (i = 0; i < n; i++)
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
	/* Undo: drop each CR that stands before an LF the input had bare. */
	for (i = 0, j = 0; i < n; i++) {
		if (out[i] == '\r' && i + 1 < n && out[i + 1] == '\n' &&
		    (j == 0 || data[j - 1] != '\r') && data[j] == '\n')
			continue;
		if (j >= size || out[i] != data[j])
			abort();
		j++;
	}
	if (j != size)
		abort();
	free(out);
	return 0;
}
