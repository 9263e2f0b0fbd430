#include "holders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "parse.h"
#include "pidfd.h"
#include "sort.h"

/* The PID a /proc entry names, or 0 when it is not a process. */
static pid_t entry_pid(const char *name)
{
	long long v;

	if (name[0] < '1' || name[0] > '9' || sk_parse_num(name, 1, 0x3fffffff, &v) < 0)
		return 0;
	return (pid_t)v;
}

/*
 * The inode of a "socket:[N]" link, or 0 when the link is something else
 * (or is not there: errno ENOENT).
 */
static unsigned long socket_inode(int dirfd, const char *name)
{
	char link[64], *end;
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
	unsigned long ino;

	if (n < 0)
		return 0;
	errno = 0;
	if (n < 9 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']')
		return 0;
	link[n - 1] = '\0';
	errno = 0;
	ino = strtoul(link + 8, &end, 10);
	return errno || *end ? 0 : ino;
}

static bool contains(const unsigned long *v, size_t n, unsigned long key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == key)
			return true;
		if (v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int add_holder(struct sk_holders *h, size_t *cap, unsigned long inode, pid_t pid)
{
	if (h->count == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;
		struct sk_holder *nv = realloc(h->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		h->v = nv;
		*cap = ncap;
	}
	h->v[h->count++] = (struct sk_holder){.inode = inode, .pid = pid};
	return 0;
}

/* Opens root/PID/fd (root given as an open directory). */
static DIR *open_fd_dir(int rootfd, pid_t pid)
{
	char path[32];
	int fd;
	DIR *d;

	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	fd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd)))
		close(fd);
	return d;
}

/* Processes with fewer fds are read by their directory alone. */
#define PROBE_MIN 256
/* From this many fds on, two threads share the reading (the links cost the kernel alike). */
#define SPLIT_MIN 1024

/* One thread's share of a process's fd numbers. */
struct probe {
	int dfd;
	pid_t pid;
	const unsigned long *inodes;
	size_t n;
	long long from, to, want;
	atomic_llong *seen; /* by both: done once it reaches want */
	struct sk_holders h;
	size_t cap;
	int rc;
};

static void *probe_range(void *arg)
{
	struct probe *p = arg;
	char name[24];
	long long fd;

	for (fd = p->from; fd < p->to && atomic_load(p->seen) < p->want; fd++) {
		unsigned long ino;

		snprintf(name, sizeof(name), "%lld", fd);
		ino = socket_inode(p->dfd, name);
		if (ino == 0 && errno == ENOENT)
			continue;
		atomic_fetch_add(p->seen, 1);
		if (ino && contains(p->inodes, p->n, ino) &&
		    add_holder(&p->h, &p->cap, ino, p->pid) < 0) {
			p->rc = -1;
			break;
		}
	}
	return NULL;
}

/*
 * For a process with many fds: asks for its fds by number, 0 up, until
 * all of them (its fd directory's size: Linux 6.2+) have been seen, which
 * spares the kernel listing the directory, as costly as reading the links
 * again; a second thread takes the upper numbers of a large table. Gives
 * up after twice as many numbers, for a sparse table (the directory is
 * read then). Returns 1 when every fd was seen, 0 when the directory must
 * be read, -1 on ENOMEM.
 */
static int probe_fds(int dfd, pid_t pid, const unsigned long *inodes, size_t n,
		     struct sk_holders *h, size_t *cap)
{
	atomic_llong seen = 0;
	struct probe lo = {.dfd = dfd, .pid = pid, .inodes = inodes, .n = n, .seen = &seen}, hi;
	struct stat st;
	pthread_t t;
	bool split;
	size_t i;
	int rc = 0;

	if (fstat(dfd, &st) < 0 || st.st_size < PROBE_MIN)
		return 0;
	lo.want = st.st_size;
	lo.to = 2 * lo.want;
	hi = lo;
	split = lo.want >= SPLIT_MIN;
	if (split) {
		lo.to = hi.from = lo.want / 2;
		split = pthread_create(&t, NULL, probe_range, &hi) == 0;
		if (!split)
			lo.to = hi.to;
	}
	probe_range(&lo);
	if (split)
		pthread_join(t, NULL);
	for (i = 0; rc == 0 && split && i < hi.h.count; i++)
		if (add_holder(&lo.h, &lo.cap, hi.h.v[i].inode, pid) < 0)
			rc = -1;
	for (i = 0; rc == 0 && i < lo.h.count; i++)
		if (add_holder(h, cap, lo.h.v[i].inode, pid) < 0)
			rc = -1;
	sk_holders_free(&lo.h);
	if (split)
		sk_holders_free(&hi.h);
	if (rc < 0 || lo.rc < 0 || (split && hi.rc < 0))
		return -1;
	return atomic_load(&seen) == lo.want;
}

/*
 * Records the sockets of one process, by fd number where probe allows
 * (*probed then says so) or from its fd directory. Returns 0, or -1 on
 * ENOMEM.
 */
static int scan_process(int rootfd, pid_t pid, const unsigned long *inodes, size_t n,
			struct sk_holders *h, size_t *cap, bool probe, bool *probed)
{
	DIR *d = open_fd_dir(rootfd, pid);
	struct dirent *de;
	int rc = 0;

	*probed = false;
	if (!d) {
		if (probe && (errno == EACCES || errno == EPERM))
			h->unseen++;
		return 0; /* gone meanwhile, or not readable */
	}
	/* a table that changed meanwhile is read again: the holders are made unique later */
	if (probe && (rc = probe_fds(dirfd(d), pid, inodes, n, h, cap)) != 0) {
		closedir(d);
		*probed = rc > 0;
		return rc < 0 ? -1 : 0;
	}
	while (rc == 0 && (de = readdir(d))) {
		unsigned long ino;

		if (de->d_name[0] == '.')
			continue;
		ino = socket_inode(dirfd(d), de->d_name);
		if (ino && contains(inodes, n, ino))
			rc = add_holder(h, cap, ino, pid);
	}
	closedir(d);
	return rc;
}

static int cmp_holder(const void *pa, const void *pb)
{
	const struct sk_holder *a = pa, *b = pb;

	if (a->inode != b->inode)
		return a->inode < b->inode ? -1 : 1;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

/*
 * Probing by fd number stops once it has seen as many fds as the table
 * had; an fd opened meanwhile below the last one may stand in for one
 * not yet seen. When a socket has no holder after all, the processes
 * that were probed are read again from their directories, for the
 * sockets still without one. Returns 0, or -1 on ENOMEM.
 */
static int rescan_probed(int rootfd, const pid_t *pids, size_t npids, const unsigned long *inodes,
			 size_t n, struct sk_holders *h, size_t *cap)
{
	unsigned long *missing;
	size_t i, lo, hi, nmissing = 0;
	bool probed;
	int rc = 0;

	if (npids == 0)
		return 0;
	if (!(missing = malloc((n + 1) * sizeof(*missing))))
		return -1;
	h->count = sk_sort_unique(h->v, h->count, sizeof(*h->v), cmp_holder);
	for (i = 0; i < n; i++) {
		for (lo = 0, hi = h->count; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (h->v[mid].inode < inodes[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == h->count || h->v[lo].inode != inodes[i])
			missing[nmissing++] = inodes[i];
	}
	for (i = 0; rc == 0 && nmissing && i < npids; i++)
		rc = scan_process(rootfd, pids[i], missing, nmissing, h, cap, false, &probed);
	free(missing);
	return rc;
}

int sk_find_holders(const char *root, const unsigned long *inodes, size_t n, struct sk_holders *out)
{
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	size_t cap = 0, npids = 0;
	pid_t *pids = NULL;
	struct dirent *de;
	bool probed;
	DIR *d;

	memset(out, 0, sizeof(*out));
	if (rootfd < 0)
		return -1;
	if (!(d = opendir(root))) {
		close(rootfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d))) {
		pid_t pid = entry_pid(de->d_name), *nv;

		if (!pid || !n)
			continue;
		rc = scan_process(rootfd, pid, inodes, n, out, &cap, true, &probed);
		if (rc == 0 && probed) {
			if (!(nv = realloc(pids, (npids + 1) * sizeof(*nv))))
				rc = -1;
			else
				(pids = nv)[npids++] = pid;
		}
	}
	closedir(d);
	if (rc == 0)
		rc = rescan_probed(rootfd, pids, npids, inodes, n, out, &cap);
	free(pids);
	close(rootfd);
	if (rc < 0) {
		sk_holders_free(out);
		errno = ENOMEM;
		return -1;
	}
	/* one entry per process and socket, however many fds it has on it */
	out->count = sk_sort_unique(out->v, out->count, sizeof(*out->v), cmp_holder);
	return 0;
}

void sk_holders_free(struct sk_holders *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* Opens root/PID/fd, root given by its path. NULL with errno when it cannot. */
static DIR *open_pid_fds(const char *root, pid_t pid)
{
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), saved;
	DIR *d;

	if (rootfd < 0)
		return NULL;
	d = open_fd_dir(rootfd, pid);
	saved = errno;
	close(rootfd);
	errno = saved;
	return d;
}

enum sk_holds sk_pid_holds_inode(const char *root, pid_t pid, unsigned long inode)
{
	enum sk_holds found = SK_HOLDS_NOT;
	struct dirent *de;
	DIR *d = open_pid_fds(root, pid);

	if (!d)
		return errno == ENOENT ? SK_HOLDS_NOT : SK_HOLDS_UNKNOWN;
	while (found == SK_HOLDS_NOT && (de = readdir(d)))
		if (de->d_name[0] != '.' && socket_inode(dirfd(d), de->d_name) == inode)
			found = SK_HOLDS_YES;
	closedir(d);
	return found;
}

/* Whether name (as /proc/net/unix gives it: NUL bytes inside as '@') is the socket fd's. */
static enum sk_holds fd_named(int fd, const unsigned char *name, size_t namelen)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	size_t n, i;

	if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 || sun.sun_family != AF_UNIX ||
	    len < offsetof(struct sockaddr_un, sun_path))
		return SK_HOLDS_UNKNOWN;
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof(sun.sun_path))
		n = sizeof(sun.sun_path);
	if (n > 0 && sun.sun_path[0] != '\0')
		n = strnlen(sun.sun_path, n); /* a path: its NUL is not part of the name */
	if (n != namelen)
		return SK_HOLDS_NOT;
	for (i = 0; i < n; i++)
		if ((unsigned char)sun.sun_path[i] != name[i] &&
		    !(i > 0 && name[i] == '@' && sun.sun_path[i] == '\0'))
			return SK_HOLDS_NOT;
	return SK_HOLDS_YES;
}

enum sk_holds sk_pid_unix_named(const char *root, pid_t pid, unsigned long inode,
				const unsigned char *name, size_t namelen, bool by_name)
{
	char path[4096], proto[32];
	struct dirent *de;
	enum sk_holds rc = SK_HOLDS_UNKNOWN;
	ssize_t n = -1;
	int fdnum = -1, pidfd, fd;
	DIR *d = open_pid_fds(root, pid);

	if (!d)
		return SK_HOLDS_UNKNOWN;
	while (n < 0 && (de = readdir(d)))
		if (de->d_name[0] != '.' && socket_inode(dirfd(d), de->d_name) == inode &&
		    snprintf(path, sizeof(path), "%s/%d/fd/%s", root, (int)pid, de->d_name) <
			(int)sizeof(path)) {
			n = getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
			fdnum = atoi(de->d_name);
		}
	closedir(d);
	if (n < 0)
		return SK_HOLDS_UNKNOWN; /* gone meanwhile, or not readable */
	/* "UNIX", "UNIX-STREAM", "UNIX-SEQPACKET", the kernel's NUL counted in */
	if (n < 4 || memcmp(proto, "UNIX", 4) != 0 ||
	    (n > 4 && proto[4] != '\0' && proto[4] != '-'))
		return SK_HOLDS_NOT;
	if (!by_name)
		return SK_HOLDS_UNKNOWN;
	/* the socket's own name, from a copy of its fd (where this process may take one) */
	if ((pidfd = sk_pidfd_open(pid)) < 0)
		return SK_HOLDS_UNKNOWN;
	if ((fd = sk_pidfd_getfd(pidfd, fdnum)) >= 0) {
		struct stat st;

		if (fstat(fd, &st) == 0 && st.st_ino == inode)
			rc = fd_named(fd, name, namelen);
		close(fd);
	}
	close(pidfd);
	return rc;
}

int sk_proc_uid(const char *root, pid_t pid, unsigned *uid)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%d", root, (int)pid) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (stat(path, &st) < 0)
		return -1;
	*uid = st.st_uid;
	return 0;
}

/* Reads root/PID/name into buf (NUL-terminated). Returns the length or -1. */
static ssize_t read_proc_file(const char *root, pid_t pid, const char *name, char *buf, size_t len)
{
	char path[4096];
	ssize_t n, total = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (
	    (size_t)total < len - 1 &&
	    ((n = read(fd, buf + total, len - 1 - (size_t)total)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

ssize_t sk_proc_cmdline(const char *root, pid_t pid, char *buf, size_t len)
{
	ssize_t n, i;

	if (len < 4) {
		errno = EINVAL;
		return -1;
	}
	n = read_proc_file(root, pid, "cmdline", buf, len);
	if (n < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n == 0) { /* a kernel thread or a zombie: its name in brackets */
		n = read_proc_file(root, pid, "comm", buf + 1, len - 2);
		if (n < 0)
			return -1;
		while (n > 0 && buf[n] == '\n')
			n--;
		buf[0] = '[';
		buf[n + 1] = ']';
		buf[n + 2] = '\0';
		return n + 2;
	}
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return n;
}

ssize_t sk_proc_comm(const char *root, pid_t pid, char *buf, size_t len)
{
	ssize_t n;

	if (len < 2) {
		errno = EINVAL;
		return -1;
	}
	if ((n = read_proc_file(root, pid, "comm", buf, len)) < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

unsigned long sk_netns_of(const char *root, pid_t pid)
{
	char path[4096];
	struct stat st;
	int n = pid ? snprintf(path, sizeof(path), "%s/%d/ns/net", root, (int)pid)
		    : snprintf(path, sizeof(path), "%s/self/ns/net", root);

	if (n >= (int)sizeof(path) || stat(path, &st) < 0)
		return 0;
	return st.st_ino;
}

int sk_netns_list(const char *root, struct sk_netns **out, size_t *n)
{
	struct sk_netns *v = NULL;
	size_t count = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = opendir(root);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		pid_t pid = entry_pid(de->d_name);
		unsigned long ino = pid ? sk_netns_of(root, pid) : 0;

		if (!ino)
			continue;
		for (i = 0; i < count && v[i].ino != ino; i++)
			;
		if (i < count) {
			if (pid < v[i].pid)
				v[i].pid = pid;
			continue;
		}
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct sk_netns *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[count++] = (struct sk_netns){.ino = ino, .pid = pid};
	}
	closedir(d);
	*out = v;
	*n = count;
	return 0;
}
