#include "json.h"

#include <stdio.h>
#include <string.h>

size_t sk_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* The second byte's range rules out overlongs, surrogates and > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

bool sk_utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		len = sk_utf8_seq(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

size_t sk_json_escape(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c == '\r') {
			*o++ = '\\';
			*o++ = 'r';
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	return (size_t)(o - out);
}

size_t sk_json_text(const char *s, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, len;

	while (i < n) {
		len = sk_utf8_seq(p + i, n - i);
		if (len == 0) {
			memcpy(out + o, "\\ufffd", 6);
			o += 6;
			i++;
			continue;
		}
		o += sk_json_escape(p + i, len, out + o);
		i += len;
	}
	return o;
}

size_t sk_base64(const unsigned char *p, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tab[p[i + 2] & 63];
	}
	if (i < n) {
		*o++ = tab[p[i] >> 2];
		if (i + 1 < n) {
			*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = tab[(p[i + 1] & 15) << 2];
		} else {
			*o++ = tab[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	return (size_t)(o - out);
}

size_t sk_json_datagram(char *out, const char *from, const unsigned char *p, size_t n)
{
	char *o = out;
	bool text = sk_utf8_valid(p, n);

	memcpy(o, "{\"from\":\"", 9);
	o += 9;
	o += sk_json_escape((const unsigned char *)from, strlen(from), o);
	o += sprintf(o, "\",\"size\":%zu,\"%s\":\"", n, text ? "data" : "data_base64");
	o += text ? sk_json_escape(p, n, o) : sk_base64(p, n, o);
	memcpy(o, "\"}\n", 3);
	return (size_t)(o - out) + 3;
}
