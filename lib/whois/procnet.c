#include "procnet.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parses exactly n hex digits at *p into *v, moving *p past them. */
static int hex(const char **p, size_t n, uint32_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)(*p)[i];

		if (!isxdigit(c))
			return -1;
		*v = *v << 4 | (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*p += n;
	return 0;
}

/* ADDR:PORT, the address as 32-bit words in host byte order. */
static int endpoint(const char **p, int family, unsigned char *addr, unsigned *port)
{
	size_t words = family == AF_INET6 ? 4 : 1, i;
	uint32_t w, pt;

	for (i = 0; i < words; i++) {
		if (hex(p, 8, &w) < 0)
			return -1;
		memcpy(addr + 4 * i, &w, 4); /* host order back to the bytes it was */
	}
	if (**p != ':')
		return -1;
	(*p)++;
	if (hex(p, 4, &pt) < 0 || (**p != ' ' && **p != '\t'))
		return -1;
	*port = pt;
	return 0;
}

static void skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* Skips one whitespace-separated field. Returns -1 when there is none. */
static int skip_field(const char **p)
{
	skip_space(p);
	if (!**p || **p == '\n')
		return -1;
	while (**p && **p != ' ' && **p != '\t' && **p != '\n')
		(*p)++;
	return 0;
}

static int decimal(const char **p, unsigned long *v)
{
	char *end;

	skip_space(p);
	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\t' && *end != '\n'))
		return -1;
	*p = end;
	return 0;
}

int sk_procnet_parse_line(const char *line, int family, struct sk_procnet_entry *e)
{
	const char *p = line;
	unsigned long uid;
	uint32_t st;

	memset(e, 0, sizeof(*e));
	e->family = family;
	skip_space(&p);
	/* "sl:" the slot number */
	while (isdigit((unsigned char)*p))
		p++;
	if (p == line || *p++ != ':')
		goto bad;
	skip_space(&p);
	if (endpoint(&p, family, e->local, &e->lport) < 0)
		goto bad;
	skip_space(&p);
	if (endpoint(&p, family, e->remote, &e->rport) < 0)
		goto bad;
	skip_space(&p);
	if (hex(&p, 2, &st) < 0)
		goto bad;
	e->state = (int)st;
	/* tx_queue:rx_queue tr:tm->when retrnsmt, then uid, timeout, inode */
	if (skip_field(&p) < 0 || skip_field(&p) < 0 || skip_field(&p) < 0 ||
	    decimal(&p, &uid) < 0 || skip_field(&p) < 0 || decimal(&p, &e->inode) < 0 ||
	    uid > UINT32_MAX)
		goto bad;
	e->uid = (unsigned)uid;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

long sk_proc_table_read(const char *root, const char *name,
			int (*line)(void *ctx, const char *text), void *ctx, size_t *bad)
{
	char path[4096], text[512];
	long n = 0;
	FILE *f;

	*bad = 0;
	if (snprintf(path, sizeof(path), "%s/net/%s", root, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(text, sizeof(text), f)) { /* the header */
		fclose(f);
		return 0;
	}
	while (fgets(text, sizeof(text), f)) {
		if (!strchr(text, '\n') && !feof(f)) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				; /* an overlong line is malformed: skip all of it */
			(*bad)++;
			continue;
		}
		if (line(ctx, text) < 0)
			(*bad)++;
		else
			n++;
	}
	fclose(f);
	return n;
}

struct inet_lines {
	int family;
	void (*fn)(void *ctx, const struct sk_procnet_entry *e);
	void *ctx;
};

static int inet_line(void *ctx, const char *text)
{
	struct inet_lines *l = ctx;
	struct sk_procnet_entry e;

	if (sk_procnet_parse_line(text, l->family, &e) < 0)
		return -1;
	l->fn(l->ctx, &e);
	return 0;
}

long sk_procnet_read(const char *root, const char *name,
		     void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx,
		     size_t *bad)
{
	struct inet_lines l = {strchr(name, '6') ? AF_INET6 : AF_INET, fn, ctx};

	return sk_proc_table_read(root, name, inet_line, &l, bad);
}

const char *sk_tcp_state_name(int state)
{
	static const char *const names[] = {
	    "UNKNOWN",	 "ESTABLISHED", "SYN_SENT",	"SYN_RECV",   "FIN_WAIT1",
	    "FIN_WAIT2", "TIME_WAIT",	"CLOSE",	"CLOSE_WAIT", "LAST_ACK",
	    "LISTEN",	 "CLOSING",	"NEW_SYN_RECV", "BOUND",
	};

	if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0])))
		return "UNKNOWN";
	return names[state];
}
