/* check.h - the smallest test harness: CHECK(cond) and a summary. */
#ifndef SK_CHECK_H
#define SK_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failed, check_run;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		check_run++;                                                                       \
		if (!(cond)) {                                                                     \
			check_failed++;                                                            \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

static inline int check_summary(const char *name)
{
	printf("unit %s: %d checks, %d failed\n", name, check_run, check_failed);
	return check_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
