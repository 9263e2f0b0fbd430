/* unit.h - the systemd unit or container of a process, from /proc/PID/cgroup. */
#ifndef SK_UNIT_H
#define SK_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum sk_unit_kind {
	SK_UNIT_NONE,
	SK_UNIT_SYSTEM,	    /* a unit of the system manager: nginx.service, session-3.scope */
	SK_UNIT_USER,	    /* a unit of a user's manager, under user@UID.service */
	SK_UNIT_DOCKER,	    /* name: the container id cut to 12 hex digits */
	SK_UNIT_PODMAN,	    /* likewise */
	SK_UNIT_CONTAINERD, /* nerdctl, or CRI containers outside kubepods */
	SK_UNIT_KUBEPODS,   /* name: a container id, or "pod<uid>" when only the pod is known */
};

#define SK_UNIT_NAME_MAX  256 /* a unit name (at most 255 bytes, systemd's limit) and its NUL */
#define SK_UNIT_LABEL_MAX (SK_UNIT_NAME_MAX + 16) /* a label never needs more */

struct sk_unit {
	enum sk_unit_kind kind;
	char name[SK_UNIT_NAME_MAX]; /* "" for SK_UNIT_NONE */
	unsigned uid;		     /* SK_UNIT_USER, and the manager user@UID.service: UID */
	bool restarts;		     /* a service or a container: it may be started again */
};

/*
 * Finds the unit of a process in the text of its /proc/PID/cgroup (len
 * bytes, any bytes, not NUL-terminated). The v1 name=systemd line is
 * read first, then the v2 "0::" line; the other v1 lines only for a
 * container. Returns 0 with *u filled (kind SK_UNIT_NONE when no line
 * names a unit or a container), or -1 with errno EINVAL when u is NULL or
 * text is NULL with len > 0.
 */
int sk_unit_parse(const char *text, size_t len, struct sk_unit *u);

/*
 * Reads root/PID/cgroup (root "/proc" on a live system) and parses it as
 * sk_unit_parse does. Returns 0 with *u filled, or -1 with errno (ENOENT
 * or ESRCH: the process is gone; EACCES; EFBIG past 1 MiB; ENOMEM) and
 * *u set to SK_UNIT_NONE.
 */
int sk_unit_of(const char *root, pid_t pid, struct sk_unit *u);

/*
 * Writes the label of u into buf: "nginx.service", "user:app.service",
 * "docker:3f2a1b9c8d7e", "podman:ID", "containerd:ID", "kubepods:ID" or
 * "kubepods:pod<uid>", "-" for none. It is cut to fit len and always
 * NUL-terminated (when len > 0). Returns the length written.
 */
size_t sk_unit_label(const struct sk_unit *u, char *buf, size_t len);

/*
 * Writes the command that stops u for good into buf, for a warning:
 * "systemctl stop nginx.service", "systemctl --user -M alice@ stop
 * app.service" (user: the name of u->uid, or NULL to use the number),
 * "docker stop ID", "podman stop ID", "nerdctl stop ID", or "scale down
 * or delete its workload (kubectl)". Cut to fit len, always
 * NUL-terminated (when len > 0). Returns the length written: 0 and ""
 * when u does not restart (scopes, none).
 */
size_t sk_unit_stop_hint(const struct sk_unit *u, const char *user, char *buf, size_t len);

#endif
