/*
 * Unit tests of lib/http/fsafe.c: a file opens beneath the root while '..' and
 * a symlink out of it do not, with openat2 and with the fallback, and also
 * where a seccomp filter makes openat2 fail with EPERM (as some container
 * runtimes do): the fallback must take over there instead of every
 * request failing.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fsafe.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static char dir[] = "/tmp/sockctl-unit-fsafe.XXXXXX";

static const char *in_dir(const char *rel)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return path;
}

static void beneath(bool no_openat2)
{
	struct sk_root r;
	int fd;

	CHECK(sk_root_open(&r, in_dir("root"), no_openat2) == 0);
	fd = sk_open_beneath(&r, "file");
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(sk_open_beneath(&r, "../outside") < 0);
	CHECK(sk_open_beneath(&r, "link") < 0); /* a symlink out of the root */
	sk_root_close(&r);
}

/* openat2 fails with EPERM from here on, as under a seccomp filter that does not know it. */
static int deny_openat2(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int main(void)
{
	char cmd[300];
	int status = 0;
	pid_t pid;

	if (!mkdtemp(dir) || mkdir(in_dir("root"), 0755) < 0 ||
	    close(open(in_dir("root/file"), O_WRONLY | O_CREAT, 0644)) < 0 ||
	    close(open(in_dir("outside"), O_WRONLY | O_CREAT, 0644)) < 0 ||
	    symlink("../outside", in_dir("root/link")) < 0)
		perror("fixture"), exit(1);
	beneath(false);
	beneath(true);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (deny_openat2() < 0) {
			fprintf(stderr, "unit fsafe: no seccomp here; EPERM case not checked\n");
			_exit(0);
		}
		beneath(false);
		_exit(check_failed ? 1 : 0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_summary("fsafe");
}
