#include "hexdump.h"

#include <stdio.h>
#include <string.h>

size_t sk_hexdump_line(char *out, char mark, uint64_t offset, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, used = n < 16 ? n : 16;
	char *o = out;

	o += snprintf(o, SK_HEXDUMP_LINE, "%c %08llx ", mark,
		      (unsigned long long)offset & 0xffffffffffULL);
	for (i = 0; i < 16; i++) {
		if (i == 8)
			*o++ = ' ';
		*o++ = ' ';
		*o++ = i < used ? hex[p[i] >> 4] : ' ';
		*o++ = i < used ? hex[p[i] & 15] : ' ';
	}
	*o++ = ' ';
	*o++ = ' ';
	*o++ = '|';
	for (i = 0; i < used; i++)
		*o++ = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	*o++ = '|';
	*o++ = '\n';
	*o = '\0';
	return used;
}
