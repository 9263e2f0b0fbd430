/* procnet.h - the socket tables of /proc/net/{tcp,tcp6,udp,udp6}. */
#ifndef SK_PROCNET_H
#define SK_PROCNET_H

#include <stdbool.h>
#include <stddef.h>

/* One socket: a data line of a /proc/net table. */
struct sk_procnet_entry {
	int family;			     /* AF_INET or AF_INET6 */
	unsigned char local[16], remote[16]; /* network byte order (4 bytes for IPv4) */
	unsigned lport, rport;
	int state; /* the kernel's TCP state number (UDP: 7 bound, 1 connected) */
	unsigned uid;
	unsigned long inode; /* 0 for TIME_WAIT and not-yet-accepted sockets */
	/* NETLINK_SOCK_DIAG only (zero from /proc/net): what SOCK_DESTROY needs */
	unsigned ifindex;   /* the device the socket is bound to, or 0 */
	unsigned cookie[2]; /* the kernel's socket cookie */
	bool has_cookie;
};

/*
 * Parses one data line of /proc/net/tcp or udp (family AF_INET) or tcp6
 * or udp6 (AF_INET6): addresses are hex words in host byte order, ports
 * and states hex, uid and inode decimal. Returns 0, or -1 with errno
 * EINVAL for a line that is not of that form (the header line included).
 */
int sk_procnet_parse_line(const char *line, int family, struct sk_procnet_entry *e);

/*
 * Reads the table root/net/name and calls line for each line after the
 * header (NUL-terminated, its newline kept); a line that returns -1, or
 * is longer than 511 bytes, is skipped and counted in *bad. Returns the
 * number of lines taken, or -1 with errno.
 */
long sk_proc_table_read(const char *root, const char *name,
			int (*line)(void *ctx, const char *text), void *ctx, size_t *bad);

/*
 * Reads the table root/net/name ("tcp", "tcp6", "udp", "udp6") and calls
 * fn for each entry; lines that do not parse are skipped and counted in
 * *bad. Returns the number of entries, or -1 with errno (ENOENT when the
 * kernel has no such table, as without IPv6).
 */
long sk_procnet_read(const char *root, const char *name,
		     void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx,
		     size_t *bad);

/*
 * The name of a TCP state number ("LISTEN", "ESTABLISHED", ...; "BOUND"
 * for the kernel's bound-inactive state 13), or "UNKNOWN".
 */
const char *sk_tcp_state_name(int state);

#endif
