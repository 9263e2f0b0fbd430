/*
 * libFuzzer harness: the unix socket parsers. The first byte picks one:
 * odd, a unix_diag answer (sk_unix_diag_parse) over the rest; even, a
 * /proc/net/unix line (sk_unix_parse_line). A parsed entry must hold a
 * name that fits (a path without NULs, at most 107 bytes), only the
 * fields its source gives, and must parse back the same from the line or
 * message it prints as; a rejected one is left zeroed with errno EINVAL.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/unix_diag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "unixsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sk_unix_entry zero;

static void check_name(const struct sk_unix_entry *e)
{
	char buf[SK_UNIX_NAME_MAX + 1];

	if (e->namelen > SK_UNIX_NAME_MAX)
		abort();
	if (e->namelen > 0 && e->name[0] != '\0' &&
	    (e->namelen > SK_UNIX_NAME_MAX - 1 || memchr(e->name, '\0', e->namelen)))
		abort();
	if (sk_unix_format_name(e, buf, sizeof(buf)) != e->namelen || strlen(buf) != e->namelen)
		abort();
}

static int same(const struct sk_unix_entry *a, const struct sk_unix_entry *b)
{
	return a->inode == b->inode && a->type == b->type && a->state == b->state &&
	       a->namelen == b->namelen && memcmp(a->name, b->name, a->namelen) == 0 &&
	       a->has_vfs == b->has_vfs && a->vfs_ino == b->vfs_ino && a->vfs_dev == b->vfs_dev &&
	       a->peer == b->peer && a->has_uid == b->has_uid && a->uid == b->uid;
}

/* The line the kernel would print for e. */
static void line_back(const struct sk_unix_entry *e)
{
	char line[300], name[SK_UNIX_NAME_MAX + 1];
	struct sk_unix_entry again;
	int st = e->state == 1 ? 3 : e->state == 2 ? 2 : 1;
	int n;

	sk_unix_format_name(e, name, sizeof(name));
	n = snprintf(line, sizeof(line),
		     "0000000000000000: 00000002 00000000 %08X %04X %02X %5lu%s%s\n",
		     e->state == 10 ? 0x10000u : 0u, (unsigned)e->type, (unsigned)st, e->inode,
		     e->namelen ? " " : "", name);
	if (n < 0 || n >= (int)sizeof(line) || sk_unix_parse_line(line, &again) < 0 ||
	    !same(e, &again))
		abort();
}

static void fuzz_line(const uint8_t *data, size_t size)
{
	struct sk_unix_entry e;
	char *line = malloc(size + 1);

	if (!line)
		return;
	memcpy(line, data, size);
	line[size] = '\0';
	if (sk_unix_parse_line(line, &e) == 0) {
		if ((e.state != 1 && e.state != 2 && e.state != 7 && e.state != 10) || e.type < 0 ||
		    e.type > 0xffff || e.has_vfs || e.has_uid || e.peer || e.vfs_ino || e.vfs_dev ||
		    e.uid)
			abort();
		check_name(&e);
		line_back(&e);
	} else if (errno != EINVAL || memcmp(&e, &zero, sizeof(e)) != 0) {
		abort();
	}
	free(line);
}

static void put(unsigned char *buf, size_t *off, unsigned type, const void *p, size_t n)
{
	struct nlattr a = {.nla_len = (unsigned short)(NLA_HDRLEN + n),
			   .nla_type = (unsigned short)type};

	memcpy(buf + *off, &a, sizeof(a));
	memcpy(buf + *off + NLA_HDRLEN, p, n);
	*off += NLA_ALIGN(a.nla_len);
}

/* The message the kernel would send for e. */
static void message_back(const struct sk_unix_entry *e)
{
	_Alignas(4) unsigned char buf[256] = {0};
	struct unix_diag_msg m = {.udiag_family = AF_UNIX,
				  .udiag_type = (unsigned char)e->type,
				  .udiag_state = (unsigned char)e->state,
				  .udiag_ino = (uint32_t)e->inode};
	struct unix_diag_vfs vfs = {(uint32_t)e->vfs_ino, e->vfs_dev};
	uint32_t peer = (uint32_t)e->peer, uid = e->uid;
	struct sk_unix_entry again;
	size_t n = sizeof(m);

	memcpy(buf, &m, sizeof(m));
	if (e->namelen)
		put(buf, &n, UNIX_DIAG_NAME, e->name, e->namelen);
	if (e->has_vfs)
		put(buf, &n, UNIX_DIAG_VFS, &vfs, sizeof(vfs));
	if (e->peer)
		put(buf, &n, UNIX_DIAG_PEER, &peer, sizeof(peer));
	if (e->has_uid)
		put(buf, &n, 7 /* UNIX_DIAG_UID */, &uid, sizeof(uid));
	if (sk_unix_diag_parse(buf, n, &again) < 0 || !same(e, &again))
		abort();
}

static void fuzz_message(const uint8_t *data, size_t size)
{
	struct sk_unix_entry e;
	struct stat st = {.st_mode = S_IFSOCK};

	if (sk_unix_diag_parse(data, size, &e) == 0) {
		if (e.type < 0 || e.type > 0xff || e.state < 0 || e.state > 0xff ||
		    e.inode > UINT32_MAX || e.peer > UINT32_MAX || e.vfs_ino > UINT32_MAX ||
		    (!e.has_vfs && (e.vfs_ino || e.vfs_dev)) || (!e.has_uid && e.uid))
			abort();
		check_name(&e);
		message_back(&e);
		st.st_ino = e.vfs_ino;
		st.st_dev = makedev(e.vfs_dev >> 20, e.vfs_dev & 0xfffff);
		if (sk_unix_same_file(&e, &st) != e.has_vfs)
			abort();
	} else if (errno != EINVAL || memcmp(&e, &zero, sizeof(e)) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_message(data + 1, size - 1);
	else
		fuzz_line(data + 1, size - 1);
	return 0;
}
