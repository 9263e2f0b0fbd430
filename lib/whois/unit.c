/*
 * The systemd unit or container a process belongs to, from the text of
 * /proc/PID/cgroup: lines "ID:CONTROLLERS:PATH", one per v1 hierarchy,
 * and "0::PATH" for the v2 one.
 *
 * Containers are found by the names their runtimes give cgroups, the
 * deepest one in a path winning:
 *
 *   systemd drivers   docker-ID.scope, libpod-ID.scope (podman),
 *                     nerdctl-ID.scope, cri-containerd-ID.scope,
 *                     crio-ID.scope (CRI-O runs nothing but pods)
 *   cgroupfs drivers  docker/ID, libpod_parent/libpod-ID,
 *                     containerd's default NAMESPACE/ID for the
 *                     namespaces "default" (nerdctl, ctr) and "k8s.io"
 *                     only: other names are too common to trust
 *
 * with ID 64 lowercase hex digits. Below a component whose name begins
 * with "kubepods" (or a slice with "-kubepods" in it, kubelet's
 * --cgroup-root under systemd, as kind has it) the process belongs to a
 * pod: a container deeper than that component names it, then a bare ID
 * or crio-ID right under a "pod<uid>" directory (kubelet's cgroupfs
 * driver); without a container, the pod's "pod<uid>" or
 * "...-pod<uid>.slice" names it. Monitors (libpod-conmon-ID.scope,
 * crio-conmon-ID.scope) and podman's --cgroups=split payload
 * (SERVICE/libpod-payload-ID, quadlet) are not containers: the service
 * or scope around them is what runs them.
 *
 * Otherwise the unit is where systemd put the process: systemd's part of
 * the tree is slices down to one .service or .scope, and whatever is
 * below that unit (a Delegate=yes service's own sub-cgroups, a
 * systemd-nspawn payload with units of its own) belongs to it. The one
 * delegation looked into is the user manager user@UID.service, whose
 * slices and units are the user's; its init.scope is the manager itself.
 * A .socket, .mount or .swap unit, or a name systemd would refuse, ends
 * the search with nothing.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ID_LEN	    64	      /* container ids: 64 lowercase hex digits */
#define SHORT_ID    12	      /* shown cut to this */
#define POD_UID_MAX 64	      /* a pod uid: a UUID, or 32 hex digits for static pods */
#define READ_MAX    (1 << 20) /* far beyond any real /proc/PID/cgroup */

/* A run of bytes in the text: a line, a field, a path component. */
struct span {
	const char *s;
	size_t n;
};

static bool span_is(struct span a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n == n && memcmp(a.s, lit, n) == 0;
}

static bool starts_with(struct span a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n >= n && memcmp(a.s, lit, n) == 0;
}

static bool ends_with(struct span a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n >= n && memcmp(a.s + a.n - n, lit, n) == 0;
}

/* The next path component from *pos, skipping empty ones, "." and "..". */
static bool next_comp(struct span path, size_t *pos, struct span *c)
{
	while (*pos < path.n) {
		const char *start = path.s + *pos;
		const char *slash = memchr(start, '/', path.n - *pos);
		size_t n = slash ? (size_t)(slash - start) : path.n - *pos;

		*pos += n + (slash != NULL);
		*c = (struct span){start, n};
		if (n > 0 && !span_is(*c, ".") && !span_is(*c, ".."))
			return true;
	}
	return false;
}

static bool is_hex_id(const char *s, size_t n)
{
	size_t i;

	if (n != ID_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Whether c is PREFIX + a container id + SUFFIX; *id is the id. */
static bool id_between(struct span c, const char *prefix, const char *suffix, struct span *id)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (c.n != p + ID_LEN + s || !starts_with(c, prefix) || !ends_with(c, suffix))
		return false;
	*id = (struct span){c.s + p, ID_LEN};
	return is_hex_id(id->s, id->n);
}

/* The scopes systemd drivers create for containers. */
static const struct {
	const char *prefix;
	enum sk_unit_kind kind;
} container_scopes[] = {
    {"docker-", SK_UNIT_DOCKER},      {"libpod-", SK_UNIT_PODMAN},
    {"nerdctl-", SK_UNIT_CONTAINERD}, {"cri-containerd-", SK_UNIT_CONTAINERD},
    {"crio-", SK_UNIT_KUBEPODS},
};

/* The directories cgroupfs drivers create for containers, by their parent's name. */
static const struct {
	const char *parent;
	const char *prefix;
	enum sk_unit_kind kind;
} container_dirs[] = {
    {"docker", "", SK_UNIT_DOCKER},
    {"libpod_parent", "libpod-", SK_UNIT_PODMAN},
    {"default", "", SK_UNIT_CONTAINERD},
    {"k8s.io", "", SK_UNIT_CONTAINERD},
};

/*
 * The kind of container component c names, its parent being prev (under
 * a pod directory when in_pod), with *id its id; SK_UNIT_NONE for none.
 */
static enum sk_unit_kind container_id(struct span prev, bool in_pod, struct span c, struct span *id)
{
	size_t i;

	for (i = 0; i < sizeof(container_scopes) / sizeof(container_scopes[0]); i++)
		if (id_between(c, container_scopes[i].prefix, ".scope", id))
			return container_scopes[i].kind;
	for (i = 0; i < sizeof(container_dirs) / sizeof(container_dirs[0]); i++)
		if (span_is(prev, container_dirs[i].parent) &&
		    id_between(c, container_dirs[i].prefix, "", id))
			return container_dirs[i].kind;
	if (in_pod && (id_between(c, "", "", id) || id_between(c, "crio-", "", id)))
		return SK_UNIT_KUBEPODS;
	return SK_UNIT_NONE;
}

static bool is_kubepods(struct span c)
{
	size_t i;

	if (starts_with(c, "kubepods"))
		return true;
	if (!ends_with(c, ".slice"))
		return false;
	for (i = 0; i + 9 <= c.n; i++)
		if (memcmp(c.s + i, "-kubepods", 9) == 0)
			return true;
	return false;
}

/*
 * Whether c is a pod's cgroup, "pod<uid>" (cgroupfs) or
 * "PARENT-pod<uid>.slice" (systemd, '-' in the uid escaped as '_'); its
 * name "pod<uid>" goes into out.
 */
static bool pod_name(struct span c, char out[3 + POD_UID_MAX + 1])
{
	size_t i;

	if (ends_with(c, ".slice")) {
		c.n -= 6;
		for (i = c.n; i > 0 && c.s[i - 1] != '-'; i--)
			;
		if (i == 0)
			return false;
		c = (struct span){c.s + i, c.n - i};
	}
	if (!starts_with(c, "pod") || c.n == 3 || c.n > 3 + POD_UID_MAX)
		return false;
	for (i = 3; i < c.n; i++) {
		char ch = c.s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '-' ||
		      ch == '_'))
			return false;
		out[i] = ch == '_' ? '-' : ch;
	}
	memcpy(out, "pod", 3);
	out[c.n] = '\0';
	return true;
}

static bool set_unit(struct sk_unit *u, enum sk_unit_kind kind, struct span name, bool restarts,
		     unsigned uid)
{
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	memcpy(u->name, name.s, name.n); /* callers keep names under SK_UNIT_NAME_MAX */
	u->restarts = restarts;
	u->uid = uid;
	return true;
}

/* The container (or pod) a cgroup path names. Returns whether it names one. */
static bool find_container(struct span path, struct sk_unit *u)
{
	struct span prev = {"", 0}, c, id = {"", 0}, cid;
	size_t pos = 0, i = 0, kube_at = 0, ctr_at = 0, pod_at = 0;
	enum sk_unit_kind kind = SK_UNIT_NONE, k;
	char pod[3 + POD_UID_MAX + 1], name[3 + POD_UID_MAX + 1];
	bool in_pod = false;

	while (next_comp(path, &pos, &c)) {
		i++;
		if (!kube_at && is_kubepods(c))
			kube_at = i;
		if ((k = container_id(prev, in_pod, c, &cid)) != SK_UNIT_NONE) {
			kind = k;
			id = cid;
			ctr_at = i;
		}
		in_pod = kube_at && pod_name(c, name);
		if (in_pod) {
			memcpy(pod, name, sizeof(pod));
			pod_at = i;
		}
		prev = c;
	}
	if (kube_at && ctr_at > kube_at)
		kind = SK_UNIT_KUBEPODS;
	else if (kube_at && pod_at)
		return set_unit(u, SK_UNIT_KUBEPODS, (struct span){pod, strlen(pod)}, true, 0);
	if (kind == SK_UNIT_NONE)
		return false;
	return set_unit(u, kind, (struct span){id.s, SHORT_ID}, true, 0);
}

enum unit_type { NOT_UNIT, SLICE, SERVICE, SCOPE, OTHER_UNIT };

/* What c is as a unit name: only the characters and length systemd allows. */
static enum unit_type unit_type(struct span c)
{
	static const char *const other[] = {".socket", ".mount",     ".swap",  ".target",
					    ".device", ".automount", ".timer", ".path"};
	size_t i;

	if (c.n >= SK_UNIT_NAME_MAX)
		return NOT_UNIT;
	for (i = 0; i < c.n; i++) {
		char ch = c.s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr(":-_.\\@", ch)) ||
		    ch == '\0')
			return NOT_UNIT;
	}
	if (c.n > 6 && ends_with(c, ".slice"))
		return SLICE;
	if (c.n > 8 && ends_with(c, ".service"))
		return SERVICE;
	if (c.n > 6 && ends_with(c, ".scope"))
		return SCOPE;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (c.n > strlen(other[i]) && ends_with(c, other[i]))
			return OTHER_UNIT;
	return NOT_UNIT;
}

/* Whether c is the user manager "user@UID.service"; *uid its UID. */
static bool user_manager(struct span c, unsigned *uid)
{
	unsigned long long v = 0;
	size_t i;

	if (!starts_with(c, "user@") || !ends_with(c, ".service") || c.n == 5 + 8 ||
	    c.n > 5 + 10 + 8)
		return false;
	for (i = 5; i < c.n - 8; i++) {
		if (c.s[i] < '0' || c.s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(c.s[i] - '0');
	}
	if (v > 0xfffffffeULL) /* (uid_t)-1 is no uid */
		return false;
	*uid = (unsigned)v;
	return true;
}

/* The systemd unit a cgroup path names (see the top of the file). Returns whether it names one. */
static bool find_unit(struct span path, struct sk_unit *u)
{
	struct span c, manager = {NULL, 0};
	size_t pos = 0;
	unsigned uid = 0;
	bool top = false; /* right under the manager */

	while (next_comp(path, &pos, &c)) {
		enum unit_type t = unit_type(c);

		if (t == SLICE) {
			top = false;
			continue;
		}
		if (t != SERVICE && t != SCOPE)
			break;
		if (!manager.s && t == SERVICE && user_manager(c, &uid)) {
			manager = c;
			top = true;
			continue;
		}
		if (!manager.s)
			return set_unit(u, SK_UNIT_SYSTEM, c, t == SERVICE, 0);
		if (top && span_is(c, "init.scope"))
			break;
		return set_unit(u, SK_UNIT_USER, c, t == SERVICE, uid);
	}
	return manager.s && set_unit(u, SK_UNIT_SYSTEM, manager, true, uid);
}

/* One line of the file: "ID:CONTROLLERS:PATH", ID a number, PATH absolute. */
struct cgroup_line {
	struct span controllers, path;
	bool v2;
};

static bool split_line(struct span l, struct cgroup_line *out)
{
	const char *c1 = memchr(l.s, ':', l.n), *c2;
	size_t i, idlen;

	if (!c1 || (idlen = (size_t)(c1 - l.s)) == 0 || idlen > 10)
		return false;
	for (i = 0; i < idlen; i++)
		if (l.s[i] < '0' || l.s[i] > '9')
			return false;
	if (!(c2 = memchr(c1 + 1, ':', l.n - idlen - 1)))
		return false;
	out->controllers = (struct span){c1 + 1, (size_t)(c2 - c1 - 1)};
	out->path = (struct span){c2 + 1, l.n - (size_t)(c2 + 1 - l.s)};
	out->v2 = idlen == 1 && l.s[0] == '0' && out->controllers.n == 0;
	return out->path.n > 0 && out->path.s[0] == '/';
}

/* The next line from *pos, without its newline. */
static bool next_line(struct span text, size_t *pos, struct span *l)
{
	const char *start, *nl;
	size_t n;

	if (*pos >= text.n)
		return false;
	start = text.s + *pos;
	nl = memchr(start, '\n', text.n - *pos);
	n = nl ? (size_t)(nl - start) : text.n - *pos;
	*pos += n + (nl != NULL);
	*l = (struct span){start, n};
	return true;
}

int sk_unit_parse(const char *text, size_t len, struct sk_unit *u)
{
	struct span all = {text, len}, l, sd = {NULL, 0}, v2 = {NULL, 0};
	struct cgroup_line cl;
	size_t pos = 0;

	if (u)
		memset(u, 0, sizeof(*u));
	if (!u || (!text && len)) {
		errno = EINVAL;
		return -1;
	}
	while (next_line(all, &pos, &l)) {
		if (!split_line(l, &cl))
			continue;
		if (!sd.s && span_is(cl.controllers, "name=systemd"))
			sd = cl.path;
		else if (!v2.s && cl.v2)
			v2 = cl.path;
	}
	if (sd.s && (find_container(sd, u) || find_unit(sd, u)))
		return 0;
	if (v2.s && (find_container(v2, u) || find_unit(v2, u)))
		return 0;
	/* the v1 controllers of a cgroupfs driver may still name a container */
	for (pos = 0; next_line(all, &pos, &l);)
		if (split_line(l, &cl) && !cl.v2 && !span_is(cl.controllers, "name=systemd") &&
		    find_container(cl.path, u))
			return 0;
	return 0;
}

/* Reads the whole of path into *buf (free it). Returns its length, or -1 with errno. */
static ssize_t read_whole(const char *path, char **buf)
{
	size_t cap = 4096, total = 0;
	char *b = malloc(cap), *nb;
	int fd = -1, saved;
	ssize_t n;

	if (!b)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	for (;;) {
		if (total == cap) {
			if (cap >= READ_MAX) {
				errno = EFBIG;
				goto fail;
			}
			if (!(nb = realloc(b, cap *= 2)))
				goto fail;
			b = nb;
		}
		n = read(fd, b + total, cap - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	*buf = b;
	return (ssize_t)total;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(b);
	errno = saved;
	return -1;
}

int sk_unit_of(const char *root, pid_t pid, struct sk_unit *u)
{
	char path[4096], *text;
	ssize_t n;
	int rc;

	if (u)
		memset(u, 0, sizeof(*u));
	if (!root || !u || pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%d/cgroup", root, (int)pid) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((n = read_whole(path, &text)) < 0)
		return -1;
	rc = sk_unit_parse(text, (size_t)n, u);
	free(text);
	return rc;
}

/* snprintf that returns what it wrote: cut to fit, NUL-terminated when len > 0. */
static size_t put(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t put(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len == 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}

static const char *const label_prefix[] = {
    [SK_UNIT_SYSTEM] = "",
    [SK_UNIT_USER] = "user:",
    [SK_UNIT_DOCKER] = "docker:",
    [SK_UNIT_PODMAN] = "podman:",
    [SK_UNIT_CONTAINERD] = "containerd:",
    [SK_UNIT_KUBEPODS] = "kubepods:",
};

static bool known(const struct sk_unit *u)
{
	return u && u->kind > SK_UNIT_NONE && u->kind <= SK_UNIT_KUBEPODS && u->name[0];
}

size_t sk_unit_label(const struct sk_unit *u, char *buf, size_t len)
{
	if (!known(u))
		return put(buf, len, "-");
	return put(buf, len, "%s%.*s", label_prefix[u->kind],
		   (int)strnlen(u->name, sizeof(u->name)), u->name);
}

/* A user name safe to put in a command line; anything else is shown as the uid. */
static bool plain_user(const char *user)
{
	if (!user || !*user)
		return false;
	for (; *user; user++)
		if (*user <= ' ' || *user >= 0x7f || strchr("@'\"\\$`;&|<>()*?!#~", *user))
			return false;
	return true;
}

size_t sk_unit_stop_hint(const struct sk_unit *u, const char *user, char *buf, size_t len)
{
	int n;
	/* systemd escapes as \x2d: quoted, so that a shell keeps the backslash */
	const char *q;

	if (!known(u) || !u->restarts)
		return put(buf, len, "%s", "");
	n = (int)strnlen(u->name, sizeof(u->name));
	q = memchr(u->name, '\\', (size_t)n) ? "'" : "";
	switch (u->kind) {
	case SK_UNIT_SYSTEM: return put(buf, len, "systemctl stop %s%.*s%s", q, n, u->name, q);
	case SK_UNIT_USER:
		if (plain_user(user))
			return put(buf, len, "systemctl --user -M %s@ stop %s%.*s%s", user, q, n,
				   u->name, q);
		return put(buf, len, "systemctl --user -M %u@ stop %s%.*s%s", u->uid, q, n, u->name,
			   q);
	case SK_UNIT_DOCKER: return put(buf, len, "docker stop %.*s", n, u->name);
	case SK_UNIT_PODMAN: return put(buf, len, "podman stop %.*s", n, u->name);
	case SK_UNIT_CONTAINERD: return put(buf, len, "nerdctl stop %.*s", n, u->name);
	case SK_UNIT_KUBEPODS: return put(buf, len, "scale down or delete its workload (kubectl)");
	default: return put(buf, len, "%s", "");
	}
}
