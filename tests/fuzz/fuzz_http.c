/*
 * libFuzzer harness: the HTTP request parser and what it feeds. Checks
 * more than "no crash": a parsed head lies inside the input, a resolved
 * path never climbs out (no ".." segment, no leading '/', no NUL), and a
 * satisfiable range lies inside the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *t, size_t n)
{
	char out[SK_HTTP_MAX_TARGET + 1], *seg, *save;
	bool slash;

	if (sk_http_target_path(t, n, out, sizeof(out), &slash) < 0)
		return;
	if (out[0] == '/' || strlen(out) > SK_HTTP_MAX_TARGET)
		abort();
	for (seg = strtok_r(out, "/", &save); seg; seg = strtok_r(NULL, "/", &save))
		if (strcmp(seg, "..") == 0 || strcmp(seg, ".") == 0)
			abort();
}

static void check_range(const char *v, size_t n, off_t size)
{
	struct sk_http_range r;
	int rc = sk_http_range(v, n, size, &r);

	if (rc == 1 && (r.start < 0 || r.len <= 0 || r.start + r.len > size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct sk_http_req req;
	char esc[4 * 256 + 1];
	time_t t;
	int rc = sk_http_parse(buf, size, &req);

	if (rc == 0) {
		if (req.head_len > size || req.target < buf ||
		    req.target + req.target_len > buf + size)
			abort();
		if (req.line_len > req.head_len || req.method_len == 0)
			abort();
		check_path(req.target, req.target_len);
		if (req.range)
			check_range(req.range, req.range_len, 1000);
		if (req.if_modified_since)
			sk_http_parse_date(req.if_modified_since, req.if_modified_since_len, &t);
		if (req.if_none_match)
			sk_http_etag_match(req.if_none_match, req.if_none_match_len, "\"1-2-3\"");
	} else if (rc != -1 && rc != 400 && rc != 414 && rc != 431 && rc != 501 && rc != 505) {
		abort();
	}
	check_path(buf, size < SK_HTTP_MAX_TARGET ? size : SK_HTTP_MAX_TARGET);
	check_range(buf, size, (off_t)(size % 5000));
	sk_log_escape(buf, size < 256 ? size : 256, esc);
	for (size_t i = 0; esc[i]; i++)
		if ((unsigned char)esc[i] < 0x20 || (unsigned char)esc[i] >= 0x7f)
			abort();
	return 0;
}
