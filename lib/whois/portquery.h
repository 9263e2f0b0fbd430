/* portquery.h - the sockets on a port, from netlink or /proc/net. */
#ifndef SK_PORTQUERY_H
#define SK_PORTQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "procnet.h"

/* UDP sockets carry these TCP state numbers in the kernel's tables. */
#define SK_UDP_CONNECTED 1
#define SK_UDP_BOUND	 7
#define SK_TCP_LISTEN	 10
#define SK_TCP_CLOSE	 7
/*
 * The netlink filter bit for TCP sockets bound but neither listening nor
 * connected (Linux 6.5+; /proc/net/tcp never lists them), asked for only where no
 * listener holds the port (see portquery.c). They come back
 * in state SK_TCP_CLOSE.
 */
#define SK_TCP_BOUND_INACTIVE 13

/* True for the TCP states that hold a port for bind(): listening, or bound only. */
#define SK_TCP_HOLDS_PORT(state)                                                                   \
	((state) == SK_TCP_LISTEN || (state) == SK_TCP_CLOSE || (state) == SK_TCP_BOUND_INACTIVE)

struct sk_port_query {
	const char *proc; /* "/proc", or a fixture root */
	unsigned lo, hi;  /* a port range in 1-65535, or lo 0 for every listening or bound port */
	bool tcp, udp;
	bool all_states; /* every TCP state, and connections to the port */
	bool local_only; /* with all_states: sockets whose own port it is, not connections to it */
	bool no_netlink; /* read /proc/net even where netlink could answer */
	unsigned long netns; /* tag for the sockets found (0: this namespace) */
	pid_t netns_pid;     /* > 0: read root/PID/net, the namespace of PID */
};

/* Room for a unix socket's name (sun_path). */
#define SK_SOCK_UNIX_NAME 108

/*
 * One socket. A unix socket has e.family AF_UNIX, e.inode, e.state (the
 * kernel's TCP state numbers), e.uid (SK_UID_UNKNOWN when the kernel does
 * not say), no ports, and the u* fields.
 */
struct sk_sock {
	struct sk_procnet_entry e;
	bool udp;
	unsigned long netns; /* 0: this namespace */
	pid_t netns_pid;     /* a process inside netns */
	int utype;	     /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	bool uclient;	     /* the client end of a connection to uname (unnamed itself) */
	bool uvfs;	     /* the socket file's identity is known (netlink) */
	bool uproc;	     /* from /proc/net/unix, where a name can forge lines: check it */
	bool unsure;	     /* its /proc/net/unix line may be forged: shown, never signalled */
	unsigned uvfs_dev;
	unsigned long uvfs_ino;
	unsigned char unamelen;
	unsigned char uname[SK_SOCK_UNIX_NAME]; /* as bound: a path, or '\0' and an abstract name */
};

#define SK_UID_UNKNOWN 0xffffffffu

struct sk_socks {
	struct sk_sock *v;
	size_t count, cap;
	size_t bad;	/* lines of /proc/net that did not parse */
	bool unix_proc; /* some unix sockets were read from /proc/net/unix (no file identity) */
	int error;	/* errno of a failed allocation, or 0 */
};

/*
 * True when e belongs in the answer to q: a TCP listener or bound-only
 * socket (any TCP state with all_states) or a UDP socket whose local port
 * is in q's range (every one when q->lo is 0: bound UDP sockets only
 * unless all_states); with all_states also a connection whose remote
 * port is in the range.
 */
bool sk_port_query_match(const struct sk_port_query *q, bool udp, const struct sk_procnet_entry *e);

/*
 * Appends to out the sockets that answer q, through NETLINK_SOCK_DIAG
 * (filtered by port in the kernel) or, where the kernel cannot answer or
 * q->no_netlink is set, from the /proc/net tables. Returns 0, or -1 with
 * errno when no table could be read.
 */
int sk_port_query(const struct sk_port_query *q, struct sk_socks *out);

void sk_socks_free(struct sk_socks *s);

#endif
