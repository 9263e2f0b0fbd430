/* clock.h - monotonic time in milliseconds and deadlines. */
#ifndef SK_CLOCK_H
#define SK_CLOCK_H

#include <stdint.h>

/* Returns milliseconds on the monotonic clock. */
int64_t sk_now_ms(void);

/*
 * Returns the milliseconds left until deadline (a sk_now_ms() value),
 * 0 when it has passed, or -1 (wait forever) when deadline is negative.
 * The result fits in an int for poll(2).
 */
int sk_ms_left(int64_t deadline);

/* Returns sk_now_ms() + ms, or -1 (no deadline) when ms is negative. */
int64_t sk_deadline(int ms);

#endif
