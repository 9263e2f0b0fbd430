/*
 * HTTP Basic authentication: the user table (--auth, --auth-file), strict
 * parsing of the Authorization value, and checks that take the same time
 * whatever the secret, with a small cache so that bcrypt runs once per
 * client rather than once per request.
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A secret buffer holds a plain password or a hash; both fit one size. */
#define SECRET_MAX SK_AUTH_HASH_MAX
_Static_assert(SK_AUTH_PASS_MAX <= SECRET_MAX, "a password fits a secret buffer");
/* The longest decoded "user:pass", and its base64 form. */
#define DECODED_MAX (SK_AUTH_USER_MAX + 1 + SK_AUTH_PASS_MAX)
#define TOKEN_MAX   ((DECODED_MAX + 2) / 3 * 4)
/* An htpasswd line: user, ':', hash, CR; longer lines are refused. */
#define HTPASSWD_LINE_MAX (SK_AUTH_USER_MAX + 1 + SK_AUTH_HASH_MAX + 1)
#define STR_(x)		  #x
#define STR(x)		  STR_(x)

/* Names and secrets sit zero-padded in whole buffers, which are compared whole. */
struct user {
	char name[SK_AUTH_USER_MAX + 1];
	char secret[SECRET_MAX + 1]; /* a plain password, or a crypt hash */
	bool hashed;
};

struct cached {
	char token[TOKEN_MAX];	 /* the base64 token of a successful check, zero-padded */
	size_t len;		 /* of token; 0 for a free slot */
	size_t user;		 /* its index in users */
	unsigned long long used; /* the clock of its last hit, for eviction */
};

struct sk_auth {
	struct user *users;
	size_t n, cap;
	bool any_hashed;
	size_t dummy; /* the first hashed user: what an unknown user's password is run against */
	struct cached cache[SK_AUTH_CACHE];
	unsigned long long clock;
	struct crypt_data cd; /* crypt_rn's work area, 32 KiB: kept off the stack */
};

/* Whether a[0..n) equals b[0..n), in a time that depends on n alone. */
static bool ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static bool has_ctl(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* Whether s[0..n) cannot name a user of the table (a space at an end is a slip of the pen). */
static bool bad_user(const char *s, size_t n)
{
	return n == 0 || n > SK_AUTH_USER_MAX || has_ctl(s, n) || s[0] == ' ' || s[n - 1] == ' ';
}

/* The rule bad_user keeps, for a message; its %d is SK_AUTH_USER_MAX. */
#define USER_RULE                                                                                  \
	"the user name must be 1 to %d bytes, without control bytes or a space at either end"

struct sk_auth *sk_auth_new(void)
{
	return calloc(1, sizeof(struct sk_auth));
}

void sk_auth_free(struct sk_auth *a)
{
	if (!a)
		return;
	if (a->users)
		explicit_bzero(a->users, a->cap * sizeof(*a->users));
	free(a->users);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/*
 * Appends a user (name not yet in the table). The array grows by copying,
 * so that no secret is left behind in memory realloc would free. Returns 0,
 * or -1 with errno EEXIST or ENOMEM.
 */
static int add_user(struct sk_auth *a, const char *name, size_t nl, const char *secret, size_t sl,
		    bool hashed)
{
	struct user *u, *grown;
	size_t i, cap;

	for (i = 0; i < a->n; i++) {
		if (strlen(a->users[i].name) == nl && memcmp(a->users[i].name, name, nl) == 0) {
			errno = EEXIST;
			return -1;
		}
	}
	if (a->n == a->cap) {
		cap = a->cap ? a->cap * 2 : 8;
		grown = calloc(cap, sizeof(*grown));
		if (!grown) {
			errno = ENOMEM;
			return -1;
		}
		if (a->users) {
			memcpy(grown, a->users, a->n * sizeof(*grown));
			explicit_bzero(a->users, a->cap * sizeof(*a->users));
		}
		free(a->users);
		a->users = grown;
		a->cap = cap;
	}
	u = &a->users[a->n];
	memcpy(u->name, name, nl);
	memcpy(u->secret, secret, sl);
	u->hashed = hashed;
	if (hashed && !a->any_hashed) {
		a->any_hashed = true;
		a->dummy = a->n;
	}
	a->n++;
	return 0;
}

int sk_auth_add_plain(struct sk_auth *a, const char *userpass, char *err)
{
	const char *colon = strchr(userpass, ':');
	size_t ul, pl;

	errno = EINVAL;
	if (!colon) {
		sk_seterr(err, "--auth: expected USER:PASS");
		return -1;
	}
	ul = (size_t)(colon - userpass);
	pl = strlen(colon + 1);
	if (bad_user(userpass, ul)) {
		sk_seterr(err, "--auth: " USER_RULE, SK_AUTH_USER_MAX);
		return -1;
	}
	if (pl > SK_AUTH_PASS_MAX) {
		sk_seterr(err, "--auth: the password is longer than %d bytes", SK_AUTH_PASS_MAX);
		return -1;
	}
	if (add_user(a, userpass, ul, colon + 1, pl, false) < 0) {
		if (errno == EEXIST)
			sk_seterr(err, "--auth: user '%.*s' given twice", (int)ul, userpass);
		else
			sk_seterr(err, "--auth: out of memory");
		return -1;
	}
	return 0;
}

static bool crypt64(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '.' || c == '/';
}

static bool all_crypt64(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!crypt64(s[i]))
			return false;
	return true;
}

/* "$2y$NN$" and 53 characters, as crypt(3) writes it: NULL, or what is wrong. */
static const char *bcrypt_problem(const char *h, size_t n)
{
	int cost;

	if (h[2] != 'y' && h[2] != 'b' && h[2] != 'a')
		return "a bcrypt variant other than $2y$, $2b$ and $2a$";
	if (n != 60 || h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$' ||
	    !all_crypt64(h + 7, 53))
		return "a malformed bcrypt hash";
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4)
		return "a bcrypt hash of cost below 4";
	if (cost > SK_AUTH_BCRYPT_MAX)
		return "a bcrypt hash of cost above " STR(
		    SK_AUTH_BCRYPT_MAX) " (each check would block the server for seconds)";
	return NULL;
}

/* "$5$" or "$6$", maybe "rounds=N$", a salt, '$' and the hash: NULL, or what is wrong. */
static const char *sha_problem(const char *h, size_t n)
{
	size_t i = 3, start, hash_len = h[1] == '5' ? 43 : 86;
	unsigned long rounds = 0;

	if (n > 10 && memcmp(h + 3, "rounds=", 7) == 0) {
		for (i = 10; i < n && h[i] >= '0' && h[i] <= '9'; i++)
			if (rounds <= SK_AUTH_ROUNDS_MAX) /* past it, the digits only count */
				rounds = rounds * 10 + (unsigned long)(h[i] - '0');
		if (i == 10 || i == n || h[i] != '$' || h[10] == '0')
			return "a malformed SHA-crypt hash";
		if (rounds < 1000)
			return "a SHA-crypt hash of fewer than 1000 rounds (libcrypt refuses them)";
		if (rounds > SK_AUTH_ROUNDS_MAX)
			return "a SHA-crypt hash of more than " STR(
			    SK_AUTH_ROUNDS_MAX) " rounds (each check would block the server for "
						"seconds)";
		i++;
	}
	for (start = i; i < n && h[i] != '$'; i++)
		if (!crypt64(h[i]))
			return "a malformed SHA-crypt hash";
	if (i == start || i - start > 16 || i == n || n - i - 1 != hash_len ||
	    !all_crypt64(h + i + 1, hash_len))
		return "a malformed SHA-crypt hash";
	return NULL;
}

/* What kind of hash h[0..n) is when the table does not take that kind, else NULL. */
static const char *kind_problem(const char *h, size_t n)
{
	if (n == 0)
		return "an empty hash";
	if (n > SK_AUTH_HASH_MAX)
		return "a hash longer than " STR(SK_AUTH_HASH_MAX) " bytes";
	if (n >= 4 && h[0] == '$' && h[1] == '2' && h[3] == '$')
		return bcrypt_problem(h, n);
	if (n >= 3 && (memcmp(h, "$5$", 3) == 0 || memcmp(h, "$6$", 3) == 0))
		return sha_problem(h, n);
	if (n >= 6 && memcmp(h, "$apr1$", 6) == 0)
		return "an apr1 MD5 hash (htpasswd -m, its default)";
	if (n >= 3 && memcmp(h, "$1$", 3) == 0)
		return "an MD5-crypt hash";
	if (n >= 5 && memcmp(h, "{SHA}", 5) == 0)
		return "a SHA-1 hash (htpasswd -s)";
	if (n == 13 && all_crypt64(h, n))
		return "a DES crypt hash (htpasswd -d) or a plaintext password";
	if (h[0] == '$')
		return "a crypt scheme not supported";
	return "a plaintext password (htpasswd -p) or an unknown hash";
}

/*
 * NULL when the hash h (n bytes, NUL-terminated) is one the table takes;
 * else what it is, for the message. Never quotes the hash: it may be a
 * plaintext password.
 */
static const char *hash_problem(const char *h, size_t n)
{
	const char *p = kind_problem(h, n);
	int c;

	if (p)
		return p;
	c = crypt_checksalt(h); /* Debian's libcrypt calls $5$ legacy; it still checks it */
	if (c != CRYPT_SALT_OK && c != CRYPT_SALT_METHOD_LEGACY)
		return "a hash this system's libcrypt cannot check";
	return NULL;
}

enum line_result { LINE_OK, LINE_EOF, LINE_LONG, LINE_ERROR };

/*
 * Reads a line without its LF into buf (cap bytes, NUL-terminated; NUL
 * bytes read stay inside, counted in *len). The last line needs no LF.
 * LINE_LONG: it does not fit; LINE_ERROR: read failed, errno set.
 */
static enum line_result read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (n + 1 == cap)
			return LINE_LONG;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	*len = n;
	if (c == EOF && ferror(f))
		return LINE_ERROR;
	return c == EOF && n == 0 ? LINE_EOF : LINE_OK;
}

/* Adds the user of an htpasswd line (n bytes, NUL-terminated), or skips a blank or comment line. */
static int load_line(struct sk_auth *a, char *line, size_t n, const char *path, unsigned long ln,
		     char *err)
{
	const char *colon, *why;
	size_t ul, i;

	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == n || line[0] == '#')
		return 0;
	errno = EINVAL;
	if (memchr(line, '\0', n)) {
		sk_seterr(err, "%s:%lu: a NUL byte", path, ln);
		return -1;
	}
	if (!(colon = memchr(line, ':', n))) {
		sk_seterr(err, "%s:%lu: expected user:hash, found no ':'", path, ln);
		return -1;
	}
	ul = (size_t)(colon - line);
	if (bad_user(line, ul)) {
		sk_seterr(err, "%s:%lu: " USER_RULE, path, ln, SK_AUTH_USER_MAX);
		return -1;
	}
	if ((why = hash_problem(colon + 1, n - ul - 1))) {
		sk_seterr(
		    err,
		    "%s:%lu: user '%.*s' has %s; use bcrypt or SHA-crypt (htpasswd -B, -2 or -5)",
		    path, ln, (int)ul, line, why);
		return -1;
	}
	if (add_user(a, line, ul, colon + 1, n - ul - 1, true) < 0) {
		if (errno == EEXIST)
			sk_seterr(err, "%s:%lu: user '%.*s' given twice", path, ln, (int)ul, line);
		else
			sk_seterr(err, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

int sk_auth_load_file(struct sk_auth *a, const char *path, char *err)
{
	char line[HTPASSWD_LINE_MAX + 1], iobuf[BUFSIZ];
	enum line_result r = LINE_OK;
	size_t before = a->n, len;
	unsigned long ln = 0;
	int rc = 0, saved;
	FILE *f = fopen(path, "re");

	if (!f) {
		sk_seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf)); /* ours, so that it can be wiped */
	while (rc == 0 && (r = read_line(f, line, sizeof(line), &len)) == LINE_OK)
		rc = load_line(a, line, len, path, ++ln, err);
	if (rc == 0 && r == LINE_LONG) {
		errno = EINVAL;
		sk_seterr(err, "%s:%lu: a line longer than %d bytes", path, ln + 1,
			  HTPASSWD_LINE_MAX - 1);
		rc = -1;
	} else if (rc == 0 && r == LINE_ERROR) {
		sk_seterr(err, "%s: %s", path, strerror(errno));
		rc = -1;
	} else if (rc == 0 && a->n == before) {
		errno = EINVAL;
		sk_seterr(err, "%s: no users", path);
		rc = -1;
	}
	saved = errno;
	fclose(f);
	explicit_bzero(iobuf, sizeof(iobuf));
	explicit_bzero(line, sizeof(line));
	errno = saved;
	return rc;
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

/*
 * Decodes t[0..n), strict RFC 4648 base64 (padded, canonical), into out
 * (cap bytes). Returns the length, or -1.
 */
static long base64_decode(const char *t, size_t n, unsigned char *out, size_t cap)
{
	size_t i, k, o = 0, pad, total;
	unsigned long w;
	int v;

	if (n == 0 || n % 4)
		return -1;
	pad = t[n - 1] != '=' ? 0 : t[n - 2] != '=' ? 1 : 2;
	total = n / 4 * 3 - pad;
	if (total > cap)
		return -1;
	for (i = 0; i < n; i += 4) {
		for (w = 0, k = 0; k < 4; k++) {
			v = i + k >= n - pad ? 0 : base64_value((unsigned char)t[i + k]);
			if (v < 0)
				return -1;
			w = w << 6 | (unsigned long)v;
		}
		if (w & ((1UL << (8 * pad)) - 1) && i + 4 == n)
			return -1; /* bits the padding leaves unused must be zero */
		for (k = 0; k < 3 && o < total; k++)
			out[o++] = (unsigned char)(w >> (16 - 8 * k));
	}
	return (long)o;
}

/* Finds the token68 of a Basic value: "Basic" in any case, 1*SP, the rest. Returns 0 or -1. */
static int basic_token(const char *v, size_t len, const char **tok, size_t *tlen)
{
	size_t i = 5;

	if (!v || len <= i || strncasecmp(v, "basic", 5) != 0 || v[i] != ' ')
		return -1;
	while (i < len && v[i] == ' ')
		i++;
	*tok = v + i;
	*tlen = len - i;
	return *tlen ? 0 : -1;
}

int sk_auth_parse_basic(const char *v, size_t len, char *user, size_t ulen, char *pass, size_t plen)
{
	unsigned char dec[DECODED_MAX];
	const unsigned char *colon;
	const char *tok;
	size_t tlen, ul, pl;
	long n;
	int rc = -1;

	if (ulen)
		user[0] = '\0';
	if (plen)
		pass[0] = '\0';
	if (basic_token(v, len, &tok, &tlen) < 0 || tlen > TOKEN_MAX ||
	    (n = base64_decode(tok, tlen, dec, sizeof(dec))) < 0)
		return -1;
	colon = memchr(dec, ':', (size_t)n);
	if (colon && colon != dec) {
		ul = (size_t)(colon - dec);
		pl = (size_t)n - ul - 1;
		if (ul < ulen && pl < plen && !has_ctl((const char *)dec, ul) &&
		    !memchr(colon + 1, '\0', pl)) {
			memcpy(user, dec, ul);
			user[ul] = '\0';
			memcpy(pass, colon + 1, pl);
			pass[pl] = '\0';
			rc = 0;
		}
	}
	explicit_bzero(dec, sizeof(dec));
	return rc;
}

/* The user index of the cached token tok[0..tlen) or SIZE_MAX; every entry is compared whole. */
static size_t cache_find(struct sk_auth *a, const char *tok, size_t tlen)
{
	char padded[TOKEN_MAX] = {0};
	size_t i, found = SIZE_MAX;
	struct cached *c;

	memcpy(padded, tok, tlen);
	for (i = 0; i < SK_AUTH_CACHE; i++) {
		c = &a->cache[i];
		if (ct_equal(c->token, padded, sizeof(padded)) & (c->len == tlen) & (c->len != 0)) {
			found = c->user;
			c->used = ++a->clock;
		}
	}
	explicit_bzero(padded, sizeof(padded));
	return found;
}

/* Remembers a successful token in a free slot or the least recently used one. */
static void cache_add(struct sk_auth *a, const char *tok, size_t tlen, size_t user)
{
	struct cached *c = &a->cache[0];
	size_t i;

	for (i = 1; i < SK_AUTH_CACHE && c->len; i++)
		if (!a->cache[i].len || a->cache[i].used < c->used)
			c = &a->cache[i];
	explicit_bzero(c->token, sizeof(c->token));
	memcpy(c->token, tok, tlen);
	c->len = tlen;
	c->user = user;
	c->used = ++a->clock;
}

/* Whether crypt(3) of pass with the setting hash gives hash, compared in constant time. */
static bool crypt_matches(struct sk_auth *a, const char *pass, const char *hash)
{
	char got[SECRET_MAX + 1] = {0};
	const char *out = crypt_rn(pass, hash, &a->cd, sizeof(a->cd));
	size_t n = out ? strnlen(out, sizeof(got)) : sizeof(got);
	bool ok;

	if (n < sizeof(got))
		memcpy(got, out, n);
	ok = ct_equal(got, hash, sizeof(got)) & (n < sizeof(got));
	explicit_bzero(got, sizeof(got));
	explicit_bzero(a->cd.output, sizeof(a->cd.output));
	return ok;
}

/*
 * Checks name and pass (zero-padded buffers of SK_AUTH_USER_MAX + 1 and
 * SECRET_MAX + 1 bytes). Returns the user's index, or SIZE_MAX. An
 * unknown user's password still goes through crypt or a compare.
 */
static size_t verify(struct sk_auth *a, const char *name, const char *pass)
{
	static const struct user plain_dummy;
	const struct user *u;
	size_t i, found = SIZE_MAX;
	bool ok;

	for (i = 0; i < a->n; i++)
		if (ct_equal(a->users[i].name, name, sizeof(a->users[i].name)))
			found = i;
	if (found != SIZE_MAX)
		u = &a->users[found];
	else
		u = a->any_hashed ? &a->users[a->dummy] : &plain_dummy;
	if (u->hashed)
		ok = crypt_matches(a, pass, u->secret);
	else
		ok = ct_equal(u->secret, pass, sizeof(u->secret));
	return (ok && found != SIZE_MAX) ? found : SIZE_MAX;
}

enum sk_auth_result sk_auth_check(struct sk_auth *a, const char *v, size_t len, char *user)
{
	char name[SK_AUTH_USER_MAX + 1] = {0}, pass[SECRET_MAX + 1] = {0};
	const char *tok;
	size_t tlen, found;

	user[0] = '\0';
	if (!v)
		return SK_AUTH_NONE;
	if (basic_token(v, len, &tok, &tlen) < 0 || tlen > TOKEN_MAX)
		return SK_AUTH_BAD;
	found = cache_find(a, tok, tlen);
	if (found == SIZE_MAX &&
	    sk_auth_parse_basic(v, len, name, sizeof(name), pass, SK_AUTH_PASS_MAX + 1) == 0) {
		found = verify(a, name, pass);
		if (found != SIZE_MAX)
			cache_add(a, tok, tlen, found);
	}
	explicit_bzero(pass, sizeof(pass));
	if (found == SIZE_MAX)
		return SK_AUTH_BAD;
	memcpy(user, a->users[found].name, sizeof(a->users[found].name));
	return SK_AUTH_OK;
}
