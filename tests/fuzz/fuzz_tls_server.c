/*
 * libFuzzer harness: a TLS server session (made-up certificate) fed the
 * input as everything a client sent before closing: the plain-text check,
 * the handshake and, should one ever complete, reads to the end. Checks
 * that every path ends in a step or a read result with a message, never a
 * crash, a leak or a hang. Seeds are ClientHellos of real clients.
 * Built without TLS, it only runs the parsers of the options.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64 * 1024) /* what a socket buffer takes without a reader */

static void drive(struct sk_tls *t, char *err)
{
	char buf[4096];
	enum sk_tls_step s = SK_TLS_WANT_READ;
	int i;

	for (i = 0; i < 64 && (s == SK_TLS_WANT_READ || s == SK_TLS_WANT_WRITE); i++)
		s = sk_tls_handshake(t, err);
	if (s == SK_TLS_FAILED && (!err[0] || !strstr(err, "TLS")))
		abort(); /* a failure always says why */
	if (s != SK_TLS_DONE)
		return;
	for (i = 0; i < 64; i++) {
		ssize_t n = sk_tls_read(t, buf, sizeof(buf));

		if (n == 0)
			return;
		if (n < 0 && errno != EAGAIN) {
			if (!sk_tls_strerror(t, errno)[0])
				abort();
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sk_tls_ctx *ctx;
	struct sk_tls_config c = {.role = SK_TLS_SERVER, .min_version = 12, .alpn = "http/1.1"};
	char err[SK_ERRLEN], pin_text[80];
	unsigned char pin[32];
	struct sk_tls *t;
	int fd[2];

	/* The option parsers too, on the first bytes. */
	snprintf(pin_text, sizeof(pin_text), "%.*s", (int)(size < 79 ? size : 79),
		 (const char *)data);
	(void)sk_tls_parse_pin(pin_text, pin, err);
	(void)sk_tls_parse_min(pin_text);
	if (!sk_tls_built_in())
		return 0;
	if (!ctx && !(ctx = sk_tls_ctx_new(&c, err)))
		abort();
	if (size > MAX_INPUT)
		size = MAX_INPUT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) < 0)
		return 0;
	if (size && write(fd[1], data, size) != (ssize_t)size)
		abort();
	shutdown(fd[1], SHUT_WR);
	err[0] = '\0';
	t = sk_tls_new(ctx, fd[0], NULL, NULL, err);
	if (t)
		drive(t, err);
	sk_tls_free(t);
	close(fd[0]);
	close(fd[1]);
	return 0;
}
