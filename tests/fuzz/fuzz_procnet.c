/*
 * libFuzzer harness: /proc/net table lines. A parsed line must have
 * 16-bit ports and a one-byte state, and parsing must not read past the
 * string (ASan) whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "procnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_procnet_entry e;
	char *line = malloc(size + 1);
	int fam;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	for (fam = 0; fam < 2; fam++) {
		if (sk_procnet_parse_line(line, fam ? AF_INET6 : AF_INET, &e) == 0 &&
		    (e.lport > 0xffff || e.rport > 0xffff || e.state < 0 || e.state > 0xff))
			abort();
	}
	sk_tcp_state_name(size > 0 ? (int)data[0] - 128 : 0);
	free(line);
	return 0;
}
