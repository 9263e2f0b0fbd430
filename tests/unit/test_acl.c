/* Unit tests of lib/core/acl.c: CIDR rules, --allow and --deny, v4-mapped peers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/un.h>

#include "acl.h"
#include "check.h"

/* A peer at the IPv4 or IPv6 literal text (port 1234). */
static struct sockaddr_storage peer(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(1234);
	} else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(1234);
	} else {
		fprintf(stderr, "test_acl: bad test address '%s'\n", text);
		exit(1);
	}
	return ss;
}

/* Whether the list lets the peer at text in. */
static bool allows(const struct sk_acl *acl, const char *text)
{
	struct sockaddr_storage ss = peer(text);

	return sk_acl_allows(acl, (const struct sockaddr *)&ss);
}

/* A list of one rule. */
static struct sk_acl one(const char *cidr, bool allow)
{
	struct sk_acl acl = {0};
	char err[SK_ERRLEN];

	CHECK(sk_acl_add(&acl, cidr, allow, err) == 0);
	return acl;
}

static void empty(void)
{
	struct sk_acl acl = {0};

	CHECK(!sk_acl_active(&acl));
	CHECK(!sk_acl_active(NULL));
	CHECK(allows(&acl, "192.0.2.1"));
	CHECK(allows(&acl, "2001:db8::1"));
	CHECK(sk_acl_allows(NULL, NULL));
	CHECK(sk_acl_allows(&acl, NULL));
	sk_acl_free(&acl);
}

static void ipv4(void)
{
	struct sk_acl acl = one("10.0.0.0/8", true);

	CHECK(sk_acl_active(&acl));
	CHECK(allows(&acl, "10.0.0.0"));
	CHECK(allows(&acl, "10.255.255.255"));
	CHECK(allows(&acl, "10.1.2.3"));
	CHECK(!allows(&acl, "11.0.0.0"));
	CHECK(!allows(&acl, "9.255.255.255"));
	CHECK(!allows(&acl, "127.0.0.1"));
	CHECK(!allows(&acl, "::1"));	 /* an IPv4 rule never matches plain IPv6 */
	CHECK(!allows(&acl, "::a00:1")); /* nor v4-compatible IPv6 (::10.0.0.1) */
	sk_acl_free(&acl);

	acl = one("192.0.2.7", true); /* no prefix: /32 */
	CHECK(allows(&acl, "192.0.2.7"));
	CHECK(!allows(&acl, "192.0.2.6"));
	CHECK(!allows(&acl, "192.0.2.8"));
	sk_acl_free(&acl);

	acl = one("192.0.2.7/32", true);
	CHECK(allows(&acl, "192.0.2.7"));
	CHECK(!allows(&acl, "192.0.2.6"));
	sk_acl_free(&acl);

	acl = one("192.0.2.6/31", true);
	CHECK(allows(&acl, "192.0.2.6"));
	CHECK(allows(&acl, "192.0.2.7"));
	CHECK(!allows(&acl, "192.0.2.5"));
	CHECK(!allows(&acl, "192.0.2.8"));
	sk_acl_free(&acl);

	acl = one("0.0.0.0/0", true); /* every IPv4 peer, no IPv6 one */
	CHECK(allows(&acl, "0.0.0.0"));
	CHECK(allows(&acl, "255.255.255.255"));
	CHECK(allows(&acl, "203.0.113.9"));
	CHECK(allows(&acl, "::ffff:203.0.113.9"));
	CHECK(!allows(&acl, "2001:db8::1"));
	sk_acl_free(&acl);

	acl = one("172.16.0.0/12", false); /* a prefix that ends inside a byte */
	CHECK(!allows(&acl, "172.16.0.1"));
	CHECK(!allows(&acl, "172.31.255.255"));
	CHECK(allows(&acl, "172.32.0.0"));
	CHECK(allows(&acl, "172.15.255.255"));
	sk_acl_free(&acl);
}

static void ipv6(void)
{
	struct sk_acl acl = one("2001:db8::/32", true);

	CHECK(allows(&acl, "2001:db8::1"));
	CHECK(allows(&acl, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(!allows(&acl, "2001:db9::1"));
	CHECK(!allows(&acl, "192.0.2.1"));
	sk_acl_free(&acl);

	acl = one("::1", true); /* no prefix: /128 */
	CHECK(allows(&acl, "::1"));
	CHECK(!allows(&acl, "::2"));
	CHECK(!allows(&acl, "127.0.0.1"));
	CHECK(!allows(&acl, "::ffff:127.0.0.1"));
	sk_acl_free(&acl);

	acl = one("::1/128", true);
	CHECK(allows(&acl, "::1"));
	CHECK(!allows(&acl, "::"));
	sk_acl_free(&acl);

	acl = one("2001:db8:1:2::/64", true);
	CHECK(allows(&acl, "2001:db8:1:2::"));
	CHECK(allows(&acl, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	CHECK(!allows(&acl, "2001:db8:1:3::"));
	CHECK(!allows(&acl, "2001:db8:1:1:ffff:ffff:ffff:ffff"));
	sk_acl_free(&acl);

	acl = one("::/0", true); /* every IPv6 peer, v4-mapped ones included */
	CHECK(allows(&acl, "::"));
	CHECK(allows(&acl, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(allows(&acl, "::ffff:192.0.2.1"));
	CHECK(!allows(&acl, "192.0.2.1"));
	sk_acl_free(&acl);

	acl = one("[2001:db8::]/32", true); /* brackets are allowed */
	CHECK(allows(&acl, "2001:db8::5"));
	sk_acl_free(&acl);

	acl = one("[::1]", true);
	CHECK(allows(&acl, "::1"));
	sk_acl_free(&acl);
}

/* Bits past the prefix in the rule do not matter: 10.1.2.3/8 is 10.0.0.0/8. */
static void host_bits(void)
{
	struct sk_acl acl = one("10.1.2.3/8", true);

	CHECK(allows(&acl, "10.200.0.1"));
	CHECK(!allows(&acl, "11.1.2.3"));
	sk_acl_free(&acl);

	acl = one("192.0.2.7/31", true);
	CHECK(allows(&acl, "192.0.2.6"));
	CHECK(!allows(&acl, "192.0.2.8"));
	sk_acl_free(&acl);

	acl = one("2001:db8::abcd/32", true);
	CHECK(allows(&acl, "2001:db8:ffff::1"));
	CHECK(!allows(&acl, "2001:db9::abcd"));
	sk_acl_free(&acl);

	acl = one("255.255.255.255/0", true);
	CHECK(allows(&acl, "1.2.3.4"));
	sk_acl_free(&acl);
}

/* An IPv4 rule matches a v4-mapped IPv6 peer (a dual-stack socket's IPv4 client). */
static void v4_mapped(void)
{
	struct sk_acl acl = one("127.0.0.0/8", true);

	CHECK(allows(&acl, "::ffff:127.0.0.1"));
	CHECK(allows(&acl, "::ffff:127.255.0.9"));
	CHECK(!allows(&acl, "::ffff:128.0.0.1"));
	CHECK(!allows(&acl, "::1"));
	sk_acl_free(&acl);

	acl = one("192.0.2.7", false);
	CHECK(!allows(&acl, "::ffff:192.0.2.7"));
	CHECK(allows(&acl, "::ffff:192.0.2.8"));
	sk_acl_free(&acl);

	/* An IPv6 rule over the mapped range matches too. */
	acl = one("::ffff:0:0/96", true);
	CHECK(allows(&acl, "::ffff:10.0.0.1"));
	CHECK(!allows(&acl, "10.0.0.1"));
	sk_acl_free(&acl);
}

static void deny_wins(void)
{
	struct sk_acl acl = {0};
	char err[SK_ERRLEN];

	CHECK(sk_acl_add(&acl, "10.0.0.0/8", true, err) == 0);
	CHECK(sk_acl_add(&acl, "10.0.0.5", false, err) == 0);
	CHECK(sk_acl_add(&acl, "10.0.0.5", true, err) == 0); /* after the deny: still denied */
	CHECK(allows(&acl, "10.0.0.4"));
	CHECK(!allows(&acl, "10.0.0.5"));
	CHECK(!allows(&acl, "::ffff:10.0.0.5"));
	CHECK(!allows(&acl, "192.0.2.1")); /* an --allow: only matches */
	sk_acl_free(&acl);

	/* Only --deny: everyone else is served. */
	CHECK(sk_acl_add(&acl, "127.0.0.1", false, err) == 0);
	CHECK(sk_acl_add(&acl, "::1", false, err) == 0);
	CHECK(!allows(&acl, "127.0.0.1"));
	CHECK(!allows(&acl, "::ffff:127.0.0.1"));
	CHECK(!allows(&acl, "::1"));
	CHECK(allows(&acl, "127.0.0.2"));
	CHECK(allows(&acl, "2001:db8::1"));
	sk_acl_free(&acl);
	CHECK(!sk_acl_active(&acl));
	CHECK(allows(&acl, "127.0.0.1")); /* freed: empty, serves everyone */
}

static void allow_only(void)
{
	struct sk_acl acl = {0};
	char err[SK_ERRLEN];

	CHECK(sk_acl_add(&acl, "192.0.2.0/24", true, err) == 0);
	CHECK(sk_acl_add(&acl, "2001:db8::/48", true, err) == 0);
	CHECK(allows(&acl, "192.0.2.200"));
	CHECK(allows(&acl, "2001:db8:0:1::1"));
	CHECK(!allows(&acl, "198.51.100.1"));
	CHECK(!allows(&acl, "2001:db8:1::1"));
	CHECK(!allows(&acl, "127.0.0.1"));
	CHECK(!allows(&acl, "::1"));
	sk_acl_free(&acl);
}

/* A unix-socket peer (or none) has no address: served unless there is an --allow. */
static void unix_peer(void)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sk_acl acl = one("10.0.0.0/8", false);

	CHECK(sk_acl_allows(&acl, (const struct sockaddr *)&un));
	CHECK(sk_acl_allows(&acl, NULL));
	sk_acl_free(&acl);

	acl = one("0.0.0.0/0", true);
	CHECK(!sk_acl_allows(&acl, (const struct sockaddr *)&un));
	CHECK(!sk_acl_allows(&acl, NULL));
	sk_acl_free(&acl);
}

static void bad_rules(void)
{
	static const char *const bad[] = {
	    "10.0.0.0/33",  "::1/129",	 "host.name",	"1.2.3",       "",
	    "/8",	    "[::1",	 "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.0/",
	    "10.0.0.0/+8",  "::1]",	 "1.2.3.4.5",	"10.0.0.0 ",   " 10.0.0.0",
	    "10.0.0.0/8/8", "localhost", "[10.0.0.1",	"::1/-0",      "10.0.0.0/08",
	};
	struct sk_acl acl = {0};
	char err[SK_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		errno = 0;
		CHECK(sk_acl_add(&acl, bad[i], i % 2 == 0, err) < 0);
		CHECK(errno == EINVAL);
		CHECK(strstr(err, i % 2 == 0 ? "bad --allow '" : "bad --deny '") != NULL);
		CHECK(strstr(err, bad[i]) != NULL);
	}
	CHECK(acl.n == 0 && !sk_acl_active(&acl));
	CHECK(allows(&acl, "192.0.2.1"));
	sk_acl_free(&acl);
}

/* The list grows past its first allocation; every rule still counts. */
static void many(void)
{
	struct sk_acl acl = {0};
	char err[SK_ERRLEN], cidr[32];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(cidr, sizeof(cidr), "10.0.%d.0/24", i);
		CHECK(sk_acl_add(&acl, cidr, true, err) == 0);
	}
	CHECK(acl.n == 100);
	CHECK(allows(&acl, "10.0.0.1"));
	CHECK(allows(&acl, "10.0.99.255"));
	CHECK(!allows(&acl, "10.0.100.1"));
	sk_acl_free(&acl);
}

int main(void)
{
	empty();
	ipv4();
	ipv6();
	host_bits();
	v4_mapped();
	deny_wins();
	allow_only();
	unix_peer();
	bad_rules();
	many();
	return check_summary("acl");
}
