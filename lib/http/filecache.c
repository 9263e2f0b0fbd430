/*
 * The file cache: CACHE_SLOTS entries addressed by a hash of the path, a
 * newer path taking the slot of an older one. Entries were opened beneath
 * the root, so a cached one cannot lead out of it; a file changed on disk
 * is seen within CACHE_MS.
 */
#include "filecache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"

#define CACHE_SLOTS 512
#define CACHE_MS    1000

struct sk_fcache {
	const struct sk_root *root;
	const struct sk_mime *mime;
	struct sk_fentry slot[CACHE_SLOTS];
};

struct sk_fcache *sk_fcache_new(const struct sk_root *root, const struct sk_mime *mime)
{
	struct sk_fcache *fc = calloc(1, sizeof(*fc));

	if (!fc) {
		errno = ENOMEM;
		return NULL;
	}
	fc->root = root;
	fc->mime = mime;
	return fc;
}

static void entry_clear(struct sk_fentry *e)
{
	if (e->rel) {
		if (e->fd >= 0)
			close(e->fd);
		free(e->rel);
		free(e->small);
	}
	memset(e, 0, sizeof(*e));
}

bool sk_fcache_release(struct sk_fcache *fc)
{
	bool any = false;
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++) {
		any = any || fc->slot[i].rel;
		entry_clear(&fc->slot[i]);
	}
	return any;
}

void sk_fcache_free(struct sk_fcache *fc)
{
	if (!fc)
		return;
	sk_fcache_release(fc);
	free(fc);
}

static uint32_t path_hash(const char *p)
{
	uint32_t h = 2166136261u;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

/* ETag from inode, size and modification time. */
static void make_etag(const struct stat *st, char *out, size_t len)
{
	snprintf(out, len, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
		 (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec * 1000 +
		     (unsigned long long)st->st_mtim.tv_nsec / 1000000);
}

/*
 * Keeps an open regular file in its slot. Returns the entry, or NULL with
 * errno ENOMEM (fd closed). A small body that cannot be read into memory
 * is sent from the file instead.
 */
static struct sk_fentry *store(struct sk_fcache *fc, const char *rel, int fd, const struct stat *st)
{
	struct sk_fentry *e = &fc->slot[path_hash(rel) % CACHE_SLOTS];
	char ctype[128];

	entry_clear(e);
	if (!(e->rel = strdup(rel))) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	e->fd = fd;
	e->st = *st;
	e->until = sk_now_ms() + CACHE_MS;
	make_etag(st, e->etag, sizeof(e->etag));
	sk_http_date(st->st_mtim.tv_sec, e->lastmod);
	snprintf(e->ctype, sizeof(e->ctype), "%s",
		 sk_mime_type(fc->mime, rel, ctype, sizeof(ctype)));
	if (st->st_size <= SK_FCACHE_SMALL && (e->small = malloc((size_t)st->st_size + 1)) &&
	    pread(fd, e->small, (size_t)st->st_size, 0) != st->st_size) {
		free(e->small);
		e->small = NULL;
	}
	return e;
}

const struct sk_fentry *sk_fcache_lookup(struct sk_fcache *fc, const char *rel, int *fd,
					 struct stat *st)
{
	struct sk_fentry *e = &fc->slot[path_hash(rel) % CACHE_SLOTS];

	*fd = -1;
	if (e->rel && !e->missing && strcmp(e->rel, rel) == 0 && sk_now_ms() < e->until)
		return e;
	*fd = sk_open_beneath(fc->root, rel);
	if (*fd < 0)
		return NULL;
	if (fstat(*fd, st) < 0) {
		int err = errno;

		close(*fd);
		*fd = -1;
		errno = err;
		return NULL;
	}
	if (!S_ISREG(st->st_mode))
		return NULL;
	e = store(fc, rel, *fd, st);
	*fd = -1;
	return e;
}

const struct sk_fentry *sk_fcache_probe(struct sk_fcache *fc, const char *rel)
{
	struct sk_fentry *e = &fc->slot[path_hash(rel) % CACHE_SLOTS];
	const struct sk_fentry *found;
	struct stat st;
	int fd;

	if (e->rel && strcmp(e->rel, rel) == 0 && sk_now_ms() < e->until) {
		errno = ENOENT;
		return e->missing ? NULL : e;
	}
	found = sk_fcache_lookup(fc, rel, &fd, &st);
	if (found || errno == ENOMEM)
		return found;
	if (fd >= 0)
		close(fd); /* not a regular file */
	entry_clear(e);
	if ((e->rel = strdup(rel))) {
		e->fd = -1;
		e->missing = true;
		e->until = sk_now_ms() + CACHE_MS;
	}
	errno = ENOENT;
	return NULL;
}

void sk_fcache_forget(struct sk_fcache *fc, const char *rel)
{
	struct sk_fentry *e = &fc->slot[path_hash(rel) % CACHE_SLOTS];

	if (e->rel && strcmp(e->rel, rel) == 0)
		entry_clear(e);
}
