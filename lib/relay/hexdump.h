/* hexdump.h - direction-marked hex dump lines of relayed traffic. */
#ifndef SK_HEXDUMP_H
#define SK_HEXDUMP_H

#include <stddef.h>
#include <stdint.h>

/* One line: mark, offset, 16 bytes in hex, the printable text, newline. */
#define SK_HEXDUMP_LINE 96

/*
 * Formats up to 16 bytes of p as one line like
 * "> 00000010  68 65 6c 6c 6f 0a ...  |hello.|\n" into out
 * (SK_HEXDUMP_LINE bytes). Bytes outside printable ASCII show as '.'.
 * Returns the number of input bytes used (min(n, 16)).
 */
size_t sk_hexdump_line(char *out, char mark, uint64_t offset, const unsigned char *p, size_t n);

#endif
