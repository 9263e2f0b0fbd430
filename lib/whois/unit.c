#include "unit.h"
#include <stdio.h>
#include <string.h>
int sk_unit_parse(const char *text, size_t len, struct sk_unit *u)
{
	(void)text;
	(void)len;
	memset(u, 0, sizeof(*u));
	return 0;
}
int sk_unit_of(const char *root, pid_t pid, struct sk_unit *u)
{
	(void)root;
	(void)pid;
	memset(u, 0, sizeof(*u));
	return 0;
}
size_t sk_unit_label(const struct sk_unit *u, char *buf, size_t len)
{
	(void)u;
	return (size_t)snprintf(buf, len, "-");
}
size_t sk_unit_stop_hint(const struct sk_unit *u, const char *user, char *buf, size_t len)
{
	(void)u;
	(void)user;
	buf[0] = 0;
	(void)len;
	return 0;
}
