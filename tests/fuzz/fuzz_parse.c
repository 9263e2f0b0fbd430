/* libFuzzer harness: the parsers of user-typed numbers, ports, hosts and signals. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "parse.h"
#include "pidfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[SK_ADDRSTRLEN], err[SK_ERRLEN];
	struct sk_port_list list;
	long long v;
	unsigned port;
	int ms;
	size_t i;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_parse_num(s, -1000, 1000, &v) == 0 && (v < -1000 || v > 1000))
		abort();
	if (sk_parse_seconds(s, &ms) == 0 && (ms < 0 || ms > SK_MAX_SECONDS * 1000))
		abort();
	if (sk_parse_port(s, "tcp", &port) == 0 && port > 65535)
		abort();
	if (sk_parse_port_list(s, "tcp", &list, err) == 0) {
		for (i = 0; i < list.count; i++)
			if (list.ranges[i].lo == 0 || list.ranges[i].lo > list.ranges[i].hi ||
			    list.ranges[i].hi > 65535)
				abort();
		sk_port_list_free(&list);
	} else if (strlen(err) >= SK_ERRLEN) {
		abort();
	}
	if ((v = sk_parse_signal(s)) != -1 && (v < 1 || v > 64))
		abort();
	if (sk_host_unbracket(s, buf, sizeof(buf)) && (strchr(buf, '[') || strchr(buf, ']')))
		abort();
	free(s);
	return 0;
}
