#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

char *sk_host_unbracket(const char *host, char *buf, size_t buflen)
{
	size_t n = strlen(host);

	if (host[0] == '[') {
		if (n < 2 || host[n - 1] != ']') {
			errno = EINVAL;
			return NULL;
		}
		host++;
		n -= 2;
	} else if (strchr(host, '[') || strchr(host, ']')) {
		errno = EINVAL;
		return NULL;
	}
	if (n == 0 || n >= buflen || memchr(host, '[', n) || memchr(host, ']', n)) {
		errno = EINVAL;
		return NULL;
	}
	memcpy(buf, host, n);
	buf[n] = '\0';
	return buf;
}

static char *format_unix(const struct sockaddr_un *sun, socklen_t len, char *buf, size_t buflen)
{
	size_t n = len > offsetof(struct sockaddr_un, sun_path)
		       ? len - offsetof(struct sockaddr_un, sun_path)
		       : 0;

	if (n == 0)
		snprintf(buf, buflen, "(unnamed)");
	else if (sun->sun_path[0] == '\0')
		snprintf(buf, buflen, "@%.*s", (int)(n - 1), sun->sun_path + 1);
	else
		snprintf(buf, buflen, "%.*s", (int)strnlen(sun->sun_path, n), sun->sun_path);
	return buf;
}

char *sk_addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char host[NI_MAXHOST];
	unsigned port;

	if (sa->sa_family == AF_UNIX)
		return format_unix((const struct sockaddr_un *)(const void *)sa, len, buf, buflen);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, buflen, "%s:%u", host, port);
			return buf;
		}
	} else if (sa->sa_family == AF_INET) {
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	} else {
		snprintf(buf, buflen, "(family %d)", sa->sa_family);
		return buf;
	}
	if (getnameinfo(sa, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST))
		snprintf(host, sizeof(host), "?");
	if (sa->sa_family == AF_INET6)
		snprintf(buf, buflen, "[%s]:%u", host, port);
	else
		snprintf(buf, buflen, "%s:%u", host, port);
	return buf;
}

char *sk_local_addr(int fd, char *buf, size_t buflen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, buflen, "?");
		return buf;
	}
	return sk_addr_format((struct sockaddr *)&ss, len, buf, buflen);
}

unsigned sk_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)&ss)->sin6_port);
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)&ss)->sin_port);
	return 0;
}

struct addrinfo *sk_resolve(const char *host, unsigned port, const struct sk_resolve_opts *opts,
			    char *err)
{
	struct addrinfo hints, *res = NULL;
	char name[NI_MAXHOST], service[8];
	int rc;

	if (host && !sk_host_unbracket(host, name, sizeof(name))) {
		sk_seterr(err, "bad address '%s'", host);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = opts->family;
	hints.ai_socktype = opts->socktype;
	hints.ai_flags = AI_NUMERICSERV;
	if (opts->numeric)
		hints.ai_flags |= AI_NUMERICHOST;
	if (opts->passive)
		hints.ai_flags |= AI_PASSIVE;
	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host ? name : NULL, service, &hints, &res);
	if (rc == 0)
		return res;
	if (rc == EAI_SYSTEM)
		sk_seterr(err, "%s: %s", host ? host : "*", strerror(errno));
	else if (rc == EAI_NONAME && opts->numeric)
		sk_seterr(err, "%s: not a numeric address (-n is set)", host);
	else if (rc == EAI_ADDRFAMILY)
		sk_seterr(err, "%s: no %s address", host,
			  opts->family == AF_INET ? "IPv4" : "IPv6");
	else
		sk_seterr(err, "%s: %s", host ? host : "*", gai_strerror(rc));
	errno = ENOENT;
	return NULL;
}
