/*
 * Uploads: the file-system side. A file is an O_TMPFILE in its directory
 * until the body is complete, then linked in by its /proc/self/fd name
 * (linkat with AT_SYMLINK_FOLLOW needs no privilege, unlike AT_EMPTY_PATH):
 * a new name with linkat, which fails on a name that appeared meanwhile;
 * over an old one (--overwrite) by a link to a hidden name and a rename,
 * which replaces the entry itself, so a symlink there is replaced, never
 * followed out of the tree.
 */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The status a failed write or open with errno e gets. */
static int fs_status(int e)
{
	if (e == ENOSPC || e == EDQUOT || e == EFBIG)
		return 507;
	if (e == EACCES || e == EPERM || e == EROFS)
		return 403;
	if (e == ENOMEM)
		return -1;
	return 500;
}

/* True when name is X.gz, X.br or X.zst of an X in u->dirfd. */
static bool variant_of_existing(const struct sk_upload *u, const char *name)
{
	static const char *const sfx[] = {".gz", ".br", ".zst"};
	char base[SK_MP_MAX_NAME + 1];
	size_t n = strlen(name), k, i;
	struct stat st;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		k = strlen(sfx[i]);
		if (n > k && n - k < sizeof(base) && !strcmp(name + n - k, sfx[i])) {
			snprintf(base, sizeof(base), "%.*s", (int)(n - k), name);
			return fstatat(u->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
		}
	}
	return false;
}

/* 0 when name may be created in u->dirfd, else the status. */
static int check_name(struct sk_upload *u, const char *name)
{
	struct stat st;

	if (!sk_mp_safe_name(name) ||
	    !strncmp(name, SK_UPLOAD_TMP_PREFIX, sizeof(SK_UPLOAD_TMP_PREFIX) - 1)) {
		u->why = "an unsafe file name";
		return 400;
	}
	if (u->variants && !u->overwrite && variant_of_existing(u, name)) {
		u->why = "a precompressed variant of an existing file (no --overwrite)";
		return 409;
	}
	if (fstatat(u->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fs_status(errno);
	if (S_ISDIR(st.st_mode)) {
		u->why = "a directory has that name";
		return 409;
	}
	if (!u->overwrite) {
		u->why = "the file exists (no --overwrite)";
		return 409;
	}
	u->replaced = true;
	return 0;
}

/* Opens the next file's temporary fd as name. Returns 0 or the status. */
static int open_file(struct sk_upload *u, const char *name)
{
	struct sk_upload_file *f;
	int fd, st;

	if ((st = check_name(u, name)))
		return st;
	if (u->nfiles == SK_UPLOAD_MAX_FILES) {
		u->why = "too many files in one request";
		return 413;
	}
	f = realloc(u->files, (u->nfiles + 1) * sizeof(*f));
	if (!f)
		return -1;
	u->files = f;
	fd = openat(u->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0) {
		u->why = "cannot make a temporary file";
		return fs_status(errno);
	}
	f[u->nfiles].fd = fd;
	snprintf(f[u->nfiles].name, sizeof(f[u->nfiles].name), "%s", name);
	u->nfiles++;
	return 0;
}

/* Opens rel as a directory beneath root into u->dirfd. Returns 0 or the status. */
static int open_dir(struct sk_upload *u, const struct sk_root *root, const char *rel,
		    int not_dir_status)
{
	struct stat st;

	if (!(u->dir_rel = strdup(rel)))
		return -1;
	u->dirfd = sk_open_beneath(root, rel);
	if (u->dirfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_dir_status == 405 ? 404 : 409;
		return errno == ENOMEM ? -1 : 403;
	}
	if (fstat(u->dirfd, &st) < 0)
		return 500;
	if (!S_ISDIR(st.st_mode)) {
		u->why = "not a directory";
		return not_dir_status;
	}
	return 0;
}

/* True when the Content-Type is multipart/form-data, whatever its parameters. */
static bool is_form_data(const char *v, size_t n)
{
	static const char t[] = "multipart/form-data";

	return n >= sizeof(t) - 1 && !strncasecmp(v, t, sizeof(t) - 1) &&
	       (n == sizeof(t) - 1 || v[sizeof(t) - 1] == ';' || v[sizeof(t) - 1] == ' ' ||
		v[sizeof(t) - 1] == '\t');
}

static int start_put(struct sk_upload *u, const struct sk_root *root, const char *rel,
		     bool dir_slash)
{
	char parent[SK_HTTP_MAX_TARGET + 1];
	const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
	int st;

	if (dir_slash || !rel[0]) {
		u->why = "PUT to a directory";
		return 405;
	}
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	if (!sk_mp_safe_name(name)) {
		u->why = "an unsafe file name";
		return 400;
	}
	if ((st = open_dir(u, root, parent, 409)))
		return st;
	return open_file(u, name);
}

static int start_post(struct sk_upload *u, const struct sk_root *root, const struct sk_http_req *q,
		      const char *rel)
{
	char boundary[SK_MP_MAX_BOUNDARY + 1];
	int st;

	if (!q->content_type || !is_form_data(q->content_type, q->content_type_len)) {
		u->why = "not multipart/form-data";
		return 415;
	}
	if (sk_mp_boundary(q->content_type, q->content_type_len, boundary) < 0) {
		u->why = "a bad multipart boundary";
		return 400;
	}
	if ((st = open_dir(u, root, rel, 405)))
		return st;
	if (!(u->mp = malloc(sizeof(*u->mp))))
		return -1;
	sk_mp_init(u->mp, boundary);
	u->post = true;
	return 0;
}

int sk_upload_start(struct sk_upload *u, const struct sk_root *root, const struct sk_http_req *q,
		    const char *rel, bool dir_slash, unsigned long long max, unsigned flags)
{
	int st;

	memset(u, 0, sizeof(*u));
	u->dirfd = -1;
	u->max = max;
	u->overwrite = flags & SK_UPLOAD_OVERWRITE;
	u->variants = flags & SK_UPLOAD_VARIANTS;
	u->why = "";
	if (q->expect_other)
		return 417;
	if (q->content_range) { /* a part of a file is not the file: RFC 9110 14.5 */
		u->why = "a partial PUT (Content-Range)";
		return 400;
	}
	if (q->content_length > max) {
		u->why = "the body is larger than --max-upload";
		return 413;
	}
	u->chunked = q->chunked;
	u->left = q->content_length;
	if (u->chunked)
		sk_chunked_init(&u->dec, max);
	st = q->method == SK_PUT ? start_put(u, root, rel, dir_slash) : start_post(u, root, q, rel);
	if (st)
		return st;
	u->body_done = !u->chunked && u->left == 0;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Multipart events over data[0..n). Returns 0 or the status. */
static int post_data(struct sk_upload *u, const char *data, size_t n)
{
	const char *span;
	size_t used, len, i;
	int st;

	while (!u->mp_done) {
		enum sk_mp_event ev = sk_mp_feed(u->mp, data, n, &used, &span, &len);

		data += used;
		n -= used;
		switch (ev) {
		case SK_MP_MORE: return 0;
		case SK_MP_DONE: u->mp_done = true; break; /* an epilogue is dropped */
		case SK_MP_ERROR: u->why = u->mp->why; return 400;
		case SK_MP_PART:
			if (!u->mp->part.has_filename || !u->mp->part.filename[0]) {
				u->why = "a part without a file name";
				return 400;
			}
			for (i = 0; i < u->nfiles; i++)
				if (!strcmp(u->files[i].name, u->mp->part.filename)) {
					u->why = "the same file name twice";
					return 400;
				}
			if ((st = open_file(u, u->mp->part.filename)))
				return st;
			u->in_file = true;
			break;
		case SK_MP_DATA:
			if (u->in_file && write_all(u->files[u->nfiles - 1].fd, span, len) < 0) {
				u->why = "cannot write the file";
				return fs_status(errno);
			}
			break;
		case SK_MP_PART_END: u->in_file = false; break;
		}
	}
	return 0;
}

/* Body bytes (de-chunked). Returns 0 or the status. */
static int body_data(struct sk_upload *u, const char *data, size_t n)
{
	u->got += n;
	if (u->got > u->max) {
		u->why = "the body is larger than --max-upload";
		return 413;
	}
	if (u->post)
		return post_data(u, data, n);
	if (write_all(u->files[0].fd, data, n) < 0) {
		u->why = "cannot write the file";
		return fs_status(errno);
	}
	return 0;
}

long long sk_upload_feed(struct sk_upload *u, const char *in, size_t n, int *status)
{
	size_t used = 0, took, dlen;
	const char *data;
	enum sk_chunked_result cr;

	*status = 0;
	if (u->body_done)
		return 0;
	if (!u->chunked) {
		took = n < u->left ? n : (size_t)u->left;
		if ((*status = body_data(u, in, took)))
			return -1;
		u->left -= took;
		u->body_done = u->left == 0;
		return (long long)took;
	}
	while (used < n) {
		cr = sk_chunked_feed(&u->dec, in + used, n - used, &took, &data, &dlen);
		used += took;
		if (cr == SK_CHUNKED_ERROR) {
			u->why = "a malformed chunked body";
			*status = u->dec.status;
			return -1;
		}
		if (dlen && (*status = body_data(u, data, dlen)))
			return -1;
		if (cr == SK_CHUNKED_DONE) {
			u->body_done = true;
			break;
		}
		if (took == 0 && !dlen)
			break;
	}
	return (long long)used;
}

unsigned long long sk_upload_direct(const struct sk_upload *u)
{
	return !u->post && !u->chunked && !u->body_done ? u->left : 0;
}

int sk_upload_direct_fd(const struct sk_upload *u)
{
	return u->nfiles ? u->files[0].fd : -1;
}

void sk_upload_direct_done(struct sk_upload *u, unsigned long long n)
{
	u->got += n;
	u->left -= n < u->left ? n : u->left;
	u->body_done = u->left == 0;
}

bool sk_upload_body_done(const struct sk_upload *u)
{
	return u->body_done;
}

/* Links f into place. Returns 0 or the status. */
static int link_file(struct sk_upload *u, struct sk_upload_file *f)
{
	char path[64], tmp[64];
	unsigned long long r;
	unsigned i;
	int e;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	if (!u->overwrite) {
		if (linkat(AT_FDCWD, path, u->dirfd, f->name, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EEXIST)
			u->why = "the file appeared meanwhile";
		return errno == EEXIST ? 409 : fs_status(errno);
	}
	/* A name no upload may take (the prefix is refused), and no one can guess. */
	for (i = 0; i < 16; i++) {
		if (getentropy(&r, sizeof(r)) < 0)
			return 500;
		snprintf(tmp, sizeof(tmp), SK_UPLOAD_TMP_PREFIX "%016llx", r);
		if (linkat(AT_FDCWD, path, u->dirfd, tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST)
			return fs_status(errno);
	}
	if (i == 16)
		return 500;
	if (renameat(u->dirfd, tmp, u->dirfd, f->name) == 0)
		return 0;
	e = errno;
	unlinkat(u->dirfd, tmp, 0);
	if (e == EISDIR || e == ENOTEMPTY || e == EEXIST) {
		u->why = "a directory has that name";
		return 409;
	}
	return fs_status(e);
}

int sk_upload_finish(struct sk_upload *u)
{
	size_t i, j;
	int st;

	if (u->post && !u->mp_done) {
		u->why = "the body ended inside the multipart";
		return 400;
	}
	if (u->post && u->nfiles == 0) {
		u->why = "no file in the form";
		return 400;
	}
	for (i = 0; i < u->nfiles; i++) {
		if (!(st = link_file(u, &u->files[i])))
			continue;
		/* All or none: the new names linked so far go again (a replaced file cannot come
		 * back). */
		for (j = 0; j < i && !u->overwrite; j++)
			unlinkat(u->dirfd, u->files[j].name, 0);
		u->nlinked = u->overwrite ? i : 0;
		return st;
	}
	u->nlinked = u->nfiles;
	return u->post ? 303 : u->replaced ? 204 : 201;
}

void sk_upload_free(struct sk_upload *u)
{
	size_t i;

	for (i = 0; i < u->nfiles; i++)
		if (u->files[i].fd >= 0)
			close(u->files[i].fd);
	free(u->files);
	free(u->mp);
	free(u->dir_rel);
	u->dir_rel = NULL;
	if (u->dirfd >= 0)
		close(u->dirfd);
	u->files = NULL;
	u->mp = NULL;
	u->nfiles = 0;
	u->dirfd = -1;
}
