/*
 * libFuzzer harness: udp-send's cutting of input into datagrams
 * (sk_udp_cut), fed the way the engine feeds it: a window of the input
 * that grows by a few bytes each time more is asked for, EOF once it has
 * all of it. The first bytes choose --size (0: lines), the maximum and
 * the step. Checks that the datagrams give the input back in order, that
 * each is a whole line (or size bytes) and at most max, that more input
 * is asked for only when it is needed, and that a line is only refused
 * when it really is over max.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udp_send.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The length of the line at p[0..n): through its '\n', or all of it. */
static size_t line_len(const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);

	return nl ? (size_t)(nl - p) + 1 : n;
}

/* Checks one datagram of len bytes at p, the known input being p[0..avail). */
static void check_datagram(const uint8_t *p, size_t avail, size_t len, size_t dsize, size_t max,
			   bool eof)
{
	if (len == 0 || len > avail || len > max)
		abort();
	if (dsize) {
		if (len != dsize && !(eof && len == avail))
			abort();
		return;
	}
	if (len != line_len(p, avail) || (p[len - 1] != '\n' && !(eof && len == avail)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t dsize, max, step, pos = 0, known, len, n;
	bool eof;
	enum sk_udp_cut_result rc;

	if (size < 3)
		return 0;
	dsize = data[0] % 9; /* 0: lines; above max now and then */
	max = 1 + data[1] % 8;
	step = 1 + data[2] % 11;
	data += 3;
	n = size - 3;
	known = step < n ? step : n;
	for (;;) {
		eof = known == n;
		rc = sk_udp_cut(data + pos, known - pos, dsize, max, eof, &len);
		if (rc == SK_UDP_CUT_TOO_BIG) {
			/* refused: really over max, counting what is still to come */
			if (len <= max || (!dsize && line_len(data + pos, n - pos) < len))
				abort();
			if (dsize && len != (n - pos < dsize ? n - pos : dsize))
				abort();
			return 0;
		}
		if (rc == SK_UDP_CUT_MORE) {
			/* more is asked for only when the datagram is not all there yet */
			if (dsize && known - pos >= dsize)
				abort();
			if (!dsize && memchr(data + pos, '\n', known - pos))
				abort();
			if (eof) {
				if (pos != n)
					abort();
				return 0;
			}
			known = known + step < n ? known + step : n;
			continue;
		}
		check_datagram(data + pos, known - pos, len, dsize, max, eof);
		pos += len;
	}
}
