/* unixsock.h - the kernel's unix socket table: /proc/net/unix and unix_diag. */
#ifndef SK_UNIXSOCK_H
#define SK_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* The size of sun_path: the longest name, an abstract one with its leading NUL. */
#define SK_UNIX_NAME_MAX 108

/* One unix socket, from either source. */
struct sk_unix_entry {
	unsigned long inode; /* the socket's inode (as in /proc/PID/fd's socket:[N]) */
	int type;	     /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	/*
	 * The kernel's TCP state number: 10 listening, 7 unconnected, 1
	 * connected, 2 connecting (from /proc only: not yet accepted).
	 */
	int state;
	/*
	 * The name as bound, not NUL-terminated: a path (at most 107 bytes,
	 * without its NUL), or '\0' and an abstract name; namelen 0: unnamed.
	 */
	unsigned char name[SK_UNIX_NAME_MAX];
	size_t namelen;
	bool has_vfs;	       /* netlink only: the identity of the socket file of a path */
	unsigned long vfs_ino; /* its inode number, cut to 32 bits by the kernel */
	unsigned vfs_dev;      /* its device, the kernel's internal dev_t (MAJOR << 20 | MINOR) */
	unsigned long peer;    /* netlink only: the inode of the peer, 0 none */
	bool has_uid;	       /* netlink only, Linux 5.3 and later */
	unsigned uid;	       /* the owner's uid, as the reader's user namespace sees it */
};

/*
 * Parses one data line of /proc/net/unix ("Num RefCount Protocol Flags
 * Type St Inode Path"): the flag __SO_ACCEPTCON (0x10000) gives state 10
 * (listening), St 03 state 1 (connected), St 02 state 2 (connecting), any
 * other 7. The path is the rest of the line after the inode and one space
 * (it may hold spaces); an abstract name's leading '@' becomes '\0' (the
 * kernel prints the NULs inside one as '@' too: those stay '@'). Returns
 * 0, or -1 with errno EINVAL for a line that is not of that form (the
 * header line included, and a path longer than 107 bytes).
 */
int sk_unix_parse_line(const char *line, struct sk_unix_entry *e);

/*
 * Reads root/net/unix and calls fn for each entry; lines that do not parse
 * are skipped and counted in *bad. Returns the number of entries, or -1
 * with errno (ENOENT when the kernel has no such table).
 */
long sk_unix_read_proc(const char *root, void (*fn)(void *ctx, const struct sk_unix_entry *e),
		       void *ctx, size_t *bad);

/*
 * Parses one unix_diag answer: len bytes at msg, the payload of a
 * SOCK_DIAG_BY_FAMILY message (a struct unix_diag_msg and its attributes,
 * not necessarily aligned). Unknown attributes are skipped; a path name is
 * kept without its NUL. Returns 0, or -1 with errno EINVAL when msg is
 * short, not AF_UNIX, an attribute overruns it or is too short for its
 * type, or the name is too long (a path of more than 107 bytes, as for
 * sk_unix_parse_line).
 */
int sk_unix_diag_parse(const void *msg, size_t len, struct sk_unix_entry *e);

/*
 * Dumps through NETLINK_SOCK_DIAG the unix sockets whose state is in
 * states (a bit mask of 1 << state; ~0u for all) with their name, socket
 * file, peer and uid, and calls fn for each, in one pass with no
 * allocation per socket. Answers that do not parse are skipped. Returns
 * the number of entries, or -1 with errno: EPROTONOSUPPORT, ENOENT or
 * EINVAL when the kernel has no unix_diag (read /proc/net/unix instead);
 * a dump the kernel failed or cut short is an error, whatever fn was
 * already called for.
 */
long sk_unix_diag_read(unsigned states, void (*fn)(void *ctx, const struct sk_unix_entry *e),
		       void *ctx);

/*
 * Whether e was bound to the file st describes (from stat()): its
 * has_vfs identity is st's device (unix_diag's kernel dev_t compared
 * through major() and minor()) and inode (compared in the 32 bits the
 * kernel reports). False without has_vfs.
 */
bool sk_unix_same_file(const struct sk_unix_entry *e, const struct stat *st);

/*
 * Writes e's name as /proc/net/unix prints it (a path as is; an abstract
 * name with '@' for each NUL, the leading one included; "" when unnamed)
 * into buf of size bytes, NUL-terminated (cut short when it does not fit).
 * Returns the length of the whole name, as snprintf does.
 */
size_t sk_unix_format_name(const struct sk_unix_entry *e, char *buf, size_t size);

#endif
