/* STUB (to be replaced by the helper's module) */
#ifndef SK_UNIT_H
#define SK_UNIT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
enum sk_unit_kind {
	SK_UNIT_NONE,
	SK_UNIT_SYSTEM,
	SK_UNIT_USER,
	SK_UNIT_DOCKER,
	SK_UNIT_PODMAN,
	SK_UNIT_CONTAINERD,
	SK_UNIT_KUBEPODS
};
struct sk_unit {
	enum sk_unit_kind kind;
	char name[256];
	unsigned uid;
	bool restarts;
};
int sk_unit_parse(const char *text, size_t len, struct sk_unit *u);
int sk_unit_of(const char *root, pid_t pid, struct sk_unit *u);
size_t sk_unit_label(const struct sk_unit *u, char *buf, size_t len);
size_t sk_unit_stop_hint(const struct sk_unit *u, const char *user, char *buf, size_t len);
#endif
