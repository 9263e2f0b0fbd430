/*
 * Proxy clients: the --proxy URL and the handshakes of SOCKS5 (RFC 1928,
 * RFC 1929), SOCKS4/4a and HTTP CONNECT (RFC 9110 9.3.6) as one machine.
 *
 * The machine composes each request into out[], then wants the proxy's
 * answer: a SOCKS reply is read to the length its own bytes announce
 * (need grows as the reply says more), an HTTP head byte by byte to its
 * empty line. Everything the proxy says is checked before it is believed.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "clock.h"
#include "json.h"
#include "parse.h"

#ifndef SOCKCTL_VERSION
#define SOCKCTL_VERSION "0.0.0"
#endif

#define DEFAULT_PORT 1080
#define OUT_MAX	     2048 /* the longest request: HTTP CONNECT with credentials */
#define INTERIM_MAX  8	  /* 1xx heads an HTTP proxy may send before its answer */
#define REASON_MAX   80	  /* of an HTTP reason phrase, in a message */
#define SOCKS_IN_MAX 512  /* the longest SOCKS reply: 4 + 1 + 255 + 2 bytes */

/* Where the handshake stands. */
enum step {
	S5_GREETING,   /* sending the methods */
	S5_METHOD,     /* reading the method chosen */
	S5_AUTH,       /* sending RFC 1929 credentials */
	S5_AUTH_REPLY, /* reading their verdict */
	S5_REQUEST,    /* sending CONNECT */
	S5_REPLY,      /* reading the reply */
	S4_REQUEST,    /* SOCKS4/4a: sending CONNECT */
	S4_REPLY,      /* reading the 8-byte reply */
	HTTP_REQUEST,  /* sending CONNECT */
	HTTP_HEAD,     /* reading the answer head */
	STEP_DONE,
	STEP_FAILED,
};

/* What each step sends or reads, for messages. */
static const char *const step_what[] = {
    [S5_GREETING] = "the greeting",
    [S5_METHOD] = "the method choice",
    [S5_AUTH] = "the credentials",
    [S5_AUTH_REPLY] = "the authentication reply",
    [S5_REQUEST] = "the CONNECT request",
    [S5_REPLY] = "the CONNECT reply",
    [S4_REQUEST] = "the CONNECT request",
    [S4_REPLY] = "the CONNECT reply",
    [HTTP_REQUEST] = "the CONNECT request",
    [HTTP_HEAD] = "the answer head",
    [STEP_DONE] = "the end",
    [STEP_FAILED] = "the end",
};

struct sk_proxy_hs {
	enum sk_proxy_kind kind;
	enum step step;
	unsigned char out[OUT_MAX];
	size_t out_len, out_off;
	size_t in_len, need; /* SOCKS: the reply is complete at need bytes */
	size_t in_cap;	     /* of in[]: a SOCKS reply, or an HTTP head */
	unsigned interim;    /* HTTP 1xx heads seen */
	bool auth;
	char user[SK_PROXY_NAME_MAX + 1], pass[SK_PROXY_NAME_MAX + 1];
	bool told;  /* the first request's -v line is said */
	bool named; /* a name resolved here: -v says so */
	int atyp;   /* SOCKS5's: 1 IPv4, 3 a name, 4 IPv6 */
	unsigned char ip[16];
	char host[SK_PROXY_NAME_MAX + 1]; /* the name or literal, unbracketed */
	unsigned port;
	char dest[SK_PROXY_NAME_MAX + 16]; /* "host:port" as said to the proxy */
	char why[SK_ERRLEN];
	int why_errno;
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	unsigned char in[]; /* the answer as it comes */
};

/* ---------------------------------------------------------------- URL */

static const struct {
	const char *scheme;
	enum sk_proxy_kind kind;
} schemes[] = {
    {"socks5", SK_PROXY_SOCKS5},   {"socks5h", SK_PROXY_SOCKS5H}, {"socks4", SK_PROXY_SOCKS4},
    {"socks4a", SK_PROXY_SOCKS4A}, {"http", SK_PROXY_HTTP},
};

const char *sk_proxy_kind_name(enum sk_proxy_kind kind)
{
	switch (kind) {
	case SK_PROXY_SOCKS5:
	case SK_PROXY_SOCKS5H: return "SOCKS5";
	case SK_PROXY_SOCKS4: return "SOCKS4";
	case SK_PROXY_SOCKS4A: return "SOCKS4a";
	case SK_PROXY_HTTP: return "HTTP CONNECT";
	}
	return "proxy";
}

bool sk_proxy_resolves(enum sk_proxy_kind kind)
{
	return kind == SK_PROXY_SOCKS5H || kind == SK_PROXY_SOCKS4A || kind == SK_PROXY_HTTP;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Percent-decodes s[0..n) into out (SK_PROXY_NAME_MAX + 1 bytes). Returns
 * 0, or -1 with err naming what (never the text itself).
 */
static int decode(const char *s, size_t n, char *out, const char *what, char *err)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n)
				goto bad_escape;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad_escape;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0') {
			sk_seterr(err, "the %s holds a NUL byte", what);
			return -1;
		}
		if (o == SK_PROXY_NAME_MAX) {
			sk_seterr(err, "the %s is longer than %d bytes", what, SK_PROXY_NAME_MAX);
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
bad_escape:
	sk_seterr(err, "a bad %%-escape in the %s", what);
	return -1;
}

/* Parses HOST[:PORT][/] into px. Returns 0 or -1 with err. */
static int parse_hostport(const char *s, struct sk_proxy *px, char *err)
{
	const char *end = s + strlen(s), *colon = NULL, *h = s, *hend;
	char portbuf[8];
	size_t n;

	if (end > s && end[-1] == '/')
		end--;
	if (*s == '[') {
		hend = memchr(s, ']', (size_t)(end - s));
		if (!hend) {
			sk_seterr(err, "'[' without ']' around the proxy's IPv6 address");
			return -1;
		}
		h = s + 1;
		if (hend + 1 < end) {
			if (hend[1] != ':') {
				sk_seterr(err, "junk after ']' in the proxy's address");
				return -1;
			}
			colon = hend + 1;
		}
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		hend = colon ? colon : end;
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
			sk_seterr(err, "an IPv6 proxy address goes in brackets: [ADDR]:PORT");
			return -1;
		}
	}
	n = (size_t)(hend - h);
	if (n == 0) {
		sk_seterr(err, "no proxy host");
		return -1;
	}
	if (n > SK_PROXY_NAME_MAX) {
		sk_seterr(err, "the proxy's host name is longer than %d bytes", SK_PROXY_NAME_MAX);
		return -1;
	}
	for (const char *p = h; p < hend; p++) {
		if ((unsigned char)*p <= ' ' || *p == '/' || *p == '?' || *p == '#' || *p == '%' ||
		    *p == '@' || (unsigned char)*p >= 0x7f || *p == '[' || *p == ']') {
			sk_seterr(err, "the proxy's host holds '%c', which no host name has",
				  (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f ? *p : '?');
			return -1;
		}
	}
	memcpy(px->host, h, n);
	px->host[n] = '\0';
	px->port = DEFAULT_PORT;
	if (colon) {
		n = (size_t)(end - colon - 1);
		if (n == 0 || n >= sizeof(portbuf)) {
			sk_seterr(err, "bad proxy port");
			return -1;
		}
		memcpy(portbuf, colon + 1, n);
		portbuf[n] = '\0';
		/* Not quoted unless a number: "user:password" without its "@host" lands here. */
		if (strspn(portbuf, "0123456789") != n) {
			sk_seterr(err, "bad proxy port: not a number");
			return -1;
		}
		if (sk_parse_port(portbuf, "tcp", &px->port) < 0 || px->port == 0) {
			sk_seterr(err, "bad proxy port '%s'", portbuf);
			return -1;
		}
	}
	return 0;
}

/* Splits decoded-or-raw USER[:PASS] into px. */
static int take_userinfo(struct sk_proxy *px, const char *s, size_t n, bool encoded, char *err)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon ? (size_t)(colon - s) : n;

	if (encoded) {
		if (decode(s, ulen, px->user, "proxy user name", err) < 0)
			return -1;
		if (colon && decode(colon + 1, n - ulen - 1, px->pass, "proxy password", err) < 0)
			return -1;
	} else {
		if (ulen > SK_PROXY_NAME_MAX || (colon && n - ulen - 1 > SK_PROXY_NAME_MAX)) {
			sk_seterr(err, "the proxy user name or password is longer than %d bytes",
				  SK_PROXY_NAME_MAX);
			return -1;
		}
		memcpy(px->user, s, ulen);
		px->user[ulen] = '\0';
		if (colon) {
			memcpy(px->pass, colon + 1, n - ulen - 1);
			px->pass[n - ulen - 1] = '\0';
		}
	}
	px->auth = true;
	return 0;
}

int sk_proxy_parse_url(const char *url, struct sk_proxy *px, char *err)
{
	const char *sep = strstr(url, "://"), *rest, *at;
	size_t i, slen;

	memset(px, 0, sizeof(*px));
	errno = EINVAL;
	if (!sep) {
		sk_seterr(err, "no scheme: write SCHEME://HOST[:PORT], SCHEME one of socks5, "
			       "socks5h, socks4, socks4a, http");
		return -1;
	}
	slen = (size_t)(sep - url);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].scheme) == slen && !strncasecmp(url, schemes[i].scheme, slen))
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0])) {
		/* Quoted only when it looks like a scheme: it may be a mistyped password. */
		if (slen <= 16 && strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					      "0123456789+-.") == slen)
			sk_seterr(err,
				  "unknown scheme '%.*s' (socks5, socks5h, socks4, socks4a or "
				  "http)",
				  (int)slen, url);
		else
			sk_seterr(err, "unknown scheme (socks5, socks5h, socks4, socks4a or http)");
		return -1;
	}
	px->kind = schemes[i].kind;
	rest = sep + 3;
	/* The last '@': a password may hold '@' or '/' unencoded. */
	at = strrchr(rest, '@');
	if (at && take_userinfo(px, rest, (size_t)(at - rest), true, err) < 0)
		goto fail;
	if (parse_hostport(at ? at + 1 : rest, px, err) < 0)
		goto fail;
	errno = 0;
	return 0;
fail:
	sk_proxy_wipe(px);
	errno = EINVAL;
	return -1;
}

int sk_proxy_set_auth(struct sk_proxy *px, const char *userpass, char *err)
{
	px->user[0] = px->pass[0] = '\0';
	if (take_userinfo(px, userpass, strlen(userpass), false, err) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int sk_proxy_check_auth(const struct sk_proxy *px, char *err)
{
	if (!px->auth)
		return 0;
	if ((px->kind == SK_PROXY_SOCKS4 || px->kind == SK_PROXY_SOCKS4A) && px->pass[0]) {
		sk_seterr(err, "SOCKS4 sends a user ID and no password: give USER only");
		return -1;
	}
	if (px->kind != SK_PROXY_SOCKS4 && px->kind != SK_PROXY_SOCKS4A && !px->user[0]) {
		sk_seterr(err, "an empty proxy user name");
		return -1;
	}
	if (px->kind == SK_PROXY_HTTP && strchr(px->user, ':')) {
		sk_seterr(err, "an HTTP proxy user name cannot hold ':'");
		return -1;
	}
	return 0;
}

void sk_proxy_wipe(struct sk_proxy *px)
{
	explicit_bzero(px->user, sizeof(px->user));
	explicit_bzero(px->pass, sizeof(px->pass));
	px->auth = false;
}

/* ---------------------------------------------------------------- machine */

static void say(struct sk_proxy_hs *hs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct sk_proxy_hs *hs, const char *fmt, ...)
{
	char line[512];
	int n;
	va_list ap;

	if (!hs->log)
		return;
	n = snprintf(line, sizeof(line), "%s: ", sk_proxy_kind_name(hs->kind));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	hs->log(hs->log_ctx, line);
}

static void fail(struct sk_proxy_hs *hs, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct sk_proxy_hs *hs, int e, const char *fmt, ...)
{
	int n;
	va_list ap;

	n = snprintf(hs->why, sizeof(hs->why), "%s: ", sk_proxy_kind_name(hs->kind));
	va_start(ap, fmt);
	vsnprintf(hs->why + n, sizeof(hs->why) - (size_t)n, fmt, ap);
	va_end(ap);
	hs->why_errno = e;
	hs->step = STEP_FAILED;
	hs->out_len = hs->out_off = 0;
}

/* Queues bytes to send and moves to step. */
static void emit(struct sk_proxy_hs *hs, enum step step, size_t len)
{
	hs->step = step;
	hs->out_len = len;
	hs->out_off = 0;
}

/* Waits for the proxy's reply of need bytes (to start with). */
static void expect(struct sk_proxy_hs *hs, enum step step, size_t need)
{
	hs->step = step;
	hs->in_len = 0;
	hs->need = need;
}

/* The CONNECT line of -v. */
static void say_connect(struct sk_proxy_hs *hs)
{
	if (hs->atyp == 3 || hs->kind == SK_PROXY_HTTP)
		say(hs, "CONNECT %s%s%s", hs->dest, hs->kind == SK_PROXY_HTTP ? " HTTP/1.1" : "",
		    hs->atyp == 3 ? " (the proxy resolves the name)" : "");
	else if (hs->named)
		say(hs, "CONNECT %s (%s, resolved here)", hs->dest, hs->host);
	else
		say(hs, "CONNECT %s", hs->dest);
}

/* The -v line of the first request. */
static void say_first(struct sk_proxy_hs *hs)
{
	hs->told = true;
	if (hs->step == S5_GREETING)
		say(hs, "offering %s",
		    hs->auth ? "no authentication and username/password" : "no authentication");
	else
		say_connect(hs);
	if (hs->kind == SK_PROXY_HTTP && hs->auth)
		say(hs, "with Basic credentials (not shown)");
	else if (hs->kind == SK_PROXY_SOCKS4 || hs->kind == SK_PROXY_SOCKS4A)
		if (hs->auth && hs->user[0])
			say(hs, "with a user ID (not shown)");
}

static void send_s5_greeting(struct sk_proxy_hs *hs)
{
	unsigned char *o = hs->out;

	o[0] = 5;
	o[1] = hs->auth ? 2 : 1;
	o[2] = 0; /* no authentication */
	o[3] = 2; /* username/password */
	emit(hs, S5_GREETING, hs->auth ? 4 : 3);
}

static void send_s5_auth(struct sk_proxy_hs *hs)
{
	size_t ul = strlen(hs->user), pl = strlen(hs->pass), n = 0;

	hs->out[n++] = 1; /* the sub-negotiation's version */
	hs->out[n++] = (unsigned char)ul;
	memcpy(hs->out + n, hs->user, ul);
	n += ul;
	hs->out[n++] = (unsigned char)pl;
	memcpy(hs->out + n, hs->pass, pl);
	n += pl;
	say(hs, "sending the user name and password (not shown)");
	emit(hs, S5_AUTH, n);
}

static void send_s5_request(struct sk_proxy_hs *hs)
{
	size_t n = 0, hl;

	hs->out[n++] = 5;
	hs->out[n++] = 1; /* CONNECT */
	hs->out[n++] = 0;
	hs->out[n++] = (unsigned char)hs->atyp;
	if (hs->atyp == 3) {
		hl = strlen(hs->host);
		hs->out[n++] = (unsigned char)hl;
		memcpy(hs->out + n, hs->host, hl);
		n += hl;
	} else {
		memcpy(hs->out + n, hs->ip, hs->atyp == 1 ? 4 : 16);
		n += hs->atyp == 1 ? 4 : 16;
	}
	hs->out[n++] = (unsigned char)(hs->port >> 8);
	hs->out[n++] = (unsigned char)hs->port;
	emit(hs, S5_REQUEST, n);
}

static void send_s4_request(struct sk_proxy_hs *hs)
{
	size_t n = 0, l;

	hs->out[n++] = 4;
	hs->out[n++] = 1; /* CONNECT */
	hs->out[n++] = (unsigned char)(hs->port >> 8);
	hs->out[n++] = (unsigned char)hs->port;
	if (hs->atyp == 1) {
		memcpy(hs->out + n, hs->ip, 4);
	} else { /* SOCKS4a: 0.0.0.1, and the name after the user ID */
		memcpy(hs->out + n, "\0\0\0\1", 4);
	}
	n += 4;
	l = hs->auth ? strlen(hs->user) : 0;
	memcpy(hs->out + n, hs->user, l);
	n += l;
	hs->out[n++] = '\0';
	if (hs->atyp == 3) {
		l = strlen(hs->host);
		memcpy(hs->out + n, hs->host, l + 1);
		n += l + 1;
	}
	emit(hs, S4_REQUEST, n);
}

static void send_http_request(struct sk_proxy_hs *hs)
{
	char cred[2 * SK_PROXY_NAME_MAX + 2], b64[SK_BASE64_LEN(sizeof(cred)) + 1];
	size_t cl;
	int n;

	n = snprintf((char *)hs->out, sizeof(hs->out), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n",
		     hs->dest, hs->dest);
	if (hs->auth) {
		cl = (size_t)snprintf(cred, sizeof(cred), "%s:%s", hs->user, hs->pass);
		b64[sk_base64((const unsigned char *)cred, cl, b64)] = '\0';
		n += snprintf((char *)hs->out + n, sizeof(hs->out) - (size_t)n,
			      "Proxy-Authorization: Basic %s\r\n", b64);
		explicit_bzero(cred, sizeof(cred));
		explicit_bzero(b64, sizeof(b64));
	}
	n += snprintf((char *)hs->out + n, sizeof(hs->out) - (size_t)n,
		      "User-Agent: sockctl/" SOCKCTL_VERSION "\r\n\r\n");
	emit(hs, HTTP_REQUEST, (size_t)n);
}

/* Sets the target from dest. Returns 0 or -1 with err. */
static int set_dest(struct sk_proxy_hs *hs, const struct sk_proxy_dest *d, char *err)
{
	char buf[1025]; /* NI_MAXHOST: a longer name than SOCKS can carry is said so */
	const unsigned char *p;
	bool v4only = hs->kind == SK_PROXY_SOCKS4 || hs->kind == SK_PROXY_SOCKS4A;

	if (!sk_host_unbracket(d->host, buf, sizeof(buf)) || !buf[0]) {
		sk_seterr(err, "bad target host '%.64s'", d->host);
		return -1;
	}
	if (strlen(buf) > SK_PROXY_NAME_MAX) {
		sk_seterr(err, "the target's name is longer than %d bytes", SK_PROXY_NAME_MAX);
		return -1;
	}
	memcpy(hs->host, buf, strlen(buf) + 1);
	hs->port = d->port;
	if (inet_pton(AF_INET, buf, hs->ip) == 1) {
		hs->atyp = 1;
	} else if (inet_pton(AF_INET6, buf, hs->ip) == 1) {
		hs->atyp = 4;
	} else if (sk_proxy_resolves(hs->kind)) {
		for (p = (const unsigned char *)buf; *p; p++)
			if (*p <= ' ' || *p >= 0x7f || *p == ':' || *p == '/' || *p == '@') {
				sk_seterr(err, "bad target host '%.64s'", d->host);
				return -1;
			}
		hs->atyp = 3;
	} else if (d->addr && d->addr->sa_family == AF_INET) {
		memcpy(hs->ip, &((const struct sockaddr_in *)(const void *)d->addr)->sin_addr, 4);
		hs->atyp = 1;
		hs->named = true;
	} else if (d->addr && d->addr->sa_family == AF_INET6) {
		memcpy(hs->ip, &((const struct sockaddr_in6 *)(const void *)d->addr)->sin6_addr,
		       16);
		hs->atyp = 4;
		hs->named = true;
	} else {
		sk_seterr(err, "no address for '%.64s' to give the proxy", d->host);
		return -1;
	}
	if (v4only && hs->atyp == 4) {
		sk_seterr(err, "no IPv6 targets (use socks5 for %.64s)", d->host);
		return -1;
	}
	/* What the proxy is told: the name, or the address as the proxy reads it. */
	if (hs->atyp != 3 && hs->kind != SK_PROXY_HTTP)
		inet_ntop(hs->atyp == 1 ? AF_INET : AF_INET6, hs->ip, buf, sizeof(buf));
	snprintf(hs->dest, sizeof(hs->dest), strchr(buf, ':') ? "[%s]:%u" : "%s:%u", buf, d->port);
	return 0;
}

struct sk_proxy_hs *sk_proxy_hs_new(const struct sk_proxy *px, const struct sk_proxy_dest *d,
				    char *err)
{
	size_t cap = px->kind == SK_PROXY_HTTP ? SK_PROXY_HEAD_MAX : SOCKS_IN_MAX;
	struct sk_proxy_hs *hs = calloc(1, sizeof(*hs) + cap);

	if (!hs) {
		sk_seterr(err, "out of memory");
		return NULL;
	}
	hs->in_cap = cap;
	hs->kind = px->kind;
	hs->auth = px->auth;
	memcpy(hs->user, px->user, sizeof(hs->user));
	memcpy(hs->pass, px->pass, sizeof(hs->pass));
	if (set_dest(hs, d, err) < 0) {
		sk_proxy_hs_free(hs);
		errno = EINVAL;
		return NULL;
	}
	switch (hs->kind) {
	case SK_PROXY_SOCKS5:
	case SK_PROXY_SOCKS5H: send_s5_greeting(hs); break;
	case SK_PROXY_SOCKS4:
	case SK_PROXY_SOCKS4A: send_s4_request(hs); break;
	case SK_PROXY_HTTP: send_http_request(hs); break;
	}
	return hs;
}

void sk_proxy_hs_set_log(struct sk_proxy_hs *hs, void (*log)(void *ctx, const char *line),
			 void *ctx)
{
	hs->log = log;
	hs->log_ctx = ctx;
	/* The first request was composed before there was a log: its line now. */
	if (!hs->told && sk_proxy_hs_state(hs) == SK_PROXY_SEND && hs->out_off == 0)
		say_first(hs);
}

void sk_proxy_hs_free(struct sk_proxy_hs *hs)
{
	if (!hs)
		return;
	explicit_bzero(hs, sizeof(*hs) + hs->in_cap);
	free(hs);
}

enum sk_proxy_state sk_proxy_hs_state(const struct sk_proxy_hs *hs)
{
	switch (hs->step) {
	case S5_GREETING:
	case S5_AUTH:
	case S5_REQUEST:
	case S4_REQUEST:
	case HTTP_REQUEST: return SK_PROXY_SEND;
	case STEP_DONE: return SK_PROXY_DONE;
	case STEP_FAILED: return SK_PROXY_FAILED;
	default: return SK_PROXY_RECV;
	}
}

size_t sk_proxy_hs_output(const struct sk_proxy_hs *hs, const unsigned char **out)
{
	*out = hs->out + hs->out_off;
	return sk_proxy_hs_state(hs) == SK_PROXY_SEND ? hs->out_len - hs->out_off : 0;
}

void sk_proxy_hs_sent(struct sk_proxy_hs *hs, size_t n)
{
	if (sk_proxy_hs_state(hs) != SK_PROXY_SEND)
		return;
	hs->out_off += n < hs->out_len - hs->out_off ? n : hs->out_len - hs->out_off;
	if (hs->out_off < hs->out_len)
		return;
	explicit_bzero(hs->out, hs->out_len); /* the credentials went out with it */
	switch (hs->step) {
	case S5_GREETING: expect(hs, S5_METHOD, 2); break;
	case S5_AUTH: expect(hs, S5_AUTH_REPLY, 2); break;
	case S5_REQUEST: expect(hs, S5_REPLY, 4); break;
	case S4_REQUEST: expect(hs, S4_REPLY, 8); break;
	case HTTP_REQUEST: expect(hs, HTTP_HEAD, SK_PROXY_HEAD_MAX); break;
	default: break;
	}
}

size_t sk_proxy_hs_want(const struct sk_proxy_hs *hs, bool *partial)
{
	*partial = hs->step == HTTP_HEAD;
	if (sk_proxy_hs_state(hs) != SK_PROXY_RECV)
		return 0;
	return hs->need - hs->in_len;
}

/* ---- SOCKS replies */

static void s5_method(struct sk_proxy_hs *hs)
{
	const unsigned char *r = hs->in;

	if (r[0] != 5) {
		fail(hs, EPROTO, "malformed reply: version %u in the method choice, not 5", r[0]);
		return;
	}
	if (r[1] == 0) {
		say(hs, "the proxy chose no authentication");
		send_s5_request(hs);
		say_connect(hs);
	} else if (r[1] == 2 && hs->auth) {
		say(hs, "the proxy chose username/password");
		send_s5_auth(hs);
	} else if (r[1] == 0xff) {
		fail(hs, EACCES, "no acceptable authentication method (offered: %s)",
		     hs->auth ? "none, username/password"
			      : "none; the proxy may want a user name and password");
	} else {
		fail(hs, EPROTO,
		     "malformed reply: the proxy chose method %u, which was not offered", r[1]);
	}
}

static void s5_auth_reply(struct sk_proxy_hs *hs)
{
	const unsigned char *r = hs->in;

	/* RFC 1929 says 1; some servers say 5, as curl tolerates. */
	if (r[0] != 1 && r[0] != 5) {
		fail(hs, EPROTO, "malformed reply: version %u in the authentication reply, not 1",
		     r[0]);
		return;
	}
	if (r[1] != 0) {
		fail(hs, EACCES, "username/password rejected (status %u)", r[1]);
		return;
	}
	say(hs, "username/password accepted");
	send_s5_request(hs);
	say_connect(hs);
}

static const char *s5_reply_text(unsigned rep, int *e)
{
	static const struct {
		const char *text;
		int e;
	} reps[] = {
	    {"succeeded", 0},
	    {"general SOCKS server failure", ECONNREFUSED},
	    {"connection not allowed by the proxy's rules", EACCES},
	    {"network unreachable", ENETUNREACH},
	    {"host unreachable", EHOSTUNREACH},
	    {"connection refused by the destination", ECONNREFUSED},
	    {"TTL expired", ETIMEDOUT},
	    {"command not supported", EPROTO},
	    {"address type not supported", EPROTO},
	};

	if (rep < sizeof(reps) / sizeof(reps[0])) {
		*e = reps[rep].e;
		return reps[rep].text;
	}
	*e = EPROTO;
	return "unknown reply";
}

/* A complete SOCKS5 reply, or its first 4 bytes (need grows). */
static void s5_reply(struct sk_proxy_hs *hs)
{
	const unsigned char *r = hs->in;
	char addr[INET6_ADDRSTRLEN];
	const char *text;
	int e;

	if (hs->in_len == 4) {
		if (r[0] != 5) {
			fail(hs, EPROTO, "malformed reply: version %u, not 5", r[0]);
			return;
		}
		if (r[1] != 0) {
			text = s5_reply_text(r[1], &e);
			fail(hs, e, "%s (reply %u)", text, r[1]);
			return;
		}
		if (r[2] != 0) {
			fail(hs, EPROTO, "malformed reply: reserved byte %u, not 0", r[2]);
			return;
		}
		switch (r[3]) {
		case 1: hs->need = 4 + 4 + 2; return;
		case 4: hs->need = 4 + 16 + 2; return;
		case 3: hs->need = 5; return; /* the name's length first */
		default: fail(hs, EPROTO, "malformed reply: unknown address type %u", r[3]); return;
		}
	}
	if (r[3] == 3 && hs->in_len == 5) {
		hs->need = 5 + (size_t)r[4] + 2;
		return;
	}
	if (r[3] == 3)
		snprintf(addr, sizeof(addr), "a name");
	else
		inet_ntop(r[3] == 1 ? AF_INET : AF_INET6, r + 4, addr, sizeof(addr));
	say(hs, "granted (the proxy's side of it: %s%s%s:%u)", r[3] == 4 ? "[" : "", addr,
	    r[3] == 4 ? "]" : "", (unsigned)r[hs->need - 2] << 8 | r[hs->need - 1]);
	hs->step = STEP_DONE;
}

static void s4_reply(struct sk_proxy_hs *hs)
{
	const unsigned char *r = hs->in;

	if (r[0] != 0) {
		fail(hs, EPROTO, "malformed reply: version %u, not 0", r[0]);
		return;
	}
	switch (r[1]) {
	case 90:
		say(hs, "granted (reply 90)");
		hs->step = STEP_DONE;
		return;
	case 91: fail(hs, ECONNREFUSED, "request rejected or failed (reply 91)"); return;
	case 92:
		fail(hs, EACCES, "rejected: the proxy could not reach an identd here (reply 92)");
		return;
	case 93: fail(hs, EACCES, "rejected: identd reported another user ID (reply 93)"); return;
	default: fail(hs, EPROTO, "malformed reply: unknown reply code %u", r[1]); return;
	}
}

/* ---- the HTTP answer head */

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field text: HTAB, SP, VCHAR, obs-text. */
static bool ftext(unsigned char c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

static const char *std_reason(unsigned code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

/*
 * Checks the head in[0..in_len) (ending in CRLF CRLF) line by line.
 * Returns the status code, or 0 after failing.
 */
static unsigned http_check_head(struct sk_proxy_hs *hs, char *reason, size_t rlen)
{
	const unsigned char *p = hs->in, *end = hs->in + hs->in_len - 2, *eol, *q;
	unsigned code;
	size_t n = 0;
	int line = 1;

	for (q = p; q < end + 2; q++)
		if ((*q == '\n' && (q == p || q[-1] != '\r')) ||
		    (*q == '\r' && (q + 1 == end + 2 || q[1] != '\n'))) {
			fail(hs, EPROTO, "malformed answer: a bare %s in the head",
			     *q == '\n' ? "LF" : "CR");
			return 0;
		}
	/* HTTP/1.x SP DIGIT DIGIT DIGIT [SP reason] CRLF */
	eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
	if (eol - p < 12 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9' || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (eol - p > 12 && p[12] != ' ')) {
		fail(hs, EPROTO, "malformed answer: the status line is not 'HTTP/1.x NNN reason'");
		return 0;
	}
	code =
	    (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 + (unsigned)(p[11] - '0');
	for (q = p + 13; q < eol; q++) {
		if (!ftext(*q)) {
			fail(hs, EPROTO, "malformed answer: a control byte in the status line");
			return 0;
		}
		if (n + 1 < rlen && n < REASON_MAX)
			reason[n++] = *q >= 0x20 && *q < 0x7f ? (char)*q : '?';
	}
	reason[n] = '\0';
	for (p = eol + 2; p < end; p = eol + 2, line++) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		for (q = p; q < eol && tchar(*q); q++)
			;
		if (q == p || q == eol || *q != ':') {
			fail(hs, EPROTO, "malformed answer: header line %d is not 'name: value'",
			     line);
			return 0;
		}
		for (q++; q < eol; q++)
			if (!ftext(*q)) {
				fail(hs, EPROTO,
				     "malformed answer: a control byte in header line %d", line);
				return 0;
			}
	}
	return code;
}

static void http_head(struct sk_proxy_hs *hs)
{
	char reason[REASON_MAX + 1];
	unsigned code = http_check_head(hs, reason, sizeof(reason));
	int e;

	if (!code)
		return;
	if (!reason[0])
		snprintf(reason, sizeof(reason), "%s", std_reason(code));
	if (code / 100 == 1 && code != 101) {
		if (++hs->interim > INTERIM_MAX) {
			fail(hs, EPROTO, "more than %d interim (1xx) answers", INTERIM_MAX);
			return;
		}
		say(hs, "%u %s (interim)", code, reason);
		hs->in_len = 0;
		return;
	}
	if (code / 100 == 2) {
		say(hs, "%u%s%s", code, reason[0] ? " " : "", reason);
		hs->step = STEP_DONE;
		return;
	}
	e = code / 100 == 4   ? EACCES
	    : code == 504     ? ETIMEDOUT
	    : code / 100 == 5 ? ECONNREFUSED
			      : EPROTO;
	fail(hs, e, "%u%s%s", code, reason[0] ? " " : "", reason);
}

size_t sk_proxy_hs_input(struct sk_proxy_hs *hs, const unsigned char *in, size_t n)
{
	size_t took = 0, k;

	while (took < n && sk_proxy_hs_state(hs) == SK_PROXY_RECV) {
		if (hs->step == HTTP_HEAD) {
			hs->in[hs->in_len++] = in[took++];
			/* "\n\n" ends a head too, to be refused as malformed rather than waited on.
			 */
			if ((hs->in_len >= 4 && !memcmp(hs->in + hs->in_len - 4, "\r\n\r\n", 4)) ||
			    (hs->in_len >= 2 && !memcmp(hs->in + hs->in_len - 2, "\n\n", 2)))
				http_head(hs);
			else if (hs->in_len == hs->in_cap)
				fail(hs, EPROTO, "answer head longer than %d bytes",
				     SK_PROXY_HEAD_MAX);
			continue;
		}
		k = hs->need - hs->in_len;
		if (k > n - took)
			k = n - took;
		memcpy(hs->in + hs->in_len, in + took, k);
		hs->in_len += k;
		took += k;
		if (hs->in_len < hs->need)
			break;
		switch (hs->step) {
		case S5_METHOD: s5_method(hs); break;
		case S5_AUTH_REPLY: s5_auth_reply(hs); break;
		case S5_REPLY: s5_reply(hs); break;
		case S4_REPLY: s4_reply(hs); break;
		default: break;
		}
	}
	return took;
}

void sk_proxy_hs_eof(struct sk_proxy_hs *hs, int e)
{
	enum sk_proxy_state st = sk_proxy_hs_state(hs);
	const char *what = step_what[hs->step], *how = e == ECONNRESET ? "reset" : "closed";

	if (st == SK_PROXY_DONE || st == SK_PROXY_FAILED)
		return;
	if (e && e != ECONNRESET && e != EPIPE)
		fail(hs, e, "%s (during %s)", strerror(e), what);
	else if (st == SK_PROXY_SEND)
		fail(hs, ECONNRESET, "the proxy %s the connection as we sent %s", how, what);
	else if (hs->step == HTTP_HEAD)
		fail(hs, ECONNRESET,
		     "the proxy %s the connection before the end of %s (%zu bytes came)", how, what,
		     hs->in_len);
	else
		fail(hs, ECONNRESET,
		     "the proxy %s the connection before the end of %s (%zu of %zu bytes came)",
		     how, what, hs->in_len, hs->need);
}

void sk_proxy_hs_timeout(struct sk_proxy_hs *hs)
{
	enum sk_proxy_state st = sk_proxy_hs_state(hs);

	if (st == SK_PROXY_DONE || st == SK_PROXY_FAILED)
		return;
	fail(hs, ETIMEDOUT, "timed out %s %s", st == SK_PROXY_SEND ? "sending" : "waiting for",
	     step_what[hs->step]);
}

const char *sk_proxy_hs_error(const struct sk_proxy_hs *hs)
{
	return hs->why;
}

int sk_proxy_hs_errno(const struct sk_proxy_hs *hs)
{
	return hs->why_errno;
}

/* ---------------------------------------------------------------- sockets */

static enum sk_proxy_step failed(const struct sk_proxy_hs *hs, char *err)
{
	sk_seterr(err, "%s", hs->why);
	errno = hs->why_errno;
	return SK_PROXY_STEP_FAILED;
}

enum sk_proxy_step sk_proxy_step(struct sk_proxy_hs *hs, int fd, char *err)
{
	unsigned char buf[4096];
	const unsigned char *out;
	size_t want, took;
	ssize_t n;
	bool partial;

	for (;;) {
		switch (sk_proxy_hs_state(hs)) {
		case SK_PROXY_DONE: return SK_PROXY_STEP_DONE;
		case SK_PROXY_FAILED: return failed(hs, err);
		case SK_PROXY_SEND:
			want = sk_proxy_hs_output(hs, &out);
			n = send(fd, out, want, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return SK_PROXY_STEP_WRITE;
			if (n < 0) {
				sk_proxy_hs_eof(hs, errno);
				continue;
			}
			sk_proxy_hs_sent(hs, (size_t)n);
			break;
		case SK_PROXY_RECV:
			want = sk_proxy_hs_want(hs, &partial);
			if (want > sizeof(buf))
				want = sizeof(buf);
			n = recv(fd, buf, want, MSG_DONTWAIT | (partial ? MSG_PEEK : 0));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return SK_PROXY_STEP_READ;
			if (n <= 0) {
				sk_proxy_hs_eof(hs, n < 0 ? errno : 0);
				continue;
			}
			took = sk_proxy_hs_input(hs, buf, (size_t)n);
			/* Peeked: take the head's own bytes, and not one of the tunnel's. */
			if (partial && took > 0 &&
			    recv(fd, buf, took, MSG_DONTWAIT) != (ssize_t)took)
				fail(hs, EIO, "could not take the answer head out of the socket");
			break;
		}
	}
}

int sk_proxy_handshake_wait(struct sk_proxy_hs *hs, int fd, int timeout_ms, int stop_fd, char *err)
{
	int64_t until = sk_deadline(timeout_ms);
	struct pollfd pfd[2];
	enum sk_proxy_step s;
	int n;

	for (;;) {
		s = sk_proxy_step(hs, fd, err);
		if (s == SK_PROXY_STEP_DONE)
			return 0;
		if (s == SK_PROXY_STEP_FAILED)
			return -1;
		pfd[0] =
		    (struct pollfd){.fd = fd, .events = s == SK_PROXY_STEP_READ ? POLLIN : POLLOUT};
		pfd[1] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
		n = poll(pfd, stop_fd >= 0 ? 2 : 1, sk_ms_left(until));
		if (n < 0 && errno != EINTR) {
			sk_seterr(err, "poll: %s", strerror(errno));
			return -1;
		}
		if (n > 0 && stop_fd >= 0 && pfd[1].revents) {
			sk_seterr(err, "%s: stopped", sk_proxy_kind_name(hs->kind));
			errno = EINTR;
			return -1;
		}
		if (n == 0) {
			sk_proxy_hs_timeout(hs);
			failed(hs, err);
			return -1;
		}
	}
}
