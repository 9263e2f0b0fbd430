/*
 * TLS sessions over OpenSSL 3: the only file that includes its headers.
 *
 * Sessions run on non-blocking sockets. A read may need the socket to be
 * writable and a write readable (a handshake message, a key update);
 * each direction remembers what its last call waited for, and
 * poll_events reports it. Decrypted bytes that OpenSSL holds are not
 * visible to poll: pending() says so, except when the last read already
 * found only part of a record, which needs the socket again.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"

int sk_tls_parse_min(const char *s)
{
	if (strcmp(s, "1.2") == 0)
		return 12;
	if (strcmp(s, "1.3") == 0)
		return 13;
	return -1;
}

int sk_tls_parse_pin(const char *s, unsigned char out[32], char *err)
{
	size_t i, n = 0;
	bool colons = strncasecmp(s, "sha256:", 7) != 0;
	const char *p = colons ? s : s + 7;

	for (i = 0; n < 32; i++) {
		int hi, lo;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			break;
		hi = isdigit((unsigned char)p[0]) ? p[0] - '0'
						  : (tolower((unsigned char)p[0]) - 'a' + 10);
		lo = isdigit((unsigned char)p[1]) ? p[1] - '0'
						  : (tolower((unsigned char)p[1]) - 'a' + 10);
		out[n++] = (unsigned char)(hi << 4 | lo);
		p += 2;
		if (colons && n < 32) {
			if (*p != ':')
				break;
			p++;
		}
	}
	if (n == 32 && *p == '\0')
		return 0;
	sk_seterr(err,
		  "bad --tls-pin '%s': expected sha256: and 64 hex digits, or AB:CD:... (32 pairs)",
		  s);
	errno = EINVAL;
	return -1;
}

#ifdef SK_TLS

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define ALPN_MAX   256
#define READ_BUF   (64 * 1024)
#define RECORD_MAX (16 * 1024) /* the most plaintext one record carries */

struct sk_tls_ctx {
	SSL_CTX *ssl;
	enum sk_tls_role role;
	bool insecure, pinned;
	unsigned char pin[32];
	unsigned char alpn[ALPN_MAX]; /* wire format */
	size_t alpn_len;
	char fp[SK_TLS_FP_LEN];
};

struct sk_tls {
	SSL *ssl;
	struct sk_tls_ctx *ctx;
	int fd;
	short read_wants, write_wants; /* what the last read / write waited for */
	bool read_starved;	       /* the last read found no whole record */
	bool peeked;		       /* server: the first byte was looked at */
	bool pin_mismatch;
	bool shut_sent; /* close_notify is out */
	char name[256]; /* the name verified, for messages */
	char peer[64];	/* the peer, for messages */
	char err[SK_ERRLEN];
};

bool sk_tls_built_in(void)
{
	return true;
}

void sk_tls_library(char *buf, size_t len)
{
	snprintf(buf, len, "OpenSSL %s", OpenSSL_version(OPENSSL_VERSION_STRING));
}

/* The first reason on OpenSSL's error queue (or fallback), which it then empties. */
static const char *ssl_reason(const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : fallback;
}

static void hex_fp(const unsigned char md[32], char *fp)
{
	int i;

	memcpy(fp, "sha256:", 7);
	for (i = 0; i < 32; i++)
		snprintf(fp + 7 + 2 * i, 3, "%02x", md[i]);
}

static int cert_digest(X509 *x, unsigned char md[32])
{
	unsigned int len = 0;

	return x && X509_digest(x, EVP_sha256(), md, &len) == 1 && len == 32 ? 0 : -1;
}

/* Turns "a,b" into ALPN's wire format. Returns 0, or -1 with err. */
static int alpn_wire(struct sk_tls_ctx *c, const char *list, char *err)
{
	const char *p = list;
	size_t n;

	c->alpn_len = 0;
	while (*p) {
		n = strcspn(p, ",");
		if (n == 0 || n > 255 || c->alpn_len + 1 + n > ALPN_MAX) {
			sk_seterr(err, "bad --alpn '%s': %s", list,
				  n == 0 ? "an empty protocol name" : "too long");
			errno = EINVAL;
			return -1;
		}
		c->alpn[c->alpn_len++] = (unsigned char)n;
		memcpy(c->alpn + c->alpn_len, p, n);
		c->alpn_len += n;
		p += n + (p[n] == ',');
	}
	if (c->alpn_len == 0) {
		sk_seterr(err, "bad --alpn '%s': no protocol", list);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	struct sk_tls_ctx *c = arg;
	unsigned char *o = NULL;

	(void)ssl;
	if (SSL_select_next_proto(&o, outlen, c->alpn, (unsigned)c->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

/* A pinned certificate is checked here, so that a mismatch aborts the handshake. */
static int verify_pin(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct sk_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
	unsigned char md[32];

	(void)ok;
	if (!t)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xs) > 0)
		return 1; /* the chain does not matter: only the leaf is pinned */
	if (cert_digest(X509_STORE_CTX_get_current_cert(xs), md) == 0 &&
	    CRYPTO_memcmp(md, t->ctx->pin, 32) == 0)
		return 1;
	t->pin_mismatch = true;
	return 0;
}

/* Checks that path can be opened, for a clearer message than OpenSSL's. */
static int readable(const char *what, const char *path, char *err)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		sk_seterr(err, "cannot read %s '%s': %s", what, path, strerror(errno));
		errno = EINVAL;
		return -1;
	}
	fclose(f);
	return 0;
}

static int load_cert(struct sk_tls_ctx *c, const struct sk_tls_config *cf, char *err)
{
	const char *key = cf->key_file ? cf->key_file : cf->cert_file;

	if (readable("--tls-cert", cf->cert_file, err) < 0 || readable("--tls-key", key, err) < 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(c->ssl, cf->cert_file) != 1) {
		sk_seterr(err, "bad --tls-cert '%s': %s", cf->cert_file,
			  ssl_reason("no certificate"));
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1) {
		sk_seterr(err, "bad --tls-key '%s': %s", key, ssl_reason("no private key"));
		goto bad;
	}
	if (SSL_CTX_check_private_key(c->ssl) != 1) {
		sk_seterr(err, "--tls-key '%s' does not match --tls-cert '%s'", key, cf->cert_file);
		goto bad;
	}
	return 0;
bad:
	ERR_clear_error();
	errno = EINVAL;
	return -1;
}

/* Whether name can go into a subjectAltName list as it is. */
static bool plain_name(const char *name)
{
	const char *p;

	if (!*name || strlen(name) > 200)
		return false;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_:", *p))
			return false;
	return true;
}

static bool ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Appends DNS:name or IP:name to the subjectAltName list san. */
static void san_add(char *san, size_t cap, const char *name)
{
	size_t len = strlen(san);

	if (!plain_name(name) || strcmp(name, "0.0.0.0") == 0 || strcmp(name, "::") == 0)
		return;
	snprintf(san + len, cap - len, "%s%s:%s", len ? "," : "", ip_literal(name) ? "IP" : "DNS",
		 name);
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* Fills x as a self-signed certificate for key, named for this host and names. */
static int fill_cert(X509 *x, EVP_PKEY *key, const char *const *names)
{
	char host[256] = "localhost", san[2048] = "";
	uint64_t serial;
	size_t i;

	if (gethostname(host, sizeof(host) - 1) < 0 || !plain_name(host))
		strcpy(host, "localhost");
	san_add(san, sizeof(san), host);
	if (strcmp(host, "localhost") != 0)
		san_add(san, sizeof(san), "localhost");
	san_add(san, sizeof(san), "127.0.0.1");
	san_add(san, sizeof(san), "::1");
	for (i = 0; names && names[i]; i++)
		san_add(san, sizeof(san), names[i]);
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		return -1;
	serial >>= 1; /* positive */
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				       (const unsigned char *)host, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_alt_name, san) < 0 || !X509_sign(x, key, EVP_sha256()))
		return -1;
	return 0;
}

/* A fresh ECDSA P-256 key and a self-signed certificate for it, in c. */
static int make_cert(struct sk_tls_ctx *c, const char *const *names, char *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = key ? X509_new() : NULL;
	int rc = -1;

	if (x && fill_cert(x, key, names) == 0 && SSL_CTX_use_certificate(c->ssl, x) == 1 &&
	    SSL_CTX_use_PrivateKey(c->ssl, key) == 1)
		rc = 0;
	else
		sk_seterr(err, "making a TLS certificate: %s", ssl_reason("failed"));
	X509_free(x);
	EVP_PKEY_free(key);
	if (rc < 0)
		errno = ENOMEM;
	return rc;
}

static int setup_client(struct sk_tls_ctx *c, const struct sk_tls_config *cf, char *err)
{
	if (cf->pin && sk_tls_parse_pin(cf->pin, c->pin, err) < 0)
		return -1;
	c->pinned = cf->pin != NULL;
	c->insecure = cf->insecure;
	if (c->insecure)
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	else if (c->pinned)
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, verify_pin);
	else
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	if (cf->ca_file) {
		if (readable("--tls-ca", cf->ca_file, err) < 0)
			return -1;
		if (SSL_CTX_load_verify_locations(c->ssl, cf->ca_file, NULL) != 1) {
			sk_seterr(err, "bad --tls-ca '%s': %s", cf->ca_file,
				  ssl_reason("no certificate"));
			errno = EINVAL;
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ssl) != 1) {
		ERR_clear_error(); /* no system store: every verification will fail, and say why */
	}
	if (cf->cert_file && load_cert(c, cf, err) < 0)
		return -1;
	if (c->alpn_len && SSL_CTX_set_alpn_protos(c->ssl, c->alpn, (unsigned)c->alpn_len) != 0) {
		sk_seterr(err, "--alpn: %s", ssl_reason("refused"));
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int setup_server(struct sk_tls_ctx *c, const struct sk_tls_config *cf, char *err)
{
	unsigned char md[32];

	if (cf->cert_file ? load_cert(c, cf, err) < 0 : make_cert(c, cf->names, err) < 0)
		return -1;
	if (cert_digest(SSL_CTX_get0_certificate(c->ssl), md) == 0)
		hex_fp(md, c->fp);
	if (cf->client_ca_file) {
		STACK_OF(X509_NAME) * names;

		if (readable("--tls-client-ca", cf->client_ca_file, err) < 0)
			return -1;
		names = SSL_load_client_CA_file(cf->client_ca_file);
		if (!names ||
		    SSL_CTX_load_verify_locations(c->ssl, cf->client_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			sk_seterr(err, "bad --tls-client-ca '%s': %s", cf->client_ca_file,
				  ssl_reason("no certificate"));
			errno = EINVAL;
			return -1;
		}
		SSL_CTX_set_client_CA_list(c->ssl, names);
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	if (c->alpn_len)
		SSL_CTX_set_alpn_select_cb(c->ssl, alpn_select, c);
	return 0;
}

struct sk_tls_ctx *sk_tls_ctx_new(const struct sk_tls_config *cf, char *err)
{
	struct sk_tls_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (!c || !(c->ssl = SSL_CTX_new(TLS_method()))) {
		sk_seterr(err, "TLS: %s",
			  c ? ssl_reason("cannot make a context") : strerror(ENOMEM));
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->role = cf->role;
	SSL_CTX_set_min_proto_version(c->ssl,
				      cf->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_security_level(c->ssl, 2);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
				     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				     (cf->release_buffers ? SSL_MODE_RELEASE_BUFFERS : 0));
	/* Several records per read(2) of the socket. */
	SSL_CTX_set_read_ahead(c->ssl, 1);
	SSL_CTX_set_default_read_buffer_len(c->ssl, READ_BUF);
	rc = cf->alpn ? alpn_wire(c, cf->alpn, err) : 0;
	if (rc == 0)
		rc = c->role == SK_TLS_SERVER ? setup_server(c, cf, err) : setup_client(c, cf, err);
	if (rc < 0) {
		int e = errno;

		sk_tls_ctx_free(c);
		errno = e;
		return NULL;
	}
	return c;
}

void sk_tls_ctx_free(struct sk_tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

const char *sk_tls_ctx_fingerprint(const struct sk_tls_ctx *c)
{
	return c->fp;
}

/* Copies name into t->name without the brackets of "[::1]". */
static void set_name(struct sk_tls *t, const char *name)
{
	size_t n = strlen(name);

	if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
		name++;
		n -= 2;
	}
	if (n >= sizeof(t->name))
		n = sizeof(t->name) - 1;
	memcpy(t->name, name, n);
	t->name[n] = '\0';
}

/* The name checks and SNI of a client session. Returns 0 or -1. */
static int client_names(struct sk_tls *t, const char *verify_name, const char *sni)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);

	if (verify_name)
		set_name(t, verify_name);
	if (sni && !ip_literal(sni) && SSL_set_tlsext_host_name(t->ssl, sni) != 1)
		return -1;
	if (t->ctx->insecure || t->ctx->pinned || !t->name[0])
		return 0;
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (ip_literal(t->name))
		return X509_VERIFY_PARAM_set1_ip_asc(vp, t->name) == 1 ? 0 : -1;
	return SSL_set1_host(t->ssl, t->name) == 1 ? 0 : -1;
}

struct sk_tls *sk_tls_new(struct sk_tls_ctx *ctx, int fd, const char *verify_name, const char *sni,
			  char *err)
{
	struct sk_tls *t = calloc(1, sizeof(*t));

	if (!t || !(t->ssl = SSL_new(ctx->ssl))) {
		sk_seterr(err, "TLS: %s", strerror(ENOMEM));
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->ctx = ctx;
	t->fd = fd;
	t->read_wants = POLLIN;
	t->write_wants = POLLOUT;
	snprintf(t->peer, sizeof(t->peer), "the peer");
	SSL_set_app_data(t->ssl, t);
	sk_set_nonblock(fd, true);
	if (SSL_set_fd(t->ssl, fd) != 1 ||
	    (ctx->role == SK_TLS_CLIENT && client_names(t, verify_name, sni) < 0)) {
		sk_seterr(err, "TLS: %s", ssl_reason("cannot set up the session"));
		sk_tls_free(t);
		errno = ENOMEM;
		return NULL;
	}
	if (ctx->role == SK_TLS_SERVER)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void sk_tls_set_peer(struct sk_tls *t, const char *peer)
{
	snprintf(t->peer, sizeof(t->peer), "%s", peer);
}

void sk_tls_free(struct sk_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}

/* Server: a client that starts with a letter speaks plain text, not TLS. */
static enum sk_tls_step peek_plain(struct sk_tls *t, char *err)
{
	unsigned char b;
	ssize_t n = recv(t->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return SK_TLS_WANT_READ;
	if (n <= 0) {
		sk_seterr(err, "TLS handshake with %s failed: %s", t->peer,
			  n == 0 ? "the connection closed before it began" : strerror(errno));
		return SK_TLS_FAILED;
	}
	t->peeked = true;
	return isupper(b) ? SK_TLS_PLAINTEXT : SK_TLS_DONE;
}

static enum sk_tls_step handshake_failed(struct sk_tls *t, int rc, char *err)
{
	int e = SSL_get_error(t->ssl, rc);
	long v = SSL_get_verify_result(t->ssl);
	int saved = errno;
	const char *why;

	if (t->ctx->role == SK_TLS_CLIENT && (t->pin_mismatch || v != X509_V_OK)) {
		char fp[SK_TLS_FP_LEN];

		ERR_clear_error();
		if (t->pin_mismatch) {
			sk_tls_peer_fingerprint(t, fp);
			sk_seterr(err,
				  "TLS: certificate verify failed for %s: its fingerprint %s is "
				  "not the pinned one",
				  t->name[0] ? t->name : t->peer, fp[0] ? fp : "(none)");
		} else {
			sk_seterr(err, "TLS: certificate verify failed for %s: %s",
				  t->name[0] ? t->name : t->peer, X509_verify_cert_error_string(v));
		}
		return SK_TLS_FAILED;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		why = saved ? strerror(saved) : "the connection closed during the handshake";
	else
		why = ssl_reason("failed");
	sk_seterr(err, "TLS handshake with %s failed: %s", t->peer, why);
	ERR_clear_error();
	return SK_TLS_FAILED;
}

enum sk_tls_step sk_tls_handshake(struct sk_tls *t, char *err)
{
	int rc, e;

	if (t->ctx->role == SK_TLS_SERVER && !t->peeked) {
		enum sk_tls_step s = peek_plain(t, err);

		if (s != SK_TLS_DONE)
			return s;
	}
	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(t->ssl);
	if (rc == 1)
		return SK_TLS_DONE;
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return SK_TLS_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return SK_TLS_WANT_WRITE;
	return handshake_failed(t, rc, err);
}

int sk_tls_handshake_wait(struct sk_tls *t, int timeout_ms, int stop_fd, char *err)
{
	int64_t until = sk_deadline(timeout_ms);
	struct pollfd pfd[2];
	enum sk_tls_step s;
	int n;

	for (;;) {
		s = sk_tls_handshake(t, err);
		if (s == SK_TLS_DONE)
			return 0;
		if (s == SK_TLS_FAILED || s == SK_TLS_PLAINTEXT) {
			if (s == SK_TLS_PLAINTEXT)
				sk_seterr(err, "TLS handshake with %s failed: it spoke plain text",
					  t->peer);
			errno = s == SK_TLS_FAILED ? EPROTO : EPROTONOSUPPORT;
			return -1;
		}
		pfd[0] = (struct pollfd){.fd = t->fd,
					 .events = s == SK_TLS_WANT_READ ? POLLIN : POLLOUT};
		pfd[1] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
		n = poll(pfd, stop_fd >= 0 ? 2 : 1, sk_ms_left(until));
		if (n < 0 && errno != EINTR) {
			sk_seterr(err, "poll: %s", strerror(errno));
			return -1;
		}
		if (n > 0 && stop_fd >= 0 && pfd[1].revents) {
			sk_seterr(err, "TLS handshake with %s: stopped", t->peer);
			errno = EINTR;
			return -1;
		}
		if (n == 0 && sk_ms_left(until) == 0) {
			sk_seterr(err, "TLS handshake with %s timed out after %g s", t->peer,
				  timeout_ms / 1000.0);
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

void sk_tls_peer_fingerprint(const struct sk_tls *t, char *fp)
{
	X509 *x = SSL_get0_peer_certificate(t->ssl);
	unsigned char md[32];

	fp[0] = '\0';
	if (cert_digest(x, md) == 0)
		hex_fp(md, fp);
}

/* The peer certificate's subject, "CN=a,O=b", into buf. */
static void peer_subject(const struct sk_tls *t, char *buf, size_t len)
{
	X509 *x = SSL_get0_peer_certificate(t->ssl);
	BIO *b;
	int n;

	buf[0] = '\0';
	if (!x || !(b = BIO_new(BIO_s_mem())))
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_read(b, buf, (int)len - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

void sk_tls_describe(const struct sk_tls *t, char *buf, size_t len)
{
	const unsigned char *alpn = NULL;
	unsigned int alen = 0;
	char subject[256], fp[SK_TLS_FP_LEN];
	size_t n;

	snprintf(buf, len, "%s, %s", SSL_get_version(t->ssl),
		 SSL_CIPHER_get_name(SSL_get_current_cipher(t->ssl)));
	SSL_get0_alpn_selected(t->ssl, &alpn, &alen);
	n = strlen(buf);
	if (alen)
		snprintf(buf + n, len - n, ", ALPN %.*s", (int)alen, (const char *)alpn);
	peer_subject(t, subject, sizeof(subject));
	sk_tls_peer_fingerprint(t, fp);
	n = strlen(buf);
	if (fp[0])
		snprintf(buf + n, len - n, ", peer %s, %s", subject[0] ? subject : "(no subject)",
			 fp);
	else if (n < len)
		snprintf(buf + n, len - n, ", no peer certificate");
}

/*
 * Turns a failed SSL call into errno: EAGAIN after noting what the
 * direction waits for (*wants), EPIPE when the peer is gone, ECONNABORTED
 * for a TCP close without close_notify, EPROTO for the rest, with the
 * text in t->err. Returns -1.
 */
static int io_failed(struct sk_tls *t, int rc, short *wants)
{
	int e = SSL_get_error(t->ssl, rc), saved = errno;
	unsigned long q;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*wants = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*wants = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && saved) {
			/* The socket's own error: a writer sees a reset as the peer gone. */
			bool writing = wants == &t->write_wants;

			errno = writing && saved == ECONNRESET ? EPIPE : saved;
			return -1;
		}
		break;
	default: break;
	}
	q = ERR_peek_error();
	if (ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	    (e == SSL_ERROR_SYSCALL && q == 0)) {
		ERR_clear_error();
		snprintf(t->err, sizeof(t->err),
			 "TLS: connection closed without close_notify (the data may be truncated)");
		errno = ECONNABORTED;
		return -1;
	}
	snprintf(t->err, sizeof(t->err), "TLS: %s", ssl_reason("failed"));
	errno = EPROTO;
	return -1;
}

ssize_t sk_tls_read(struct sk_tls *t, void *buf, size_t n)
{
	size_t total = 0, got;
	int rc;

	/* Whole records while they come without waiting: fewer turns of the caller's loop. */
	while (total < n) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_read_ex(t->ssl, (char *)buf + total, n - total, &got);
		if (rc == 1) {
			total += got;
			t->read_wants = POLLIN;
			t->read_starved = false;
			continue;
		}
		if (SSL_get_error(t->ssl, rc) == SSL_ERROR_ZERO_RETURN)
			break;
		if (total > 0) {
			/* Report the rest (EAGAIN, EOF or an error) on the next call. */
			t->read_starved = SSL_get_error(t->ssl, rc) == SSL_ERROR_WANT_READ;
			if (t->read_starved)
				t->read_wants = POLLIN;
			ERR_clear_error();
			break;
		}
		rc = io_failed(t, rc, &t->read_wants);
		t->read_starved = errno == EAGAIN;
		return rc;
	}
	return (ssize_t)total;
}

ssize_t sk_tls_write(struct sk_tls *t, const void *buf, size_t n)
{
	size_t total = 0, done;
	bool corked = n > RECORD_MAX;
	int rc, on = 1, off = 0;

	/*
	 * Record after record while the socket takes them (a partial write
	 * returns one), corked so that they leave as full segments rather
	 * than a packet per record (TCP_NODELAY is on); a unix socket just
	 * refuses the option.
	 */
	if (corked)
		corked = setsockopt(t->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0;
	while (total < n) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_write_ex(t->ssl, (const char *)buf + total, n - total, &done);
		if (rc == 1) {
			total += done;
			t->write_wants = POLLOUT;
			continue;
		}
		if (total > 0 && SSL_get_error(t->ssl, rc) == SSL_ERROR_WANT_WRITE) {
			/* The rest once the socket is writable; OpenSSL keeps the record it began.
			 */
			ERR_clear_error();
			t->write_wants = POLLOUT;
			break;
		}
		if (total > 0) {
			ERR_clear_error();
			break; /* the error again on the next call */
		}
		if (corked)
			setsockopt(t->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
		return io_failed(t, rc, &t->write_wants);
	}
	if (corked)
		setsockopt(t->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	return (ssize_t)total;
}

int sk_tls_shutdown_write(struct sk_tls *t)
{
	int rc, e;

	if (!t->shut_sent) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_shutdown(t->ssl);
		if (rc < 0) {
			e = SSL_get_error(t->ssl, rc);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				t->write_wants = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
				errno = EAGAIN;
				return -1;
			}
			e = errno ? errno : EPROTO;
			ERR_clear_error();
			shutdown(t->fd, SHUT_WR);
			errno = e;
			return -1;
		}
		t->shut_sent = true;
	}
	t->write_wants = POLLOUT;
	return shutdown(t->fd, SHUT_WR);
}

int sk_tls_fd(const struct sk_tls *t)
{
	return t->fd;
}

bool sk_tls_pending(const struct sk_tls *t)
{
	if (SSL_pending(t->ssl) > 0)
		return true;
	return !t->read_starved && SSL_has_pending(t->ssl);
}

short sk_tls_poll_events(const struct sk_tls *t, short want)
{
	return want == POLLIN ? t->read_wants : t->write_wants;
}

const char *sk_tls_strerror(const struct sk_tls *t, int e)
{
	if ((e == EPROTO || e == ECONNABORTED) && t->err[0])
		return t->err;
	return strerror(e);
}

#else /* !SK_TLS */

struct sk_tls_ctx {
	int unused;
};

struct sk_tls {
	int unused;
};

bool sk_tls_built_in(void)
{
	return false;
}

void sk_tls_library(char *buf, size_t len)
{
	snprintf(buf, len, "not built in");
}

static void *not_built_in(char *err)
{
	sk_seterr(err, "TLS is not built in");
	errno = ENOTSUP;
	return NULL;
}

struct sk_tls_ctx *sk_tls_ctx_new(const struct sk_tls_config *c, char *err)
{
	(void)c;
	return not_built_in(err);
}

void sk_tls_ctx_free(struct sk_tls_ctx *ctx)
{
	(void)ctx;
}

const char *sk_tls_ctx_fingerprint(const struct sk_tls_ctx *ctx)
{
	(void)ctx;
	return "";
}

struct sk_tls *sk_tls_new(struct sk_tls_ctx *ctx, int fd, const char *verify_name, const char *sni,
			  char *err)
{
	(void)ctx;
	(void)fd;
	(void)verify_name;
	(void)sni;
	return not_built_in(err);
}

void sk_tls_set_peer(struct sk_tls *t, const char *peer)
{
	(void)t;
	(void)peer;
}

void sk_tls_free(struct sk_tls *t)
{
	(void)t;
}

enum sk_tls_step sk_tls_handshake(struct sk_tls *t, char *err)
{
	(void)t;
	not_built_in(err);
	return SK_TLS_FAILED;
}

int sk_tls_handshake_wait(struct sk_tls *t, int timeout_ms, int stop_fd, char *err)
{
	(void)t;
	(void)timeout_ms;
	(void)stop_fd;
	not_built_in(err);
	return -1;
}

void sk_tls_describe(const struct sk_tls *t, char *buf, size_t len)
{
	(void)t;
	snprintf(buf, len, "TLS is not built in");
}

void sk_tls_peer_fingerprint(const struct sk_tls *t, char *fp)
{
	(void)t;
	fp[0] = '\0';
}

ssize_t sk_tls_read(struct sk_tls *t, void *buf, size_t n)
{
	(void)t;
	(void)buf;
	(void)n;
	errno = ENOTSUP;
	return -1;
}

ssize_t sk_tls_write(struct sk_tls *t, const void *buf, size_t n)
{
	(void)t;
	(void)buf;
	(void)n;
	errno = ENOTSUP;
	return -1;
}

int sk_tls_shutdown_write(struct sk_tls *t)
{
	(void)t;
	errno = ENOTSUP;
	return -1;
}

bool sk_tls_pending(const struct sk_tls *t)
{
	(void)t;
	return false;
}

int sk_tls_fd(const struct sk_tls *t)
{
	(void)t;
	return -1;
}

short sk_tls_poll_events(const struct sk_tls *t, short want)
{
	(void)t;
	return want;
}

const char *sk_tls_strerror(const struct sk_tls *t, int e)
{
	(void)t;
	return strerror(e);
}

#endif /* SK_TLS */

/* The endpoint ops over a session. */
static ssize_t ep_read(struct sk_endpoint *ep, void *buf, size_t n)
{
	return sk_tls_read(ep->priv, buf, n);
}

static ssize_t ep_write(struct sk_endpoint *ep, const void *buf, size_t n)
{
	return sk_tls_write(ep->priv, buf, n);
}

static int ep_shutdown_write(struct sk_endpoint *ep)
{
	return sk_tls_shutdown_write(ep->priv);
}

static bool ep_pending(const struct sk_endpoint *ep)
{
	return sk_tls_pending(ep->priv);
}

static short ep_poll_events(const struct sk_endpoint *ep, short want)
{
	return sk_tls_poll_events(ep->priv, want);
}

static const char *ep_strerror(const struct sk_endpoint *ep, int e)
{
	return sk_tls_strerror(ep->priv, e);
}

static void ep_close(struct sk_endpoint *ep)
{
	(void)ep;
}

static const struct sk_endpoint_ops tls_ops = {
    .read = ep_read,
    .write = ep_write,
    .shutdown_write = ep_shutdown_write,
    .pending = ep_pending,
    .poll_events = ep_poll_events,
    .strerror = ep_strerror,
    .close = ep_close,
};

void sk_tls_endpoint(struct sk_endpoint *ep, struct sk_tls *t)
{
	memset(ep, 0, sizeof(*ep));
	ep->ops = &tls_ops;
	ep->fd = t ? sk_tls_fd(t) : -1;
	ep->saved_flags = -1;
	ep->priv = t;
}
