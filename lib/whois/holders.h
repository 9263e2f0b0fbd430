/* holders.h - which processes hold a socket, from /proc/PID/fd. */
#ifndef SK_HOLDERS_H
#define SK_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One process holding one socket (once, however many fds it has on it). */
struct sk_holder {
	unsigned long inode;
	pid_t pid;
};

struct sk_holders {
	struct sk_holder *v;
	size_t count;
	size_t unseen; /* processes whose fds could not be read (permissions) */
};

/*
 * Walks root/PID/fd of every process ("/proc" on a live system) and
 * records each process holding a socket whose inode is in inodes[0..n)
 * (sorted ascending), sorted by inode and PID. Returns 0 with *out filled (free it with
 * sk_holders_free), or -1 with errno (the root cannot be read, ENOMEM).
 */
int sk_find_holders(const char *root, const unsigned long *inodes, size_t n,
		    struct sk_holders *out);

void sk_holders_free(struct sk_holders *h);

enum sk_holds {
	SK_HOLDS_UNKNOWN = -1, /* its fds cannot be read: errno says why */
	SK_HOLDS_NOT = 0,      /* it has no fd on the socket, or is gone */
	SK_HOLDS_YES = 1,
};

/* Whether process pid has an fd on the socket inode. */
enum sk_holds sk_pid_holds_inode(const char *root, pid_t pid, unsigned long inode);

/*
 * Whether pid's fd on the socket inode is a unix socket bound to name
 * (namelen bytes, as /proc/net/unix gives it): SK_HOLDS_NOT when the fd
 * is another kind of socket (the system.sockprotoname attribute of its
 * link) or, with by_name, has another name (getsockname on a copy of it,
 * from pidfd_getfd, which also files the socket under this process's
 * net_cls and net_prio cgroup settings); SK_HOLDS_YES for that very name;
 * SK_HOLDS_UNKNOWN when it cannot be told (without by_name, or without
 * the right to trace pid).
 */
enum sk_holds sk_pid_unix_named(const char *root, pid_t pid, unsigned long inode,
				const unsigned char *name, size_t namelen, bool by_name);

/* The effective uid of pid (the owner of root/PID). Returns 0 or -1 with errno. */
int sk_proc_uid(const char *root, pid_t pid, unsigned *uid);

/*
 * The command line of pid with its arguments separated by spaces (for a
 * kernel thread, "[comm]"), cut to fit len. Returns its length, or -1
 * with errno when the process is gone or cannot be read.
 */
ssize_t sk_proc_cmdline(const char *root, pid_t pid, char *buf, size_t len);

/* The short name of pid (its comm, "python3"). Returns its length or -1 with errno. */
ssize_t sk_proc_comm(const char *root, pid_t pid, char *buf, size_t len);

/* A network namespace and one process inside it. */
struct sk_netns {
	unsigned long ino; /* the namespace's inode, as in "net:[ino]" */
	pid_t pid;
};

/*
 * Lists the network namespaces of the processes under root whose
 * namespace can be seen, each once with its lowest PID. Returns 0 with
 * *out and *n (free *out), or -1 with errno.
 */
int sk_netns_list(const char *root, struct sk_netns **out, size_t *n);

/* The inode of pid's network namespace (pid 0: this process). 0 when unknown. */
unsigned long sk_netns_of(const char *root, pid_t pid);

#endif
