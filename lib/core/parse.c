#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

int sk_parse_num(const char *s, long long min, long long max, long long *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p)) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int sk_parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
	static const char units[] = "KMGT";
	unsigned long long v = 0, mul = 1;
	const char *p = s, *u;

	if (!isdigit((unsigned char)*p)) {
		errno = EINVAL;
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (~0ULL - 9) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p && (u = strchr(units, toupper((unsigned char)*p)))) {
		mul = 1ULL << (10 * (u - units + 1));
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
		if (*p == 'b' || *p == 'B')
			p++;
	}
	if (*p) {
		errno = EINVAL;
		return -1;
	}
	if (v > max / mul) {
		errno = ERANGE;
		return -1;
	}
	*out = v * mul;
	return 0;
}

int sk_parse_seconds(const char *s, int *out_ms)
{
	const char *p = s;
	long long whole = 0, frac = 0, scale = 100;

	if (!isdigit((unsigned char)*p) && *p != '.') {
		errno = EINVAL;
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > SK_MAX_SECONDS) {
			errno = ERANGE;
			return -1;
		}
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			errno = EINVAL;
			return -1;
		}
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (whole * 1000 + frac > (long long)SK_MAX_SECONDS * 1000) {
		errno = ERANGE;
		return -1;
	}
	*out_ms = (int)(whole * 1000 + frac);
	return 0;
}

int sk_parse_port(const char *s, const char *proto, unsigned *out)
{
	long long v;
	struct servent *se;

	if (isdigit((unsigned char)*s)) {
		if (sk_parse_num(s, 0, 65535, &v) < 0)
			return -1;
		*out = (unsigned)v;
		return 0;
	}
	if (*s == '\0' || strlen(s) > 64 || strchr(s, '-') == s) {
		errno = EINVAL;
		return -1;
	}
	se = getservbyname(s, proto);
	if (!se) {
		errno = EINVAL;
		return -1;
	}
	*out = ntohs((unsigned short)se->s_port);
	return 0;
}

/* Parses one element of a port list: a port or a range. */
static int parse_range(const char *s, const char *proto, struct sk_port_range *r, char *err)
{
	char buf[130];
	char *dash;

	if (sk_parse_port(s, proto, &r->lo) == 0) {
		r->hi = r->lo;
	} else {
		if (strlen(s) >= sizeof(buf) || !(dash = strchr(s, '-'))) {
			sk_seterr(err, "bad port '%s'", s);
			errno = EINVAL;
			return -1;
		}
		memcpy(buf, s, strlen(s) + 1);
		buf[dash - s] = '\0';
		if (sk_parse_port(buf, proto, &r->lo) < 0 ||
		    sk_parse_port(buf + (dash - s) + 1, proto, &r->hi) < 0) {
			sk_seterr(err, "bad port range '%s'", s);
			errno = EINVAL;
			return -1;
		}
		if (r->lo > r->hi) {
			sk_seterr(err, "bad port range '%s': start is after end", s);
			errno = EINVAL;
			return -1;
		}
	}
	if (r->lo == 0) {
		sk_seterr(err, "bad port '%s': must be 1-65535", s);
		errno = ERANGE;
		return -1;
	}
	return 0;
}

int sk_parse_port_list(const char *s, const char *proto, struct sk_port_list *out, char *err)
{
	size_t n = 1, i = 0;
	const char *p;
	char *copy, *tok, *save = NULL;

	for (p = s; *p; p++)
		n += *p == ',';
	out->ranges = calloc(n, sizeof(*out->ranges));
	copy = strdup(s);
	if (!out->ranges || !copy) {
		free(copy);
		free(out->ranges);
		sk_seterr(err, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	/* strtok_r would skip empty elements; "80,,90" is a mistake. */
	for (tok = copy; tok; tok = save) {
		save = strchr(tok, ',');
		if (save)
			*save++ = '\0';
		if (*tok == '\0' || parse_range(tok, proto, &out->ranges[i], err) < 0) {
			if (*tok == '\0') {
				sk_seterr(err, "bad port list '%s': empty element", s);
				errno = EINVAL;
			}
			free(copy);
			sk_port_list_free(out);
			return -1;
		}
		i++;
	}
	free(copy);
	out->count = i;
	return 0;
}

void sk_port_list_free(struct sk_port_list *list)
{
	free(list->ranges);
	list->ranges = NULL;
	list->count = 0;
}
