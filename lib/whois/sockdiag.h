/* sockdiag.h - the kernel's socket tables through NETLINK_SOCK_DIAG. */
#ifndef SK_SOCKDIAG_H
#define SK_SOCKDIAG_H

#include <stddef.h>

#include "procnet.h"

/*
 * Asks the kernel for the sockets of family (AF_INET, AF_INET6) and
 * protocol (IPPROTO_TCP, IPPROTO_UDP) whose state is in states (a bit
 * mask of 1 << state) and, when lo is 1-65535, whose local port is in
 * lo-hi (filtered in the kernel), and calls fn for each, as
 * sk_procnet_read does for the same table. Returns the number of entries,
 * or -1 with errno (EPROTONOSUPPORT, ENOENT or EINVAL when the kernel
 * cannot answer for this protocol: read /proc/net instead).
 */
long sk_sockdiag_read(int family, int protocol, unsigned states, unsigned lo, unsigned hi,
		      void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx);

struct nlmsghdr;

/*
 * Sends the dump request req (its header first, nlmsg_len set; the
 * sequence number is set here) on a NETLINK_SOCK_DIAG socket and calls
 * msg with the payload of each SOCK_DIAG_BY_FAMILY answer until the
 * kernel's NLMSG_DONE; msg returns 0 for an answer taken, -1 for one
 * skipped. Returns the number taken, or -1 with errno (a dump that failed
 * or was cut short counts for nothing).
 */
long sk_sockdiag_dump(struct nlmsghdr *req, int (*msg)(void *ctx, const void *data, size_t len),
		      void *ctx);

/*
 * Closes the socket e (protocol IPPROTO_TCP or IPPROTO_UDP) through
 * SOCK_DESTROY, as `ss -K` does: its process sees ECONNABORTED and keeps
 * running. Needs CAP_NET_ADMIN over the socket's network namespace and a
 * kernel built with CONFIG_INET_DIAG_DESTROY. Returns 0, or -1 with errno
 * (EPERM, EOPNOTSUPP; ENOENT when the socket is gone; ESTALE when its
 * address now finds another socket).
 */
int sk_sockdiag_destroy(int protocol, const struct sk_procnet_entry *e);

#endif
