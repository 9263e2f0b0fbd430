/* Unit tests of lib/core/parse.c: numbers, durations, ports, port lists. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "parse.h"

static void numbers(void)
{
	long long v = 0;

	CHECK(sk_parse_num("42", 0, 100, &v) == 0 && v == 42);
	CHECK(sk_parse_num("-3", -5, 5, &v) == 0 && v == -3);
	CHECK(sk_parse_num("101", 0, 100, &v) < 0 && errno == ERANGE);
	CHECK(sk_parse_num("-1", 0, 100, &v) < 0 && errno == ERANGE);
	CHECK(sk_parse_num("", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_num(" 1", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_num("1 ", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_num("+1", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_num("0x10", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_num("-", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_num("99999999999999999999999", 0, 100, &v) < 0 && errno == ERANGE);
}

static void seconds(void)
{
	int ms = 0;

	CHECK(sk_parse_seconds("5", &ms) == 0 && ms == 5000);
	CHECK(sk_parse_seconds("0.25", &ms) == 0 && ms == 250);
	CHECK(sk_parse_seconds(".5", &ms) == 0 && ms == 500);
	CHECK(sk_parse_seconds("1.0001", &ms) == 0 && ms == 1000);
	CHECK(sk_parse_seconds("0", &ms) == 0 && ms == 0);
	CHECK(sk_parse_seconds("2000000", &ms) == 0 && ms == 2000000000);
	CHECK(sk_parse_seconds("2000000.001", &ms) < 0 && errno == ERANGE);
	CHECK(sk_parse_seconds("99999999999999999999", &ms) < 0 && errno == ERANGE);
	CHECK(sk_parse_seconds("-1", &ms) < 0 && errno == EINVAL);
	CHECK(sk_parse_seconds("1.", &ms) < 0 && errno == EINVAL);
	CHECK(sk_parse_seconds("1s", &ms) < 0 && errno == EINVAL);
	CHECK(sk_parse_seconds("", &ms) < 0 && errno == EINVAL);
	CHECK(sk_parse_seconds(".", &ms) < 0 && errno == EINVAL);
}

static void ports(void)
{
	unsigned p = 1;

	CHECK(sk_parse_port("0", "tcp", &p) == 0 && p == 0);
	CHECK(sk_parse_port("65535", "tcp", &p) == 0 && p == 65535);
	CHECK(sk_parse_port("65536", "tcp", &p) < 0 && errno == ERANGE);
	CHECK(sk_parse_port("8080x", "tcp", &p) < 0 && errno == EINVAL);
	CHECK(sk_parse_port("", "tcp", &p) < 0 && errno == EINVAL);
	CHECK(sk_parse_port("-1", "tcp", &p) < 0);
	CHECK(sk_parse_port("no-such-service-here", "tcp", &p) < 0 && errno == EINVAL);
	/* /etc/services may be absent in minimal containers. */
	if (sk_parse_port("http", "tcp", &p) == 0)
		CHECK(p == 80);
}

static void port_lists(void)
{
	struct sk_port_list l;
	char err[SK_ERRLEN];

	CHECK(sk_parse_port_list("22", "tcp", &l, err) == 0 && l.count == 1 &&
	      l.ranges[0].lo == 22 && l.ranges[0].hi == 22);
	sk_port_list_free(&l);
	CHECK(sk_parse_port_list("20-30,80,8000-8000", "tcp", &l, err) == 0 && l.count == 3 &&
	      l.ranges[0].lo == 20 && l.ranges[0].hi == 30 && l.ranges[1].lo == 80 &&
	      l.ranges[2].hi == 8000);
	sk_port_list_free(&l);
	CHECK(sk_parse_port_list("30-20", "tcp", &l, err) < 0 && strstr(err, "start is after end"));
	CHECK(sk_parse_port_list("0", "tcp", &l, err) < 0 && strstr(err, "must be 1-65535"));
	CHECK(sk_parse_port_list("0-5", "tcp", &l, err) < 0);
	CHECK(sk_parse_port_list("80,", "tcp", &l, err) < 0 && strstr(err, "empty"));
	CHECK(sk_parse_port_list(",80", "tcp", &l, err) < 0);
	CHECK(sk_parse_port_list("", "tcp", &l, err) < 0);
	CHECK(sk_parse_port_list("1-2-3", "tcp", &l, err) < 0);
	CHECK(sk_parse_port_list("1-70000", "tcp", &l, err) < 0);
	CHECK(sk_parse_port_list("-", "tcp", &l, err) < 0);
	CHECK(l.ranges == NULL && l.count == 0);
}

static void sizes(void)
{
	unsigned long long v;

	CHECK(sk_parse_size("0", ~0ULL, &v) == 0 && v == 0);
	CHECK(sk_parse_size("1024", ~0ULL, &v) == 0 && v == 1024);
	CHECK(sk_parse_size("1k", ~0ULL, &v) == 0 && v == 1024);
	CHECK(sk_parse_size("10M", ~0ULL, &v) == 0 && v == 10ULL << 20);
	CHECK(sk_parse_size("1G", ~0ULL, &v) == 0 && v == 1ULL << 30);
	CHECK(sk_parse_size("2GiB", ~0ULL, &v) == 0 && v == 2ULL << 30);
	CHECK(sk_parse_size("3tb", ~0ULL, &v) == 0 && v == 3ULL << 40);
	CHECK(sk_parse_size("", ~0ULL, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_size("-1", ~0ULL, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_size("1X", ~0ULL, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_size("1Gx", ~0ULL, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_size(" 1", ~0ULL, &v) < 0 && errno == EINVAL);
	CHECK(sk_parse_size("99999999999999999999", ~0ULL, &v) < 0 && errno == ERANGE);
	CHECK(sk_parse_size("17179869184G", ~0ULL, &v) < 0 && errno == ERANGE);
	CHECK(sk_parse_size("2K", 2047, &v) < 0 && errno == ERANGE);
}

int main(void)
{
	sizes();
	numbers();
	seconds();
	ports();
	port_lists();
	return check_summary("parse");
}
