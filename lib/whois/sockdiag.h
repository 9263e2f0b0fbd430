/* sockdiag.h - the kernel's socket tables through NETLINK_SOCK_DIAG. */
#ifndef SK_SOCKDIAG_H
#define SK_SOCKDIAG_H

#include "procnet.h"

/*
 * Asks the kernel for the sockets of family (AF_INET, AF_INET6) and
 * protocol (IPPROTO_TCP, IPPROTO_UDP) whose state is in states (a bit
 * mask of 1 << state) and, when lport is 1-65535, whose local port is
 * lport (filtered in the kernel), and calls fn for each, as
 * sk_procnet_read does for the same table. Returns the number of entries,
 * or -1 with errno (EPROTONOSUPPORT, ENOENT or EINVAL when the kernel
 * cannot answer for this protocol: read /proc/net instead).
 */
long sk_sockdiag_read(int family, int protocol, unsigned states, unsigned lport,
		      void (*fn)(void *ctx, const struct sk_procnet_entry *e), void *ctx);

#endif
