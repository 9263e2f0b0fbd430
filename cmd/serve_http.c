/* sockctl serve-http: a static HTTP/1.1 file server. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "auth.h"
#include "cmd.h"
#include "fsafe.h"
#include "http.h"
#include "httpd.h"
#include "io.h"
#include "mime.h"
#include "multipart.h"
#include "net.h"
#include "parse.h"
#include "child.h"
#include "tls.h"

#ifndef SOCKCTL_VERSION
#define SOCKCTL_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: sockctl serve-http [OPTIONS] [DIR]\n"
    "\n"
    "Serve the files of DIR (default: the current directory) over HTTP/1.1:\n"
    "GET and HEAD, keep-alive and pipelining, ranges, conditional requests,\n"
    "index.html or an HTML listing. Nothing outside DIR is ever served: not\n"
    "through '..', its encodings, or symlinks that lead out. With --tls, the\n"
    "same over HTTPS (ALPN http/1.1 always offered, whatever --alpn says).\n"
    "\n"
    "Options:\n"
    "  -p, --port PORT        the port (default 8080; 0 lets the kernel choose)\n"
    "  -b, --bind ADDRESS     the address (default: every address, IPv6 and IPv4)\n"
    "  -4, --ipv4             IPv4 only\n"
    "  -6, --ipv6             IPv6 only\n"
    "  -n, --numeric          no DNS: ADDRESS must be a numeric address\n"
    "  -q, --quiet            no 'listening on' line, URL or access log on stderr\n"
    "      --no-listing       no directory listings (403 where there is no index.html)\n"
    "  -w, --timeout SECS     close a connection that has not sent a complete request\n"
    "                         head within SECS, or idles SECS between requests\n"
    "                         (default 30)\n"
    "      --max-conns N      at most N connections at once (default 10000); at the\n"
    "                         limit a new client replaces the oldest idle one\n"
    "      --log FILE         append the access log (Common Log Format) to FILE\n"
    "      --workers N        N processes share the port (SO_REUSEPORT), each with\n"
    "                         its own --max-conns (default 1)\n" ACL_USAGE
    "                         (a refused client is closed at once and logged\n"
    "                         with the request \"-\" and the status -)\n"
    "  -H, --header 'NAME: VALUE'  add this header to every response (repeatable)\n"
    "      --cors[=ORIGIN]    allow cross-origin requests from ORIGIN (default *):\n"
    "                         Access-Control-Allow-Origin on every response, and\n"
    "                         OPTIONS preflights answered\n"
    "      --fallback FILE    answer GET/HEAD of paths that do not exist with FILE\n"
    "                         (a file inside DIR) and 200\n"
    "      --spa              --fallback index.html (single-page apps)\n"
    "      --cache SECS       Cache-Control: max-age=SECS on files\n"
    "      --no-cache         Cache-Control: no-cache on files\n"
    "      --precompressed    send X.br, X.zst or X.gz for X when the client accepts\n"
    "                         that encoding (Accept-Encoding, q-values honoured)\n"
    "      --auth USER:PASS   require HTTP Basic authentication (repeatable)\n"
    "      --auth-file FILE   ... with the users of an htpasswd FILE (bcrypt, or\n"
    "                         SHA-256/512-crypt: htpasswd -B, -2, -5)\n"
    "      --upload           store PUT bodies as files, and multipart/form-data\n"
    "                         POSTs to a directory as its files (an upload form\n"
    "                         in listings); a file appears only when complete\n"
    "      --overwrite        with --upload, replace existing files (else 409)\n"
    "      --max-upload SIZE  the largest upload body, e.g. 100M (default 1G; "
    "413)\n" TLS_SERVER_USAGE "  -h, --help             show this help\n"
    "\n"
    "SIGINT and SIGTERM stop it after the responses in flight, with exit status 0.\n"
    "Exit status: 0 stopped, 1 runtime failure, 2 usage error.\n";

enum {
	OPT_HEADER = 512,
	OPT_CORS,
	OPT_FALLBACK,
	OPT_SPA,
	OPT_CACHE,
	OPT_NO_CACHE,
	OPT_PRECOMPRESSED,
	OPT_AUTH,
	OPT_AUTH_FILE,
	OPT_UPLOAD,
	OPT_OVERWRITE,
	OPT_MAX_UPLOAD,
};

static const struct option longopts[] = {
    {"port", required_argument, NULL, 'p'},
    {"header", required_argument, NULL, 'H'},
    {"cors", optional_argument, NULL, OPT_CORS},
    {"fallback", required_argument, NULL, OPT_FALLBACK},
    {"spa", no_argument, NULL, OPT_SPA},
    {"cache", required_argument, NULL, OPT_CACHE},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"precompressed", no_argument, NULL, OPT_PRECOMPRESSED},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"auth-file", required_argument, NULL, OPT_AUTH_FILE},
    {"upload", no_argument, NULL, OPT_UPLOAD},
    {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
    {"bind", required_argument, NULL, 'b'},
    {"ipv4", no_argument, NULL, '4'},
    {"ipv6", no_argument, NULL, '6'},
    {"numeric", no_argument, NULL, 'n'},
    {"quiet", no_argument, NULL, 'q'},
    {"no-listing", no_argument, NULL, OPT_NO_LISTING},
    {"timeout", required_argument, NULL, 'w'},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"log", required_argument, NULL, OPT_LOG},
    {"workers", required_argument, NULL, OPT_WORKERS},
    TLS_SERVER_LONGOPTS,
    ACL_LONGOPTS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const name = "serve-http";

struct http_opts {
	struct net_opts net;
	unsigned port;
	const char *bind, *dir, *log;
	bool quiet, no_listing, max_conns_given;
	long long max_conns, workers;
	int log_fd;
	struct tls_cli tls;
	struct sk_tls_ctx *tls_ctx; /* NULL: plain HTTP */
	struct sk_acl acl;	    /* --allow, --deny */
	char alpn[256];		    /* --alpn with http/1.1 added */
	char *headers;		    /* -H and --cors lines, "Name: value\r\n"... */
	size_t headers_len;
	const char *cors;	 /* --cors's origin, or NULL */
	const char *fallback;	 /* as given */
	char fallback_rel[4096]; /* beneath DIR */
	bool spa, precompressed, upload, overwrite, no_cache, max_upload_given;
	int cache_secs; /* --cache, or -1 */
	char cache_control[64];
	struct sk_auth *auth; /* --auth, --auth-file, or NULL */
	unsigned long long max_upload;
};

/* Appends "name: value\r\n" to the headers of every response. Returns 0 or EXIT_USAGE. */
static int add_header(struct http_opts *o, const char *line, size_t n)
{
	char *h = realloc(o->headers, o->headers_len + n + 3);

	if (!h)
		return cmd_usage(name, "out of memory");
	o->headers = h;
	memcpy(h + o->headers_len, line, n);
	memcpy(h + o->headers_len + n, "\r\n", 3);
	o->headers_len += n + 2;
	return 0;
}

/* -H 'Name: value': checked as HTTP has it; framing headers are the server's own. */
static int header_option(struct http_opts *o, const char *arg)
{
	static const char *const own[] = {"content-length", "transfer-encoding", "connection"};
	const char *colon = strchr(arg, ':'), *v, *end;
	char line[1024];
	size_t i, nlen;

	if (!colon || colon == arg)
		return cmd_usage(name, "bad --header '%s': expected 'NAME: VALUE'", arg);
	nlen = (size_t)(colon - arg);
	for (i = 0; i < nlen; i++)
		if (!sk_http_tchar((unsigned char)arg[i]))
			return cmd_usage(name, "bad --header '%s': the name is not an HTTP token",
					 arg);
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strlen(own[i]) == nlen && !strncasecmp(arg, own[i], nlen))
			return cmd_usage(name, "bad --header '%s': %.*s is the server's to set",
					 arg, (int)nlen, arg);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	for (i = 0; v + i < end; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			return cmd_usage(name,
					 "bad --header: a control character in the value of %.*s",
					 (int)nlen, arg);
	if (nlen + 2 + (size_t)(end - v) >= sizeof(line))
		return cmd_usage(name, "bad --header: longer than %zu bytes", sizeof(line) - 1);
	i = (size_t)snprintf(line, sizeof(line), "%.*s: %.*s", (int)nlen, arg, (int)(end - v), v);
	return add_header(o, line, i);
}

static int cors_option(struct http_opts *o, const char *arg)
{
	const char *p;
	char line[1024];
	int n;

	if (!arg)
		arg = "*";
	if (!*arg)
		return cmd_usage(name, "bad --cors: an empty origin");
	for (p = arg; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return cmd_usage(name,
					 "bad --cors '%s': an origin has no spaces or control "
					 "characters",
					 arg);
	if (o->cors)
		return cmd_usage(name, "--cors given twice");
	o->cors = arg;
	n = snprintf(line, sizeof(line), "Access-Control-Allow-Origin: %s", arg);
	if (n < 0 || (size_t)n >= sizeof(line))
		return cmd_usage(name, "bad --cors: too long");
	if (add_header(o, line, (size_t)n))
		return EXIT_USAGE;
	n = snprintf(line, sizeof(line),
		     "Access-Control-Expose-Headers: Content-Length, "
		     "Content-Range, Content-Encoding, ETag, Last-Modified, "
		     "Accept-Ranges");
	if (add_header(o, line, (size_t)n))
		return EXIT_USAGE;
	if (strcmp(arg, "*") != 0) {
		n = snprintf(line, sizeof(line), "Access-Control-Allow-Credentials: true");
		return add_header(o, line, (size_t)n);
	}
	return 0;
}

/* --auth and --auth-file: into one table. */
static int auth_option(struct http_opts *o, int c, char *arg)
{
	char err[SK_ERRLEN];

	if (!o->auth && !(o->auth = sk_auth_new()))
		return cmd_usage(name, "out of memory");
	if (c == OPT_AUTH && sk_auth_add_plain(o->auth, arg, err) < 0)
		return cmd_usage(name, "bad %s", err); /* err names --auth */
	if (c == OPT_AUTH_FILE && sk_auth_load_file(o->auth, arg, err) < 0)
		return cmd_usage(name, "bad --auth-file: %s", err);
	/* Out of ps: the password in argv becomes stars. */
	if (c == OPT_AUTH && strchr(arg, ':'))
		memset(strchr(arg, ':') + 1, '*', strlen(strchr(arg, ':') + 1));
	return 0;
}

/* The additions' options. Returns 0, EXIT_USAGE, or -1: not one of them. */
static int addition_option(struct http_opts *o, int c, char *arg)
{
	long long secs;

	switch (c) {
	case 'H': return header_option(o, arg);
	case OPT_CORS: return cors_option(o, arg);
	case OPT_FALLBACK: o->fallback = arg; return 0;
	case OPT_SPA: o->spa = true; return 0;
	case OPT_CACHE:
		if (sk_parse_num(arg, 0, INT32_MAX, &secs) < 0)
			return cmd_usage(name, "bad --cache '%s': %s", arg,
					 errno == ERANGE ? "too large"
							 : "a whole number of seconds");
		o->cache_secs = (int)secs;
		return 0;
	case OPT_NO_CACHE: o->no_cache = true; return 0;
	case OPT_PRECOMPRESSED: o->precompressed = true; return 0;
	case OPT_AUTH:
	case OPT_AUTH_FILE: return auth_option(o, c, arg);
	case OPT_UPLOAD: o->upload = true; return 0;
	case OPT_OVERWRITE: o->overwrite = true; return 0;
	case OPT_MAX_UPLOAD:
		o->max_upload_given = true;
		if (sk_parse_size(arg, 1ULL << 60, &o->max_upload) < 0)
			return cmd_usage(name, "bad --max-upload '%s': %s", arg,
					 errno == ERANGE ? "too large" : "a size, like 100M or 2G");
		return 0;
	}
	return -1;
}

/* Conflicts among the additions. Returns 0 or EXIT_USAGE. */
static int check_additions(struct http_opts *o)
{
	if (o->spa && o->fallback)
		return cmd_usage(name, "--spa is --fallback index.html: give one of them");
	if (o->spa)
		o->fallback = "index.html";
	if (o->cache_secs >= 0 && o->no_cache)
		return cmd_usage(name, "--cache and --no-cache cannot be used together");
	if (o->cache_secs >= 0)
		snprintf(o->cache_control, sizeof(o->cache_control),
			 "Cache-Control: max-age=%d\r\n", o->cache_secs);
	else if (o->no_cache)
		snprintf(o->cache_control, sizeof(o->cache_control), "Cache-Control: no-cache\r\n");
	if ((o->overwrite || o->max_upload_given) && !o->upload)
		return cmd_usage(name, "%s needs --upload",
				 o->overwrite ? "--overwrite" : "--max-upload");
	return 0;
}

static enum cmd_parsed parse_args(int argc, char **argv, struct http_opts *o)
{
	enum cmd_option opt;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":p:b:46nqw:H:h", longopts, NULL)) != -1) {
		opt = cmd_common_option(name, c, optarg, &o->net, NULL);
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_tls_option(name, c, optarg, &o->tls);
		if (opt == CMD_OPTION_NOT_MINE)
			opt = cmd_acl_option(name, c, optarg, &o->acl);
		if (opt == CMD_OPTION_BAD)
			return CMD_USAGE_ERROR;
		if (opt == CMD_OPTION_TAKEN)
			continue;
		if ((rc = addition_option(o, c, optarg)) >= 0) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case 'p':
			if ((rc = cmd_port(name, optarg, "tcp", &o->port)))
				return rc;
			break;
		case 'b': o->bind = optarg; break;
		case 'q': o->quiet = true; break;
		case OPT_NO_LISTING: o->no_listing = true; break;
		case OPT_LOG: o->log = optarg; break;
		case OPT_WORKERS:
			if ((rc = cmd_count(name, "--workers", optarg, 1, CMD_MAX_WORKERS,
					    &o->workers)))
				return rc;
			break;
		case OPT_MAX_CONNS:
			if ((rc =
				 cmd_count(name, "--max-conns", optarg, 1, 1000000, &o->max_conns)))
				return rc;
			o->max_conns_given = true;
			break;
		case 'h': fputs(usage, stdout); return CMD_HELP_SHOWN;
		default: return cmd_bad_option(name, c, argv);
		}
	}
	if ((rc = cmd_check_common(name, &o->net, NULL)) || (rc = cmd_check_tls(name, &o->tls)) ||
	    (rc = check_additions(o)))
		return rc;
	if (o->net.timeout_ms == 0)
		return cmd_usage(name, "bad timeout '0': the timeout must be more than 0 s");
	if (argc - optind > 1)
		return cmd_usage(name, "too many arguments: '%s'", argv[optind + 1]);
	o->dir = optind < argc ? argv[optind] : ".";
	return CMD_RUN;
}

static void write_log(void *ctx, const char *line, size_t len)
{
	const struct http_opts *o = ctx;

	if (o->log_fd >= 0)
		sk_write_all(o->log_fd, line, len);
}

/*
 * Thousands of idle clients need thousands of fds: the soft limit goes up
 * to the hard one, and the default --max-conns down to what that allows
 * (a client and a file each, and room for the file cache).
 */
static void fit_fd_limit(struct http_opts *o, bool max_conns_given)
{
	long long limit = cmd_raise_fd_limit(), fit;

	fit = limit < 0 ? o->max_conns : (limit - 600) / 2;
	if (!max_conns_given && o->max_conns > fit)
		o->max_conns = fit > 16 ? fit : 16;
}

/* True when the comma list has the protocol p. */
static bool alpn_has(const char *list, const char *p)
{
	size_t n = strlen(p);

	for (;;) {
		if (strncmp(list, p, n) == 0 && (list[n] == ',' || list[n] == '\0'))
			return true;
		if (!(list = strchr(list, ',')))
			return false;
		list++;
	}
}

/*
 * Makes the TLS context (before any worker forks, so that all serve the
 * same certificate), offering http/1.1 whatever --alpn says: it is the
 * only protocol served. Returns 0 (o->tls_ctx NULL without TLS) or the
 * exit status, reported.
 */
static int make_tls(struct http_opts *o)
{
	const char *names[2] = {o->bind, NULL};
	int rc = 0, n;

	if (!o->tls.on)
		return 0;
	o->tls.release_buffers = true; /* idle keep-alive clients hold no TLS buffers */
	if (!o->tls.alpn)
		o->tls.alpn = "http/1.1";
	else if (!alpn_has(o->tls.alpn, "http/1.1")) {
		n = snprintf(o->alpn, sizeof(o->alpn), "%s,http/1.1", o->tls.alpn);
		if (n < 0 || (size_t)n >= sizeof(o->alpn))
			return cmd_usage(name, "--alpn list too long");
		o->tls.alpn = o->alpn;
	}
	o->tls_ctx = cmd_tls_ctx(name, &o->tls, true, names, &rc);
	return rc;
}

static int open_listener(const struct http_opts *o)
{
	struct sk_listen_opts lo = {.host = o->bind,
				    .port = o->port,
				    .family = o->net.family,
				    .numeric = o->net.numeric,
				    .socktype = SOCK_STREAM,
				    .backlog = 1024,
				    .reuseport = o->workers > 1};
	char err[SK_ERRLEN], addr[SK_ADDRSTRLEN];
	int fd = sk_listen(&lo, err);
	const char *colon, *scheme = o->tls_ctx ? "https" : "http";

	if (fd < 0) {
		cmd_listen_error(name, err, errno, o->port, "tcp");
		return -1;
	}
	if (!o->quiet) {
		sk_local_addr(fd, addr, sizeof(addr));
		cmd_error(name, "listening on %s", addr);
		if (o->tls_ctx)
			cmd_error(name, "tls certificate %s", sk_tls_ctx_fingerprint(o->tls_ctx));
		colon = strrchr(addr, ':');
		if (!o->bind || strcmp(o->bind, "::") == 0 || strcmp(o->bind, "0.0.0.0") == 0)
			cmd_error(name, "serving %s at %s://localhost%s/", o->dir, scheme, colon);
		else
			cmd_error(name, "serving %s at %s://%s/", o->dir, scheme, addr);
	}
	return fd;
}

static int serve(struct http_opts *o, struct sk_root *root, struct sk_mime *mime, int lfd)
{
	struct sk_httpd_opts ho = {.lfd = lfd,
				   .root = root,
				   .mime = mime,
				   .server = "sockctl/" SOCKCTL_VERSION,
				   .listing = !o->no_listing,
				   .timeout_ms = o->net.timeout_ms,
				   .max_conns = (size_t)o->max_conns,
				   .on_log = o->log_fd >= 0 ? write_log : NULL,
				   .ctx = o,
				   .tls = o->tls_ctx,
				   .acl = sk_acl_active(&o->acl) ? &o->acl : NULL,
				   .headers = o->headers,
				   .cors = o->cors != NULL,
				   .cache_control = o->cache_control[0] ? o->cache_control : NULL,
				   .fallback = o->fallback ? o->fallback_rel : NULL,
				   .precompressed = o->precompressed,
				   .auth = o->auth,
				   .upload = o->upload,
				   .overwrite = o->overwrite,
				   .max_upload = o->max_upload};
	char err[SK_ERRLEN];
	int rc;

	ho.stop_fd = cmd_signalfd(name, false);
	if (ho.stop_fd < 0)
		return EXIT_FAIL;
	rc = sk_httpd_run(&ho, err);
	close(ho.stop_fd);
	if (rc < 0) {
		cmd_error(name, "%s", err);
		return EXIT_FAIL;
	}
	return 0;
}

/* What a worker needs to serve. */
struct worker_ctx {
	struct http_opts *o;
	struct sk_root *root;
	struct sk_mime *mime;
};

static int serve_worker(void *ctx, int lfd)
{
	struct worker_ctx *w = ctx;

	return serve(w->o, w->root, w->mime, lfd);
}

/* --workers: another listening socket on first's port, quietly. */
static int open_more(void *ctx, int first)
{
	struct worker_ctx *w = ctx;
	bool quiet = w->o->quiet;
	int fd;

	w->o->port = sk_local_port(first); /* the port the kernel chose for port 0 */
	w->o->quiet = true;
	fd = open_listener(w->o);
	w->o->quiet = quiet;
	return fd;
}

static int listen_and_serve(struct http_opts *o, struct sk_root *root, struct sk_mime *mime)
{
	int rc, lfd = open_listener(o);

	if (lfd < 0)
		return EXIT_FAIL;
	if (o->workers > 1) {
		struct worker_ctx w = {.o = o, .root = root, .mime = mime};

		/* The workers get the time to finish their responses, then SIGKILL. */
		return cmd_run_workers(name, lfd, (int)o->workers,
				       o->net.timeout_ms + SK_CHILD_GRACE_MS, serve_worker,
				       open_more, &w); /* it closes lfd */
	}
	rc = serve(o, root, mime, lfd);
	close(lfd);
	return rc;
}

/*
 * --fallback: a regular file inside DIR, checked as a read would open it.
 * Returns 0 or EXIT_USAGE.
 */
static int check_fallback(struct http_opts *o, const struct sk_root *root)
{
	const char *p = o->fallback, *seg;
	struct stat st;
	int fd;

	while (*p == '/' || (p[0] == '.' && p[1] == '/'))
		p += *p == '/' ? 1 : 2;
	for (seg = p; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
		if (!strncmp(seg, "..", 2) && (seg[2] == '/' || !seg[2]))
			return cmd_usage(name, "bad --fallback '%s': not inside %s", o->fallback,
					 o->dir);
	if (!*p || strlen(p) >= sizeof(o->fallback_rel))
		return cmd_usage(name, "bad --fallback '%s'", o->fallback);
	snprintf(o->fallback_rel, sizeof(o->fallback_rel), "%s", p);
	fd = sk_open_beneath(root, o->fallback_rel);
	if (fd < 0)
		return cmd_usage(name, "bad --fallback '%s': %s", o->fallback,
				 errno == EXDEV ? "it leads outside DIR" : strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cmd_usage(name, "bad --fallback '%s': not a regular file", o->fallback);
	}
	close(fd);
	return 0;
}

/* Opens DIR, the log and the MIME types, then serves. Returns the exit status. */
static int run(struct http_opts *o)
{
	struct sk_root root = {.dirfd = -1};
	struct sk_mime mime = {0};
	int rc;

	if (sk_root_open(&root, o->dir, getenv("SOCKCTL_NO_OPENAT2") != NULL) < 0) {
		cmd_error(name, "%s: %s", o->dir, strerror(errno));
		return EXIT_FAIL;
	}
	if (o->fallback && (rc = check_fallback(o, &root))) {
		sk_root_close(&root);
		return rc;
	}
	if (o->auth && !o->tls.on)
		cmd_error(name, "warning: --auth without --tls: Basic authentication sends "
				"passwords in clear text");
	o->log_fd = o->log ? open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
			   : (o->quiet ? -1 : STDERR_FILENO);
	if (o->log && o->log_fd < 0) {
		cmd_error(name, "%s: %s", o->log, strerror(errno));
		sk_root_close(&root);
		return EXIT_FAIL;
	}
	if (sk_mime_load(&mime, "/etc/mime.types") < 0) {
		cmd_error(name, "/etc/mime.types: %s", strerror(errno));
		sk_mime_free(&mime);
		if (o->log)
			close(o->log_fd);
		sk_root_close(&root);
		return EXIT_FAIL;
	}
	fit_fd_limit(o, o->max_conns_given);
	if ((rc = make_tls(o)) == 0)
		rc = listen_and_serve(o, &root, &mime);
	if (o->log)
		close(o->log_fd);
	if (o->tls_ctx)
		sk_tls_ctx_free(o->tls_ctx);
	sk_mime_free(&mime);
	sk_root_close(&root);
	return rc;
}

int cmd_serve_http(int argc, char **argv)
{
	struct http_opts o = {.port = 8080,
			      .max_conns = 10000,
			      .log_fd = -1,
			      .workers = 1,
			      .cache_secs = -1,
			      .max_upload = 1ULL << 30};
	int rc;

	net_opts_init(&o.net);
	o.net.timeout_ms = 30000;
	rc = parse_args(argc, argv, &o);
	rc = rc == CMD_RUN ? run(&o) : cmd_parsed_exit(rc);
	sk_acl_free(&o.acl);
	sk_auth_free(o.auth);
	free(o.headers);
	return rc;
}
