/*
 * libFuzzer harness: the Authorization parser and check (auth.c) and
 * Accept-Encoding negotiation (encoding.c). The first byte picks the
 * output buffer sizes and the set of siblings; the rest is the input,
 * each time in a buffer of its exact size. Checks more than "no crash":
 *
 * - sk_auth_parse_basic: outputs NUL-terminated inside their buffers, the
 *   user non-empty and free of control bytes, empty outputs on failure,
 *   small buffers never succeeding where large ones fail or differently,
 *   and (strictness) a success only for "Basic" + SP... + exactly the
 *   canonical base64 of "user:pass". The input is also wrapped as the
 *   credentials of a Basic value and must parse exactly when a reference
 *   model of the rules says so, to the same user and password.
 * - sk_auth_check against plain users (cache on) and, for one input in
 *   eight, a SHA-256-crypt user: OK exactly when the credentials are in
 *   the table, the user then copied, and "" otherwise.
 * - sk_enc_choose: a coding of avail or identity; the same with only the
 *   chosen sibling, never the chosen one once it is gone; unchanged by an
 *   extra ',', by upper-casing, or (without quoted strings) by reversing
 *   the order of the elements.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "encoding.h"
#include "json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* htpasswd -nb2 -r 1000 carol 'pw:1' */
#define CAROL "carol:$5$rounds=1000$B.ySZSXh5m0TA2aX$umue9HvZl6Pf8TB9w/orwN1pXfB.c6g30bfADJbExbD\n"

static const char *const plain_users[][2] = {
    {"alice", "secret"}, {"bob", ""}, {"c", "c:c"}, {"d d", "\x01\x7f\xff"}, {"YWxp", "Y2U="}};
static struct sk_auth *plain, *hashed;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_auth.XXXXXX", arg[64], err[SK_ERRLEN];
	size_t i;
	int fd;

	(void)argc;
	(void)argv;
	plain = sk_auth_new();
	hashed = sk_auth_new();
	for (i = 0; i < sizeof(plain_users) / sizeof(plain_users[0]); i++) {
		snprintf(arg, sizeof(arg), "%s:%s", plain_users[i][0], plain_users[i][1]);
		if (sk_auth_add_plain(plain, arg, err) < 0)
			abort();
	}
	fd = mkstemp(path);
	if (fd < 0 || write(fd, CAROL, strlen(CAROL)) != (ssize_t)strlen(CAROL) ||
	    sk_auth_load_file(hashed, path, err) < 0) {
		fprintf(stderr, "fuzz_auth: %s\n", err);
		abort();
	}
	close(fd);
	unlink(path);
	return 0;
}

/* A copy of p[0..n) in a buffer of exactly n bytes. */
static char *exact(const void *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	memcpy(c, p, n);
	return c;
}

/* Whether buf (size bytes) holds a NUL-terminated string of no control bytes (ctl) or any. */
static bool string_in(const char *buf, size_t size, bool ctl_ok)
{
	size_t i;

	for (i = 0; i < size && buf[i]; i++)
		if (!ctl_ok && ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f))
			return false;
	return i < size;
}

/* Parses v[0..n) into buffers of exactly ulen and plen bytes; checks the invariants. */
static int parse(const char *v, size_t n, size_t ulen, size_t plen, char *u_out, char *p_out)
{
	char *user = malloc(ulen ? ulen : 1), *pass = malloc(plen ? plen : 1);
	int rc;

	if (ulen)
		memset(user, 'x', ulen);
	if (plen)
		memset(pass, 'x', plen);
	rc = sk_auth_parse_basic(v, n, user, ulen, pass, plen);
	if (rc == 0 && (!string_in(user, ulen, false) || !user[0] || !string_in(pass, plen, true)))
		abort();
	if (rc < 0 && ((ulen && user[0]) || (plen && pass[0])))
		abort();
	if (rc == 0) {
		strcpy(u_out, user);
		strcpy(p_out, pass);
	}
	free(user);
	free(pass);
	return rc;
}

/* A success must be "Basic" (any case), SP..., and exactly base64(user ":" pass). */
static void check_canonical(const char *v, size_t n, const char *user, const char *pass)
{
	char dec[2 * SK_AUTH_USER_MAX + 8], enc[SK_BASE64_LEN(sizeof(dec))];
	size_t i = 5, dl, el;

	if (n < 6 || strncasecmp(v, "basic ", 6) != 0)
		abort();
	while (i < n && v[i] == ' ')
		i++;
	dl = (size_t)snprintf(dec, sizeof(dec), "%s:%s", user, pass);
	el = sk_base64((const unsigned char *)dec, dl, enc);
	if (el != n - i || memcmp(enc, v + i, el) != 0)
		abort();
}

static void check_parse(const char *v, size_t n, unsigned sel)
{
	char u1[SK_AUTH_USER_MAX + 1], p1[SK_AUTH_PASS_MAX + 1];
	char u2[SK_AUTH_USER_MAX + 1], p2[SK_AUTH_PASS_MAX + 1];
	size_t ulen = sel & 8 ? sel % 8 : sizeof(u1), plen = sel & 16 ? (sel >> 5) : sizeof(p1);
	int full = parse(v, n, sizeof(u1), sizeof(p1), u1, p1);
	int small = parse(v, n, ulen, plen, u2, p2);

	if (small == 0 && (full < 0 || strcmp(u1, u2) || strcmp(p1, p2)))
		abort();
	if (full == 0)
		check_canonical(v, n, u1, p1);
}

/* The rules, said another way: does the decoded credentials c[0..n) make a good value? */
static bool model_ok(const char *c, size_t n)
{
	const char *colon = memchr(c, ':', n);
	size_t ul, i;

	if (!colon || colon == c)
		return false;
	ul = (size_t)(colon - c);
	if (ul > SK_AUTH_USER_MAX || n - ul - 1 > SK_AUTH_PASS_MAX || memchr(colon, '\0', n - ul))
		return false;
	for (i = 0; i < ul; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
			return false;
	return true;
}

/* The input as credentials: "bAsIc" SP... base64(c). Returns the value's length. */
static size_t wrap(const char *c, size_t n, unsigned sel, char *out)
{
	size_t spaces = 1 + sel % 3;

	memcpy(out, sel & 4 ? "bAsIc" : "Basic", 5);
	memset(out + 5, ' ', spaces);
	return 5 + spaces + sk_base64((const unsigned char *)c, n, out + 5 + spaces);
}

static void check_wrapped(const char *c, size_t n, unsigned sel)
{
	char u[SK_AUTH_USER_MAX + 1], p[SK_AUTH_PASS_MAX + 1], *v, *buf;
	size_t vl;
	bool ok;

	if (n > 4 * SK_AUTH_USER_MAX)
		return;
	buf = malloc(SK_BASE64_LEN(n) + 16);
	vl = wrap(c, n, sel, buf);
	v = exact(buf, vl);
	ok = parse(v, vl, sizeof(u), sizeof(p), u, p) == 0;
	if (ok != model_ok(c, n))
		abort();
	if (ok && (strlen(u) + 1 + strlen(p) != n || memcmp(u, c, strlen(u)) != 0 ||
		   c[strlen(u)] != ':' || memcmp(p, c + strlen(u) + 1, strlen(p)) != 0))
		abort();
	free(v);
	free(buf);
}

/* Whether v[0..n) parses to credentials the table holds (plain users, or carol). */
static bool in_table(const char *v, size_t n, bool carol, char *user)
{
	char pass[SK_AUTH_PASS_MAX + 1];
	size_t i;

	if (sk_auth_parse_basic(v, n, user, SK_AUTH_USER_MAX + 1, pass, sizeof(pass)) < 0)
		return false;
	if (carol)
		return strcmp(user, "carol") == 0 && strcmp(pass, "pw:1") == 0;
	for (i = 0; i < sizeof(plain_users) / sizeof(plain_users[0]); i++)
		if (strcmp(user, plain_users[i][0]) == 0 && strcmp(pass, plain_users[i][1]) == 0)
			return true;
	return false;
}

static void check_auth(struct sk_auth *a, bool carol, const char *v, size_t n)
{
	char user[SK_AUTH_USER_MAX + 1], want[SK_AUTH_USER_MAX + 1];
	enum sk_auth_result r = sk_auth_check(a, v, n, user);
	bool known = in_table(v, n, carol, want);

	if (!string_in(user, sizeof(user), false) || r == SK_AUTH_NONE)
		abort();
	if ((r == SK_AUTH_OK) != known || (known && strcmp(user, want) != 0) || (!known && user[0]))
		abort();
}

/* The plain table's users, for inputs that reach the cache. */
static void check_auth_all(const char *c, size_t n, unsigned sel)
{
	char buf[2048], *v;
	size_t vl;

	check_auth(plain, false, c, n);
	if (n <= 1024) {
		vl = wrap(c, n, sel, buf);
		v = exact(buf, vl);
		check_auth(plain, false, v, vl);
		if (sel % 8 == 0)
			check_auth(hashed, true, v, vl);
		free(v);
	}
}

static enum sk_enc choose(const char *v, size_t n, unsigned avail)
{
	char *c = exact(v, n);
	enum sk_enc e = sk_enc_choose(c, n, avail);

	free(c);
	return e;
}

/* v[0..n) with its ','-separated elements in reverse order, into out (n bytes). */
static void reverse_elements(const char *v, size_t n, char *out)
{
	size_t end = n, start, o = 0;

	for (;;) {
		for (start = end; start > 0 && v[start - 1] != ','; start--)
			;
		memcpy(out + o, v + start, end - start);
		o += end - start;
		if (start == 0)
			break;
		out[o++] = ',';
		end = start - 1;
	}
}

static void check_enc(const char *v, size_t n, unsigned avail)
{
	enum sk_enc e = choose(v, n, avail);
	char *more;
	size_t i;

	if (e != SK_ENC_IDENTITY && (e & ~SK_ENC_ALL || !(avail & e) || (e & (e - 1))))
		abort();
	if (sk_enc_name(e)[0] == '\0' || !sk_enc_suffix(e))
		abort();
	if (e != SK_ENC_IDENTITY &&
	    (choose(v, n, e) != e || choose(v, n, avail & ~(unsigned)e) == e))
		abort();
	more = malloc(n + 1);
	memcpy(more, v, n);
	more[n] = ',';
	if (choose(more, n + 1, avail) != e)
		abort();
	for (i = 0; i < n; i++)
		more[i] = (char)toupper((unsigned char)more[i]);
	if (choose(more, n, avail) != e)
		abort();
	if (!memchr(v, '"', n)) { /* the order of elements does not matter */
		reverse_elements(v, n, more);
		if (choose(more, n, avail) != e)
			abort();
	}
	free(more);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;
	char *v;
	size_t n;

	if (size == 0)
		return 0;
	sel = data[0];
	n = size - 1;
	v = exact(data + 1, n);
	check_parse(v, n, sel);
	check_wrapped(v, n, sel);
	check_auth_all(v, n, sel);
	check_enc(v, n, sel & 0x1f);
	if (sk_enc_choose(NULL, 0, sel) != SK_ENC_IDENTITY)
		abort();
	free(v);
	return 0;
}
