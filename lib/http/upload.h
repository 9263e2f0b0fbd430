/*
 * upload.h - serve-http's uploads: a PUT body into one file, a
 * multipart/form-data POST into files of a directory. Each file is
 * written into an unnamed temporary file (O_TMPFILE) in its directory and
 * linked into place only when the whole body has arrived and checked out,
 * so a file appears whole or not at all; one that never gets there
 * vanishes with its fd. Directories are opened as reads are (beneath the
 * root, no symlink out). The caller moves the bytes (event loop, TLS,
 * chunked decoding); this is the file-system side and the body framing.
 */
#ifndef SK_UPLOAD_H
#define SK_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "chunked.h"
#include "fsafe.h"
#include "http.h"
#include "multipart.h"

#define SK_UPLOAD_MAX_FILES 100 /* file parts in one POST; more is 413 */

/* sk_upload_start flags */
#define SK_UPLOAD_OVERWRITE 1 /* --overwrite: replace what is there */
#define SK_UPLOAD_VARIANTS  2 /* --precompressed: X.gz, X.br, X.zst stand for X */

/* Names that uploads may not take: the temporary names of --overwrite. */
#define SK_UPLOAD_TMP_PREFIX ".sockctl-upload."

struct sk_upload_file {
	int fd; /* O_TMPFILE, or -1 */
	char name[SK_MP_MAX_NAME + 1];
};

struct sk_upload {
	bool post;	/* multipart into a directory; else PUT */
	bool overwrite; /* --overwrite */
	bool variants;	/* --precompressed: a variant of an existing file is that file */
	bool chunked;	/* the body is chunked (dec) */
	int dirfd;	/* the target directory */
	char *dir_rel;	/* ... as a path beneath the root ("": the root) */
	unsigned long long max, got; /* body bytes allowed, received (after de-chunking) */
	unsigned long long left;     /* Content-Length bytes still to come (not chunked) */
	struct sk_chunked dec;
	struct sk_multipart *mp;      /* POST */
	struct sk_upload_file *files; /* PUT: one; POST: one per file part */
	size_t nfiles;
	size_t nlinked;	 /* after sk_upload_finish: files[0..nlinked) are in place */
	bool in_file;	 /* POST: the current part is written to files[nfiles - 1] */
	bool mp_done;	 /* POST: the multipart's close delimiter came */
	bool body_done;	 /* the framing says the body ended */
	bool replaced;	 /* PUT: an existing file was replaced (204, not 201) */
	const char *why; /* a failure's reason, for the log */
};

/*
 * Checks a PUT or POST to rel (a path beneath the root, as
 * sk_http_target_path makes it) and gets ready for its body. Returns 0,
 * or the status to answer without reading the body: 400 (unsafe name,
 * bad multipart Content-Type), 403/404 (the directory cannot be opened
 * or leads out), 405 (a POST to something not a directory, a PUT to a
 * directory path), 409 (the file exists without overwrite, a directory
 * is in the way, the parent is missing; without SK_UPLOAD_OVERWRITE but
 * with SK_UPLOAD_VARIANTS, also X.gz, X.br or X.zst where X exists, as
 * it would change what X's clients get), 413 (Content-Length above max),
 * 415 (a POST that is not multipart/form-data), 507 (no space for the
 * temporary file), or 500; -1 with errno ENOMEM.
 */
int sk_upload_start(struct sk_upload *u, const struct sk_root *root, const struct sk_http_req *q,
		    const char *rel, bool dir_slash, unsigned long long max, unsigned flags);

/*
 * Takes body bytes as they arrive (raw: chunked framing is decoded
 * here). Returns the bytes it used (fewer than n once the body ended:
 * the rest is the next request), or -1 with *status: 400 (malformed
 * chunked or multipart body, a bad file name), 409, 413, 507, 500.
 */
long long sk_upload_feed(struct sk_upload *u, const char *in, size_t n, int *status);

/*
 * How many raw body bytes may go straight from the socket into the file
 * now (splice), or 0 when the bytes must come through sk_upload_feed: a
 * PUT with a Content-Length only.
 */
unsigned long long sk_upload_direct(const struct sk_upload *u);

/* fd to write direct bytes into: the PUT's temporary file. */
int sk_upload_direct_fd(const struct sk_upload *u);

/* n bytes went straight into the file. */
void sk_upload_direct_done(struct sk_upload *u, unsigned long long n);

/* True once the whole body has arrived. */
bool sk_upload_body_done(const struct sk_upload *u);

/*
 * Links the files into place. Returns the status to answer: 201 (PUT, a
 * new file), 204 (PUT over an old one), 303 (POST), or 400 (the body
 * ended in the middle of a multipart), 409 (a file appeared meanwhile),
 * 507, 500.
 */
int sk_upload_finish(struct sk_upload *u);

/* Closes what u holds: files not linked vanish. */
void sk_upload_free(struct sk_upload *u);

#endif
