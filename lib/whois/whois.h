/* whois.h - the processes holding a port, and stopping them safely. */
#ifndef SK_WHOIS_H
#define SK_WHOIS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "holders.h"
#include "portquery.h"
#include "unit.h"

/* Room for "[ffff:...:ffff]:65535". */
#define SK_WHOIS_ENDPOINT 64

/*
 * One element of a PORT argument: a range of ports (lo == hi for one) and
 * the protocols it names, or a unix socket.
 */
struct sk_whois_spec {
	unsigned lo, hi; /* 1-65535; 0 for a unix socket */
	bool tcp, udp;
	bool unix_sock;
	/* unix: the name as given and made absolute ('\0' first: abstract) */
	unsigned char name[SK_SOCK_UNIX_NAME], abs[SK_SOCK_UNIX_NAME];
	size_t namelen, abslen;
	/*
	 * unix: the socket file's identity when it exists: as stat() gives it,
	 * and as unix_diag gives it (the superblock's device, 32 bits of the inode)
	 */
	bool has_file;
	dev_t st_dev;
	ino_t st_ino;
	unsigned long file_ino;
	unsigned file_dev;
};

/*
 * Parses one unix socket argument: "unix:@NAME" (abstract), "unix:PATH"
 * or PATH, stat()ing PATH for its identity. Returns 0, or -1 with errno
 * EINVAL (empty) or ENAMETOOLONG (more than a sun_path holds).
 */
int sk_whois_unix_spec(const char *arg, struct sk_whois_spec *s);

struct sk_whois_query {
	const char *proc;		   /* "/proc" */
	const struct sk_whois_spec *specs; /* none: every listening or bound port */
	size_t nspecs;
	bool all;	 /* every TCP state, and connections to the ports */
	bool all_netns;	 /* the other network namespaces too */
	bool no_netlink; /* /proc/net only */
};

/* One socket and one process holding it (pid 0: none could be seen). */
struct sk_whois_row {
	const struct sk_sock *sock;
	pid_t pid;
	unsigned uid;		    /* the process's, or the socket owner's when pid is 0 */
	const char *user;	    /* uid's name, or the number */
	const char *command;	    /* NULL when pid is 0 */
	const char *netns;	    /* NULL for this namespace, else its name or "net:[INO]" */
	const struct sk_unit *unit; /* NULL when pid is 0; kind SK_UNIT_NONE for none */
	const char *unit_label;	    /* "nginx.service", "docker:3f2a1b9c8d7e"; NULL for none */
	bool holder;		    /* bound to a queried port (not a client of it) */
};

struct sk_whois_info;

struct sk_whois {
	struct sk_whois_row *rows;
	size_t nrows;
	bool *held;    /* per spec: some socket is bound to it */
	size_t unseen; /* holder sockets whose process could not be seen */
	struct sk_whois_query q;
	struct sk_socks socks;
	struct sk_whois_info *info;
};

/*
 * Finds the sockets that answer q and the processes holding them, sorted
 * by protocol, port and address. Returns 0 with *w filled (free it with
 * sk_whois_free), or -1 with errno.
 */
int sk_whois_find(const struct sk_whois_query *q, struct sk_whois *w);

void sk_whois_free(struct sk_whois *w);

/* True when s holds its port or name for bind(): listening, or bound and not connected. */
bool sk_whois_holds(const struct sk_sock *s);

/* A process to stop: every holder socket it had when found. */
struct sk_whois_target {
	pid_t pid;
	char comm[64];
	unsigned long *inodes;
	size_t ninodes;
	struct sk_unit unit; /* what may start it again */
	unsigned uid;
	unsigned port; /* the local port of its first socket (0: a unix socket) */
};

struct sk_whois_targets {
	struct sk_whois_target *v;
	size_t count;
	size_t unsure; /* holders left out: their socket's /proc/net/unix line may be forged */
};

/* Collects the holders of w's holder rows, once per process. Returns 0 or -1 (ENOMEM). */
int sk_whois_targets(const struct sk_whois *w, struct sk_whois_targets *t);

void sk_whois_targets_free(struct sk_whois_targets *t);

struct sk_whois_stop {
	int signal; /* send this only; 0: SIGTERM, then SIGKILL after grace_ms */
	int grace_ms;
	/* Told what happened to each target ("stopped by SIGTERM", ...). */
	void (*say)(void *ctx, const struct sk_whois_target *t, const char *what);
	void *ctx;
	const char *proc; /* "/proc" */
	bool dry_run;	  /* check and tell, signal nothing */
};

/*
 * Signals each target through a pidfd, after checking that the process
 * behind it still holds one of its sockets; never PID 1 or this process.
 * Returns 0 when every target was signalled (and, without a signal of
 * its own, has exited) or no longer held its sockets, -1 otherwise. A
 * dry run returns 0 when every target would be signalled.
 */
int sk_whois_stop(const struct sk_whois_targets *t, const struct sk_whois_stop *s);

enum sk_port_state {
	SK_PORT_UNKNOWN = -1, /* the tables cannot be read: errno says why */
	SK_PORT_HELD = 0,     /* something is still bound to it */
	SK_PORT_FREE = 1,     /* nothing is bound to it any more */
};

/*
 * Whether nothing holds spec's ports (or unix socket) in q's namespaces,
 * waiting up to ms for the sockets of exited processes to go.
 */
enum sk_port_state sk_whois_port_free(const struct sk_whois_query *q,
				      const struct sk_whois_spec *spec, int ms);

enum sk_close_result {
	SK_CLOSED,     /* closed (a dry run: it would be) */
	SK_CLOSE_GONE, /* gone already: closing its peer reset it, or its process closed it */
	SK_CLOSE_STILL_BOUND, /* closed, but its process keeps the port it bound by number */
	SK_CLOSE_FAILED,      /* not closed: err says why */
};

struct sk_whois_close {
	/*
	 * Told of each socket. err with SK_CLOSE_FAILED: EPERM (no
	 * CAP_NET_ADMIN), EOPNOTSUPP (a unix socket, or a kernel without
	 * CONFIG_INET_DIAG_DESTROY), ENOTCONN (TCP bound, not listening:
	 * no address leads to it), EADDRINUSE (UDP: the kernel disconnects
	 * it but it keeps its port), ESTALE (its address leads elsewhere).
	 */
	void (*say)(void *ctx, const struct sk_whois_row *r, enum sk_close_result res, int err);
	void *ctx;
	bool dry_run; /* tell what would be closed (and refused), close nothing */
};

/*
 * True when --close takes r's socket: one that holds a queried port and,
 * with w->q.all, a connection on a queried port or from a local address
 * to one (never a connection to another machine's server).
 */
bool sk_whois_closable(const struct sk_whois *w, const struct sk_whois_row *r);

/*
 * Closes, through SOCK_DESTROY, the sockets sk_whois_closable takes, each
 * once, and looks for each again; the processes holding them live on.
 * Returns 0 when none failed, -1 otherwise.
 */
int sk_whois_close(const struct sk_whois *w, const struct sk_whois_close *c);

/*
 * The first port of specs (in order, each range ascending) on which no
 * socket of its protocol exists in any state (TCP, or UDP for a spec
 * with udp and not tcp), in this namespace. Returns 1 with *port, 0 when
 * none is free, -1 with errno.
 */
int sk_whois_first_free(const char *proc, bool no_netlink, const struct sk_whois_spec *specs,
			size_t n, unsigned *port);

#endif
