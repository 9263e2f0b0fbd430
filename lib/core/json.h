/* json.h - JSON output of untrusted bytes: UTF-8 check, escaping, base64. */
#ifndef SK_JSON_H
#define SK_JSON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns the length (1-4) of the well-formed UTF-8 sequence at p[0..n),
 * n > 0, or 0 when it is not one.
 */
size_t sk_utf8_seq(const unsigned char *p, size_t n);

/*
 * Returns true when p[0..n) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).
 */
bool sk_utf8_valid(const unsigned char *p, size_t n);

/* The most bytes sk_json_escape writes for n input bytes. */
#define SK_JSON_ESCAPED_MAX(n) (6 * (n))

/*
 * Writes p[0..n) as the inside of a JSON string: '"', '\\' and control
 * characters escaped, everything else as it is. Returns the length.
 */
size_t sk_json_escape(const unsigned char *p, size_t n, char *out);

/*
 * Like sk_json_escape for text that should be UTF-8 but may not be (a
 * command line): each byte of an ill-formed sequence becomes \ufffd, so
 * the result is always valid JSON. At most SK_JSON_ESCAPED_MAX(n) bytes.
 */
size_t sk_json_text(const char *s, size_t n, char *out);

/* The bytes sk_base64 writes for n input bytes. */
#define SK_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Writes the standard base64 (RFC 4648, padded) of p[0..n). Returns the length. */
size_t sk_base64(const unsigned char *p, size_t n, char *out);

/* The most bytes sk_json_datagram writes for a payload of n bytes. */
#define SK_JSON_DGRAM_MAX(fromlen, n) (64 + SK_JSON_ESCAPED_MAX(fromlen) + SK_JSON_ESCAPED_MAX(n))

/*
 * Writes one line {"from":"...","size":N,"data":"..."} (or "data_base64"
 * when the payload is not UTF-8) ending in a newline. Returns the length.
 */
size_t sk_json_datagram(char *out, const char *from, const unsigned char *p, size_t n);

#endif
