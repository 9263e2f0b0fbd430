/*
 * auth.h - HTTP Basic authentication (RFC 7617) for serve-http: a table of
 * users with plain passwords (--auth) or crypt(3) hashes from an htpasswd
 * file (--auth-file), and the check of a request's Authorization value.
 */
#ifndef SK_AUTH_H
#define SK_AUTH_H

#include <stddef.h>

#include "err.h"

#define SK_AUTH_USER_MAX   255	    /* bytes of a user name */
#define SK_AUTH_PASS_MAX   255	    /* bytes of a password */
#define SK_AUTH_HASH_MAX   255	    /* bytes of a stored crypt hash */
#define SK_AUTH_CACHE	   32	    /* credentials remembered after a successful check */
#define SK_AUTH_BCRYPT_MAX 17	    /* the highest bcrypt cost accepted (htpasswd -C allows 4-17) */
#define SK_AUTH_ROUNDS_MAX 20000000 /* the most SHA-crypt rounds accepted (about 8 s a check) */

/*
 * Users and their secrets. Not for use by more than one thread at once:
 * a check writes the cache and a crypt(3) work area inside.
 */
struct sk_auth;

/* A new, empty table. Returns NULL with errno ENOMEM. */
struct sk_auth *sk_auth_new(void);

/* Wipes every password, hash and cached credential (explicit_bzero), then frees. NULL is fine. */
void sk_auth_free(struct sk_auth *a);

/*
 * Adds a user from --auth USER:PASS: the first ':' splits, so PASS may
 * hold ':'. USER must be 1 to SK_AUTH_USER_MAX bytes without control
 * bytes or a space at either end, PASS at most SK_AUTH_PASS_MAX bytes (it
 * may be empty), and USER new to the table. Returns 0, or -1 with err
 * (which never holds the password) and errno EINVAL, EEXIST (USER given
 * twice) or ENOMEM.
 */
int sk_auth_add_plain(struct sk_auth *a, const char *userpass, char *err);

/*
 * Adds the users of an htpasswd file: "user:hash" lines (LF or CRLF), the
 * last line's end optional; empty lines and lines starting with '#' are
 * skipped. User names follow sk_auth_add_plain's rule. A hash is bcrypt
 * "$2y$", "$2b$" or "$2a$" (htpasswd -B, cost 4 to SK_AUTH_BCRYPT_MAX),
 * SHA-256-crypt "$5$" (htpasswd -2) or SHA-512-crypt "$6$" (htpasswd -5),
 * optionally with "rounds=N$" (1000 to SK_AUTH_ROUNDS_MAX), checked for
 * the exact form crypt(3) writes. Any other hash (apr1 MD5, {SHA}, DES
 * crypt, plaintext), a malformed line, a user already in the table, a
 * file without users and a file that cannot be read are refused: -1 with
 * err naming the file and line and what was found (a kind of hash, never
 * the hash or password itself) and errno EINVAL, EEXIST, ENOMEM or
 * open(2)'s and read(2)'s errors. On failure the table may hold the users
 * of the lines before the bad one; the caller frees it. Returns 0.
 * (bcrypt, as crypt(3) has it, looks at the first 72 bytes of a password
 * only.)
 */
int sk_auth_load_file(struct sk_auth *a, const char *path, char *err);

/*
 * Parses an Authorization field value v[0..len) (OWS already trimmed, no
 * NUL needed): the scheme "Basic" in any case, one or more SP, then
 * token68 as strict RFC 4648 base64 (the standard alphabet, padded to a
 * multiple of 4, canonical: unused bits zero), decoding to "user:pass"
 * split at the first ':'. The user must be non-empty and free of control
 * bytes (0x00-0x1f, 0x7f); the password must be free of NUL. user (ulen
 * bytes) and pass (plen bytes) get both, NUL-terminated; one that does not
 * fit makes the value bad, as does one decoding to more than
 * SK_AUTH_USER_MAX + 1 + SK_AUTH_PASS_MAX bytes whatever the buffers.
 * Returns 0, or -1 for anything else, leaving user and pass empty when
 * they have room. No errno. Exposed for the fuzz harness and tests.
 */
int sk_auth_parse_basic(const char *v, size_t len, char *user, size_t ulen, char *pass,
			size_t plen);

enum sk_auth_result {
	SK_AUTH_OK,   /* the user and password match */
	SK_AUTH_NONE, /* no Authorization field */
	SK_AUTH_BAD,  /* a wrong password, an unknown user, another scheme or a malformed value */
};

/*
 * Checks the Authorization value v[0..len) (v NULL: the request had none)
 * against a. On SK_AUTH_OK copies the user name into user
 * (SK_AUTH_USER_MAX + 1 bytes) for the access log; else user is "".
 *
 * Costs: a plain password is compared in constant time over its whole
 * buffer; a hash is checked with crypt_rn(3), whose output is compared in
 * constant time, so bcrypt at cost 10 blocks the caller for 50-100 ms.
 * An unknown user costs about what a known one does: crypt runs against
 * the first hashed user's hash (result discarded) and a plain compare runs
 * against a dummy. A success is cached (SK_AUTH_CACHE entries of the exact
 * base64 token, compared in constant time, least recently used evicted),
 * so a client's later requests with the same token cost a few memory
 * compares. Failures are never cached. No errno.
 */
enum sk_auth_result sk_auth_check(struct sk_auth *a, const char *v, size_t len, char *user);

#endif
