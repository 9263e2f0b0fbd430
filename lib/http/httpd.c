/*
 * The static file server: one epoll loop over non-blocking sockets, a
 * small state machine per connection (reading a request head, writing a
 * response), pipelined requests answered in order, bodies sent with
 * sendfile(2), and responses that fit sent header and body in one call.
 */
#include "httpd.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "http.h"
#include "net.h"

#define IN_CAP	   (SK_HTTP_MAX_HEAD + 1024)
#define SMALL_BODY (16 * 1024) /* bodies up to this go in the header's send */
#define MAX_EVENTS 256
/*
 * The most one connection may send in one turn of the loop (about one
 * full-size packet on loopback, whose MTU is 64 KiB). A client that reads
 * as fast as we send would otherwise keep the loop to itself for a whole
 * large file. Small turns
 * were also faster than big ones (likely because a 1 MiB sendfile holds
 * the socket for its whole length while the reader's ACKs queue up
 * behind it). Measured with tests/bench/http.sh-style runs at 1 MiB
 * files (wrk -c50): 64 KiB turns gave 1.04-1.17x lighttpd's req/s where
 * whole bodies or 256 KiB turns gave 0.97-0.98x, and one curl download
 * 1.4x the GB/s, for about 8% more CPU per request over the whole
 * machine.
 */
#define WRITE_QUANTUM (64 * 1024)
/* A resolved target plus one directory entry name. */
#define REL_MAX (SK_HTTP_MAX_TARGET + NAME_MAX + 16)

struct buf {
	char *p;
	size_t len, cap;
};

/* C_DRAIN: response sent, write side shut; unread input is discarded so
 * the kernel does not answer it with a reset that would destroy the
 * response in flight. */
enum cstate { C_READ, C_WRITE, C_DRAIN };

#define DRAIN_MS 2000

struct conn {
	int fd;
	enum cstate state;
	char host[SK_ADDRSTRLEN]; /* the client's address, for the log */
	char *in;		  /* IN_CAP bytes once the client sends; NULL while idle */
	size_t in_len, consumed;
	struct buf out;
	size_t out_off;
	int file; /* body still to send with sendfile, or -1 */
	off_t file_off, file_end;
	bool keep_alive;
	int64_t deadline;
	int status; /* for the log */
	long long body_bytes;
	unsigned batch;	 /* the accept_all() call that accepted it */
	uint32_t events; /* what epoll watches for it */
	bool http10;	 /* the request was HTTP/1.0 */
	char line[512];	 /* the request line, escaped for the log */
};

/*
 * Open regular files are kept for CACHE_MS, with their stat and, when
 * small, their bytes: a hit costs no syscall. Entries were opened beneath
 * the root, so a cached one cannot lead out of it; a file changed on disk
 * is seen within CACHE_MS.
 */
#define CACHE_SLOTS 512
#define CACHE_MS    1000

struct centry {
	char *rel;
	int fd;
	struct stat st;
	int64_t until;
	char *small; /* the whole file when it is at most SMALL_BODY bytes */
	char etag[64], lastmod[32], ctype[128];
};

/* The Date header changes once a second. */
struct date_cache {
	time_t t;
	char s[32];
};

struct server {
	const struct sk_httpd_opts *o;
	struct centry *cache; /* CACHE_SLOTS entries */
	struct date_cache *date;
	int ep;
	struct conn **conns; /* by fd */
	size_t nconns, cap;
	bool accepting, stopping;
	bool fd_starved; /* accept ran out of fds: pause until a connection closes */
	unsigned batch;	 /* accept_all() calls, to spare the connections of this one */
};

static int buf_reserve(struct buf *b, size_t more)
{
	char *p;
	size_t cap = b->cap ? b->cap : 1024;

	while (cap < b->len + more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats into the free space, and again only when it did not fit. */
static int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 256) < 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n + 1) < 0)
			return -1;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

static int buf_add(struct buf *b, const char *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Status line, Date, Server and Connection; the caller adds the rest. */
static void head_start(struct conn *c, const struct server *s, int status)
{
	time_t now = time(NULL);

	if (now != s->date->t) {
		s->date->t = now;
		sk_http_date(now, s->date->s);
	}
	c->status = status;
	c->out.len = c->out_off = 0;
	buf_printf(&c->out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n%s", status,
		   sk_http_reason(status), s->date->s, s->o->server,
		   !c->keep_alive ? "Connection: close\r\n"
		   : c->http10	  ? "Connection: keep-alive\r\n" /* 1.0 assumes close */
				  : "");
}

static void error_response(struct conn *c, const struct server *s, int status, bool head_only,
			   const char *extra)
{
	char body[256];
	int n =
	    snprintf(body, sizeof(body), "<!doctype html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n",
		     status, sk_http_reason(status), status, sk_http_reason(status));

	if (status >= 400 && status != 404 && status != 416)
		c->keep_alive = false;
	head_start(c, s, status);
	buf_printf(&c->out,
		   "%sContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
		   extra ? extra : "", n);
	if (!head_only)
		buf_add(&c->out, body, (size_t)n);
	c->body_bytes = head_only ? 0 : n;
}

static void redirect(struct conn *c, const struct server *s, const char *path, bool head_only)
{
	char *enc = malloc(3 * strlen(path) + 4), *o = enc, loc[SK_HTTP_MAX_TARGET * 3 + 16];
	const char *p = path, *slash;

	if (!enc) {
		error_response(c, s, 500, head_only, NULL);
		return;
	}
	/* Each segment encoded; the path never starts with "//": no other host. */
	*o++ = '/';
	while (*p) {
		slash = strchr(p, '/');
		o += sk_url_encode(p, slash ? (size_t)(slash - p) : strlen(p), o);
		if (!slash)
			break;
		*o++ = '/';
		p = slash + 1;
	}
	*o++ = '/';
	*o = '\0';
	snprintf(loc, sizeof(loc), "Location: %s\r\n", enc);
	free(enc);
	error_response(c, s, 301, head_only, loc);
}

/* ETag from inode, size and modification time. */
static void make_etag(const struct stat *st, char *out, size_t len)
{
	snprintf(out, len, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
		 (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec * 1000 +
		     (unsigned long long)st->st_mtim.tv_nsec / 1000000);
}

static bool not_modified(const struct sk_http_req *r, const struct stat *st, const char *etag)
{
	time_t since;

	if (r->if_none_match)
		return sk_http_etag_match(r->if_none_match, r->if_none_match_len, etag);
	return r->if_modified_since &&
	       sk_http_parse_date(r->if_modified_since, r->if_modified_since_len, &since) == 0 &&
	       st->st_mtim.tv_sec <= since;
}

/* If-Range: the range applies only to the same representation. */
static bool range_applies(const struct sk_http_req *r, const char *etag, const char *lastmod)
{
	if (!r->if_range)
		return true;
	if (r->if_range[0] == '"')
		return r->if_range_len == strlen(etag) &&
		       memcmp(r->if_range, etag, r->if_range_len) == 0;
	return r->if_range_len == strlen(lastmod) &&
	       memcmp(r->if_range, lastmod, r->if_range_len) == 0;
}

static void file_response(struct conn *c, const struct server *s, const struct sk_http_req *r,
			  const struct centry *e)
{
	const struct stat *st = &e->st;
	const char *etag = e->etag, *lastmod = e->lastmod;
	char crange[96] = "";
	struct sk_http_range range = {0, st->st_size};
	bool head_only = r->method == SK_HEAD;
	int status = 200, rr = 0;

	if (not_modified(r, st, etag)) {
		head_start(c, s, 304);
		buf_printf(&c->out, "ETag: %s\r\nLast-Modified: %s\r\n\r\n", etag, lastmod);
		return;
	}
	if (r->range && range_applies(r, etag, lastmod))
		rr = sk_http_range(r->range, r->range_len, st->st_size, &range);
	if (rr < 0) {
		snprintf(crange, sizeof(crange), "Content-Range: bytes */%lld\r\n",
			 (long long)st->st_size);
		error_response(c, s, 416, head_only, crange);
		return;
	}
	if (rr > 0) {
		status = 206;
		snprintf(crange, sizeof(crange), "Content-Range: bytes %lld-%lld/%lld\r\n",
			 (long long)range.start, (long long)(range.start + range.len - 1),
			 (long long)st->st_size);
	}
	head_start(c, s, status);
	buf_printf(&c->out,
		   "Content-Type: %s\r\nContent-Length: %lld\r\nLast-Modified: %s\r\nETag: %s\r\n"
		   "Accept-Ranges: bytes\r\n%s\r\n",
		   e->ctype, (long long)range.len, lastmod, etag, crange);
	c->body_bytes = head_only ? 0 : range.len;
	if (head_only || range.len == 0)
		return;
	if (e->small) {
		/* Header and body leave in one send. */
		buf_add(&c->out, e->small + range.start, (size_t)range.len);
		return;
	}
	c->file = dup(e->fd); /* the cache may close its own while we send */
	c->file_off = range.start;
	c->file_end = range.start + range.len;
	if (c->file < 0)
		error_response(c, s, 500, head_only, NULL);
}

struct entry {
	char *name;
	bool dir;
	off_t size;
	time_t mtime;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * A listing shows at most this many entries: a directory of millions would
 * otherwise cost the memory of its whole page and stall every other client
 * while it is built.
 */
#define LISTING_MAX 10000

/*
 * Reads a directory's entries that a request could reach, sorted:
 * LISTING_MAX at most, and *more says whether there were others.
 */
static struct entry *read_entries(const struct server *s, int fd, const char *rel, size_t *count,
				  bool *more)
{
	DIR *d = fdopendir(dup(fd));
	struct entry *e = NULL, *tmp;
	struct dirent *de;
	struct stat st;
	char path[REL_MAX];
	size_t n = 0, cap = 0;
	int f, ok;

	*count = 0;
	*more = false;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == LISTING_MAX) {
			*more = true;
			break;
		}
		if (snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
		    (int)sizeof(path))
			continue; /* never open a truncated name */
		/* Links that lead out of the root are left out, as requests are refused. */
		if ((f = sk_open_beneath(s->o->root, path)) < 0)
			continue;
		ok = fstat(f, &st) == 0;
		close(f);
		if (!ok)
			continue;
		if (n == cap) {
			tmp = realloc(e, (cap ? 2 * cap : 64) * sizeof(*e));
			if (!tmp)
				break;
			e = tmp;
			cap = cap ? 2 * cap : 64;
		}
		e[n] = (struct entry){strdup(de->d_name), S_ISDIR(st.st_mode), st.st_size,
				      st.st_mtim.tv_sec};
		if (!e[n].name)
			break;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(e, n, sizeof(*e), entry_cmp);
	*count = n;
	return e;
}

static void listing_row(struct buf *b, const struct entry *e)
{
	char *esc = malloc(6 * strlen(e->name) + 1), *enc = malloc(3 * strlen(e->name) + 1);
	char date[32];
	struct tm tm;

	if (esc && enc) {
		sk_html_escape(e->name, strlen(e->name), esc);
		sk_url_encode(e->name, strlen(e->name), enc);
		gmtime_r(&e->mtime, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
		if (e->dir)
			buf_printf(
			    b, "<tr><td><a href=\"%s/\">%s/</a></td><td>-</td><td>%s</td></tr>\n",
			    enc, esc, date);
		else
			buf_printf(
			    b, "<tr><td><a href=\"%s\">%s</a></td><td>%lld</td><td>%s</td></tr>\n",
			    enc, esc, (long long)e->size, date);
	}
	free(esc);
	free(enc);
}

static void listing_response(struct conn *c, const struct server *s, const struct sk_http_req *r,
			     int fd, const char *rel)
{
	struct buf body = {0};
	struct entry *e;
	size_t n = 0, i;
	char *title = malloc(6 * strlen(rel) + 1);
	bool more;

	e = read_entries(s, fd, rel, &n, &more);
	if (!title) {
		free(e);
		error_response(c, s, 500, r->method == SK_HEAD, NULL);
		return;
	}
	sk_html_escape(rel, strlen(rel), title);
	buf_printf(&body,
		   "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
		   "<title>Index of /%s%s</title></head>\n<body><h1>Index of /%s%s</h1>\n"
		   "<table>\n<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n",
		   title, rel[0] ? "/" : "", title, rel[0] ? "/" : "");
	if (rel[0])
		buf_printf(&body, "<tr><td><a href=\"../\">../</a></td><td>-</td><td></td></tr>\n");
	for (i = 0; i < n; i++) {
		listing_row(&body, &e[i]);
		free(e[i].name);
	}
	free(e);
	free(title);
	buf_printf(&body, "</table>\n");
	if (more)
		buf_printf(&body, "<p>Only %d entries are listed; this directory has more.</p>\n",
			   LISTING_MAX);
	buf_printf(&body, "</body></html>\n");
	head_start(c, s, 200);
	buf_printf(&c->out,
		   "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
		   "Cache-Control: no-cache\r\n\r\n",
		   body.len);
	c->body_bytes = r->method == SK_HEAD ? 0 : (long long)body.len;
	if (r->method != SK_HEAD)
		buf_add(&c->out, body.p, body.len);
	free(body.p);
}

static uint32_t path_hash(const char *p)
{
	uint32_t h = 2166136261u;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static void centry_clear(struct centry *e)
{
	if (e->rel) {
		close(e->fd);
		free(e->rel);
		free(e->small);
	}
	memset(e, 0, sizeof(*e));
}

/* Closes every cached file. Returns true when that freed any fd. */
static bool cache_release(const struct server *s)
{
	bool any = false;
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++) {
		any = any || s->cache[i].rel;
		centry_clear(&s->cache[i]);
	}
	return any;
}

/* Keeps an open regular file in its slot. Returns the entry, or NULL (fd closed). */
static struct centry *cache_store(const struct server *s, const char *rel, int fd,
				  const struct stat *st)
{
	struct centry *e = &s->cache[path_hash(rel) % CACHE_SLOTS];
	char ctype[128];

	centry_clear(e);
	e->rel = strdup(rel);
	e->fd = fd;
	e->st = *st;
	e->until = sk_now_ms() + CACHE_MS;
	make_etag(st, e->etag, sizeof(e->etag));
	sk_http_date(st->st_mtim.tv_sec, e->lastmod);
	snprintf(e->ctype, sizeof(e->ctype), "%s",
		 sk_mime_type(s->o->mime, rel, ctype, sizeof(ctype)));
	if (e->rel && st->st_size <= SMALL_BODY && (e->small = malloc((size_t)st->st_size + 1)) &&
	    pread(fd, e->small, (size_t)st->st_size, 0) != st->st_size) {
		free(e->small);
		e->small = NULL;
	}
	if (!e->rel) {
		close(fd);
		memset(e, 0, sizeof(*e));
		return NULL;
	}
	return e;
}

/*
 * Looks rel up beneath the root. A regular file comes back as a cache
 * entry; anything else as an open fd in *fd with its stat, or *fd = -1
 * with errno.
 */
static struct centry *lookup(const struct server *s, const char *rel, int *fd, struct stat *st)
{
	struct centry *e = &s->cache[path_hash(rel) % CACHE_SLOTS];

	if (e->rel && strcmp(e->rel, rel) == 0 && sk_now_ms() < e->until)
		return e;
	*fd = sk_open_beneath(s->o->root, rel);
	if (*fd < 0)
		return NULL;
	if (fstat(*fd, st) < 0) {
		close(*fd);
		*fd = -1;
		return NULL;
	}
	if (!S_ISREG(st->st_mode))
		return NULL;
	e = cache_store(s, rel, *fd, st);
	*fd = -1;
	if (!e)
		errno = ENOMEM;
	return e;
}

static void dir_response(struct conn *c, const struct server *s, const struct sk_http_req *r,
			 int fd, const char *rel)
{
	char index[REL_MAX];
	struct centry *e = NULL;
	struct stat st;
	int ifd = -1;

	if (snprintf(index, sizeof(index), "%s%sindex.html", rel, rel[0] ? "/" : "") <
	    (int)sizeof(index))
		e = lookup(s, index, &ifd, &st);
	if (ifd >= 0)
		close(ifd); /* index.html that is not a regular file */
	if (e)
		file_response(c, s, r, e);
	else if (s->o->listing)
		listing_response(c, s, r, fd, rel);
	else
		error_response(c, s, 403, r->method == SK_HEAD, NULL);
	close(fd);
}

static void route(struct conn *c, const struct server *s, const struct sk_http_req *r)
{
	char rel[SK_HTTP_MAX_TARGET + 1];
	bool head_only = r->method == SK_HEAD, dir_slash;
	struct centry *e;
	struct stat st;
	int fd;

	if (sk_http_target_path(r->target, r->target_len, rel, sizeof(rel), &dir_slash) < 0) {
		error_response(c, s, 400, head_only, NULL);
		return;
	}
	e = lookup(s, rel, &fd, &st);
	if (e) {
		file_response(c, s, r, e);
	} else if (fd < 0) {
		error_response(c, s,
			       errno == ENOENT || errno == ENOTDIR ? 404
			       : errno == ENOMEM		   ? 500
								   : 403,
			       head_only, NULL);
	} else if (!S_ISDIR(st.st_mode)) {
		close(fd);
		error_response(c, s, 403, head_only, NULL);
	} else if (!dir_slash && rel[0]) {
		close(fd);
		redirect(c, s, rel, head_only);
	} else {
		dir_response(c, s, r, fd, rel);
	}
}

/* The request line for the log (the raw first line of a bad request), escaped. */
static void log_line(struct conn *c, const struct sk_http_req *r)
{
	const char *p = r ? r->method_str : c->in, *nl;
	size_t n = r ? r->line_len : c->in_len;

	if (!r && (nl = memchr(p, '\n', n)))
		n = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
	sk_log_escape(p, n < 120 ? n : 120, c->line);
}

/* Builds the response to the head in c->in. Returns false to wait for more. */
static bool handle(struct conn *c, const struct server *s)
{
	struct sk_http_req r;
	int rc = sk_http_parse(c->in, c->in_len, &r);

	if (rc < 0 && c->in_len < IN_CAP)
		return false;
	c->body_bytes = 0;
	c->keep_alive = rc == 0 && r.keep_alive && !r.has_body && !s->stopping;
	c->http10 = rc == 0 && r.minor == 0;
	log_line(c, rc == 0 ? &r : NULL);
	c->consumed = rc == 0 ? r.head_len : c->in_len;
	if (rc != 0)
		error_response(c, s, rc < 0 ? 431 : rc, r.method_str && r.method == SK_HEAD, NULL);
	else if (r.method == SK_OTHER_KNOWN)
		error_response(c, s, 405, false, "Allow: GET, HEAD\r\n");
	else if (r.method == SK_UNKNOWN)
		error_response(c, s, 501, false, NULL);
	else
		route(c, s, &r);
	return true;
}

static void log_response(const struct conn *c, const struct server *s)
{
	char line[1024], when[64], bytes[24] = "-";
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (!s->o->on_log)
		return;
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
	if (c->body_bytes > 0)
		snprintf(bytes, sizeof(bytes), "%lld", c->body_bytes);
	n = snprintf(line, sizeof(line), "%s - - [%s] \"%s\" %d %s\n", c->host, when, c->line,
		     c->status, bytes);
	s->o->on_log(s->o->ctx, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void conn_close(struct server *s, struct conn *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->file >= 0)
		close(c->file);
	s->conns[c->fd] = NULL;
	s->nconns--;
	s->fd_starved = false;
	free(c->in);
	free(c->out.p);
	free(c);
}

static void set_events(struct server *s, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.fd = c->fd};

	if (c->events != ev && epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* Writes what is pending. Returns 1 when the response is complete, 0 to wait, -1 to close. */
static int conn_flush(struct conn *c)
{
	ssize_t n;
	int more = c->file >= 0 ? MSG_MORE : 0;

	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
			 MSG_NOSIGNAL | more);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->out_off += (size_t)n;
	}
	if (c->file >= 0 && c->file_off < c->file_end) {
		size_t want = (size_t)(c->file_end - c->file_off);

		n = sendfile(c->fd, c->file, &c->file_off,
			     want < WRITE_QUANTUM ? want : WRITE_QUANTUM);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1; /* the file shrank under us */
		if (c->file_off < c->file_end)
			return 0; /* the rest on a later turn: epoll reports it writable */
	}
	if (c->file >= 0) {
		close(c->file);
		c->file = -1;
	}
	return 1;
}

static void conn_process(struct server *s, struct conn *c);

/* After a response: log it, then close or go on with the next request. */
static void conn_done(struct server *s, struct conn *c)
{
	log_response(c, s);
	if (!c->keep_alive || s->stopping) {
		shutdown(c->fd, SHUT_WR);
		c->state = C_DRAIN;
		c->deadline = sk_deadline(DRAIN_MS);
		set_events(s, c, EPOLLIN);
		return;
	}
	memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
	c->in_len -= c->consumed;
	c->consumed = 0;
	if (c->in_len == 0) {
		free(c->in); /* idle connections hold no buffer */
		c->in = NULL;
	}
	c->state = C_READ;
	c->deadline = sk_deadline(s->o->timeout_ms);
	set_events(s, c, EPOLLIN);
	if (c->in_len > 0)
		conn_process(s, c); /* a pipelined request is already here */
}

static void conn_write(struct server *s, struct conn *c)
{
	int rc = conn_flush(c);

	if (rc < 0) {
		log_response(c, s);
		conn_close(s, c);
	} else if (rc > 0) {
		s->fd_starved = false; /* a response's file fd was just closed */
		conn_done(s, c);
	} else {
		/* Only now that a send would block is writability worth watching. */
		c->deadline = sk_deadline(s->o->timeout_ms);
		set_events(s, c, EPOLLOUT);
	}
}

static void conn_process(struct server *s, struct conn *c)
{
	if (!handle(c, s))
		return;
	c->state = C_WRITE;
	c->deadline = sk_deadline(s->o->timeout_ms);
	conn_write(s, c);
}

static void conn_read(struct server *s, struct conn *c)
{
	ssize_t n;

	if (!c->in && !(c->in = malloc(IN_CAP))) {
		conn_close(s, c);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(s, c);
		return;
	}
	if (n > 0) {
		c->in_len += (size_t)n;
		conn_process(s, c);
	}
}

static void conn_drain(struct server *s, struct conn *c)
{
	char sink[4096];
	ssize_t n = recv(c->fd, sink, sizeof(sink), 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(s, c);
}

/*
 * The idle keep-alive connection closest to its deadline, or NULL. Inside
 * accept_all(), spare_batch spares the ones it has just accepted (they
 * have not had the chance to send yet).
 */
static struct conn *oldest_idle(const struct server *s, bool spare_batch)
{
	struct conn *best = NULL;
	size_t i;

	for (i = 0; i < s->cap; i++) {
		struct conn *c = s->conns[i];

		if (c && c->state == C_READ && c->in_len == 0 &&
		    (!spare_batch || c->batch != s->batch) &&
		    (!best || c->deadline < best->deadline))
			best = c;
	}
	return best;
}

static void accept_all(struct server *s)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct conn *c;
	int fd;

	s->batch++;
	for (;;) {
		if (s->nconns >= s->o->max_conns && !oldest_idle(s, true))
			return;
		c = calloc(1, sizeof(*c));
		fd = c ? sk_accept(s->o->lfd, c->host) : -1;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && cache_release(s))
			fd = sk_accept(s->o->lfd, c->host);
		if (fd < 0) {
			/* Out of fds: wait for a connection to close, do not spin. */
			s->fd_starved = errno == EMFILE || errno == ENFILE;
			free(c);
			return;
		}
		/* At the cap, the new client takes the place of an idle one. */
		if (s->nconns >= s->o->max_conns)
			conn_close(s, oldest_idle(s, true));
		if ((size_t)fd >= s->cap) {
			size_t cap = (size_t)fd * 2 + 64;
			struct conn **t = realloc(s->conns, cap * sizeof(*t));

			if (!t) {
				close(fd);
				free(c);
				return;
			}
			memset(t + s->cap, 0, (cap - s->cap) * sizeof(*t));
			s->conns = t;
			s->cap = cap;
		}
		/* The host part of "addr:port" for the log. */
		*strrchr(c->host, ':') = '\0';
		c->fd = fd;
		c->file = -1;
		c->batch = s->batch;
		c->events = EPOLLIN;
		c->deadline = sk_deadline(s->o->timeout_ms);
		ev.data.fd = fd;
		epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
		s->conns[fd] = c;
		s->nconns++;
	}
}

/* Stops or resumes watching the listening socket as the cap allows. */
static void pace_accept(struct server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->o->lfd};
	bool want = !s->stopping && !s->fd_starved &&
		    (s->nconns < s->o->max_conns || oldest_idle(s, false));

	if (want == s->accepting)
		return;
	epoll_ctl(s->ep, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->o->lfd, &ev);
	s->accepting = want;
}

/* Closes connections past their deadline; when stopping, idle ones too. */
static void sweep(struct server *s)
{
	int64_t now = sk_now_ms();
	size_t i;

	for (i = 0; i < s->cap; i++) {
		struct conn *c = s->conns[i];

		if (!c)
			continue;
		if ((c->deadline >= 0 && now >= c->deadline) || (s->stopping && c->state == C_READ))
			conn_close(s, c);
	}
}

static void dispatch(struct server *s, const struct epoll_event *e)
{
	struct conn *c;

	if (e->data.fd == s->o->lfd) {
		accept_all(s);
		return;
	}
	if (e->data.fd == s->o->stop_fd) {
		/* Level-triggered and never read here: stop watching it. */
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->o->stop_fd, NULL);
		s->stopping = true;
		return;
	}
	c = (size_t)e->data.fd < s->cap ? s->conns[e->data.fd] : NULL;
	if (!c)
		return;
	if (c->state == C_READ)
		conn_read(s, c);
	else if (c->state == C_WRITE)
		conn_write(s, c);
	else
		conn_drain(s, c);
}

int sk_httpd_run(const struct sk_httpd_opts *o, char *err)
{
	struct server s = {.o = o};
	struct epoll_event ev[MAX_EVENTS], sev = {.events = EPOLLIN, .data.fd = o->stop_fd};
	int64_t next_sweep = sk_now_ms() + 1000, stop_by = -1;
	struct date_cache date = {0};
	int n, i;

	s.date = &date;
	s.cache = calloc(CACHE_SLOTS, sizeof(*s.cache));
	s.ep = s.cache ? epoll_create1(EPOLL_CLOEXEC) : -1;
	if (s.ep < 0 || (o->stop_fd >= 0 && epoll_ctl(s.ep, EPOLL_CTL_ADD, o->stop_fd, &sev) < 0)) {
		sk_seterr(err, "epoll: %s", strerror(s.cache ? errno : ENOMEM));
		if (s.ep >= 0)
			close(s.ep);
		free(s.cache);
		return -1;
	}
	for (;;) {
		pace_accept(&s);
		if (s.stopping && stop_by < 0) {
			stop_by = sk_deadline(o->timeout_ms >= 0 ? o->timeout_ms : 10000);
			sweep(&s);
		}
		if (s.stopping && (s.nconns == 0 || sk_ms_left(stop_by) == 0))
			break;
		/* conn_done() turns finished connections to C_DRAIN while stopping. */
		n = epoll_wait(s.ep, ev, MAX_EVENTS, 1000);
		for (i = 0; i < n; i++)
			dispatch(&s, &ev[i]);
		/* Stopping swept once above; nothing turns idle after that. */
		if (sk_now_ms() >= next_sweep) {
			sweep(&s);
			next_sweep = sk_now_ms() + 1000;
		}
	}
	for (i = 0; (size_t)i < s.cap; i++)
		if (s.conns[i])
			conn_close(&s, s.conns[i]);
	for (i = 0; i < CACHE_SLOTS; i++)
		centry_clear(&s.cache[i]);
	free(s.cache);
	free(s.conns);
	close(s.ep);
	return 0;
}
