/*
 * Uploads on a real directory: a PUT appears only when complete and not
 * at all when cut short, --overwrite replaces a symlink instead of
 * writing through it, chunked bodies, the size limit, multipart POSTs
 * with several files, and what is refused before a byte is written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "upload.h"

static char dir[64], outside[96];
static struct sk_root root;

/* Entries of the test directory (not . and ..). */
static int entries(const char *sub)
{
	char path[128];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(path, sizeof(path), "%s%s", dir, sub);
	if (!(dp = opendir(path)))
		return -1;
	while ((d = readdir(dp)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dp);
	return n;
}

static bool file_is(const char *rel, const char *want)
{
	char path[256], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((fd = open(path, O_RDONLY)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

/* A request head for method to target with the given headers, parsed into q (buf keeps it). */
static void request(struct sk_http_req *q, char *buf, size_t cap, const char *method,
		    const char *target, const char *headers)
{
	snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, target, headers);
	if (sk_http_parse(buf, strlen(buf), q) != SK_HTTP_COMPLETE)
		fprintf(stderr, "bad test request: %s\n", buf);
}

static int start(struct sk_upload *u, const char *method, const char *rel, const char *headers,
		 unsigned long long max, bool overwrite)
{
	char buf[1024], target[300];
	struct sk_http_req q;
	size_t i, n = 1;

	/* The target as a client sends it: control bytes %-encoded. */
	target[0] = '/';
	for (i = 0; rel[i] && n < sizeof(target) - 4; i++)
		n += (size_t)snprintf(target + n, sizeof(target) - n,
				      (unsigned char)rel[i] < 0x20 ? "%%%02X" : "%c",
				      (unsigned char)rel[i]);
	target[n] = '\0';
	request(&q, buf, sizeof(buf), method, target, headers);
	return sk_upload_start(u, &root, &q, rel, rel[0] && rel[strlen(rel) - 1] == '/', max,
			       (overwrite ? SK_UPLOAD_OVERWRITE : 0) | SK_UPLOAD_VARIANTS);
}

static void test_put(void)
{
	struct sk_upload u;
	int st;

	CHECK(start(&u, "PUT", "new.txt", "Content-Length: 10\r\n", 100, false) == 0);
	CHECK(sk_upload_feed(&u, "01234", 5, &st) == 5 && st == 0);
	CHECK(entries("") == 2); /* sub/ and out: nothing visible while the body comes */
	CHECK(sk_upload_feed(&u, "56789tail", 9, &st) == 5 && sk_upload_body_done(&u));
	CHECK(sk_upload_finish(&u) == 201 && file_is("new.txt", "0123456789"));
	sk_upload_free(&u);

	/* Exists: 409, unless overwrite (204). */
	CHECK(start(&u, "PUT", "new.txt", "Content-Length: 1\r\n", 100, false) == 409);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "new.txt", "Content-Length: 2\r\n", 100, true) == 0);
	CHECK(sk_upload_feed(&u, "ab", 2, &st) == 2 && sk_upload_finish(&u) == 204);
	CHECK(file_is("new.txt", "ab"));
	sk_upload_free(&u);

	/* Cut short: nothing, not even a temporary file. */
	CHECK(start(&u, "PUT", "cut.txt", "Content-Length: 100\r\n", 1000, false) == 0);
	CHECK(sk_upload_feed(&u, "half", 4, &st) == 4 && !sk_upload_body_done(&u));
	sk_upload_free(&u);
	CHECK(entries("") == 3 && access("cut.txt", F_OK) < 0);

	/* Refused before a byte: limit, missing parent, directory, unsafe names, PUT to a dir. */
	CHECK(start(&u, "PUT", "big", "Content-Length: 101\r\n", 100, false) == 413);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "nodir/x", "Content-Length: 1\r\n", 100, false) == 409);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "sub", "Content-Length: 1\r\n", 100, true) == 409);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "sub/", "Content-Length: 1\r\n", 100, true) == 405);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "bad\x01name", "Content-Length: 1\r\n", 100, true) == 400);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "out/x", "Content-Length: 1\r\n", 100, true) == 403);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "x", "Content-Length: 1\r\nExpect: 200-ok\r\n", 100, true) == 417);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", ".sockctl-upload.0", "Content-Length: 1\r\n", 100, true) == 400);
	sk_upload_free(&u);
	/* --precompressed: a variant of new.txt changes what new.txt's clients get. */
	CHECK(start(&u, "PUT", "new.txt.gz", "Content-Length: 1\r\n", 100, false) == 409);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "other.gz", "Content-Length: 1\r\n", 100, false) == 0);
	sk_upload_free(&u);
}

/* --overwrite on a symlink that leads out: the link is replaced, the outside file untouched. */
static void test_symlink(void)
{
	char path[256];
	struct sk_upload u;
	int st;

	snprintf(path, sizeof(path), "%s/link", dir);
	CHECK(symlink(outside, path) == 0);
	CHECK(start(&u, "PUT", "link", "Content-Length: 3\r\n", 100, true) == 0);
	CHECK(sk_upload_feed(&u, "new", 3, &st) == 3 && sk_upload_finish(&u) == 204);
	sk_upload_free(&u);
	CHECK(file_is("link", "new"));
	{
		struct stat st2;
		char buf[16] = "";
		int fd = open(outside, O_RDONLY);

		CHECK(lstat(path, &st2) == 0 && S_ISREG(st2.st_mode));
		CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 8 && !memcmp(buf, "outside\n", 8));
		if (fd >= 0)
			close(fd);
	}
}

static void test_chunked(void)
{
	static const char body[] = "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\nNEXT";
	struct sk_upload u;
	int st;

	CHECK(start(&u, "PUT", "ch.txt", "Transfer-Encoding: chunked\r\n", 100, false) == 0);
	CHECK(sk_upload_direct(&u) == 0);
	CHECK(sk_upload_feed(&u, body, sizeof(body) - 1, &st) == (long long)sizeof(body) - 5);
	CHECK(sk_upload_body_done(&u) && sk_upload_finish(&u) == 201 &&
	      file_is("ch.txt", "abcdefg"));
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "ch2", "Transfer-Encoding: chunked\r\n", 5, false) == 0);
	CHECK(sk_upload_feed(&u, body, sizeof(body) - 1, &st) < 0 && st == 413);
	sk_upload_free(&u);
	CHECK(start(&u, "PUT", "ch3", "Transfer-Encoding: chunked\r\n", 100, false) == 0);
	CHECK(sk_upload_feed(&u, "zz\r\n", 4, &st) < 0 && st == 400);
	sk_upload_free(&u);
	CHECK(access("ch2", F_OK) < 0 && access("ch3", F_OK) < 0);
}

#define CT "Content-Type: multipart/form-data; boundary=XyZ\r\n"

static void test_post(void)
{
	static const char body[] =
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
	    "\r\nAAA\r\n--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"f\"; filename=\"b.txt\"\r\n"
	    "\r\nBB\r\n--XyZ--\r\n";
	char hdr[128];
	struct sk_upload u;
	size_t i;
	int st;

	snprintf(hdr, sizeof(hdr), CT "Content-Length: %zu\r\n", sizeof(body) - 1);
	CHECK(start(&u, "POST", "sub/", hdr, 1000, false) == 0);
	for (i = 0; i < sizeof(body) - 1; i++) /* a byte at a time */
		CHECK(sk_upload_feed(&u, body + i, 1, &st) == 1);
	CHECK(entries("/sub") == 0);
	CHECK(sk_upload_body_done(&u) && sk_upload_finish(&u) == 303);
	sk_upload_free(&u);
	CHECK(file_is("sub/a.txt", "AAA") && file_is("sub/b.txt", "BB"));

	/* Again: they exist now. */
	CHECK(start(&u, "POST", "sub", hdr, 1000, false) == 0);
	CHECK(sk_upload_feed(&u, body, sizeof(body) - 1, &st) < 0 && st == 409);
	sk_upload_free(&u);

	/* Refusals: not multipart, no boundary, a POST to a file, a body that ends early. */
	CHECK(start(&u, "POST", "sub/", "Content-Type: text/plain\r\nContent-Length: 1\r\n", 9,
		    false) == 415);
	sk_upload_free(&u);
	CHECK(start(&u, "POST", "sub/",
		    "Content-Type: multipart/form-data\r\nContent-Length: 1\r\n", 9, false) == 400);
	sk_upload_free(&u);
	CHECK(start(&u, "POST", "new.txt", CT "Content-Length: 1\r\n", 9, false) == 405);
	sk_upload_free(&u);
	snprintf(hdr, sizeof(hdr), CT "Content-Length: 40\r\n");
	CHECK(start(&u, "POST", "sub/", hdr, 1000, false) == 0);
	CHECK(sk_upload_feed(&u, body, 40, &st) == 40 && sk_upload_finish(&u) == 400);
	sk_upload_free(&u);
}

static void test_post_bad_names(void)
{
	static const char *const names[] = {"..", ".", "a/b", "%2e%2e", "", "a\\\\b"};
	char body[512], hdr[128];
	struct sk_upload u;
	size_t i;
	int n, st;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = snprintf(body, sizeof(body),
			     "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
			     "filename=\"%s\"\r\n\r\nX\r\n--XyZ--\r\n",
			     names[i]);
		snprintf(hdr, sizeof(hdr), CT "Content-Length: %d\r\n", n);
		CHECK(start(&u, "POST", "sub/", hdr, 1000, true) == 0);
		CHECK(sk_upload_feed(&u, body, (size_t)n, &st) < 0 && st == 400);
		sk_upload_free(&u);
	}
	/* A part without a file name (a plain field). */
	n = snprintf(body, sizeof(body),
		     "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nX\r\n--XyZ--\r\n");
	snprintf(hdr, sizeof(hdr), CT "Content-Length: %d\r\n", n);
	CHECK(start(&u, "POST", "sub/", hdr, 1000, true) == 0);
	CHECK(sk_upload_feed(&u, body, (size_t)n, &st) < 0 && st == 400);
	sk_upload_free(&u);
	CHECK(entries("/sub") == 2);
}

int main(void)
{
	char path[128];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/sk-upload.XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/sk-outside.XXXXXX");
	if (!mkdtemp(dir) || (fd = mkstemp(outside)) < 0)
		return 1;
	if (write(fd, "outside\n", 8) != 8)
		return 1;
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/out", dir);
	if (symlink("/tmp", path) < 0 || chdir(dir) < 0 || sk_root_open(&root, dir, false) < 0)
		return 1;
	test_put();
	test_symlink();
	test_chunked();
	test_post();
	test_post_bad_names();
	sk_root_close(&root);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0 || unlink(outside) < 0)
		return 1;
	return check_summary("upload");
}
