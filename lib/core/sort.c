#include "sort.h"

#include <stdlib.h>
#include <string.h>

size_t sk_sort_unique(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *p = v;
	size_t i, k = 0;

	if (n == 0)
		return 0;
	qsort(v, n, size, cmp);
	for (i = 1; i < n; i++)
		if (cmp(p + k * size, p + i * size) != 0 && ++k != i)
			memcpy(p + k * size, p + i * size, size);
	return k + 1;
}
