#include "child.h"

#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"
#include "pidfd.h"

extern char **environ;

/* How often a wait without SIGCHLD on its fd looks again. */
#define STOP_POLL_MS 20
/* How long SIGKILLed processes get to be reaped before they are left to init. */
#define KILL_WAIT_MS 1000

int sk_child_set_init(struct sk_child_set *s, size_t cap, int grace_ms)
{
	*s = (struct sk_child_set){.cap = cap ? cap : 1, .grace_ms = grace_ms};
	s->pid = calloc(s->cap, sizeof(*s->pid));
	if (!s->pid)
		return -1;
	/* Best effort: without it what a leader leaves is init's, signalled all the same. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

void sk_child_set_free(struct sk_child_set *s)
{
	free(s->pid);
	free(s->left);
	*s = (struct sk_child_set){.pid = NULL};
}

/*
 * A child starts in a new process group, with no blocked signals and
 * default dispositions.
 */
static void spawn_attrs(posix_spawnattr_t *attr, bool own_group)
{
	sigset_t none, dfl;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_init(attr);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					   (own_group ? POSIX_SPAWN_SETPGROUP : 0));
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &dfl);
	posix_spawnattr_setpgroup(attr, 0);
}

/* A new child pid leads group pid: an ended group of that id is long gone. */
static void add_child(struct sk_child_set *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->nleft; i++)
		if (s->left[i].pgid == pid)
			s->left[i] = s->left[--s->nleft];
	s->pid[s->n++] = pid;
}

/* Runs "/bin/sh -c cmd" on in and out. Returns its pid, or -1 with errno and err. */
static pid_t spawn_sh(const char *cmd, int in, int out, bool own_group, char *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	pid_t pid;
	int rc;

	spawn_attrs(&attr, own_group);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		sk_seterr(err, "run /bin/sh: %s", strerror(rc));
		return -1;
	}
	return pid;
}

pid_t sk_child_spawn_io(struct sk_child_set *s, const char *cmd, int in, int out, char *err)
{
	pid_t pid;

	if (s->n == s->cap) {
		errno = ENOSPC;
		sk_seterr(err, "spawn: too many children");
		return -1;
	}
	pid = spawn_sh(cmd, in, out, true, err);
	if (pid > 0)
		add_child(s, pid);
	return pid;
}

pid_t sk_spawn_sh_here(const char *cmd, int fd, char *err)
{
	if (sk_set_nonblock(fd, false) < 0) {
		sk_seterr(err, "spawn: %s", strerror(errno));
		return -1;
	}
	return spawn_sh(cmd, fd, fd, false, err);
}

pid_t sk_child_spawn_sh(struct sk_child_set *s, const char *cmd, int fd, char *err)
{
	if (sk_set_nonblock(fd, false) < 0) {
		sk_seterr(err, "spawn: %s", strerror(errno));
		return -1;
	}
	return sk_child_spawn_io(s, cmd, fd, fd, err);
}

pid_t sk_child_fork(struct sk_child_set *s, char *err)
{
	pid_t parent = getpid(), pid;

	if (s->n == s->cap) {
		errno = ENOSPC;
		sk_seterr(err, "fork: too many children");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		sk_seterr(err, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent) /* the parent died before prctl */
			kill(getpid(), SIGTERM);
		return 0;
	}
	setpgid(pid, pid); /* as the child does: whichever runs first */
	add_child(s, pid);
	return pid;
}

/* The index of pid among the running leaders, or -1. */
static ssize_t find(const struct sk_child_set *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->pid[i] == pid)
			return (ssize_t)i;
	return -1;
}

/* Reaps pid, which has ended. Returns its exit code. */
static int reap(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return sk_exit_code(status);
}

/*
 * Leader pgid has ended and is not reaped yet, so its id still names its
 * group: the rest of the group gets SIGTERM, and is remembered until it
 * is gone, to get SIGKILL at kill_at.
 */
static void leave_group(struct sk_child_set *s, pid_t pgid, int64_t kill_at)
{
	struct sk_child_group *g;
	size_t cap;

	kill(-pgid, SIGTERM);
	if (s->nleft == s->capleft) {
		cap = s->capleft ? 2 * s->capleft : 8;
		g = realloc(s->left, cap * sizeof(*g));
		if (!g) {
			kill(-pgid, SIGKILL); /* no room to wait for it: no grace */
			return;
		}
		s->left = g;
		s->capleft = cap;
	}
	s->left[s->nleft++] = (struct sk_child_group){.pgid = pgid, .kill_at = kill_at};
}

/*
 * True when no process of group pgid is left. Its members are this
 * subreaper's children (their leader, their parent, has ended), and
 * unreaped ones keep the group's id from being reused.
 */
static bool group_gone(pid_t pgid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PGID, (id_t)pgid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

/* Forgets the groups that are gone; SIGKILL to those past their time. */
static void check_groups(struct sk_child_set *s)
{
	int64_t now = sk_now_ms();
	size_t i, j;

	for (i = j = 0; i < s->nleft; i++) {
		struct sk_child_group g = s->left[i];

		if (group_gone(g.pgid))
			continue;
		if (!g.killed && now >= g.kill_at) {
			kill(-g.pgid, SIGKILL);
			g.killed = true;
		}
		s->left[j++] = g;
	}
	s->nleft = j;
}

/*
 * Reaps every child that has ended: a leader leaves its group (SIGKILL
 * at kill_at) and, with report, goes to on_exit. Returns the leaders reaped.
 */
static size_t reap_all(struct sk_child_set *s, bool report, int64_t kill_at)
{
	size_t reaped = 0;
	siginfo_t si;
	ssize_t i;
	int code;

	for (;;) {
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: a leader is signalled as a group before it is reaped. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			break;
		i = find(s, si.si_pid);
		if (i >= 0)
			leave_group(s, si.si_pid, kill_at);
		code = reap(si.si_pid);
		if (i < 0)
			continue; /* what an ended leader left behind */
		s->pid[i] = s->pid[--s->n];
		s->last_code = code;
		reaped++;
		if (!report)
			continue;
		s->failures += code != 0;
		if (s->on_exit)
			s->on_exit(s->ctx, si.si_pid, code);
	}
	check_groups(s);
	return reaped;
}

size_t sk_child_reap(struct sk_child_set *s)
{
	return reap_all(s, true, sk_now_ms() + s->grace_ms);
}

int sk_child_next_ms(const struct sk_child_set *s)
{
	int64_t next = -1;
	size_t i;

	for (i = 0; i < s->nleft; i++)
		if (!s->left[i].killed && (next < 0 || s->left[i].kill_at < next))
			next = s->left[i].kill_at;
	return next < 0 ? -1 : sk_ms_left(next);
}

/* Waits up to ms on sigfd (-1: just sleeps). Returns a stop signal read, or 0. */
static int nap(int sigfd, int ms)
{
	if (sigfd < 0) {
		poll(NULL, 0, ms);
		return 0;
	}
	return sk_wait_fd(sigfd, POLLIN, ms) > 0 ? sk_read_stop_signal(sigfd) : 0;
}

/* SIGKILL to every group; their ids are pinned by unreaped leaders or members. */
static void kill_all(struct sk_child_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		kill(-s->pid[i], SIGKILL);
	for (i = 0; i < s->nleft; i++) {
		kill(-s->left[i].pgid, SIGKILL);
		s->left[i].killed = true;
	}
}

int sk_child_stop_all(struct sk_child_set *s, int sigfd)
{
	int64_t deadline = sk_deadline(s->grace_ms);
	int sig = 0, left;
	bool passed_on = false;
	size_t i;

	for (i = 0; i < s->n; i++)
		kill(-s->pid[i], SIGTERM);
	for (i = 0; i < s->nleft; i++)
		if (s->left[i].kill_at > deadline)
			s->left[i].kill_at = deadline;
	for (;;) {
		reap_all(s, false, deadline);
		if ((s->n == 0 && s->nleft == 0) || (left = sk_ms_left(deadline)) == 0)
			break;
		if (!(sig = nap(sigfd, left < STOP_POLL_MS ? left : STOP_POLL_MS)))
			continue;
		if (s->second_grace_ms <= 0 || passed_on)
			break; /* a second stop signal: no more grace */
		/* Passed on: the children end at once their own way, within a short grace. */
		for (i = 0; i < s->n; i++)
			kill(-s->pid[i], SIGTERM);
		if (sk_ms_left(deadline) > s->second_grace_ms)
			deadline = sk_deadline(s->second_grace_ms);
		passed_on = true;
	}
	kill_all(s);
	deadline = sk_deadline(KILL_WAIT_MS);
	while ((s->n > 0 || s->nleft > 0) && sk_ms_left(deadline) > 0) {
		reap_all(s, false, 0);
		if (s->n > 0 || s->nleft > 0)
			poll(NULL, 0, 5);
	}
	/* What SIGKILL has not ended by now (stuck in the kernel) is left to init. */
	s->n = s->nleft = 0;
	return sig;
}

int sk_child_wait(pid_t pid, int sigfd)
{
	int pfd = sk_pidfd_open(pid), sig = 0;
	struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == pid)
			break;
		/* Without a pidfd (an old kernel, valgrind), look again now and then. */
		if (poll(p, 2, pfd >= 0 ? -1 : STOP_POLL_MS) < 0 && errno != EINTR)
			break;
		if (p[0].revents && (sig = sk_read_stop_signal(sigfd)))
			break;
	}
	if (pfd >= 0)
		close(pfd);
	return sig;
}

enum sk_supervise_result sk_child_supervise(struct sk_child_set *s, int sigfd, bool stop_on_failure,
					    int *sig)
{
	size_t failures = s->failures;

	*sig = 0;
	while (s->n > 0) {
		if (sk_wait_fd(sigfd, POLLIN, sk_child_next_ms(s)) < 0)
			return SK_SUPERVISE_ERROR;
		if ((*sig = sk_read_stop_signal(sigfd)))
			return SK_SUPERVISE_SIGNALLED;
		sk_child_reap(s);
		if (stop_on_failure && s->failures > failures)
			return SK_SUPERVISE_FAILED;
	}
	return SK_SUPERVISE_ALL_EXITED;
}

/* Supervises the one child of s until it ends or a stop signal comes; frees s. */
static int run_one(struct sk_child_set *s, int sigfd, char *err)
{
	int sig, rc;

	switch (sk_child_supervise(s, sigfd, false, &sig)) {
	case SK_SUPERVISE_SIGNALLED: rc = 128 + sig; break;
	case SK_SUPERVISE_ERROR:
		sk_seterr(err, "wait: %s", strerror(errno));
		rc = -1;
		break;
	default: rc = s->last_code;
	}
	sk_child_stop_all(s, sigfd); /* also what it left in its group */
	sk_child_set_free(s);
	return rc;
}

int sk_run_child(const char *cmd, int fd, int sigfd, char *err)
{
	struct sk_child_set s;
	int rc;

	if (sk_child_set_init(&s, 1, SK_CHILD_GRACE_MS) < 0) {
		sk_seterr(err, "out of memory");
		close(fd);
		return -1;
	}
	rc = sk_child_spawn_sh(&s, cmd, fd, err) < 0 ? -1 : 0;
	close(fd); /* the child's now: its end is the connection's end */
	if (rc < 0) {
		sk_child_set_free(&s);
		return -1;
	}
	return run_one(&s, sigfd, err);
}

int sk_run_forked(int (*fn)(void *arg), void *arg, int sigfd, char *err)
{
	struct sk_child_set s;
	pid_t pid;

	if (sk_child_set_init(&s, 1, SK_CHILD_GRACE_MS) < 0) {
		sk_seterr(err, "out of memory");
		return -1;
	}
	pid = sk_child_fork(&s, err);
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0) {
		sk_child_set_free(&s);
		return -1;
	}
	return run_one(&s, sigfd, err);
}

int sk_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
