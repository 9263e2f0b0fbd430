/*
 * Unit tests of lib/whois/procnet.c against fixture tables in
 * tests/fixtures/proc (run from the repository root, as tests/run does).
 * The fixtures hold the kernel's host byte order of a little-endian
 * machine, so the address checks only run on one.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "procnet.h"

#define ROOT "tests/fixtures/proc"

struct seen {
	struct sk_procnet_entry e[16];
	size_t n;
};

static void keep(void *ctx, const struct sk_procnet_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->e[s->n++] = *e;
}

static const char *addr(const struct sk_procnet_entry *e, char *buf)
{
	return inet_ntop(e->family, e->local, buf, INET6_ADDRSTRLEN);
}

static void tables(void)
{
	struct seen s = {0};
	char buf[INET6_ADDRSTRLEN];
	size_t bad;
	const uint16_t one = 1;
	int little = *(const unsigned char *)&one == 1;

	CHECK(sk_procnet_read(ROOT, "tcp", keep, &s, &bad) == 3 && bad == 2);
	CHECK(s.e[0].lport == 8080 && s.e[0].state == 10 && s.e[0].inode == 186 && s.e[0].uid == 0);
	CHECK(s.e[1].state == 6 && s.e[1].inode == 0); /* TIME_WAIT: no inode */
	CHECK(s.e[2].lport == 80 && s.e[2].rport == 0xD431 && s.e[2].uid == 1000 &&
	      s.e[2].inode == 52344);
	if (little) {
		CHECK(strcmp(addr(&s.e[0], buf), "0.0.0.0") == 0);
		CHECK(strcmp(addr(&s.e[1], buf), "127.0.0.1") == 0);
	}
	s.n = 0;
	CHECK(sk_procnet_read(ROOT, "tcp6", keep, &s, &bad) == 3 && bad == 0);
	CHECK(s.e[0].family == AF_INET6 && s.e[0].lport == 22 && s.e[0].inode == 4242);
	CHECK(s.e[1].lport == 8081 && s.e[1].uid == 107);
	if (little) {
		CHECK(strcmp(addr(&s.e[0], buf), "::1") == 0);
		CHECK(strcmp(addr(&s.e[1], buf), "::ffff:127.0.0.1") == 0);
		CHECK(strcmp(addr(&s.e[2], buf), "::") == 0);
	}
	s.n = 0;
	CHECK(sk_procnet_read(ROOT, "udp", keep, &s, &bad) == 2 && bad == 0);
	CHECK(s.e[0].lport == 53 && s.e[0].state == 7 && s.e[0].uid == 101 && s.e[0].inode == 9001);
	CHECK(s.e[1].state == 1 && s.e[1].rport == 53);
	s.n = 0;
	CHECK(sk_procnet_read(ROOT, "udp6", keep, &s, &bad) == 1 && s.e[0].inode == 9100);
	CHECK(sk_procnet_read(ROOT, "nosuch", keep, &s, &bad) < 0);
}

static void lines(void)
{
	struct sk_procnet_entry e;

	CHECK(sk_procnet_parse_line("", AF_INET, &e) < 0);
	CHECK(sk_procnet_parse_line("  sl  local_address rem_address   st", AF_INET, &e) < 0);
	CHECK(sk_procnet_parse_line("0: 0100007F:0050 0100007F:0051 0A 0:0 0:0 0 0 0 7", AF_INET,
				    &e) == 0 &&
	      e.inode == 7);
	CHECK(sk_procnet_parse_line("0: 0100007F:0050 0100007F:0051 0A 0:0 0:0 0 0 0", AF_INET,
				    &e) < 0);
	CHECK(sk_procnet_parse_line("0: 0100007G:0050 0100007F:0051 0A 0:0 0:0 0 0 0 7", AF_INET,
				    &e) < 0);
	CHECK(sk_procnet_parse_line("0: 0100007F:0050 0100007F:0051 0A 0:0 0:0 0 x 0 7", AF_INET,
				    &e) < 0);
	CHECK(sk_procnet_parse_line("0: 0100007F:0050 0100007F:0051 0A 0:0 0:0 0 99999999999 0 7",
				    AF_INET, &e) < 0);
	CHECK(sk_procnet_parse_line("0: 0100007F:0050 0100007F:0051 0A 0:0 0:0 0 0 0 7", AF_INET6,
				    &e) < 0);
	CHECK(strcmp(sk_tcp_state_name(10), "LISTEN") == 0);
	CHECK(strcmp(sk_tcp_state_name(99), "UNKNOWN") == 0);
}

int main(void)
{
	tables();
	lines();
	return check_summary("procnet");
}
