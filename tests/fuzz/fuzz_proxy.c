/*
 * libFuzzer harness: the proxy client's answer parsers. The first byte
 * picks the kind of proxy, whether credentials are offered and how the
 * answer is cut into reads; the rest is what the proxy says, fed to the
 * machine as it asks (what it sends is taken as sent). Checks that it
 * never takes more than it said it would, that SOCKS replies are taken
 * whole (nothing left unread while it still wants bytes), that it ends
 * DONE or FAILED with a reason once the bytes run out or the proxy
 * closes, and never takes a byte past the answer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const urls[] = {
    "socks5h://127.0.0.1",     "socks5h://u:p@127.0.0.1", "socks4a://127.0.0.1",
    "socks4a://bob@127.0.0.1", "http://127.0.0.1",	  "http://u:p@127.0.0.1",
    "socks5://127.0.0.1",      "socks4://127.0.0.1",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_proxy px;
	struct sk_proxy_dest d = {.host = "target.example", .port = 443};
	struct sk_proxy_hs *hs;
	char err[SK_ERRLEN];
	const unsigned char *out;
	size_t off = 1, chunk, want, took, i;
	bool partial;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	if (sk_proxy_parse_url(urls[sel % 8], &px, err) < 0)
		abort();
	if (sel % 8 >= 6)
		d.host = "192.0.2.1"; /* resolved here: a literal */
	hs = sk_proxy_hs_new(&px, &d, err);
	if (!hs)
		abort();
	for (i = 0; i < 4096; i++) {
		enum sk_proxy_state st = sk_proxy_hs_state(hs);

		if (st == SK_PROXY_DONE || st == SK_PROXY_FAILED)
			break;
		if (st == SK_PROXY_SEND) {
			if (sk_proxy_hs_output(hs, &out) == 0)
				abort();
			/* Sent in two goes when the selector says so. */
			sk_proxy_hs_sent(hs, (sel & 0x80) ? 1 : 4096);
			continue;
		}
		want = sk_proxy_hs_want(hs, &partial);
		if (want == 0)
			abort();
		if (off == size) {
			sk_proxy_hs_eof(hs, 0);
			continue;
		}
		chunk = 1 + (sel >> 3 & 0x0f) * 7; /* 1 to 106 bytes a read */
		if (chunk > size - off)
			chunk = size - off;
		if (!partial && chunk > want)
			chunk = want; /* a SOCKS read asks for what is wanted, no more */
		took = sk_proxy_hs_input(hs, data + off, chunk);
		if (took > chunk || took > want)
			abort();
		/* A SOCKS reply is taken whole; a head stops only at its end or a failure. */
		if (took < chunk && sk_proxy_hs_state(hs) == SK_PROXY_RECV)
			abort();
		off += took;
	}
	if (sk_proxy_hs_state(hs) == SK_PROXY_FAILED &&
	    (!sk_proxy_hs_error(hs)[0] || !sk_proxy_hs_errno(hs)))
		abort();
	sk_proxy_hs_free(hs);
	sk_proxy_wipe(&px);
	/* The URL parser too, on the same bytes. */
	{
		char *u = malloc(size);

		if (u) {
			memcpy(u, data + 1, size - 1);
			u[size - 1] = '\0';
			if (sk_proxy_parse_url(u, &px, err) == 0 &&
			    (!px.host[0] || px.port == 0 || px.port > 65535))
				abort();
			sk_proxy_wipe(&px);
			free(u);
		}
	}
	return 0;
}
