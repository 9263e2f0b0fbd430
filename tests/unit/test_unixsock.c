/*
 * Unit tests of lib/whois/unixsock.c: the /proc/net/unix parser against
 * tests/fixtures/proc (run from the repository root, as tests/run does),
 * the unix_diag answer parser against hand-built messages, and both
 * readers against real sockets this test creates.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/unix_diag.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "unixsock.h"

#define ROOT "tests/fixtures/proc"

struct seen {
	struct sk_unix_entry e[16];
	size_t n;
};

static void keep(void *ctx, const struct sk_unix_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->e[s->n++] = *e;
}

static bool named(const struct sk_unix_entry *e, const void *name, size_t n)
{
	return e->namelen == n && memcmp(e->name, name, n) == 0;
}

static bool path_is(const struct sk_unix_entry *e, const char *path)
{
	return named(e, path, strlen(path));
}

static void table(void)
{
	struct seen s = {0};
	size_t bad;

	CHECK(sk_unix_read_proc(ROOT, keep, &s, &bad) == 11 && bad == 4);
	CHECK(s.e[0].inode == 20001 && s.e[0].type == SOCK_STREAM && s.e[0].state == 10 &&
	      path_is(&s.e[0], "/run/app.sock"));
	CHECK(s.e[1].type == SOCK_DGRAM && s.e[1].state == 7 &&
	      path_is(&s.e[1], "/run/systemd/journal/socket"));
	CHECK(s.e[2].inode == 20003 && s.e[2].state == 1 && s.e[2].namelen == 0);
	CHECK(s.e[3].type == SOCK_SEQPACKET && s.e[3].state == 10 &&
	      path_is(&s.e[3], "/run/seq.sock"));
	CHECK(s.e[4].state == 10 && named(&s.e[4], "\0/tmp/.X11-unix/X0", 18));
	CHECK(s.e[5].state == 1 && path_is(&s.e[5], "/run/app.sock")); /* an accepted end */
	CHECK(s.e[6].state == 2 && s.e[6].inode == 20007);	       /* not yet accepted */
	CHECK(s.e[7].state == 10 && path_is(&s.e[7], "/tmp/my dir/a b.sock"));
	CHECK(s.e[8].inode == 209 && s.e[8].type == SOCK_DGRAM && s.e[8].namelen == 0);
	CHECK(s.e[9].type == SOCK_SEQPACKET && s.e[9].state == 1 &&
	      named(&s.e[9],
		    "\0"
		    "0001a",
		    6));
	CHECK(s.e[10].inode == 20014 && s.e[10].namelen == 107);
	for (size_t i = 0; i < s.n; i++)
		CHECK(!s.e[i].has_vfs && !s.e[i].has_uid && s.e[i].peer == 0);
	CHECK(sk_unix_read_proc("tests/fixtures/nosuch", keep, &s, &bad) < 0 && errno == ENOENT);
}

#define LINE "0000000000000000: 00000002 00000000 00010000 0001 01 12345"

static void lines(void)
{
	struct sk_unix_entry e;
	char buf[300];

	CHECK(sk_unix_parse_line("", &e) < 0 && errno == EINVAL);
	CHECK(sk_unix_parse_line("Num       RefCount Protocol Flags    Type St Inode Path\n", &e) <
	      0);
	CHECK(sk_unix_parse_line(LINE, &e) == 0 && e.inode == 12345 && e.state == 10 &&
	      e.namelen == 0);
	CHECK(sk_unix_parse_line(LINE "\n", &e) == 0 && e.namelen == 0);
	CHECK(sk_unix_parse_line(LINE "\nmore", &e) < 0);
	CHECK(sk_unix_parse_line(LINE " /a b \n", &e) == 0 && path_is(&e, "/a b "));
	CHECK(sk_unix_parse_line(LINE "  lead", &e) == 0 && path_is(&e, " lead"));
	CHECK(sk_unix_parse_line(LINE " @\n", &e) == 0 && named(&e, "", 1));
	CHECK(sk_unix_parse_line(LINE " @a@b", &e) == 0 && named(&e, "\0a@b", 4));
	CHECK(sk_unix_parse_line(LINE " \n", &e) < 0);			  /* a space and no path */
	CHECK(sk_unix_parse_line(LINE "9999999999999999999999", &e) < 0); /* inode overflow */
	CHECK(sk_unix_parse_line("0000000000000000: 00000002 00000000 00010000 0001 01 x", &e) < 0);
	CHECK(sk_unix_parse_line("0000000000000000 00000002 00000000 00010000 0001 01 1", &e) < 0);
	CHECK(sk_unix_parse_line("0000000000000000:00000002 00000000 00010000 0001 01 1", &e) < 0);
	CHECK(sk_unix_parse_line("0: 2 0 0 00001 01 1", &e) < 0); /* a 5-digit type */
	CHECK(sk_unix_parse_line("0: 2 0 0 1 1", &e) < 0);	  /* no inode */
	CHECK(sk_unix_parse_line("0: 2 0 0 2 03 7", &e) == 0 && e.type == SOCK_DGRAM &&
	      e.state == 1 && e.inode == 7);
	CHECK(sk_unix_parse_line("0: 2 0 0 2 04 7", &e) == 0 && e.state == 7);

	/* 107 path bytes, 108 abstract ones ('@' and 107) */
	snprintf(buf, sizeof(buf), "%s /%0106d", LINE, 0);
	CHECK(sk_unix_parse_line(buf, &e) == 0 && e.namelen == 107);
	snprintf(buf, sizeof(buf), "%s /%0107d", LINE, 0);
	CHECK(sk_unix_parse_line(buf, &e) < 0 && e.namelen == 0);
	snprintf(buf, sizeof(buf), "%s @%0107d", LINE, 0);
	CHECK(sk_unix_parse_line(buf, &e) == 0 && e.namelen == 108 && e.name[0] == '\0');
	snprintf(buf, sizeof(buf), "%s @%0108d", LINE, 0);
	CHECK(sk_unix_parse_line(buf, &e) < 0);
}

/* Appends an attribute to the message in buf at *off. */
static void put(unsigned char *buf, size_t *off, unsigned type, const void *data, size_t n)
{
	struct nlattr a = {.nla_len = (unsigned short)(NLA_HDRLEN + n),
			   .nla_type = (unsigned short)type};

	memcpy(buf + *off, &a, sizeof(a));
	memcpy(buf + *off + NLA_HDRLEN, data, n);
	memset(buf + *off + NLA_HDRLEN + n, 0, NLA_ALIGN(n) - n);
	*off += NLA_ALIGN(a.nla_len);
}

static size_t message(unsigned char *buf, int family)
{
	struct unix_diag_msg m = {.udiag_family = (unsigned char)family,
				  .udiag_type = SOCK_STREAM,
				  .udiag_state = 10,
				  .udiag_ino = 4242};

	memcpy(buf, &m, sizeof(m));
	return NLMSG_ALIGN(sizeof(m));
}

static void answers(void)
{
	_Alignas(4) unsigned char raw[512];
	unsigned char *buf = raw + 1; /* the parser must not need alignment */
	struct unix_diag_vfs vfs = {.udiag_vfs_ino = 77, .udiag_vfs_dev = 8u << 20 | 1};
	uint32_t peer = 4243, uid = 1000, rq[2] = {1, 2};
	struct sk_unix_entry e;
	char big[120];
	size_t n;

	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, "/run/x.sock", 12); /* with its NUL */
	put(buf, &n, UNIX_DIAG_VFS, &vfs, sizeof(vfs));
	put(buf, &n, UNIX_DIAG_PEER, &peer, sizeof(peer));
	put(buf, &n, UNIX_DIAG_RQLEN, rq, sizeof(rq)); /* not asked for: skipped */
	put(buf, &n, 99, "future", 6);
	put(buf, &n, 7 /* UNIX_DIAG_UID */, &uid, sizeof(uid));
	CHECK(sk_unix_diag_parse(buf, n, &e) == 0 && e.inode == 4242 && e.type == SOCK_STREAM &&
	      e.state == 10 && path_is(&e, "/run/x.sock") && e.has_vfs && e.vfs_ino == 77 &&
	      e.vfs_dev == (8u << 20 | 1) && e.peer == 4243 && e.has_uid && e.uid == 1000);
	CHECK(sk_unix_diag_parse(buf, n + 2, &e) == 0); /* a short tail: padding */
	CHECK(sk_unix_diag_parse(buf, n - 1, &e) < 0 && errno == EINVAL && e.inode == 0);
	CHECK(sk_unix_diag_parse(buf, 15, &e) < 0);
	CHECK(sk_unix_diag_parse(buf, 16, &e) == 0 && e.namelen == 0 && !e.has_vfs && !e.has_uid);

	n = message(buf, AF_INET);
	CHECK(sk_unix_diag_parse(buf, n, &e) < 0);
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, "\0abs\0tract", 10);
	CHECK(sk_unix_diag_parse(buf, n, &e) == 0 && named(&e, "\0abs\0tract", 10) && !e.has_vfs);
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_VFS, &vfs, 4);
	CHECK(sk_unix_diag_parse(buf, n, &e) < 0);
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_PEER, &peer, 2);
	CHECK(sk_unix_diag_parse(buf, n, &e) < 0);
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, "", 0);
	memset(buf + n - 4, 0, 2); /* nla_len 0 */
	CHECK(sk_unix_diag_parse(buf, n, &e) < 0);

	memset(big, 'p', sizeof(big));
	big[0] = '/';
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, big, 107); /* no NUL: all of it */
	CHECK(sk_unix_diag_parse(buf, n, &e) == 0 && e.namelen == 107);
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, big, 108);
	CHECK(sk_unix_diag_parse(buf, n, &e) < 0);
	big[0] = '\0';
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, big, 108);
	CHECK(sk_unix_diag_parse(buf, n, &e) == 0 && e.namelen == 108);
	n = message(buf, AF_UNIX);
	put(buf, &n, UNIX_DIAG_NAME, big, 109);
	CHECK(sk_unix_diag_parse(buf, n, &e) < 0);
}

static void helpers(void)
{
	struct sk_unix_entry e = {.has_vfs = true, .vfs_ino = 5, .vfs_dev = 259u << 20 | 3};
	struct stat st = {
	    .st_mode = S_IFSOCK | 0755, .st_ino = 0x100000005, .st_dev = makedev(259, 3)};
	char buf[8];

	CHECK(sk_unix_same_file(&e, &st)); /* the kernel cuts the inode to 32 bits */
	st.st_dev = makedev(259, 4);
	CHECK(!sk_unix_same_file(&e, &st));
	st.st_dev = makedev(3, 259);
	CHECK(!sk_unix_same_file(&e, &st));
	st.st_dev = makedev(259, 3);
	st.st_mode = S_IFREG | 0644;
	CHECK(!sk_unix_same_file(&e, &st));
	st.st_mode = S_IFSOCK | 0755;
	e.has_vfs = false;
	CHECK(!sk_unix_same_file(&e, &st));

	memcpy(e.name, "\0ab\0c", 5);
	e.namelen = 5;
	CHECK(sk_unix_format_name(&e, buf, sizeof(buf)) == 5 && strcmp(buf, "@ab@c") == 0);
	CHECK(sk_unix_format_name(&e, buf, 3) == 5 && strcmp(buf, "@a") == 0);
	e.namelen = 0;
	CHECK(sk_unix_format_name(&e, buf, sizeof(buf)) == 0 && buf[0] == '\0');
}

/* The live sockets, by role. */
enum { LISTENER, DGRAM, ABSTRACT, PAIR0, PAIR1, CLIENT, ACCEPTED, NSOCK };

static const int types[NSOCK] = {
    [LISTENER] = SOCK_STREAM, [DGRAM] = SOCK_DGRAM,  [ABSTRACT] = SOCK_SEQPACKET,
    [PAIR0] = SOCK_STREAM,    [PAIR1] = SOCK_STREAM, [CLIENT] = SOCK_STREAM,
    [ACCEPTED] = SOCK_STREAM,
};

struct live {
	int fd[NSOCK];
	unsigned long ino[NSOCK];
	struct sk_unix_entry e[NSOCK];
	int hits[NSOCK];
	char dir[64], lpath[108], dpath[108], dreal[108];
	char abstract[64]; /* without its leading NUL */
};

static void pick(void *ctx, const struct sk_unix_entry *e)
{
	struct live *l = ctx;

	for (int i = 0; i < NSOCK; i++)
		if (e->inode == l->ino[i]) {
			l->e[i] = *e;
			l->hits[i]++;
		}
}

static int bind_to(int fd, const void *name, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memcpy(sa.sun_path, name, n);
	return bind(fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
}

static int connect_to(int fd, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memcpy(sa.sun_path, path, strlen(path));
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* A listener at a path, a datagram socket bound through a symlinked directory, an abstract
 * seqpacket listener, a socketpair, and a connection accepted from the listener. */
static int make_sockets(struct live *l)
{
	char via[80];
	struct stat st;
	int sp[2];

	snprintf(l->dir, sizeof(l->dir), "/tmp/sockctl-unix.XXXXXX");
	if (!mkdtemp(l->dir))
		return -1;
	snprintf(l->lpath, sizeof(l->lpath), "%s/listen.sock", l->dir);
	snprintf(l->dreal, sizeof(l->dreal), "%s/real/dgram sock", l->dir);
	snprintf(l->dpath, sizeof(l->dpath), "%s/via/dgram sock", l->dir);
	snprintf(via, sizeof(via), "%s/real", l->dir);
	if (mkdir(via, 0700) < 0)
		return -1;
	snprintf(via, sizeof(via), "%s/via", l->dir);
	if (symlink("real", via) < 0)
		return -1;
	snprintf(l->abstract, sizeof(l->abstract), "sockctl-test-%ld-%ld", (long)getpid(),
		 (long)time(NULL));
	l->fd[LISTENER] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	l->fd[DGRAM] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	l->fd[ABSTRACT] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	l->fd[CLIENT] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	l->fd[PAIR0] = sp[0];
	l->fd[PAIR1] = sp[1];
	if (bind_to(l->fd[LISTENER], l->lpath, strlen(l->lpath)) < 0 ||
	    listen(l->fd[LISTENER], 8) < 0 || bind_to(l->fd[DGRAM], l->dpath, strlen(l->dpath)) < 0)
		return -1;
	memmove(l->abstract + 1, l->abstract, strlen(l->abstract) + 1);
	l->abstract[0] = '\0';
	if (bind_to(l->fd[ABSTRACT], l->abstract, 1 + strlen(l->abstract + 1)) < 0 ||
	    listen(l->fd[ABSTRACT], 8) < 0)
		return -1;
	if (connect_to(l->fd[CLIENT], l->lpath) < 0)
		return -1;
	l->fd[ACCEPTED] = accept4(l->fd[LISTENER], NULL, NULL, SOCK_CLOEXEC);
	for (int i = 0; i < NSOCK; i++) {
		if (l->fd[i] < 0 || fstat(l->fd[i], &st) < 0)
			return -1;
		l->ino[i] = st.st_ino;
	}
	return 0;
}

static void remove_sockets(struct live *l)
{
	char p[120];

	for (int i = 0; i < NSOCK; i++)
		if (l->fd[i] >= 0)
			close(l->fd[i]);
	unlink(l->lpath);
	unlink(l->dreal);
	snprintf(p, sizeof(p), "%s/via", l->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/real", l->dir);
	rmdir(p);
	rmdir(l->dir);
}

/* Whether the kernel is 5.3 or later (UNIX_DIAG_UID). */
static bool kernel_has_uid(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	       (major > 5 || (major == 5 && minor >= 3));
}

static void diag_checks(struct live *l)
{
	const struct sk_unix_entry *e = l->e;
	struct stat st, other;

	for (int i = 0; i < NSOCK; i++) {
		CHECK(l->hits[i] == 1 && e[i].type == types[i]);
		CHECK(e[i].has_uid == kernel_has_uid() && (!e[i].has_uid || e[i].uid == getuid()));
	}
	CHECK(e[LISTENER].type == SOCK_STREAM && e[LISTENER].state == 10 &&
	      path_is(&e[LISTENER], l->lpath) && e[LISTENER].peer == 0);
	CHECK(stat(l->lpath, &st) == 0 && sk_unix_same_file(&e[LISTENER], &st));
	CHECK(stat(l->dreal, &other) == 0 && !sk_unix_same_file(&e[LISTENER], &other));
	CHECK(e[DGRAM].type == SOCK_DGRAM && e[DGRAM].state == 7 && path_is(&e[DGRAM], l->dpath));
	CHECK(sk_unix_same_file(&e[DGRAM], &other)); /* bound through the symlink */
	CHECK(e[ABSTRACT].type == SOCK_SEQPACKET && e[ABSTRACT].state == 10 &&
	      named(&e[ABSTRACT], l->abstract, 1 + strlen(l->abstract + 1)) &&
	      !e[ABSTRACT].has_vfs);
	CHECK(e[PAIR0].state == 1 && e[PAIR0].namelen == 0 && e[PAIR0].peer == l->ino[PAIR1]);
	CHECK(e[PAIR1].state == 1 && e[PAIR1].namelen == 0 && e[PAIR1].peer == l->ino[PAIR0]);
	CHECK(e[CLIENT].state == 1 && e[CLIENT].namelen == 0 && e[CLIENT].peer == l->ino[ACCEPTED]);
	CHECK(e[ACCEPTED].state == 1 && path_is(&e[ACCEPTED], l->lpath) &&
	      e[ACCEPTED].peer == l->ino[CLIENT]);
	CHECK(sk_unix_same_file(&e[ACCEPTED], &st)); /* it shares the listener's path */
}

static void proc_checks(struct live *l)
{
	const struct sk_unix_entry *e = l->e;

	for (int i = 0; i < NSOCK; i++)
		CHECK(l->hits[i] == 1 && e[i].type == types[i]);
	CHECK(e[LISTENER].state == 10 && path_is(&e[LISTENER], l->lpath));
	CHECK(e[DGRAM].state == 7 && path_is(&e[DGRAM], l->dpath)); /* a space in it */
	CHECK(e[ABSTRACT].state == 10 &&
	      named(&e[ABSTRACT], l->abstract, 1 + strlen(l->abstract + 1)));
	CHECK(e[PAIR0].state == 1 && e[PAIR1].state == 1 && e[PAIR0].namelen == 0);
	CHECK(e[CLIENT].state == 1 && e[ACCEPTED].state == 1 && path_is(&e[ACCEPTED], l->lpath));
}

static void live(void)
{
	struct live l;
	size_t bad;
	long n;

	memset(&l, 0, sizeof(l));
	for (int i = 0; i < NSOCK; i++)
		l.fd[i] = -1;
	CHECK(make_sockets(&l) == 0);

	n = sk_unix_diag_read(~0u, pick, &l);
	if (n < 0 && (errno == EPROTONOSUPPORT || errno == ENOENT || errno == EINVAL)) {
		fprintf(stderr, "unit unixsock: no unix_diag (%s): netlink checks skipped\n",
			strerror(errno));
	} else {
		CHECK(n >= NSOCK);
		diag_checks(&l);
		memset(l.hits, 0, sizeof(l.hits));
		CHECK(sk_unix_diag_read(1u << 10, pick, &l) >= 2);
		CHECK(l.hits[LISTENER] == 1 && l.hits[ABSTRACT] == 1 && l.hits[DGRAM] == 0 &&
		      l.hits[PAIR0] == 0 && l.hits[ACCEPTED] == 0);
	}

	memset(l.hits, 0, sizeof(l.hits));
	memset(l.e, 0, sizeof(l.e));
	CHECK(sk_unix_read_proc("/proc", pick, &l, &bad) >= NSOCK);
	proc_checks(&l);
	remove_sockets(&l);
}

int main(void)
{
	table();
	lines();
	answers();
	helpers();
	live();
	return check_summary("unixsock");
}
