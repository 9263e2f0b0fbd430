/* Unit tests of lib/relay/crlf.c, lib/relay/hexdump.c and lib/core/addr.c formatting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "check.h"
#include "crlf.h"
#include "hexdump.h"

static size_t crlf(struct sk_crlf *st, const char *in, char *out)
{
	size_t n = sk_crlf_convert(st, (const unsigned char *)in, strlen(in), (unsigned char *)out);
	out[n] = '\0';
	return n;
}

static void crlf_cases(void)
{
	struct sk_crlf st = {0};
	char out[64];

	crlf(&st, "a\nb\r\nc", out);
	CHECK(strcmp(out, "a\r\nb\r\nc") == 0);
	crlf(&st, "\n\n", out);
	CHECK(strcmp(out, "\r\n\r\n") == 0);
	/* A CR at the end of one chunk and its LF at the start of the next. */
	crlf(&st, "x\r", out);
	CHECK(strcmp(out, "x\r") == 0);
	crlf(&st, "\ny", out);
	CHECK(strcmp(out, "\ny") == 0);
	crlf(&st, "\r\r\n", out);
	CHECK(strcmp(out, "\r\r\n") == 0);
	CHECK(crlf(&st, "", out) == 0);
}

static void hexdump_cases(void)
{
	char line[SK_HEXDUMP_LINE];
	const unsigned char data[] = "hello, world\n\001\377zz";

	CHECK(sk_hexdump_line(line, '>', 0, data, 5) == 5);
	CHECK(strcmp(line,
		     "> 00000000  68 65 6c 6c 6f                                    |hello|\n") ==
	      0);
	CHECK(sk_hexdump_line(line, '<', 0x10, data, 17) == 16);
	CHECK(strcmp(line, "< 00000010  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a 01 ff 7a  |hello, "
			   "world...z|\n") == 0);
	CHECK(sk_hexdump_line(line, '<', 0xffffffffffULL, data, 16) == 16);
	CHECK(strlen(line) < SK_HEXDUMP_LINE);
}

static void addr_cases(void)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	char buf[SK_ADDRSTRLEN];

	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	CHECK(strcmp(sk_addr_format((void *)&s4, sizeof(s4), buf, sizeof(buf)), "127.0.0.1:80") ==
	      0);
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	CHECK(strcmp(sk_addr_format((void *)&s6, sizeof(s6), buf, sizeof(buf)), "[::1]:443") == 0);
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6.sin6_addr);
	CHECK(strcmp(sk_addr_format((void *)&s6, sizeof(s6), buf, sizeof(buf)), "10.1.2.3:443") ==
	      0);
	strcpy(su.sun_path, "/tmp/x.sock");
	CHECK(strcmp(sk_addr_format((void *)&su, sizeof(su), buf, sizeof(buf)), "/tmp/x.sock") ==
	      0);
	memcpy(su.sun_path, "\0abs", 4);
	CHECK(strcmp(sk_addr_format((void *)&su,
				    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4), buf,
				    sizeof(buf)),
		     "@abs") == 0);
	CHECK(strcmp(sk_addr_format((void *)&su, sizeof(sa_family_t), buf, sizeof(buf)),
		     "(unnamed)") == 0);

	CHECK(sk_host_unbracket("[::1]", buf, sizeof(buf)) && strcmp(buf, "::1") == 0);
	CHECK(sk_host_unbracket("::1", buf, sizeof(buf)) && strcmp(buf, "::1") == 0);
	CHECK(sk_host_unbracket("example.org", buf, sizeof(buf)) &&
	      strcmp(buf, "example.org") == 0);
	CHECK(sk_host_unbracket("[::1", buf, sizeof(buf)) == NULL);
	CHECK(sk_host_unbracket("::1]", buf, sizeof(buf)) == NULL);
	CHECK(sk_host_unbracket("[]", buf, sizeof(buf)) == NULL);
	CHECK(sk_host_unbracket("[:[:1]", buf, sizeof(buf)) == NULL); /* found by fuzz_parse */
	CHECK(sk_host_unbracket("", buf, sizeof(buf)) == NULL);
	CHECK(sk_host_unbracket("abcdef", buf, 4) == NULL);
}

int main(void)
{
	crlf_cases();
	hexdump_cases();
	addr_cases();
	return check_summary("format");
}
