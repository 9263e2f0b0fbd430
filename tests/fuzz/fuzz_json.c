/*
 * libFuzzer harness: --json output of arbitrary payloads. The line must
 * stay within the promised size, contain no raw control character, and
 * carry "data" exactly when the payload is valid UTF-8 (checked against
 * a decoder written the long way, by code point). sk_json_text, for text
 * that may not be UTF-8, must always give valid UTF-8 without controls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A slow reference: decode code points and check their ranges. */
static int ref_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0, len, k;
	uint32_t cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2, cp = p[i] & 0x1f, min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3, cp = p[i] & 0x0f, min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4, cp = p[i] & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *from = "[::1]:5000";
	size_t cap = SK_JSON_DGRAM_MAX(strlen(from), size), n, i;
	char *out = malloc(cap);
	int text = ref_utf8(data, size);

	if (!out)
		return 0;
	if (sk_utf8_valid(data, size) != text)
		abort();
	n = sk_json_datagram(out, from, data, size);
	if (n > cap || out[n - 1] != '\n')
		abort();
	for (i = 0; i + 1 < n; i++)
		if ((unsigned char)out[i] < 0x20)
			abort();
	if ((memmem(out, n, "\"data\":\"", 8) != NULL) != text)
		abort();
	/* whois-port's command lines: always valid UTF-8 without raw controls */
	n = sk_json_text((const char *)data, size, out);
	if (n > SK_JSON_ESCAPED_MAX(size) || !ref_utf8((const unsigned char *)out, n))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			abort();
	free(out);
	return 0;
}
