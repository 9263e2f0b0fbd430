/*
 * filecache.h - open regular files kept for a second with their stat,
 * validators and, when small, their bytes: a hit costs no system call.
 */
#ifndef SK_FILECACHE_H
#define SK_FILECACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsafe.h"
#include "mime.h"

/* Bodies up to this many bytes are kept in memory and sent with the head. */
#define SK_FCACHE_SMALL (16 * 1024)

/* An open regular file and what its responses need. */
struct sk_fentry {
	char *rel; /* the path beneath the root; NULL: a free slot */
	int fd;
	struct stat st;
	int64_t until; /* sk_now_ms() after which it is looked up again */
	char *small;   /* the whole file when it is at most SK_FCACHE_SMALL bytes */
	bool missing;  /* sk_fcache_probe found nothing at rel (fd is -1) */
	char etag[64], lastmod[32], ctype[128];
};

struct sk_fcache;

/*
 * Returns an empty cache of files beneath root, typed by mime (both are
 * borrowed and must outlive it), or NULL with errno ENOMEM.
 */
struct sk_fcache *sk_fcache_new(const struct sk_root *root, const struct sk_mime *mime);

/* Closes every cached file and frees the cache. NULL is fine. */
void sk_fcache_free(struct sk_fcache *fc);

/*
 * Looks rel up beneath the root. A regular file comes back as a cache
 * entry (valid until the next call that changes the cache), with *fd =
 * -1. Anything else returns NULL with an open fd in *fd and its stat in
 * *st, or with *fd = -1 and errno: sk_open_beneath's or fstat's, or
 * ENOMEM when a regular file could not be kept.
 */
const struct sk_fentry *sk_fcache_lookup(struct sk_fcache *fc, const char *rel, int *fd,
					 struct stat *st);

/*
 * Like sk_fcache_lookup for a file that may well not exist (a
 * precompressed sibling): a regular file comes back as its entry, and
 * anything else as NULL, remembered for as long as an entry is, so that
 * asking again costs no system call. Returns NULL with errno ENOMEM only
 * when that is why.
 */
const struct sk_fentry *sk_fcache_probe(struct sk_fcache *fc, const char *rel);

/* Drops what the cache holds for rel (a file just uploaded there). */
void sk_fcache_forget(struct sk_fcache *fc, const char *rel);

/* Closes every cached file. Returns true when that freed any fd. */
bool sk_fcache_release(struct sk_fcache *fc);

#endif
