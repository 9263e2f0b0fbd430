/* sort.h - sorting with duplicates dropped. */
#ifndef SK_SORT_H
#define SK_SORT_H

#include <stddef.h>

/*
 * Sorts the n elements of size bytes at v with cmp, then drops every
 * element that compares equal to the one before it. Returns the number
 * left (the first ones of v).
 */
size_t sk_sort_unique(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
