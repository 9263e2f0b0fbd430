#include "mime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *ext, *type;
} builtin[] = {
    {"html", "text/html"},	  {"htm", "text/html"},		{"css", "text/css"},
    {"js", "text/javascript"},	  {"mjs", "text/javascript"},	{"json", "application/json"},
    {"txt", "text/plain"},	  {"md", "text/markdown"},	{"csv", "text/csv"},
    {"xml", "application/xml"},	  {"svg", "image/svg+xml"},	{"png", "image/png"},
    {"jpg", "image/jpeg"},	  {"jpeg", "image/jpeg"},	{"gif", "image/gif"},
    {"webp", "image/webp"},	  {"avif", "image/avif"},	{"ico", "image/x-icon"},
    {"pdf", "application/pdf"},	  {"wasm", "application/wasm"}, {"mp4", "video/mp4"},
    {"webm", "video/webm"},	  {"mp3", "audio/mpeg"},	{"ogg", "audio/ogg"},
    {"wav", "audio/wav"},	  {"zip", "application/zip"},	{"gz", "application/gzip"},
    {"tar", "application/x-tar"}, {"woff", "font/woff"},	{"woff2", "font/woff2"},
    {"ttf", "font/ttf"},	  {"otf", "font/otf"},		{"c", "text/plain"},
    {"h", "text/plain"},	  {"sh", "text/plain"},		{"py", "text/plain"},
    {"log", "text/plain"},
};

static bool is_text(const char *type)
{
	return strncmp(type, "text/", 5) == 0 || strcmp(type, "application/json") == 0 ||
	       strcmp(type, "application/xml") == 0 || strcmp(type, "image/svg+xml") == 0 ||
	       strcmp(type, "application/javascript") == 0;
}

static int add(struct sk_mime *m, const char *ext, const char *type)
{
	struct sk_mime_entry *e = realloc(m->extra, (m->count + 1) * sizeof(*e));

	if (!e)
		return -1;
	m->extra = e;
	e[m->count].ext = strdup(ext);
	e[m->count].type = strdup(type);
	if (!e[m->count].ext || !e[m->count].type) {
		free(e[m->count].ext);
		free(e[m->count].type);
		return -1;
	}
	m->count++;
	return 0;
}

static const char *lookup(const struct sk_mime *m, const char *ext)
{
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcasecmp(builtin[i].ext, ext) == 0)
			return builtin[i].type;
	for (i = 0; m && i < m->count; i++)
		if (strcasecmp(m->extra[i].ext, ext) == 0)
			return m->extra[i].type;
	return NULL;
}

int sk_mime_load(struct sk_mime *m, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024], *type, *ext, *save;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		type = strtok_r(line, " \t\r\n", &save);
		if (!type || !strchr(type, '/') || strlen(type) > 100)
			continue;
		while ((ext = strtok_r(NULL, " \t\r\n", &save)))
			if (strlen(ext) < 16 && !lookup(m, ext) && add(m, ext, type) < 0) {
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
	}
	fclose(f);
	return 0;
}

void sk_mime_free(struct sk_mime *m)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->extra[i].ext);
		free(m->extra[i].type);
	}
	free(m->extra);
	m->extra = NULL;
	m->count = 0;
}

const char *sk_mime_type(const struct sk_mime *m, const char *name, char *buf, size_t buflen)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	const char *type = NULL;

	if (dot && (!slash || dot > slash) && dot[1])
		type = lookup(m, dot + 1);
	if (!type)
		return "application/octet-stream";
	if (!is_text(type))
		return type;
	snprintf(buf, buflen, "%s; charset=utf-8", type);
	return buf;
}
