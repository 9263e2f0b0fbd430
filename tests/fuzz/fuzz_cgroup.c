/*
 * libFuzzer harness: /proc/PID/cgroup text. Whatever the bytes, parsing
 * succeeds without reading past them (ASan, on an exact-size copy), a
 * unit name is printable ASCII of at most 255 bytes, a container is 12
 * hex digits, no unit is labelled "-" with no hint, and labels and hints
 * are NUL-terminated, as long as they say, and cut to any buffer size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_hex12(const char *s)
{
	size_t i;

	for (i = 0; i < 12; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[12] == '\0';
}

static void check_name(const struct sk_unit *u)
{
	size_t n = strnlen(u->name, sizeof(u->name)), i;

	if (n == sizeof(u->name))
		abort(); /* not NUL-terminated */
	for (i = 0; i < n; i++)
		if (u->name[i] < 0x20 || u->name[i] > 0x7e)
			abort();
	if ((u->kind == SK_UNIT_NONE) != (n == 0))
		abort();
	switch (u->kind) {
	case SK_UNIT_NONE:
		if (u->restarts || u->uid)
			abort();
		break;
	case SK_UNIT_SYSTEM:
	case SK_UNIT_USER:
		if (u->restarts != (n > 8 && strcmp(u->name + n - 8, ".service") == 0))
			abort();
		if (!u->restarts && (n <= 6 || strcmp(u->name + n - 6, ".scope") != 0))
			abort();
		break;
	case SK_UNIT_DOCKER:
	case SK_UNIT_PODMAN:
	case SK_UNIT_CONTAINERD:
		if (!u->restarts || !is_hex12(u->name))
			abort();
		break;
	case SK_UNIT_KUBEPODS:
		if (!u->restarts || (!is_hex12(u->name) && strncmp(u->name, "pod", 3) != 0))
			abort();
		break;
	default: abort();
	}
}

/* Writes with writer into an exact-size buffer of len bytes and checks the result. */
static size_t written(const struct sk_unit *u, const char *user, bool hint, size_t len,
		      const char *whole)
{
	char *buf = len ? malloc(len) : NULL;
	size_t n;

	if (len && !buf)
		return 0;
	n = hint ? sk_unit_stop_hint(u, user, buf, len) : sk_unit_label(u, buf, len);
	if (len == 0 ? n != 0 : (n >= len || strlen(buf) != n))
		abort();
	if (len && whole && strncmp(buf, whole, n) != 0) /* a cut one is the start of the whole */
		abort();
	free(buf);
	return n;
}

static void check_output(const struct sk_unit *u, const char *user, size_t cut)
{
	char label[SK_UNIT_LABEL_MAX], hint[1024];
	size_t ln = sk_unit_label(u, label, sizeof(label));
	size_t hn = sk_unit_stop_hint(u, user, hint, sizeof(hint));

	if (ln != strlen(label) || hn != strlen(hint) || ln + 1 == sizeof(label) ||
	    hn + 1 == sizeof(hint))
		abort(); /* the full buffers are never too small */
	if ((u->kind == SK_UNIT_NONE) != (strcmp(label, "-") == 0))
		abort();
	if (u->restarts != (hn > 0))
		abort();
	if (u->kind != SK_UNIT_NONE && !strstr(label, u->name))
		abort();
	written(u, user, false, cut % (ln + 2), label);
	written(u, user, true, cut % (hn + 2), hint);
	written(u, user, false, 0, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_unit u, again;
	char user[17] = "";
	char *text = malloc(size ? size : 1);
	size_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (sk_unit_parse(text, size, &u) != 0)
		abort();
	if (sk_unit_parse(text, size, &again) != 0 || memcmp(&u, &again, sizeof(u)) != 0)
		abort();
	check_name(&u);
	/* a user name from the first bytes, printable or not */
	for (i = 0; i < size && i < 16 && data[i] != '\0'; i++)
		user[i] = (char)data[i];
	check_output(&u, NULL, size);
	check_output(&u, user, size > 0 ? data[size - 1] : 0);
	check_output(&u, "alice", size / 3);
	free(text);
	return 0;
}
