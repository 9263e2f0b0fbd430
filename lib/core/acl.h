/*
 * acl.h - access lists: --allow and --deny CIDR rules over peer addresses,
 * one matcher for listen, forward, serve-http and udp-recv.
 */
#ifndef SK_ACL_H
#define SK_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "err.h"

struct sk_acl_rule {
	bool allow;		/* --allow (else --deny) */
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; 4 bytes used for AF_INET */
	unsigned prefix;	/* 0-32 or 0-128 */
};

struct sk_acl {
	struct sk_acl_rule *rules;
	size_t n, cap;
	bool any_allow; /* with an --allow, only matching peers are served */
};

/*
 * Adds a rule: "10.0.0.0/8", "::1", "192.0.2.7", "[2001:db8::]/32" (no
 * names). Host bits beyond the prefix are ignored. Returns 0, or -1 with
 * err (errno EINVAL for bad text, ENOMEM).
 */
int sk_acl_add(struct sk_acl *acl, const char *cidr, bool allow, char *err);

/*
 * Says whether a peer at sa may be served: not matched by any --deny,
 * and matched by an --allow when there is one. An IPv4 rule also matches
 * a v4-mapped IPv6 peer (::ffff:a.b.c.d). A unix-socket peer (or NULL)
 * is served unless there is an --allow. An empty list serves everyone.
 */
bool sk_acl_allows(const struct sk_acl *acl, const struct sockaddr *sa);

/* True when the list has rules. */
bool sk_acl_active(const struct sk_acl *acl);

void sk_acl_free(struct sk_acl *acl);

#endif
