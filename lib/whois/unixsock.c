#include "unixsock.h"

#include <ctype.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procnet.h"
#include "sockdiag.h"

/* The longest path: all of sun_path (Linux binds 108 bytes without a NUL). */
#define PATH_MAX_LEN SK_UNIX_NAME_MAX

/* /proc/net/unix: the Flags bit of a listening socket, and the St values of struct socket. */
#define FLAG_ACCEPTCON 0x10000UL
#define SS_CONNECTING  2
#define SS_CONNECTED   3

/* The kernel's TCP state numbers the table maps to. */
#define STATE_ESTABLISHED 1
#define STATE_SYN_SENT	  2
#define STATE_CLOSE	  7
#define STATE_LISTEN	  10

/* UNIX_DIAG_UID and its request flag came with Linux 5.3; older headers lack them. */
#define DIAG_ATTR_UID 7
#ifndef UDIAG_SHOW_UID
#define UDIAG_SHOW_UID 0x00000040
#endif

static void skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* Parses 1 to max hex digits at *p (after blanks) into *v, moving *p past them. */
static int hex_field(const char **p, size_t max, unsigned long *v)
{
	const char *s;
	size_t n;

	skip_space(p);
	s = *p;
	*v = 0;
	for (n = 0; n < max && isxdigit((unsigned char)s[n]); n++) {
		int c = (unsigned char)s[n];

		*v = *v << 4 | (unsigned long)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	if (n == 0)
		return -1;
	*p = s + n;
	return 0;
}

/* The column separator: at least one blank (the end of the line does not do). */
static int blank(const char *p)
{
	return *p == ' ' || *p == '\t' ? 0 : -1;
}

/* The decimal inode, ending the line or followed by one space and the path. */
static int inode_field(const char **p, unsigned long *v)
{
	char *end;

	skip_space(p);
	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\n'))
		return -1;
	*p = end;
	return 0;
}

/* The path: the rest of the line after one space, '@' first for an abstract name. */
static int path_field(const char *p, struct sk_unix_entry *e)
{
	size_t n = strcspn(p, "\n");

	if (p[n] == '\n' && p[n + 1] != '\0')
		return -1; /* more than one line */
	if (n == 0 || n > (p[0] == '@' ? SK_UNIX_NAME_MAX : PATH_MAX_LEN))
		return -1;
	memcpy(e->name, p, n);
	if (p[0] == '@')
		e->name[0] = '\0';
	e->namelen = n;
	return 0;
}

static int table_state(unsigned long flags, unsigned long st)
{
	if (flags & FLAG_ACCEPTCON)
		return STATE_LISTEN;
	if (st == SS_CONNECTED)
		return STATE_ESTABLISHED;
	if (st == SS_CONNECTING)
		return STATE_SYN_SENT;
	return STATE_CLOSE;
}

int sk_unix_parse_line(const char *line, struct sk_unix_entry *e)
{
	const char *p = line;
	unsigned long num, refcount, protocol, flags, type, st;

	memset(e, 0, sizeof(*e));
	/* "Num:" the kernel address, zeros when hidden */
	if (hex_field(&p, 16, &num) < 0 || *p++ != ':' || blank(p) < 0)
		goto bad;
	if (hex_field(&p, 8, &refcount) < 0 || blank(p) < 0 || hex_field(&p, 8, &protocol) < 0 ||
	    blank(p) < 0 || hex_field(&p, 8, &flags) < 0 || blank(p) < 0 ||
	    hex_field(&p, 4, &type) < 0 || blank(p) < 0 || hex_field(&p, 2, &st) < 0 ||
	    blank(p) < 0 || inode_field(&p, &e->inode) < 0)
		goto bad;
	e->type = (int)type;
	e->state = table_state(flags, st);
	if (*p == ' ' ? path_field(p + 1, e) < 0 : *p == '\n' && p[1] != '\0')
		goto bad; /* an unnamed socket's line ends at its inode */
	return 0;
bad:
	memset(e, 0, sizeof(*e));
	errno = EINVAL;
	return -1;
}

struct unix_lines {
	void (*fn)(void *ctx, const struct sk_unix_entry *e);
	void *ctx;
};

static int unix_line(void *ctx, const char *text)
{
	struct unix_lines *l = ctx;
	struct sk_unix_entry e;

	if (sk_unix_parse_line(text, &e) < 0)
		return -1;
	l->fn(l->ctx, &e);
	return 0;
}

long sk_unix_read_proc(const char *root, void (*fn)(void *ctx, const struct sk_unix_entry *e),
		       void *ctx, size_t *bad)
{
	struct unix_lines l = {fn, ctx};

	return sk_proc_table_read(root, "unix", unix_line, &l, bad);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* UNIX_DIAG_NAME: sun_path as bound, a path with its NUL, an abstract name with its leading one. */
static int name_attr(const unsigned char *p, size_t n, struct sk_unix_entry *e)
{
	if (n > 0 && p[0] != '\0') {
		const unsigned char *nul = memchr(p, '\0', n);

		if (nul)
			n = (size_t)(nul - p);
		if (n > PATH_MAX_LEN)
			return -1;
	} else if (n > SK_UNIX_NAME_MAX) {
		return -1;
	}
	memcpy(e->name, p, n);
	e->namelen = n;
	return 0;
}

/* One attribute's payload of n bytes. Returns -1 when it is too short for its type. */
static int attribute(unsigned type, const unsigned char *p, size_t n, struct sk_unix_entry *e)
{
	switch (type) {
	case UNIX_DIAG_NAME: return name_attr(p, n, e);
	case UNIX_DIAG_VFS:
		if (n < sizeof(struct unix_diag_vfs))
			return -1;
		e->has_vfs = true;
		e->vfs_ino = get_u32(p + offsetof(struct unix_diag_vfs, udiag_vfs_ino));
		e->vfs_dev = get_u32(p + offsetof(struct unix_diag_vfs, udiag_vfs_dev));
		return 0;
	case UNIX_DIAG_PEER:
		if (n < sizeof(uint32_t))
			return -1;
		e->peer = get_u32(p);
		return 0;
	case DIAG_ATTR_UID:
		if (n < sizeof(uint32_t))
			return -1;
		e->has_uid = true;
		e->uid = get_u32(p);
		return 0;
	default: return 0; /* newer than this code, or not asked for */
	}
}

int sk_unix_diag_parse(const void *msg, size_t len, struct sk_unix_entry *e)
{
	const unsigned char *p = msg;
	struct unix_diag_msg m;
	struct nlattr a;
	size_t off;

	memset(e, 0, sizeof(*e));
	if (len < sizeof(m))
		goto bad;
	memcpy(&m, p, sizeof(m));
	if (m.udiag_family != AF_UNIX)
		goto bad;
	e->type = m.udiag_type;
	e->state = m.udiag_state;
	e->inode = m.udiag_ino;
	/* A tail shorter than an attribute header is the last one's padding. */
	for (off = NLMSG_ALIGN(sizeof(m)); off <= len && len - off >= NLA_HDRLEN;
	     off += NLA_ALIGN(a.nla_len)) {
		memcpy(&a, p + off, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off ||
		    attribute(a.nla_type & NLA_TYPE_MASK, p + off + NLA_HDRLEN,
			      a.nla_len - NLA_HDRLEN, e) < 0)
			goto bad;
	}
	return 0;
bad:
	memset(e, 0, sizeof(*e));
	errno = EINVAL;
	return -1;
}

struct unix_answers {
	void (*fn)(void *ctx, const struct sk_unix_entry *e);
	void *ctx;
};

static int unix_answer(void *ctx, const void *data, size_t len)
{
	struct unix_answers *a = ctx;
	struct sk_unix_entry e;

	if (sk_unix_diag_parse(data, len, &e) < 0)
		return -1;
	a->fn(a->ctx, &e);
	return 0;
}

long sk_unix_diag_read(unsigned states, void (*fn)(void *ctx, const struct sk_unix_entry *e),
		       void *ctx)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} r;
	struct unix_answers a = {fn, ctx};

	memset(&r, 0, sizeof(r));
	r.nlh.nlmsg_len = sizeof(r);
	r.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.req.sdiag_family = AF_UNIX;
	r.req.udiag_states = states;
	r.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_UID;
	return sk_sockdiag_dump(&r.nlh, unix_answer, &a);
}

bool sk_unix_same_file(const struct sk_unix_entry *e, const struct stat *st)
{
	if (!e->has_vfs || !S_ISSOCK(st->st_mode))
		return false;
	return e->vfs_ino == (uint32_t)st->st_ino && e->vfs_dev >> 20 == major(st->st_dev) &&
	       (e->vfs_dev & 0xfffff) == minor(st->st_dev);
}

size_t sk_unix_format_name(const struct sk_unix_entry *e, char *buf, size_t size)
{
	size_t i, n = e->namelen < SK_UNIX_NAME_MAX ? e->namelen : SK_UNIX_NAME_MAX;

	for (i = 0; size > 0 && i < n && i < size - 1; i++)
		buf[i] = e->name[i] ? (char)e->name[i] : '@';
	if (size > 0)
		buf[i] = '\0';
	return n;
}
