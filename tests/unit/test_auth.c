/*
 * Unit tests of lib/http/auth.c: the strict Authorization parser; --auth
 * USER:PASS; htpasswd files written by the real htpasswd (hashes embedded
 * below, and fresh ones when htpasswd is installed) with the right
 * passwords passing and wrong ones failing; every refused file, with an
 * error that names the line and never holds the secret; the success cache
 * and its eviction, and that an unknown user costs a crypt like a known
 * one. Every value is handed over in a buffer of its exact size, so a read
 * past it shows under ASan.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"
#include "json.h"

/*
 * Made by apache2-utils 2.4 htpasswd, each by the command beside it; the
 * $2b$ and $2a$ lines by Python's crypt module (htpasswd writes $2y$ only).
 */
#define ALICE "alice:$2y$04$YYLZ7.Wk.9nSc8dAN4P0yuWr4XBqMMCIHyoW3vJoN5Kp5c9FI4z2G"
/* htpasswd -nbB -C 4 alice 'correct horse' */
#define BOB "bob:$2y$08$IXhg34lD0OMnRhlcKroiWe96t9IrtlndqYFKzQ/Mbwjq6yoomT3va"
/* htpasswd -nbB -C 8 bob 's3cret:with:colons' */
#define CAROL "carol:$5$WMVSu2ZNzKJN4gFa$dEEqDJqZwQYGAoPH296mG4WBZin4jKEV8O8693chrS1"
/* htpasswd -nb2 carol 'pässwörd' (UTF-8) */
#define DAVE                                                                                       \
	"dave:$6$UGC2AdgXkidClMNP$yLNbE0VR2lt5Z53lIOyicxznIU1Wx/MgH6e7/3AOwyj3OvGLeaO3i2D6SoDseuq" \
	"288iK22uzaXQFk0Kj3yldf/"
/* htpasswd -nb5 dave hunter2 */
#define ERIN                                                                                       \
	"erin:$6$rounds=10000$d1l1ZEn2rsr/B2ny$HHH6bgaxFfxBTufH7Oy4OjDO.XosV.9Krw25CTUq/"          \
	"BAsvCS7J9MyzGvmrVu8MX1nlx1HX/S6RDZ5jMrnUh3Y00"
/* htpasswd -nb5 -r 10000 erin ' spaced out ' */
#define JACK "jack:$5$rounds=1000$bAphArQE1vDe4DD8$NXTj5CKZseQJfDDSx2nSJ/w6Y3VaoCqIx/v9D9Fl3C8"
/* htpasswd -nb2 -r 1000 jack '' */
#define FRANK "frank:$2b$04$tnSZrkb7fcY1M6QNjj05Mel.MQ./BtqNQwmYQqSAQOsVhhSq8A0IG"
/* crypt.crypt("b-variant", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)) */
#define GINA "gina:$2a$04$abcdefghijklmnopqrstuusQB6OlxgA2ybcjuwuJs97cn4yXCSvmK"
/* crypt.crypt("a-variant", "$2a$04$abcdefghijklmnopqrstuu") */

static char dir[] = "/tmp/sockctl-unit-auth.XXXXXX";

/* Writes text to dir/name; returns the path (one of a few static buffers). */
static const char *fixture(const char *name, const char *text, size_t n)
{
	static char paths[4][256];
	static int next;
	char *path = paths[next++ % 4];
	FILE *f;

	snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0)
		fprintf(stderr, "cannot write %s\n", path);
	return path;
}

/* "Basic " and the base64 of userpass[0..n), in out. */
static char *basic_n(const char *userpass, size_t n, char *out)
{
	memcpy(out, "Basic ", 6);
	out[6 + sk_base64((const unsigned char *)userpass, n, out + 6)] = '\0';
	return out;
}

static char *basic(const char *userpass, char *out)
{
	return basic_n(userpass, strlen(userpass), out);
}

/* sk_auth_parse_basic on a copy of v in a buffer of its exact size. */
static int parse(const char *v, char *user, size_t ulen, char *pass, size_t plen)
{
	size_t n = strlen(v);
	char *copy = malloc(n ? n : 1);
	int rc;

	memcpy(copy, v, n);
	rc = sk_auth_parse_basic(copy, n, user, ulen, pass, plen);
	free(copy);
	return rc;
}

static bool parse_ok(const char *v, const char *want_user, const char *want_pass)
{
	char user[SK_AUTH_USER_MAX + 1], pass[SK_AUTH_PASS_MAX + 1];

	if (parse(v, user, sizeof(user), pass, sizeof(pass)) < 0) {
		fprintf(stderr, "refused: %s\n", v);
		return false;
	}
	return strcmp(user, want_user) == 0 && strcmp(pass, want_pass) == 0;
}

static bool parse_bad(const char *v)
{
	char user[SK_AUTH_USER_MAX + 1] = "x", pass[SK_AUTH_PASS_MAX + 1] = "x";

	if (parse(v, user, sizeof(user), pass, sizeof(pass)) == 0) {
		fprintf(stderr, "accepted: %s\n", v);
		return false;
	}
	return user[0] == '\0' && pass[0] == '\0';
}

/* A Basic value of n bytes "user:pass" given whole, for user and pass of any bytes. */
static bool parse_raw_bad(const char *userpass, size_t n)
{
	char v[2048];

	return parse_bad(basic_n(userpass, n, v));
}

static void test_parse(void)
{
	char v[2048], user[8], pass[8], big[600];

	CHECK(parse_ok("Basic YWxpY2U6c2VjcmV0", "alice", "secret"));
	CHECK(parse_ok("basic YWxpY2U6c2VjcmV0", "alice", "secret"));
	CHECK(parse_ok("BASIC YWxpY2U6c2VjcmV0", "alice", "secret"));
	CHECK(parse_ok("bAsIc    YWxpY2U6c2VjcmV0", "alice", "secret"));
	CHECK(parse_ok(basic("a:b:c", v), "a", "b:c"));
	CHECK(parse_ok(basic("alice:", v), "alice", ""));
	CHECK(parse_ok(basic("al ice:pa ss", v), "al ice", "pa ss"));
	CHECK(parse_ok(basic("a:\tp\x01", v), "a", "\tp\x01")); /* the password is opaque */
	CHECK(parse_ok(basic("j\xc3\xbcrgen:p\xc3\xa4ss", v), "j\xc3\xbcrgen", "p\xc3\xa4ss"));
	CHECK(parse_ok(basic("ab:c", v), "ab", "c"));	  /* "YWI6Yw==": two pads */
	CHECK(parse_ok(basic("ab:cd", v), "ab", "cd"));	  /* one pad */
	CHECK(parse_ok(basic("ab:cde", v), "ab", "cde")); /* none */

	/* The scheme and the space. */
	CHECK(parse_bad(""));
	CHECK(parse_bad("Basic"));
	CHECK(parse_bad("Basic "));
	CHECK(parse_bad("Basic    "));
	CHECK(parse_bad("BasicYWxpY2U6c2VjcmV0"));
	CHECK(parse_bad("Basic\tYWxpY2U6c2VjcmV0"));
	CHECK(parse_bad(" Basic YWxpY2U6c2VjcmV0"));
	CHECK(parse_bad("Basi YWxpY2U6c2VjcmV0"));
	CHECK(parse_bad("Basics YWxpY2U6c2VjcmV0"));
	CHECK(parse_bad("Bearer YWxpY2U6c2VjcmV0"));
	CHECK(parse_bad("Digest username=\"alice\""));
	/* Strict base64. */
	CHECK(parse_bad("Basic YWxpY2U6c2VjcmV0 "));
	CHECK(parse_bad("Basic YWxpY2U6c2VjcmV0\t"));
	CHECK(parse_bad("Basic YWxpY2U6 c2VjcmV0"));
	CHECK(parse_bad("Basic YWI6Yw"));    /* unpadded */
	CHECK(parse_bad("Basic YWI6Yw="));   /* short padding */
	CHECK(parse_bad("Basic YWI6Yw===")); /* too much */
	CHECK(parse_bad("Basic YWI6Y==="));  /* three pads */
	CHECK(parse_bad("Basic YWI6Yx=="));  /* unused bits set */
	CHECK(parse_bad("Basic YWI6Y2R="));  /* "ab:cd" is YWI6Y2Q= */
	CHECK(parse_bad("Basic YW=6Yw=="));  /* a pad inside */
	CHECK(parse_bad("Basic ===="));
	CHECK(parse_bad("Basic YWI6Yw==YWI6Yw=="));
	CHECK(parse_bad("Basic YWI6-w==")); /* base64url */
	CHECK(parse_bad("Basic YWI6_w=="));
	CHECK(parse_bad("Basic YWI6\x80w=="));
	CHECK(parse_ok("Basic YWI6Yw==", "ab", "c"));
	/* What the base64 holds. */
	CHECK(parse_bad(basic("alice", v)));
	CHECK(parse_bad(basic(":secret", v)));
	CHECK(parse_bad(basic(":", v)));
	CHECK(parse_bad(basic("al\x01ice:secret", v)));
	CHECK(parse_bad(basic("al\x7fice:secret", v)));
	CHECK(parse_bad(basic("alice\r\n:secret", v)));
	CHECK(parse_raw_bad("al\0ice:secret", 13));
	CHECK(parse_raw_bad("alice:sec\0ret", 13));
	CHECK(parse_raw_bad("alice:secret\0", 13));

	/* Sizes: what fits the caller's buffers, and what does not. */
	CHECK(parse(basic("1234567:1234567", v), user, 8, pass, 8) == 0 &&
	      strcmp(user, "1234567") == 0 && strcmp(pass, "1234567") == 0);
	CHECK(parse(basic("12345678:1", v), user, 8, pass, 8) < 0 && !user[0] && !pass[0]);
	CHECK(parse(basic("1:12345678", v), user, 8, pass, 8) < 0 && !user[0] && !pass[0]);
	CHECK(parse(basic("1:", v), user, 8, pass, 1) == 0 && !pass[0]);
	CHECK(parse(basic("1:2", v), user, 8, pass, 1) < 0);
	CHECK(parse(basic("1:2", v), user, 0, pass, 0) < 0);
	memset(big, 'u', SK_AUTH_USER_MAX);
	big[SK_AUTH_USER_MAX] = ':';
	memset(big + SK_AUTH_USER_MAX + 1, 'p', SK_AUTH_PASS_MAX);
	big[SK_AUTH_USER_MAX + 1 + SK_AUTH_PASS_MAX] = '\0';
	CHECK(parse(basic(big, v), user, 8, pass, 8) < 0);
	{
		char u[SK_AUTH_USER_MAX + 1], p[SK_AUTH_PASS_MAX + 1];

		CHECK(parse(basic(big, v), u, sizeof(u), p, sizeof(p)) == 0 &&
		      strlen(u) == SK_AUTH_USER_MAX && strlen(p) == SK_AUTH_PASS_MAX);
		strcat(big, "p"); /* past the longest token there is room for */
		CHECK(parse(basic(big, v), u, sizeof(u), p, 4096) < 0);
	}
}

static bool plain_bad(struct sk_auth *a, const char *arg, const char *want, int want_errno,
		      const char *secret)
{
	char err[SK_ERRLEN] = "";

	errno = 0;
	if (sk_auth_add_plain(a, arg, err) == 0) {
		fprintf(stderr, "--auth %s accepted\n", arg);
		return false;
	}
	if (!strstr(err, want) || errno != want_errno || (secret && strstr(err, secret))) {
		fprintf(stderr, "--auth %s: '%s' (errno %d)\n", arg, err, errno);
		return false;
	}
	return true;
}

/* sk_auth_check on a copy of "Basic base64(userpass)" in a buffer of its exact size. */
static enum sk_auth_result check_n(struct sk_auth *a, const char *userpass, size_t n, char *user)
{
	char v[2048], *copy;
	size_t len = strlen(basic_n(userpass, n, v));
	enum sk_auth_result r;

	copy = malloc(len);
	memcpy(copy, v, len);
	r = sk_auth_check(a, copy, len, user);
	free(copy);
	return r;
}

static enum sk_auth_result check(struct sk_auth *a, const char *userpass, char *user)
{
	return check_n(a, userpass, strlen(userpass), user);
}

static bool ok_as(struct sk_auth *a, const char *userpass, const char *want_user)
{
	char user[SK_AUTH_USER_MAX + 1];

	return check(a, userpass, user) == SK_AUTH_OK && strcmp(user, want_user) == 0;
}

static bool refused(struct sk_auth *a, const char *userpass)
{
	char user[SK_AUTH_USER_MAX + 1] = "x";

	return check(a, userpass, user) == SK_AUTH_BAD && user[0] == '\0';
}

static void test_plain(void)
{
	struct sk_auth *a = sk_auth_new();
	char err[SK_ERRLEN], user[SK_AUTH_USER_MAX + 1] = "x", arg[600];

	CHECK(a != NULL);
	CHECK(sk_auth_add_plain(a, "alice:s3cret", err) == 0);
	CHECK(sk_auth_add_plain(a, "bob:pa:ss:", err) == 0);
	CHECK(sk_auth_add_plain(a, "carol:", err) == 0);
	CHECK(plain_bad(a, "Tr0ub4dor&3", "expected USER:PASS", EINVAL, "Tr0ub4dor"));
	CHECK(plain_bad(a, ":Tr0ub4dor&3", "user name must be 1 to 255 bytes", EINVAL, "Tr0ub"));
	CHECK(plain_bad(a, "a\tb:Tr0ub4dor&3", "without control bytes", EINVAL, "Tr0ub"));
	CHECK(plain_bad(a, "a\x7f:Tr0ub4dor&3", "without control bytes", EINVAL, "Tr0ub"));
	CHECK(plain_bad(a, "alice :Tr0ub4dor&3", "a space at either end", EINVAL, "Tr0ub"));
	CHECK(plain_bad(a, " alice:Tr0ub4dor&3", "a space at either end", EINVAL, "Tr0ub"));
	CHECK(sk_auth_add_plain(a, "a b:pw", err) == 0); /* a space inside is fine */
	CHECK(plain_bad(a, "alice:Tr0ub4dor&3", "user 'alice' given twice", EEXIST, "Tr0ub"));
	memset(arg, 'u', 256);
	strcpy(arg + 256, ":pw");
	CHECK(plain_bad(a, arg, "user name must be 1 to 255 bytes", EINVAL, NULL));
	strcpy(arg + 255, ":pw");
	CHECK(sk_auth_add_plain(a, arg, err) == 0);
	memset(arg, 'p', 300);
	memcpy(arg, "dave:", 5);
	arg[5 + 256] = '\0';
	CHECK(plain_bad(a, arg, "password is longer than 255 bytes", EINVAL, "pppp"));
	arg[5 + 255] = '\0';
	CHECK(sk_auth_add_plain(a, arg, err) == 0);
	CHECK(ok_as(a, arg, "dave"));

	CHECK(sk_auth_check(a, NULL, 0, user) == SK_AUTH_NONE && user[0] == '\0');
	CHECK(ok_as(a, "alice:s3cret", "alice"));
	CHECK(ok_as(a, "alice:s3cret", "alice")); /* from the cache */
	CHECK(ok_as(a, "bob:pa:ss:", "bob"));
	CHECK(ok_as(a, "carol:", "carol"));
	CHECK(refused(a, "alice:s3cre"));
	CHECK(refused(a, "alice:s3cret "));
	CHECK(refused(a, "alice:s3cret\x01"));
	CHECK(refused(a, "alice:S3cret"));
	CHECK(refused(a, "Alice:s3cret"));
	CHECK(refused(a, "alice:"));
	CHECK(refused(a, "carol:x"));
	CHECK(refused(a, "bob:pa:ss"));
	CHECK(refused(a, "nobody:s3cret"));
	CHECK(refused(a, "nobody:"));
	CHECK(sk_auth_check(a, "Basic YWxpY2U6czNjcmV0", 21, user) == SK_AUTH_BAD); /* cut short */
	CHECK(sk_auth_check(a, "Bearer YWxpY2U6czNjcmV0", 23, user) == SK_AUTH_BAD);
	CHECK(sk_auth_check(a, "Basic YWxpY2U6czNjcmV0", 22, user) == SK_AUTH_OK);
	CHECK(sk_auth_check(a, "basic  YWxpY2U6czNjcmV0", 23, user) == SK_AUTH_OK);
	CHECK(sk_auth_check(a, "", 0, user) == SK_AUTH_BAD && user[0] == '\0');
	sk_auth_free(a);
	sk_auth_free(NULL);
}

/* Loads text as a file; checks -1, errno, and that err names path:line, has want, lacks secret. */
static bool load_bad(const char *text, const char *where, const char *want, int want_errno,
		     const char *secret)
{
	struct sk_auth *a = sk_auth_new();
	const char *path = fixture("bad", text, strlen(text));
	char err[SK_ERRLEN] = "", at[300];
	bool ok;

	snprintf(at, sizeof(at), "%s%s", path, where);
	errno = 0;
	ok = sk_auth_load_file(a, path, err) < 0 && errno == want_errno &&
	     strncmp(err, at, strlen(at)) == 0 && strstr(err, want) &&
	     (!secret || !strstr(err, secret));
	if (!ok)
		fprintf(stderr, "file '%s': '%s' (errno %d)\n", text, err, errno);
	sk_auth_free(a);
	return ok;
}

static void test_file_refused(void)
{
	char text[1200], err[SK_ERRLEN];
	struct sk_auth *a;
	const char *path;

	CHECK(load_bad("frank:$apr1$Y2MydTQT$98IeuRZJTOb3vYEkd3P0B/\n",
		       ":1:", "user 'frank' has an apr1 MD5 hash (htpasswd -m", EINVAL, "98IeuRZ"));
	CHECK(load_bad("# c\n\ngina:{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=\n",
		       ":3:", "user 'gina' has a SHA-1 hash (htpasswd -s)", EINVAL, "2PRZAyD"));
	CHECK(load_bad("hank:GcAsrqOKECRgs\n", ":1:", "a DES crypt hash (htpasswd -d)", EINVAL,
		       "GcAsrq"));
	CHECK(load_bad(ALICE "\nivy:Tr0ub4dor&3\n", ":2:", "a plaintext password (htpasswd -p)",
		       EINVAL, "Tr0ub4dor"));
	CHECK(load_bad("ivy:$Tr0ub4dor&3\n", ":1:", "a crypt scheme not supported", EINVAL,
		       "Tr0ub4dor"));
	CHECK(load_bad("ivy:$1$abcdefgh$Tr0ub4dor3abcdefghijkl\n", ":1:", "an MD5-crypt hash",
		       EINVAL, "Tr0ub4dor"));
	CHECK(load_bad("ivy:$2x$05$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQyu\n",
		       ":1:", "a bcrypt variant other than", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2$05$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQyu\n",
		       ":1:", "a crypt scheme not supported", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2y$03$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQyu\n",
		       ":1:", "cost below 4", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2y$18$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQyu\n",
		       ":1:", "cost above 17", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2y$05$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQy\n",
		       ":1:", "a malformed bcrypt hash", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2y$05$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQyu \n",
		       ":1:", "a malformed bcrypt hash", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2y$5$$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQyu\n",
		       ":1:", "a malformed bcrypt hash", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$2y$05$3QuLlwglK06FRlYPQark.eOe3DSpyW7WlH4UZj6RQejXIbQxZfQy:\n",
		       ":1:", "a malformed bcrypt hash", EINVAL, "3QuLl"));
	CHECK(load_bad("ivy:$5$rounds=999$bAphArQE1vDe4DD8$NXTj5CKZseQJfDDSx2nSJ/"
		       "w6Y3VaoCqIx/v9D9Fl3C8\n",
		       ":1:", "fewer than 1000 rounds", EINVAL, "bAphAr"));
	CHECK(load_bad("ivy:$5$rounds=01000$bAphArQE1vDe4DD8$NXTj5CKZseQJfDDSx2nSJ/"
		       "w6Y3VaoCqIx/v9D9Fl3C8\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "bAphAr"));
	CHECK(load_bad("ivy:$5$rounds=20000001$bAphArQE1vDe4DD8$NXTj5CKZseQJfDDSx2nSJ/"
		       "w6Y3VaoCqIx/v9D9Fl3C8\n",
		       ":1:", "more than 20000000 rounds", EINVAL, "bAphAr"));
	CHECK(
	    load_bad("ivy:$5$rounds=99999999999999999999999$bAphArQE1vDe4DD8$NXTj5CKZseQJfDDSx2nSJ/"
		     "w6Y3VaoCqIx/v9D9Fl3C8\n",
		     ":1:", "more than 20000000 rounds", EINVAL, "bAphAr"));
	CHECK(load_bad("ivy:$5$rounds=$bAphArQE1vDe4DD8$NXTj5CKZseQJfDDSx2nSJ/"
		       "w6Y3VaoCqIx/v9D9Fl3C8\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "bAphAr"));
	CHECK(load_bad("ivy:$5$WMVSu2ZNzKJN4gFa$dEEqDJqZwQYGAoPH296mG4WBZin4jKEV8O8693chrS\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "WMVSu2"));
	CHECK(load_bad("ivy:$6$WMVSu2ZNzKJN4gFa$dEEqDJqZwQYGAoPH296mG4WBZin4jKEV8O8693chrS1\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "WMVSu2"));
	CHECK(load_bad("ivy:$5$$dEEqDJqZwQYGAoPH296mG4WBZin4jKEV8O8693chrS1\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "dEEqDJ"));
	CHECK(load_bad("ivy:$5$WMVSu2ZNzKJN4gFaX$dEEqDJqZwQYGAoPH296mG4WBZin4jKEV8O8693chrS1\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "WMVSu2")); /* 17-byte salt */
	CHECK(load_bad("ivy:$5$WMVSu2Z*zKJN4gFa$dEEqDJqZwQYGAoPH296mG4WBZin4jKEV8O8693chrS1\n",
		       ":1:", "a malformed SHA-crypt hash", EINVAL, "WMVSu2"));
	CHECK(load_bad("ivy:\n", ":1:", "an empty hash", EINVAL, NULL));
	CHECK(load_bad("Tr0ub4dor&3\n", ":1:", "expected user:hash, found no ':'", EINVAL,
		       "Tr0ub4dor"));
	CHECK(load_bad(ALICE "\n:$2y$04$YYLZ7.Wk.9nSc8dAN4P0yuWr4XBqMMCIHyoW3vJoN5Kp5c9FI4z2G\n",
		       ":2:", "user name must be 1 to 255 bytes", EINVAL, "YYLZ7"));
	CHECK(load_bad(" " ALICE "\n", ":1:", "a space at either end", EINVAL, NULL));
	CHECK(load_bad("alice :x\n", ":1:", "a space at either end", EINVAL, NULL));
	CHECK(load_bad("al\x01ice:x\n", ":1:", "without control bytes", EINVAL, NULL));
	CHECK(load_bad(ALICE "\n" CAROL "\n" ALICE "\n", ":3:", "user 'alice' given twice", EEXIST,
		       "YYLZ7"));
	CHECK(load_bad(ALICE "\r\r\n", ":1:", "a malformed bcrypt hash", EINVAL, "YYLZ7"));
	CHECK(load_bad("", "", ": no users", EINVAL, NULL));
	CHECK(load_bad("# only\n\n  \n\t\r\n", "", ": no users", EINVAL, NULL));
	memset(text, 'u', 1100);
	text[1100] = '\0';
	CHECK(load_bad(text, ":1:", "a line longer than", EINVAL, NULL));
	snprintf(text, sizeof(text), "ivy:$2y$04$%0300d\n", 0);
	CHECK(load_bad(text, ":1:", "a hash longer than 255 bytes", EINVAL, NULL));

	a = sk_auth_new();
	CHECK(sk_auth_load_file(a, fixture("nul", ALICE "\0x\n", sizeof(ALICE) + 2), err) < 0 &&
	      strstr(err, ":1: a NUL byte") && errno == EINVAL);
	errno = 0;
	snprintf(text, sizeof(text), "%s/missing", dir);
	CHECK(sk_auth_load_file(a, text, err) < 0 && errno == ENOENT &&
	      strstr(err, "missing: No such file or directory"));
	CHECK(sk_auth_load_file(a, dir, err) < 0 && errno == EISDIR && strstr(err, dir) &&
	      strstr(err, "Is a directory"));
	if (geteuid() != 0) { /* root reads it all the same */
		path = fixture("unreadable", ALICE "\n", strlen(ALICE) + 1);
		CHECK(chmod(path, 0) == 0);
		CHECK(sk_auth_load_file(a, path, err) < 0 && errno == EACCES &&
		      strstr(err, "Permission denied"));
	}
	/* A user of --auth is in the table too. */
	CHECK(sk_auth_add_plain(a, "alice:pw", err) == 0);
	CHECK(sk_auth_load_file(a, fixture("dup", ALICE "\n", strlen(ALICE) + 1), err) < 0 &&
	      errno == EEXIST && strstr(err, ":1: user 'alice' given twice"));
	sk_auth_free(a);
}

static void test_file(void)
{
	static const char text[] = "# made by htpasswd\n" ALICE "\n\n" BOB "\r\n   \n" CAROL
				   "\n" DAVE "\n#" FRANK "\n" ERIN "\n" JACK "\n" FRANK "\n" GINA;
	struct sk_auth *a = sk_auth_new();
	char err[SK_ERRLEN] = "";

	CHECK(sk_auth_load_file(a, fixture("htpasswd", text, strlen(text)), err) == 0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CHECK(ok_as(a, "alice:correct horse", "alice"));
	CHECK(ok_as(a, "bob:s3cret:with:colons", "bob"));
	CHECK(ok_as(a, "carol:p\xc3\xa4ssw\xc3\xb6rd", "carol"));
	CHECK(ok_as(a, "dave:hunter2", "dave"));
	CHECK(ok_as(a, "erin: spaced out ", "erin"));
	CHECK(ok_as(a, "jack:", "jack"));
	CHECK(ok_as(a, "frank:b-variant", "frank"));
	CHECK(ok_as(a, "gina:a-variant", "gina"));
	CHECK(ok_as(a, "alice:correct horse", "alice"));
	CHECK(refused(a, "alice:correct horsE"));
	CHECK(refused(a, "alice:correct horse "));
	CHECK(refused(a, "alice:"));
	CHECK(refused(a, "bob:s3cret"));
	CHECK(refused(a, "carol:passwoerd"));
	CHECK(refused(a, "carol:p\xe4ssw\xf6rd")); /* the same in Latin-1 */
	CHECK(refused(a, "dave:hunter3"));
	CHECK(refused(a, "erin:spaced out"));
	CHECK(refused(a, "jack:x"));
	CHECK(refused(a, "frank:a-variant"));
	CHECK(refused(a, "gina:b-variant"));
	CHECK(refused(a, "Alice:correct horse"));
	CHECK(refused(a, "mallory:correct horse"));
	CHECK(refused(a, "mallory:"));
	/* The plain form next to hashes. */
	CHECK(sk_auth_add_plain(a, "zed:plain pw", err) == 0);
	CHECK(ok_as(a, "zed:plain pw", "zed"));
	CHECK(refused(a, "zed:$2y$04$YYLZ7.Wk.9nSc8dAN4P0yuWr4XBqMMCIHyoW3vJoN5Kp5c9FI4z2G"));
	CHECK(refused(a, "alice:$2y$04$YYLZ7.Wk.9nSc8dAN4P0yuWr4XBqMMCIHyoW3vJoN5Kp5c9FI4z2G"));
	sk_auth_free(a);
}

/*
 * With htpasswd installed (apache2-utils), fresh hashes of each kind and
 * random salt: the right password passes, a wrong one fails.
 */
static void test_live_htpasswd(void)
{
	static const char *const flags[] = {"-B -C 4", "-2", "-5", "-5 -r 2000"};
	char cmd[256], line[512], err[SK_ERRLEN], up[64], name[16];
	struct sk_auth *a;
	size_t i;
	FILE *p;

	if (system("htpasswd -nbB x y >/dev/null 2>&1") != 0) {
		fprintf(stderr,
			"unit auth: no htpasswd here (apache2-utils); live hashes skipped\n");
		return;
	}
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		snprintf(cmd, sizeof(cmd), "htpasswd -nb %s 'u%zu' 'pw %zu:x' 2>/dev/null",
			 flags[i], i, i);
		p = popen(cmd, "r");
		line[0] = '\0';
		CHECK(p && fgets(line, sizeof(line), p) && pclose(p) == 0);
		a = sk_auth_new();
		CHECK(sk_auth_load_file(a, fixture("live", line, strlen(line)), err) == 0);
		snprintf(name, sizeof(name), "u%zu", i);
		snprintf(up, sizeof(up), "u%zu:pw %zu:x", i, i);
		CHECK(ok_as(a, up, name));
		snprintf(up, sizeof(up), "u%zu:pw %zu:X", i, i);
		CHECK(refused(a, up));
		sk_auth_free(a);
	}
}

/* CPU time of this thread, in ms: what a check costs, whatever else the machine runs. */
static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* How long a check of userpass takes, in ms; its result must be want. */
static double timed(struct sk_auth *a, const char *userpass, enum sk_auth_result want)
{
	char user[SK_AUTH_USER_MAX + 1];
	double t = now_ms();

	CHECK(check(a, userpass, user) == want);
	return now_ms() - t;
}

/* User p<i>, password pw<i>, passes. */
static bool plain_ok(struct sk_auth *a, int i)
{
	char up[32], name[16];

	snprintf(up, sizeof(up), "p%d:pw%d", i, i);
	snprintf(name, sizeof(name), "p%d", i);
	return ok_as(a, up, name);
}

/* The least time of three checks of userpass, in ms: noise (caches, frequency) only adds. */
static double fastest(struct sk_auth *a, const char *userpass, enum sk_auth_result want)
{
	double t, best = timed(a, userpass, want);
	int i;

	for (i = 0; i < 2; i++)
		if ((t = timed(a, userpass, want)) < best)
			best = t;
	return best;
}

/*
 * bob's bcrypt at cost 8 takes milliseconds, a cached check far less; a
 * failure is never cached; an unknown user runs crypt as well; 32 other
 * successes evict him. Times are CPU times, and the least of repeated
 * checks where a check can be repeated.
 */
static void test_cache(void)
{
	static const char ok[] = "bob:s3cret:with:colons", bad[] = "bob:s3cret:with:colonS";
	struct sk_auth *a = sk_auth_new();
	double first, fast, wrong, unknown;
	char err[SK_ERRLEN], up[32];
	int i;

	CHECK(sk_auth_load_file(a, fixture("bob", BOB "\n", strlen(BOB) + 1), err) == 0);
	for (i = 0; i < SK_AUTH_CACHE; i++) {
		snprintf(up, sizeof(up), "p%d:pw%d", i, i);
		CHECK(sk_auth_add_plain(a, up, err) == 0);
	}
	first = timed(a, ok, SK_AUTH_OK);
	fast = fastest(a, ok, SK_AUTH_OK);
	wrong = fastest(a, bad, SK_AUTH_BAD);
	unknown = fastest(a, "nobody:s3cret:with:colons", SK_AUTH_BAD);
	CHECK(fast < wrong / 10);   /* cached, and the failures were not */
	CHECK(first > wrong / 2);   /* the first success ran crypt */
	CHECK(unknown > wrong / 2); /* so does an unknown user */
	for (i = 0; i < SK_AUTH_CACHE - 1; i++)
		CHECK(plain_ok(a, i));
	CHECK(fastest(a, ok, SK_AUTH_OK) < wrong / 10); /* 32 entries: bob kept */
	CHECK(plain_ok(a, SK_AUTH_CACHE - 1));		/* evicts p0, the least recently used */
	CHECK(fastest(a, ok, SK_AUTH_OK) < wrong / 10);
	for (i = 0; i < SK_AUTH_CACHE; i++)
		CHECK(plain_ok(a, i)); /* each evicts the next; p30, then p31, then bob */
	CHECK(timed(a, ok, SK_AUTH_OK) > wrong / 2);
	printf("unit auth: CPU time of bcrypt cost 8: first check %.1f ms, cached %.3f ms, wrong "
	       "password "
	       "%.1f ms, unknown user %.1f ms\n",
	       first, fast, wrong, unknown);
	sk_auth_free(a);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_parse();
	test_plain();
	test_file_refused();
	test_file();
	test_live_htpasswd();
	test_cache();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_summary("auth");
}
