/*
 * Unit tests of lib/core/child.c: children lead their own process groups,
 * stopping reaches what they fork, SIGKILL follows the grace, exit codes
 * come back through on_exit, and filters answer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "child.h"
#include "clock.h"

/* A socket for the child's stdin and stdout; the other end is *peer. */
static int conn(int *peer)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*peer = sv[1];
	return sv[0];
}

/* True when a process other than a zombie is in process group pgid. */
static bool group_alive(pid_t pgid)
{
	char path[300], buf[512], *p, state;
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool alive = false;
	int fd, group;
	ssize_t n;

	while (d && !alive && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid pgrp ...: comm may hold spaces, so from the last ')' */
		if ((p = strrchr(buf, ')')) && sscanf(p + 1, " %c %*d %d", &state, &group) == 2)
			alive = group == pgid && state != 'Z';
	}
	if (d)
		closedir(d);
	return alive;
}

/*
 * True when no live process is left in process group pgid, waiting up to
 * 5 s for the killed ones to die. (Zombies do not count: the orphans are
 * init's to reap, and init here may take its time.)
 */
static bool group_gone(pid_t pgid)
{
	int i;

	for (i = 0; i < 250; i++) {
		if (!group_alive(pgid))
			return true;
		poll(NULL, 0, 20);
	}
	return false;
}

/* Waits (bounded) until the child has written its first line. */
static void wait_ready(int peer)
{
	char c;
	struct pollfd p = {.fd = peer, .events = POLLIN};

	if (poll(&p, 1, 5000) == 1)
		CHECK(read(peer, &c, 1) == 1);
}

/*
 * Makes a set (cap children, grace_ms) and starts cmd in it on a socket
 * whose other end is *peer. Returns the child's pid.
 */
static pid_t start(struct sk_child_set *s, size_t cap, int grace_ms, const char *cmd, int *peer)
{
	char err[SK_ERRLEN];
	int fd = conn(peer);
	pid_t pid;

	CHECK(sk_child_set_init(s, cap, grace_ms) == 0);
	pid = sk_child_spawn_sh(s, cmd, fd, err);
	close(fd);
	CHECK(pid > 0);
	return pid;
}

static void stop_reaches_the_group(void)
{
	struct sk_child_set s;
	int peer;
	int64_t t0;
	pid_t pid;

	pid = start(&s, 2, 2000, "sleep 30 & echo; wait", &peer);
	wait_ready(peer);
	CHECK(getpgid(pid) == pid);
	CHECK(getpgid(pid) != getpgrp());
	t0 = sk_now_ms();
	sk_child_stop_all(&s, -1);
	CHECK(sk_now_ms() - t0 < 1500); /* SIGTERM was enough: no grace spent */
	CHECK(s.n == 0);
	CHECK(group_gone(pid));
	close(peer);
	sk_child_set_free(&s);
}

static void sigkill_after_the_grace(void)
{
	struct sk_child_set s;
	int peer;
	int64_t t0, took;
	pid_t pid;

	pid = start(&s, 1, 300, "trap '' TERM; sleep 30 & echo; wait", &peer);
	wait_ready(peer);
	t0 = sk_now_ms();
	sk_child_stop_all(&s, -1);
	took = sk_now_ms() - t0;
	CHECK(took >= 300 && took < 3000);
	CHECK(group_gone(pid));
	close(peer);
	sk_child_set_free(&s);
}

static pid_t seen_pid;
static int seen_code;

static void on_exit_cb(void *ctx, pid_t pid, int code)
{
	(void)ctx;
	seen_pid = pid;
	seen_code = code;
}

static void reap_reports_and_cleans_up(void)
{
	struct sk_child_set s;
	char err[SK_ERRLEN];
	int peer, i;
	pid_t pid;

	/* The shell ends at once; the sleep it left must not stay behind. */
	pid = start(&s, 1, 2000, "sleep 30 & exit 7", &peer);
	s.on_exit = on_exit_cb;
	CHECK(sk_child_spawn_sh(&s, "true", peer, err) < 0 && errno == ENOSPC);
	for (i = 0; i < 250 && s.n > 0; i++) {
		poll(NULL, 0, 20);
		sk_child_reap(&s);
	}
	CHECK(s.n == 0);
	CHECK(seen_pid == pid && seen_code == 7 && s.last_code == 7);
	CHECK(group_gone(pid));
	close(peer);
	sk_child_set_free(&s);
}

static void leftovers_get_sigkill_after_the_grace(void)
{
	struct sk_child_set s;
	int peer, i, ms;
	int64_t t0 = sk_now_ms(), took = -1;
	pid_t pid;

	pid = start(&s, 1, 300, "trap '' TERM; sleep 30 & exit 0", &peer);
	for (i = 0; i < 500 && (s.n > 0 || s.nleft > 0); i++) {
		ms = sk_child_next_ms(&s);
		poll(NULL, 0, ms >= 0 && ms < 10 ? ms : 10);
		sk_child_reap(&s);
		if (took < 0 && s.nleft > 0 && s.left[0].killed)
			took = sk_now_ms() - t0;
	}
	CHECK(s.n == 0 && s.nleft == 0);
	CHECK(took >= 250 && took < 3000); /* SIGTERM ignored: SIGKILL after the grace */
	CHECK(group_gone(pid));
	close(peer);
	sk_child_set_free(&s);
}

static void supervise_and_stop(int sigfd)
{
	struct sk_child_set s;
	char err[SK_ERRLEN];
	int p1, p2, f1 = conn(&p1), f2 = conn(&p2), sig = -1;
	pid_t long_one;

	CHECK(sk_child_set_init(&s, 2, 2000) == 0);
	long_one = sk_child_spawn_sh(&s, "sleep 30", f1, err);
	CHECK(long_one > 0 && sk_child_spawn_sh(&s, "exit 3", f2, err) > 0);
	close(f1);
	close(f2);
	CHECK(sk_child_supervise(&s, sigfd, true, &sig) == SK_SUPERVISE_FAILED);
	CHECK(sig == 0 && s.last_code == 3 && s.n == 1);
	CHECK(sk_child_stop_all(&s, sigfd) == 0);
	CHECK(s.n == 0 && group_gone(long_one));
	close(p1);
	close(p2);
	sk_child_set_free(&s);
}

static void second_signal_skips_the_grace(int sigfd)
{
	struct sk_child_set s;
	int peer;
	int64_t t0;
	pid_t pid;

	pid = start(&s, 1, 20000, "trap '' TERM; sleep 30 & echo; wait", &peer);
	wait_ready(peer);
	kill(getpid(), SIGTERM); /* blocked: it waits on sigfd */
	t0 = sk_now_ms();
	CHECK(sk_child_stop_all(&s, sigfd) == SIGTERM);
	CHECK(sk_now_ms() - t0 < 2000);
	CHECK(group_gone(pid));
	close(peer);
	sk_child_set_free(&s);
}

static void run_child(int sigfd)
{
	char err[SK_ERRLEN];
	int peer, fd = conn(&peer);

	CHECK(sk_run_child("exit 5", fd, sigfd, err) == 5);
	close(peer);
	fd = conn(&peer);
	CHECK(sk_run_child("echo hi", fd, sigfd, err) == 0);
	wait_ready(peer); /* the child wrote to the connection */
	close(peer);
}

static void filters(void)
{
	unsigned char out[16];
	size_t len = 0;
	bool overflow = true;
	char err[SK_ERRLEN];

	CHECK(sk_run_filter("tr a-z A-Z", (const unsigned char *)"abc", 3, out, sizeof(out), &len,
			    &overflow, -1, err) == 0);
	CHECK(len == 3 && memcmp(out, "ABC", 3) == 0 && !overflow);
	CHECK(sk_run_filter("head -c 40 /dev/zero; exit 3", NULL, 0, out, sizeof(out), &len,
			    &overflow, -1, err) == 3);
	CHECK(len == sizeof(out) && overflow);
}

int main(void)
{
	int sigfd;

	signal(SIGPIPE, SIG_IGN);
	stop_reaches_the_group();
	sigkill_after_the_grace();
	reap_reports_and_cleans_up();
	leftovers_get_sigkill_after_the_grace();
	filters();
	sigfd = sk_child_signals();
	CHECK(sigfd >= 0);
	supervise_and_stop(sigfd);
	second_signal_skips_the_grace(sigfd);
	run_child(sigfd);
	close(sigfd);
	return check_summary("child");
}
