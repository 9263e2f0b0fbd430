#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

void sk_seterr(char *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, SK_ERRLEN, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}
