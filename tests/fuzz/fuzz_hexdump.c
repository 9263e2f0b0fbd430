/* libFuzzer harness: hex dump lines stay in bounds and printable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hexdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[SK_HEXDUMP_LINE];
	uint64_t offset = 0;
	size_t used, i, len;

	if (size >= 8) {
		memcpy(&offset, data, 8);
		data += 8;
		size -= 8;
	}
	while (size > 0) {
		used = sk_hexdump_line(line, '>', offset, data, size);
		len = strlen(line);
		if (used == 0 || used > 16 || len >= SK_HEXDUMP_LINE || line[len - 1] != '\n')
			abort();
		for (i = 0; i + 1 < len; i++)
			if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
				abort();
		data += used;
		size -= used;
		offset += used;
	}
	return 0;
}
