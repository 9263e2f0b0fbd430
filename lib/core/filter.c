/* filter.c - udp-recv -e: a command per datagram, its stdout the reply. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Feeds and drains the filter pid, then waits for it and for what it left
 * in its group (SIGKILL after the grace). Returns its exit code, or -1
 * with errno EINTR and err when a stop signal came first (the group then
 * stopped at once).
 */
static int filter_run(struct sk_child_set *s, pid_t pid, int to, int from, const unsigned char *in,
		      size_t inlen, struct filter_out *fo, int sigfd, char *err)
{
	bool stopped;
	int code;

	if (fcntl(to, F_SETFL, O_NONBLOCK) < 0) {
		/* A blocking write could hang on a command that does not read. */
		close(to);
		to = -1;
	}
	stopped = filter_io(to, from, in, inlen, fo, sigfd);
	/* Its stdout may close long before it ends: a stop signal still counts. */
	if (!stopped)
		stopped = sk_child_wait(pid, sigfd) != 0;
	if (!stopped) {
		sk_child_reap(s);
		code = s->last_code;
		stopped = sk_child_stop_all(s, sigfd) != 0; /* what it left behind */
	}
	if (stopped) {
		sk_child_stop_all(s, sigfd);
		errno = EINTR;
		sk_seterr(err, "stopped");
		return -1;
	}
	return code;
}

int sk_run_filter(const char *cmd, const unsigned char *in, size_t inlen, unsigned char *out,
		  size_t outcap, size_t *outlen, bool *overflow, int sigfd, char *err)
{
	struct filter_out fo = {.p = out, .cap = outcap};
	struct sk_child_set s;
	int inp[2], outp[2], code = -1;
	pid_t pid = -1;

	*outlen = 0;
	*overflow = false;
	if (sk_child_set_init(&s, 1, SK_CHILD_GRACE_MS) < 0) {
		sk_seterr(err, "out of memory");
		return -1;
	}
	if (pipe2(inp, O_CLOEXEC) < 0) {
		sk_seterr(err, "pipe: %s", strerror(errno));
	} else if (pipe2(outp, O_CLOEXEC) < 0) {
		sk_seterr(err, "pipe: %s", strerror(errno));
		close(inp[0]);
		close(inp[1]);
	} else {
		pid = sk_child_spawn_io(&s, cmd, inp[0], outp[1], err);
		close(inp[0]);
		close(outp[1]);
		if (pid > 0)
			code = filter_run(&s, pid, inp[1], outp[0], in, inlen, &fo, sigfd, err);
		else
			close(inp[1]);
		close(outp[0]);
	}
	*outlen = fo.len;
	*overflow = fo.overflow;
	sk_child_set_free(&s);
	return code;
}
