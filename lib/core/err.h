/* err.h - error text that lib/ functions hand back to their callers. */
#ifndef SK_ERR_H
#define SK_ERR_H

#define SK_ERRLEN 256

/*
 * Formats a message into err (SK_ERRLEN bytes) when err is not NULL.
 * errno is preserved, so a caller can fill err after the failing call.
 */
void sk_seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
