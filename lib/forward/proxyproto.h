/*
 * proxyproto.h - the PROXY protocol header (haproxy's specification,
 * versions 1 and 2) that forward sends a target ahead of a client's bytes.
 */
#ifndef SK_PROXYPROTO_H
#define SK_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

/* Long enough for either version of the header with TCP or unix addresses. */
#define SK_PROXY_HDR_MAX 256

/*
 * Writes the header for a connection from client to local (the address
 * it reached on us) into buf (SK_PROXY_HDR_MAX bytes): version 1 (text)
 * or 2 (binary). TCP over IPv4 or IPv6 is named as such (a v4-mapped
 * IPv6 pair as IPv4); anything else is "PROXY UNKNOWN" (v1) or the LOCAL
 * command (v2). Returns the length, or -1 with errno EINVAL for a bad
 * version.
 */
int sk_proxy_header(int version, const struct sockaddr *client, const struct sockaddr *local,
		    unsigned char *buf);

#endif
