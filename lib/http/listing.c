#include "listing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* A resolved target plus one directory entry name. */
#define REL_MAX (SK_HTTP_MAX_TARGET + NAME_MAX + 16)

struct entry {
	char *name;
	bool dir;
	off_t size;
	time_t mtime;
};

struct entries {
	struct entry *e;
	size_t n, cap;
	bool more; /* there were more than SK_LISTING_MAX */
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void entries_free(struct entries *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
}

/* Appends one entry. Returns 0, or -1 with errno ENOMEM. */
static int entries_add(struct entries *l, const char *name, const struct stat *st)
{
	struct entry *t;

	if (l->n == l->cap) {
		t = realloc(l->e, (l->cap ? 2 * l->cap : 64) * sizeof(*t));
		if (!t)
			return -1;
		l->e = t;
		l->cap = l->cap ? 2 * l->cap : 64;
	}
	l->e[l->n] = (struct entry){.name = strdup(name),
				    .dir = S_ISDIR(st->st_mode),
				    .size = st->st_size,
				    .mtime = st->st_mtim.tv_sec};
	if (!l->e[l->n].name)
		return -1;
	l->n++;
	return 0;
}

/* The stat of name in directory rel, when a request could open it. */
static bool reachable(const struct sk_root *root, const char *rel, const char *name,
		      struct stat *st)
{
	char path[REL_MAX];
	int f, ok;

	if (snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", name) >=
	    (int)sizeof(path))
		return false; /* never open a truncated name */
	/* Links that lead out of the root are left out, as requests are refused. */
	if ((f = sk_open_beneath(root, path)) < 0)
		return false;
	ok = fstat(f, st) == 0;
	close(f);
	return ok;
}

/* Reads, sorted, the entries a request could reach. Returns 0, or -1 with errno. */
static int read_entries(struct entries *l, const struct sk_root *root, int fd, const char *rel)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0), rc = 0;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	struct stat st;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == SK_LISTING_MAX) {
			l->more = true;
			break;
		}
		if (reachable(root, rel, de->d_name, &st) && (rc = entries_add(l, de->d_name, &st)))
			break;
	}
	closedir(d);
	if (rc < 0) {
		errno = ENOMEM;
		return -1;
	}
	if (l->n > 0)
		qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
	return 0;
}

static int listing_row(struct sk_buf *b, const struct entry *e)
{
	size_t len = strlen(e->name);
	char *esc = malloc(6 * len + 1), *enc = malloc(3 * len + 1);
	char date[32];
	struct tm tm;
	int rc = -1;

	if (esc && enc) {
		sk_html_escape(e->name, len, esc);
		sk_url_encode(e->name, len, enc);
		gmtime_r(&e->mtime, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
		if (e->dir)
			rc = sk_buf_printf(
			    b, "<tr><td><a href=\"%s/\">%s/</a></td><td>-</td><td>%s</td></tr>\n",
			    enc, esc, date);
		else
			rc = sk_buf_printf(
			    b, "<tr><td><a href=\"%s\">%s</a></td><td>%lld</td><td>%s</td></tr>\n",
			    enc, esc, (long long)e->size, date);
	}
	free(esc);
	free(enc);
	if (rc < 0)
		errno = ENOMEM;
	return rc;
}

static int page_start(struct sk_buf *b, const char *rel)
{
	char *title = malloc(6 * strlen(rel) + 1);
	const char *slash = rel[0] ? "/" : "";
	int rc;

	if (!title) {
		errno = ENOMEM;
		return -1;
	}
	sk_html_escape(rel, strlen(rel), title);
	rc = sk_buf_printf(b,
			   "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
			   "<title>Index of /%s%s</title></head>\n<body><h1>Index of /%s%s</h1>\n"
			   "<table>\n<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n",
			   title, slash, title, slash);
	free(title);
	if (rc == 0 && rel[0])
		rc = sk_buf_printf(
		    b, "<tr><td><a href=\"../\">../</a></td><td>-</td><td></td></tr>\n");
	return rc;
}

int sk_listing_html(struct sk_buf *body, const struct sk_root *root, int fd, const char *rel,
		    bool upload_form)
{
	struct entries l = {0};
	size_t i;
	int rc = read_entries(&l, root, fd, rel);

	if (rc == 0)
		rc = page_start(body, rel);
	for (i = 0; rc == 0 && i < l.n; i++)
		rc = listing_row(body, &l.e[i]);
	entries_free(&l);
	if (rc == 0)
		rc = sk_buf_printf(body, "</table>\n");
	if (rc == 0 && l.more)
		rc = sk_buf_printf(body,
				   "<p>Only %d entries are listed; this directory has more.</p>\n",
				   SK_LISTING_MAX);
	/* The form posts to this very page: the directory's URL, with its slash. */
	if (rc == 0 && upload_form)
		rc = sk_buf_printf(body, "<form method=\"post\" enctype=\"multipart/form-data\">\n"
					 "<input type=\"file\" name=\"file\" multiple required>\n"
					 "<button type=\"submit\">Upload</button>\n</form>\n");
	if (rc == 0)
		rc = sk_buf_printf(body, "</body></html>\n");
	return rc;
}
