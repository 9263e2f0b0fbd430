/* unixquery.h - the unix sockets bound to a path or an abstract name. */
#ifndef SK_UNIXQUERY_H
#define SK_UNIXQUERY_H

#include <stdbool.h>
#include <sys/types.h>

#include "portquery.h"
#include "whois.h"

struct sk_unix_query {
	const char *proc;		  /* "/proc", or a fixture root */
	const struct sk_whois_spec *spec; /* a unix socket spec */
	bool all;			  /* the connections too (accepted and client ends) */
	bool no_netlink;		  /* read /proc/net/unix even where netlink could answer */
	unsigned long netns;		  /* tag for the sockets found (0: this namespace) */
	pid_t netns_pid;		  /* > 0: read root/PID/net/unix, the namespace of PID */
};

/*
 * True when the unix socket s is bound to spec's socket: the same socket
 * file where both are known, else the same name (as given or made
 * absolute). Never true for a client end.
 */
bool sk_unix_spec_match(const struct sk_whois_spec *spec, const struct sk_sock *s);

/*
 * Appends to out the unix sockets bound to q->spec's socket: stream and
 * seqpacket listeners and bound-only sockets, bound datagram sockets and,
 * with q->all, the accepted ends of connections and (netlink only) their
 * client ends. Through NETLINK_SOCK_DIAG, or /proc/net/unix where the
 * kernel cannot answer. Returns 0, or -1 with errno.
 */
int sk_unix_query(const struct sk_unix_query *q, struct sk_socks *out);

#endif
