/* sk_exec_serve: listen -e, a child per connection under one supervisor. */
#include "child.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "addr.h"
#include "clock.h"
#include "net.h"

/* Forks the process that serves fd. */
static pid_t fork_serve(const struct sk_exec_server *s, struct sk_child_set *set, int fd,
			const char *peer, char *err)
{
	pid_t pid = sk_child_fork(set, err);

	if (pid == 0) {
		close(s->lfd);
		close(s->sigfd);
		_exit(s->serve(s->ctx, fd, peer));
	}
	return pid;
}

/* Accepts one connection and starts its child. */
static void serve_one(const struct sk_exec_server *s, struct sk_child_set *set)
{
	char peer[SK_ADDRSTRLEN], err[SK_ERRLEN];
	struct sockaddr_storage from;
	pid_t pid;
	int fd = sk_accept_from(s->lfd, &from, peer);

	if (fd < 0) {
		if (errno != EAGAIN && errno != ECONNABORTED && s->on_error) {
			sk_seterr(err, "accept: %s", strerror(errno));
			s->on_error(s->ctx, err);
		}
		return;
	}
	if (s->acl && !sk_acl_allows(s->acl, (const struct sockaddr *)&from)) {
		close(fd);
		if (s->on_refuse)
			s->on_refuse(s->ctx, peer);
		return;
	}
	pid =
	    s->serve ? fork_serve(s, set, fd, peer, err) : sk_child_spawn_sh(set, s->cmd, fd, err);
	close(fd);
	if (pid < 0) {
		if (s->on_error)
			s->on_error(s->ctx, err);
		return;
	}
	if (s->on_accept)
		s->on_accept(s->ctx, peer, pid);
}

/* Fails the loop (err is set): the children are stopped. Returns -1 with errno e. */
static int fail(struct sk_child_set *set, int sigfd, int e)
{
	sk_child_stop_all(set, sigfd);
	sk_child_set_free(set);
	errno = e;
	return -1;
}

/* How long poll may sleep: until the idle limit (no child running) or a group's SIGKILL. */
static int poll_ms(const struct sk_exec_server *s, const struct sk_child_set *set,
		   int64_t idle_since)
{
	int linger = sk_child_next_ms(set);
	int idle = set->n > 0 || s->idle_ms < 0 ? -1 : sk_ms_left(idle_since + s->idle_ms);

	if (idle < 0)
		return linger;
	return linger < 0 || idle < linger ? idle : linger;
}

int sk_exec_serve(const struct sk_exec_server *s, char *err)
{
	struct sk_child_set set;
	struct pollfd pfd[2];
	bool accepting = true;
	int64_t idle_since = sk_now_ms();
	int nfds, rc;

	if (sk_child_set_init(&set, s->max_conns, SK_CHILD_GRACE_MS) < 0) {
		sk_seterr(err, "out of memory");
		return -1;
	}
	while (accepting || set.n > 0) {
		pfd[0] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		nfds = accepting && set.n < set.cap ? 2 : 1;
		rc = poll(pfd, (nfds_t)nfds, poll_ms(s, &set, idle_since));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			int e = errno;

			sk_seterr(err, "poll: %s", strerror(e));
			return fail(&set, s->sigfd, e);
		}
		if (rc > 0 && pfd[0].revents && sk_read_stop_signal(s->sigfd))
			break;
		sk_child_reap(&set);
		if (rc > 0 && nfds == 2 && pfd[1].revents) {
			serve_one(s, &set);
			if (s->once && set.n > 0)
				accepting = false;
		}
		if (set.n > 0)
			idle_since = sk_now_ms();
		else if (s->idle_ms >= 0 && sk_ms_left(idle_since + s->idle_ms) == 0) {
			sk_seterr(err, "no connection within %g s", s->idle_ms / 1000.0);
			return fail(&set, s->sigfd, ETIMEDOUT);
		}
	}
	/* Stopped, or the one child has ended: its group and what is left go too. */
	sk_child_stop_all(&set, s->sigfd);
	rc = s->once ? set.last_code : 0;
	sk_child_set_free(&set);
	return rc;
}
