/* Access lists: CIDR rules over peer addresses (--allow, --deny). */
#include "acl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* Parses "ADDR" or "ADDR/PREFIX" (ADDR possibly in brackets) into r. Returns 0 or -1. */
static int parse_rule(const char *cidr, struct sk_acl_rule *r)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	long long prefix;
	unsigned max;

	if (n >= sizeof(host))
		return -1;
	memcpy(host, cidr, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (inet_pton(AF_INET, host, r->addr) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, host, r->addr) == 1)
		r->family = AF_INET6;
	else
		return -1;
	max = r->family == AF_INET ? 32 : 128;
	r->prefix = max;
	if (slash) {
		/* Digits only: no sign, no leading zero ("/-0", "/08"). */
		if (!isdigit((unsigned char)slash[1]) || (slash[1] == '0' && slash[2]) ||
		    sk_parse_num(slash + 1, 0, max, &prefix) < 0)
			return -1;
		r->prefix = (unsigned)prefix;
	}
	return 0;
}

int sk_acl_add(struct sk_acl *acl, const char *cidr, bool allow, char *err)
{
	struct sk_acl_rule r = {.allow = allow};
	struct sk_acl_rule *t;

	if (parse_rule(cidr, &r) < 0) {
		sk_seterr(err,
			  "bad %s '%s': expected an address or ADDRESS/PREFIX (10.0.0.0/8, ::1)",
			  allow ? "--allow" : "--deny", cidr);
		errno = EINVAL;
		return -1;
	}
	if (acl->n == acl->cap) {
		size_t cap = acl->cap ? acl->cap * 2 : 8;

		t = realloc(acl->rules, cap * sizeof(*t));
		if (!t) {
			sk_seterr(err, "out of memory");
			return -1;
		}
		acl->rules = t;
		acl->cap = cap;
	}
	acl->rules[acl->n++] = r;
	acl->any_allow |= allow;
	return 0;
}

/* Whether the first prefix bits of a and b agree. */
static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static bool rule_matches(const struct sk_acl_rule *r, int family, const unsigned char *addr)
{
	return r->family == family && prefix_match(r->addr, addr, r->prefix);
}

bool sk_acl_allows(const struct sk_acl *acl, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *addr = NULL, *v4 = NULL;
	int family = 0;
	bool allowed;
	size_t i;

	if (!acl || acl->n == 0)
		return true;
	if (sa && sa->sa_family == AF_INET) {
		family = AF_INET;
		addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)
			   ->sin_addr;
	} else if (sa && sa->sa_family == AF_INET6) {
		family = AF_INET6;
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(addr, mapped, 12) == 0)
			v4 = addr + 12; /* an IPv4 rule matches it too */
	}
	allowed = !acl->any_allow;
	for (i = 0; addr && i < acl->n; i++) {
		const struct sk_acl_rule *r = &acl->rules[i];
		bool m = rule_matches(r, family, addr) || (v4 && rule_matches(r, AF_INET, v4));

		if (m && !r->allow)
			return false; /* --deny wins */
		if (m)
			allowed = true;
	}
	return allowed;
}

bool sk_acl_active(const struct sk_acl *acl)
{
	return acl && acl->n > 0;
}

void sk_acl_free(struct sk_acl *acl)
{
	free(acl->rules);
	acl->rules = NULL;
	acl->n = acl->cap = 0;
	acl->any_allow = false;
}
