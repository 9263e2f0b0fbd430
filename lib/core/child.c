#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"

extern char **environ;

/* How often stop_all looks at leaders that SIGCHLD cannot wake it for (sigfd -1). */
#define STOP_POLL_MS 20

int sk_child_set_init(struct sk_child_set *s, size_t cap, int grace_ms)
{
	*s = (struct sk_child_set){.cap = cap ? cap : 1, .grace_ms = grace_ms};
	s->pid = calloc(s->cap, sizeof(*s->pid));
	return s->pid ? 0 : -1;
}

void sk_child_set_free(struct sk_child_set *s)
{
	free(s->pid);
	s->pid = NULL;
	s->n = s->cap = 0;
}

/*
 * A child starts in a new process group, with no blocked signals and
 * default dispositions.
 */
static void spawn_attrs(posix_spawnattr_t *attr)
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
					   POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &dfl);
	posix_spawnattr_setpgroup(attr, 0);
}

/* posix_spawn of "/bin/sh -c cmd" with fds in and out as stdin and stdout. */
static pid_t spawn_sh(const char *cmd, int in, int out, char *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	pid_t pid;
	int rc;

	spawn_attrs(&attr);
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

pid_t sk_child_spawn_sh(struct sk_child_set *s, const char *cmd, int fd, char *err)
{
	pid_t pid;

	if (s->n == s->cap) {
		errno = ENOSPC;
		sk_seterr(err, "spawn: too many children");
		return -1;
	}
	if (sk_set_nonblock(fd, false) < 0) {
		sk_seterr(err, "spawn: %s", strerror(errno));
		return -1;
	}
	pid = spawn_sh(cmd, fd, fd, err);
	if (pid > 0)
		s->pid[s->n++] = pid;
	return pid;
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
	s->pid[s->n++] = pid;
	return pid;
}

/* The index of pid in the set, or -1. */
static ssize_t find(const struct sk_child_set *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->pid[i] == pid)
			return (ssize_t)i;
	return -1;
}

/*
 * Waits for leader pid to end, then reaps it. While it is still a zombie
 * its PID names its process group, so what it left in the group gets sig
 * first (0: nothing). Returns its exit code.
 */
static int reap_leader(pid_t pid, int sig)
{
	siginfo_t si;
	int status = 0;

	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			break;
	if (sig)
		kill(-pid, sig);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return sk_exit_code(status);
}

size_t sk_child_reap(struct sk_child_set *s)
{
	size_t reaped = 0;
	siginfo_t si;
	ssize_t i;
	int code;

	for (;;) {
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: the leader stays a zombie, keeping its group's id ours. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			break;
		i = find(s, si.si_pid);
		code = reap_leader(si.si_pid, i >= 0 ? SIGTERM : 0);
		if (i < 0)
			continue; /* not one of ours */
		s->pid[i] = s->pid[--s->n];
		s->last_code = code;
		reaped++;
		if (s->on_exit)
			s->on_exit(s->ctx, si.si_pid, code);
	}
	return reaped;
}

/* True when leader pid has ended; it is not reaped. */
static bool leader_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

static bool all_ended(const struct sk_child_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!leader_ended(s->pid[i]))
			return false;
	return true;
}

void sk_child_stop_all(struct sk_child_set *s, int sigfd)
{
	int64_t deadline = sk_deadline(s->grace_ms);
	int left;
	size_t i;

	for (i = 0; i < s->n; i++)
		kill(-s->pid[i], SIGTERM);
	while (!all_ended(s) && (left = sk_ms_left(deadline)) > 0) {
		if (sigfd < 0) {
			poll(NULL, 0, left < STOP_POLL_MS ? left : STOP_POLL_MS);
			continue;
		}
		sk_wait_fd(sigfd, POLLIN, left);
		if (sk_read_stop_signal(sigfd))
			break; /* a second stop signal: no more grace */
	}
	/* The leaders are not reaped yet, so these ids are still their groups. */
	for (i = 0; i < s->n; i++)
		kill(-s->pid[i], SIGKILL);
	for (i = 0; i < s->n; i++)
		reap_leader(s->pid[i], 0);
	s->n = 0;
}

enum sk_supervise_result sk_child_supervise(struct sk_child_set *s, int sigfd, bool stop_on_failure,
					    int *sig)
{
	int last;

	*sig = 0;
	while (s->n > 0) {
		if (sk_wait_fd(sigfd, POLLIN, -1) < 0)
			return SK_SUPERVISE_ERROR;
		if ((*sig = sk_read_stop_signal(sigfd)))
			return SK_SUPERVISE_SIGNALLED;
		last = s->last_code;
		s->last_code = 0;
		if (sk_child_reap(s) > 0 && stop_on_failure && s->last_code != 0)
			return SK_SUPERVISE_FAILED;
		if (s->last_code == 0)
			s->last_code = last;
	}
	return SK_SUPERVISE_ALL_EXITED;
}

int sk_run_child(const char *cmd, int fd, int sigfd, char *err)
{
	struct sk_child_set s;
	int sig, rc;

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
	switch (sk_child_supervise(&s, sigfd, false, &sig)) {
	case SK_SUPERVISE_SIGNALLED: rc = 128 + sig; break;
	case SK_SUPERVISE_ERROR:
		sk_seterr(err, "wait: %s", strerror(errno));
		rc = -1;
		break;
	default: rc = s.last_code;
	}
	sk_child_stop_all(&s, sigfd);
	sk_child_set_free(&s);
	return rc;
}

int sk_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Sends the input to the command's stdin. Returns the fd, or -1 once all is sent. */
static int feed(int to, const unsigned char *in, size_t inlen, size_t *sent)
{
	ssize_t n = write(to, in + *sent, inlen - *sent);

	if (n > 0)
		*sent += (size_t)n;
	if ((n < 0 && errno != EAGAIN && errno != EINTR) || *sent == inlen) {
		close(to); /* EOF for the command, or it stopped reading */
		return -1;
	}
	return to;
}

struct filter_out {
	unsigned char *p;
	size_t cap, len;
	bool overflow;
};

/*
 * Feeds the command's stdin and drains its stdout at the same time.
 * Returns true when a stop signal arrived on sigfd first.
 */
static bool filter_io(int to, int from, const unsigned char *in, size_t inlen,
		      struct filter_out *out, int sigfd)
{
	unsigned char sink[4096];
	struct pollfd pfd[3];
	size_t sent = 0;
	ssize_t n;
	bool stop = false, room;

	while (!stop) {
		pfd[0] = (struct pollfd){.fd = from, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = to, .events = POLLOUT};
		if (poll(pfd, to >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents && sk_read_stop_signal(sigfd))
			stop = true;
		if (to >= 0 && pfd[2].revents)
			to = feed(to, in, inlen, &sent);
		if (!pfd[0].revents)
			continue;
		room = out->len < out->cap;
		n = read(from, room ? out->p + out->len : sink,
			 room ? out->cap - out->len : sizeof(sink));
		if (n > 0 && room)
			out->len += (size_t)n;
		else if (n > 0)
			out->overflow = true;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	if (to >= 0)
		close(to);
	return stop;
}

int sk_run_filter(const char *cmd, const unsigned char *in, size_t inlen, unsigned char *out,
		  size_t outcap, size_t *outlen, bool *overflow, int sigfd, char *err)
{
	struct filter_out fo = {.p = out, .cap = outcap};
	struct sk_child_set s = {.pid = NULL};
	int inp[2], outp[2];
	bool stopped;
	pid_t pid;

	*outlen = 0;
	*overflow = false;
	if (pipe2(inp, O_CLOEXEC) < 0) {
		sk_seterr(err, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(outp, O_CLOEXEC) < 0) {
		sk_seterr(err, "pipe: %s", strerror(errno));
		close(inp[0]);
		close(inp[1]);
		return -1;
	}
	pid = spawn_sh(cmd, inp[0], outp[1], err);
	close(inp[0]);
	close(outp[1]);
	if (pid < 0) {
		close(inp[1]);
		close(outp[0]);
		return -1;
	}
	if (fcntl(inp[1], F_SETFL, O_NONBLOCK) < 0) {
		/* A blocking write could hang on a command that does not read. */
		close(inp[1]);
		inp[1] = -1;
	}
	stopped = filter_io(inp[1], outp[0], in, inlen, &fo, sigfd);
	close(outp[0]);
	*outlen = fo.len;
	*overflow = fo.overflow;
	if (stopped) {
		s = (struct sk_child_set){
		    .pid = &pid, .n = 1, .cap = 1, .grace_ms = SK_CHILD_GRACE_MS};
		sk_child_stop_all(&s, -1);
		errno = EINTR;
		sk_seterr(err, "stopped");
		return -1;
	}
	return reap_leader(pid, SIGTERM);
}
