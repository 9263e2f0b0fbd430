/* whois.h - the processes holding a port, and stopping them safely. */
#ifndef SK_WHOIS_H
#define SK_WHOIS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "holders.h"
#include "portquery.h"

/* Room for "[ffff:...:ffff]:65535". */
#define SK_WHOIS_ENDPOINT 64

/* One PORT argument: a port and the protocols it names. */
struct sk_whois_spec {
	unsigned port; /* 1-65535 */
	bool tcp, udp;
};

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
	unsigned uid;	     /* the process's, or the socket owner's when pid is 0 */
	const char *user;    /* uid's name, or the number */
	const char *command; /* NULL when pid is 0 */
	const char *netns;   /* NULL for this namespace, else its name or "net:[INO]" */
	bool holder;	     /* bound to a queried port (not a client of it) */
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

/* A process to stop: every holder socket it had when found. */
struct sk_whois_target {
	pid_t pid;
	char comm[64];
	unsigned long *inodes;
	size_t ninodes;
};

struct sk_whois_targets {
	struct sk_whois_target *v;
	size_t count;
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
};

/*
 * Signals each target through a pidfd, after checking that the process
 * behind it still holds one of its sockets; never PID 1 or this process.
 * Returns 0 when every target was signalled (and, without a signal of
 * its own, has exited) or no longer held its sockets, -1 otherwise.
 */
int sk_whois_stop(const struct sk_whois_targets *t, const struct sk_whois_stop *s);

enum sk_port_state {
	SK_PORT_UNKNOWN = -1, /* the tables cannot be read: errno says why */
	SK_PORT_HELD = 0,     /* something is still bound to it */
	SK_PORT_FREE = 1,     /* nothing is bound to it any more */
};

/*
 * Whether spec's port is free, waiting up to ms for the sockets of exited
 * processes to go.
 */
enum sk_port_state sk_whois_port_free(const struct sk_whois *w, const struct sk_whois_spec *spec,
				      int ms);

#endif
