/*
 * The PROXY protocol header against haproxy's specification: version 1
 * lines and version 2 blocks for IPv4, IPv6, v4-mapped IPv6 and unix
 * clients, byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "check.h"
#include "proxyproto.h"

static struct sockaddr_in v4(const char *a, unsigned port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};

	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 v6(const char *a, unsigned port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port)};

	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static void test_v1(void)
{
	unsigned char buf[SK_PROXY_HDR_MAX];
	struct sockaddr_in c4 = v4("192.0.2.7", 51234), l4 = v4("10.0.0.1", 443);
	struct sockaddr_in6 c6 = v6("2001:db8::7", 40000), l6 = v6("::1", 8443);
	struct sockaddr_in6 m = v6("::ffff:192.0.2.9", 1234), lm = v6("::ffff:127.0.0.1", 80);
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	int n;

	n = sk_proxy_header(1, (struct sockaddr *)&c4, (struct sockaddr *)&l4, buf);
	CHECK(n > 0 && (size_t)n == strlen("PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n") &&
	      memcmp(buf, "PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n", (size_t)n) == 0);
	n = sk_proxy_header(1, (struct sockaddr *)&c6, (struct sockaddr *)&l6, buf);
	CHECK(n > 0 && memcmp(buf, "PROXY TCP6 2001:db8::7 ::1 40000 8443\r\n", (size_t)n) == 0);
	n = sk_proxy_header(1, (struct sockaddr *)&m, (struct sockaddr *)&lm, buf);
	CHECK(n > 0 && memcmp(buf, "PROXY TCP4 192.0.2.9 127.0.0.1 1234 80\r\n", (size_t)n) == 0);
	n = sk_proxy_header(1, (struct sockaddr *)&u, (struct sockaddr *)&u, buf);
	CHECK(n == 15 && memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);
	/* The longest line fits in the 107 bytes the specification allows. */
	c6 = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	l6 = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", 65535);
	n = sk_proxy_header(1, (struct sockaddr *)&c6, (struct sockaddr *)&l6, buf);
	CHECK(n > 0 && n <= 107 && buf[n - 2] == '\r' && buf[n - 1] == '\n');
	CHECK(sk_proxy_header(3, (struct sockaddr *)&c4, (struct sockaddr *)&l4, buf) == -1 &&
	      errno == EINVAL);
}

static void test_v2(void)
{
	unsigned char buf[SK_PROXY_HDR_MAX];
	struct sockaddr_in c4 = v4("192.0.2.7", 51234), l4 = v4("10.0.0.1", 443);
	struct sockaddr_in6 c6 = v6("2001:db8::7", 40000), l6 = v6("::1", 8443);
	struct sockaddr_in6 m = v6("::ffff:192.0.2.9", 1234);
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	static const unsigned char a4[12] = {192, 0, 2, 7, 10, 0, 0, 1, 0xC8, 0x22, 0x01, 0xBB};
	int n;

	n = sk_proxy_header(2, (struct sockaddr *)&c4, (struct sockaddr *)&l4, buf);
	CHECK(n == 28 && memcmp(buf, sig, 12) == 0);
	CHECK(buf[12] == 0x21 && buf[13] == 0x11 && buf[14] == 0 && buf[15] == 12);
	CHECK(memcmp(buf + 16, a4, 12) == 0);
	n = sk_proxy_header(2, (struct sockaddr *)&c6, (struct sockaddr *)&l6, buf);
	CHECK(n == 52 && buf[12] == 0x21 && buf[13] == 0x21 && buf[15] == 36);
	CHECK(memcmp(buf + 16, &c6.sin6_addr, 16) == 0 && memcmp(buf + 32, &l6.sin6_addr, 16) == 0);
	CHECK(buf[48] == 0x9C && buf[49] == 0x40 && buf[50] == 0x20 && buf[51] == 0xFB);
	/* A v4-mapped client reaching an IPv4 address: TCP over IPv4. */
	n = sk_proxy_header(2, (struct sockaddr *)&m, (struct sockaddr *)&l4, buf);
	CHECK(n == 28 && buf[13] == 0x11 && buf[16] == 192 && buf[19] == 9);
	/* A unix client: the LOCAL command, no addresses. */
	n = sk_proxy_header(2, (struct sockaddr *)&u, (struct sockaddr *)&u, buf);
	CHECK(n == 16 && buf[12] == 0x20 && buf[13] == 0x00 && buf[14] == 0 && buf[15] == 0);
	/* Mixed families are not a pair the header can carry. */
	n = sk_proxy_header(2, (struct sockaddr *)&c6, (struct sockaddr *)&l4, buf);
	CHECK(n == 16 && buf[12] == 0x20);
}

int main(void)
{
	test_v1();
	test_v2();
	return check_summary("proxyproto");
}
