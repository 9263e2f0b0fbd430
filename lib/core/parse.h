/* parse.h - range-checked parsers for numbers, durations and ports. */
#ifndef SK_PARSE_H
#define SK_PARSE_H

#include <stddef.h>

#include "err.h"

/* The longest duration any option takes, in seconds. */
#define SK_MAX_SECONDS 2000000

/*
 * Parses a decimal integer in [min, max]: digits with an optional leading
 * '-', nothing else. Returns 0, or -1 with errno EINVAL (not a number) or
 * ERANGE (outside the range).
 */
int sk_parse_num(const char *s, long long min, long long max, long long *out);

/*
 * Parses a size: a decimal number of bytes, or one with a suffix K, M, G
 * or T (either case, 1024-based; "KiB" and "KB" read the same), at most
 * max. Returns 0, or -1 with errno EINVAL (not a size) or ERANGE.
 */
int sk_parse_size(const char *s, unsigned long long max, unsigned long long *out);

/*
 * Parses a duration in seconds ("5", "0.25") into milliseconds, at most
 * SK_MAX_SECONDS. Returns 0, or -1 with errno EINVAL or ERANGE.
 */
int sk_parse_seconds(const char *s, int *out_ms);

/*
 * Parses a port: a number 0-65535 or a service name known for proto
 * ("tcp" or "udp") in /etc/services. Returns 0, or -1 with errno EINVAL
 * (neither a number nor a known service) or ERANGE (number too large).
 */
int sk_parse_port(const char *s, const char *proto, unsigned *out);

struct sk_port_range {
	unsigned lo, hi;
};

struct sk_port_list {
	struct sk_port_range *ranges;
	size_t count;
};

/*
 * Parses a port list: ports and ranges ("20-30") separated by commas;
 * port 0 is not allowed. Returns 0 with *out filled (free it with
 * sk_port_list_free), or -1 with err saying what is wrong and errno
 * EINVAL, ERANGE or ENOMEM.
 */
int sk_parse_port_list(const char *s, const char *proto, struct sk_port_list *out, char *err);

/* Frees what sk_parse_port_list allocated. */
void sk_port_list_free(struct sk_port_list *list);

#endif
