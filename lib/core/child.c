#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "net.h"

extern char **environ;

/* A child starts with no blocked signals and default dispositions. */
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
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &dfl);
}

pid_t sk_spawn_sh(const char *cmd, int fd, char *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	pid_t pid;
	int rc;

	if (sk_set_nonblock(fd, false) < 0) {
		sk_seterr(err, "spawn: %s", strerror(errno));
		return -1;
	}
	spawn_attrs(&attr);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
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

/* SIGTERM, SIGKILL if the child is still there after the grace period; reaps it. */
static void stop_child(pid_t pid)
{
	int i;

	kill(pid, SIGTERM);
	for (i = 0; i < SK_CHILD_GRACE_MS / 20; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
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

/*
 * Feeds the command's stdin and drains its stdout at the same time.
 * Returns true when a stop signal arrived on sigfd first.
 */
static bool filter_io(int to, int from, const unsigned char *in, size_t inlen, unsigned char *out,
		      size_t outcap, size_t *outlen, bool *overflow, int sigfd)
{
	unsigned char sink[4096];
	struct pollfd pfd[3];
	size_t sent = 0;
	ssize_t n;
	bool stop = false;

	*outlen = 0;
	*overflow = false;
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
		n = read(from, *outlen < outcap ? out + *outlen : sink,
			 *outlen < outcap ? outcap - *outlen : sizeof(sink));
		if (n > 0 && *outlen < outcap)
			*outlen += (size_t)n;
		else if (n > 0)
			*overflow = true;
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
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int inp[2], outp[2], rc, status;
	bool stopped;
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	pid_t pid;

	if (pipe2(inp, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(inp[0]);
		close(inp[1]);
		goto fail;
	}
	spawn_attrs(&attr);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, inp[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(inp[0]);
	close(outp[1]);
	if (rc != 0) {
		close(inp[1]);
		close(outp[0]);
		errno = rc;
		goto fail;
	}
	fcntl(inp[1], F_SETFL, O_NONBLOCK);
	stopped = filter_io(inp[1], outp[0], in, inlen, out, outcap, outlen, overflow, sigfd);
	close(outp[0]);
	if (stopped) {
		stop_child(pid);
		errno = EINTR;
		sk_seterr(err, "stopped");
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			goto fail;
	return sk_exit_code(status);
fail:
	sk_seterr(err, "run /bin/sh: %s", strerror(errno));
	return -1;
}

int sk_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

struct children {
	pid_t *pid;
	size_t n, cap;
	int last_code;
};

/* Reaps every child that has ended. */
static void reap(struct children *c)
{
	size_t i;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < c->n; i++) {
			if (c->pid[i] == pid) {
				c->pid[i] = c->pid[--c->n];
				c->last_code = sk_exit_code(status);
				break;
			}
		}
	}
}

/* SIGTERM to every child, SIGKILL to those left after the grace period. */
static void stop_children(struct children *c, int sigfd)
{
	int64_t deadline = sk_deadline(SK_CHILD_GRACE_MS);
	size_t i;

	for (i = 0; i < c->n; i++)
		kill(c->pid[i], SIGTERM);
	while (c->n > 0 && sk_ms_left(deadline) > 0) {
		sk_wait_fd(sigfd, POLLIN, sk_ms_left(deadline));
		sk_read_stop_signal(sigfd);
		reap(c);
	}
	for (i = 0; i < c->n; i++)
		kill(c->pid[i], SIGKILL);
	while (c->n > 0) {
		int status;
		pid_t pid = waitpid(c->pid[c->n - 1], &status, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		c->n--;
	}
}

int sk_wait_child(pid_t pid, int sigfd)
{
	struct children c = {.pid = &pid, .n = 1, .cap = 1};
	int sig;

	while (c.n > 0) {
		if (sk_wait_fd(sigfd, POLLIN, -1) < 0)
			return -1;
		if ((sig = sk_read_stop_signal(sigfd))) {
			stop_children(&c, sigfd);
			return 128 + sig;
		}
		reap(&c);
	}
	return c.last_code;
}

/* Accepts one connection and starts its child. */
static void serve_one(const struct sk_exec_server *s, struct children *c)
{
	char peer[SK_ADDRSTRLEN], err[SK_ERRLEN];
	pid_t pid;
	int fd = sk_accept(s->lfd, peer);

	if (fd < 0) {
		if (errno != EAGAIN && errno != ECONNABORTED && s->on_error) {
			sk_seterr(err, "accept: %s", strerror(errno));
			s->on_error(s->ctx, err);
		}
		return;
	}
	pid = sk_spawn_sh(s->cmd, fd, err);
	close(fd);
	if (pid < 0) {
		if (s->on_error)
			s->on_error(s->ctx, err);
		return;
	}
	c->pid[c->n++] = pid;
	if (s->on_accept)
		s->on_accept(s->ctx, peer, pid);
}

int sk_exec_serve(const struct sk_exec_server *s, char *err)
{
	struct children c = {.cap = s->max_conns ? s->max_conns : 1};
	struct pollfd pfd[2];
	bool accepting = true;
	int nfds, rc;

	c.pid = calloc(c.cap, sizeof(*c.pid));
	if (!c.pid) {
		sk_seterr(err, "out of memory");
		return -1;
	}
	for (;;) {
		pfd[0] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		nfds = accepting && c.n < c.cap ? 2 : 1;
		if (!accepting && c.n == 0)
			break;
		rc = poll(pfd, (nfds_t)nfds, c.n == 0 ? s->idle_ms : -1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			int e = rc == 0 ? ETIMEDOUT : errno;

			if (rc == 0)
				sk_seterr(err, "no connection within %g s", s->idle_ms / 1000.0);
			else
				sk_seterr(err, "poll: %s", strerror(e));
			stop_children(&c, s->sigfd);
			free(c.pid);
			errno = e;
			return -1;
		}
		if (pfd[0].revents && sk_read_stop_signal(s->sigfd)) {
			stop_children(&c, s->sigfd);
			break;
		}
		reap(&c);
		if (nfds == 2 && pfd[1].revents) {
			serve_one(s, &c);
			if (s->once && c.n > 0)
				accepting = false;
		}
	}
	free(c.pid);
	return s->once ? c.last_code : 0;
}
