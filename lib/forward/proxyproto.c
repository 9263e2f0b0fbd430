/*
 * The PROXY protocol header, as haproxy's specification (proxy-protocol.txt)
 * describes it: version 1, one text line; version 2, a binary block with
 * the 12-byte signature. Both name the client (source) and the address it
 * reached (destination).
 */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* An address as the header carries it: family, the address bytes, the port. */
struct ep {
	int family; /* AF_INET, AF_INET6, or 0: neither */
	unsigned char addr[16];
	uint16_t port; /* host order */
};

/* Reads sa into e; a v4-mapped IPv6 address becomes IPv4. */
static void endpoint_of(const struct sockaddr *sa, struct ep *e)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(e, 0, sizeof(*e));
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		e->family = AF_INET;
		memcpy(e->addr, &in->sin_addr, 4);
		e->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		e->port = ntohs(in6->sin6_port);
		if (memcmp(in6->sin6_addr.s6_addr, mapped, 12) == 0) {
			e->family = AF_INET;
			memcpy(e->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			e->family = AF_INET6;
			memcpy(e->addr, in6->sin6_addr.s6_addr, 16);
		}
	}
}

static int header_v1(const struct ep *src, const struct ep *dst, unsigned char *buf)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int n;

	if (!src->family || src->family != dst->family)
		return snprintf((char *)buf, SK_PROXY_HDR_MAX, "PROXY UNKNOWN\r\n");
	inet_ntop(src->family, src->addr, a, sizeof(a));
	inet_ntop(dst->family, dst->addr, b, sizeof(b));
	n = snprintf((char *)buf, SK_PROXY_HDR_MAX, "PROXY %s %s %s %u %u\r\n",
		     src->family == AF_INET ? "TCP4" : "TCP6", a, b, src->port, dst->port);
	return n;
}

static int header_v2(const struct ep *src, const struct ep *dst, unsigned char *buf)
{
	size_t alen = 0, n = 16;
	bool proxy = src->family && src->family == dst->family;

	memcpy(buf, v2_sig, sizeof(v2_sig));
	/* Version 2; PROXY (a relayed connection) or LOCAL (nothing to tell). */
	buf[12] = proxy ? 0x21 : 0x20;
	buf[13] = !proxy ? 0x00 : src->family == AF_INET ? 0x11 : 0x21; /* TCP over IPv4/IPv6 */
	if (proxy) {
		alen = src->family == AF_INET ? 4 : 16;
		memcpy(buf + n, src->addr, alen);
		memcpy(buf + n + alen, dst->addr, alen);
		n += 2 * alen;
		buf[n++] = (unsigned char)(src->port >> 8);
		buf[n++] = (unsigned char)src->port;
		buf[n++] = (unsigned char)(dst->port >> 8);
		buf[n++] = (unsigned char)dst->port;
	}
	buf[14] = (unsigned char)((n - 16) >> 8);
	buf[15] = (unsigned char)(n - 16);
	return (int)n;
}

int sk_proxy_header(int version, const struct sockaddr *client, const struct sockaddr *local,
		    unsigned char *buf)
{
	struct ep src, dst;

	if (version != 1 && version != 2) {
		errno = EINVAL;
		return -1;
	}
	endpoint_of(client, &src);
	endpoint_of(local, &dst);
	return version == 1 ? header_v1(&src, &dst, buf) : header_v2(&src, &dst, buf);
}
