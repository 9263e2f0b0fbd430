/*
 * Unit tests of lib/relay/relay.c over endpoints: plain fds (a socketpair
 * to a peer process, pipes, memfd files) with the mode each direction
 * took, half-close both ways, and in-memory endpoints that only have the
 * ops (short reads and writes, EAGAIN, a shutdown that must be retried,
 * a TLS-like end whose reads need POLLOUT and whose bytes poll cannot see).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "endpoint.h"
#include "relay.h"

#define KIB 1024

/* What the relay told on_mode, per direction. */
struct modes {
	int calls[2];
	enum sk_relay_mode last[2];
};

static void on_mode(void *ctx, enum sk_dir dir, enum sk_relay_mode mode)
{
	struct modes *m = ctx;

	m->calls[dir]++;
	m->last[dir] = mode;
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

static struct sk_relay_opts opts(struct modes *m)
{
	return (struct sk_relay_opts){
	    .idle_ms = 10000, /* a stuck relay fails the test instead of hanging it */
	    .stop_fd = -1,
	    .on_mode = on_mode,
	    .ctx = m,
	};
}

/* ---- the peer: a process at the other end of a socketpair ---------------- */

enum order {
	BOTH,	    /* send and receive at once */
	READ_FIRST, /* read to our EOF, then send the reply */
	SEND_FIRST, /* send the reply and shut down, then read */
};

/* What the peer received, in memory shared with the test. */
struct got {
	size_t len;
	bool eof;
	unsigned char data[1024 * KIB];
};

static struct got *got_map(void)
{
	void *p = mmap(NULL, sizeof(struct got), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void peer_loop(int fd, const unsigned char *reply, size_t n, enum order order, struct got *g)
{
	size_t sent = 0;
	bool shut = false, may_send, may_read;
	struct pollfd p = {.fd = fd};
	ssize_t r;

	for (;;) {
		if (!shut && sent == n && shutdown(fd, SHUT_WR) == 0)
			shut = true;
		may_send = !shut && (order != READ_FIRST || g->eof);
		may_read = !g->eof && (order != SEND_FIRST || shut);
		if (!may_send && !may_read)
			return;
		p.events = (short)((may_read ? POLLIN : 0) | (may_send ? POLLOUT : 0));
		if (poll(&p, 1, 20000) <= 0) /* the relay's idle timeout is 10 s */
			_exit(3);
		if (may_send && p.revents) {
			r = send(fd, reply + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0 && errno != EAGAIN)
				_exit(4);
			sent += r > 0 ? (size_t)r : 0;
		}
		if (may_read && p.revents) {
			r = recv(fd, g->data + g->len, sizeof(g->data) - g->len, MSG_DONTWAIT);
			if (r < 0 && errno != EAGAIN)
				_exit(5);
			g->eof = r == 0;
			g->len += r > 0 ? (size_t)r : 0;
		}
	}
}

/* Forks the peer on fd; returns its pid (or -1). */
static pid_t peer_start(int fd, const unsigned char *reply, size_t n, enum order order,
			struct got *g)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(30);
		peer_loop(fd, reply, n, order, g);
		_exit(0);
	}
	return pid;
}

static bool peer_ok(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- plain fds ------------------------------------------------------------ */

enum kind { PIPE, FILE_ };

/* An input holding data: a memfd, or a pipe with the data in it and no writer. */
static int input_fd(enum kind k, const unsigned char *data, size_t n)
{
	int p[2], fd;

	if (k == FILE_) {
		fd = memfd_create("in", MFD_CLOEXEC);
		if (fd < 0 || write(fd, data, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0)
			return -1;
		return fd;
	}
	if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETPIPE_SZ, 1024 * KIB) < 0 ||
	    write(p[1], data, n) != (ssize_t)n)
		return -1;
	close(p[1]);
	return p[0];
}

/* An output: a memfd (fds[0] == fds[1]) or a 1 MiB pipe (read end fds[0]). */
static int output_fds(enum kind k, int fds[2])
{
	if (k == FILE_) {
		fds[0] = fds[1] = memfd_create("out", MFD_CLOEXEC);
		return fds[0];
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || fcntl(fds[0], F_SETPIPE_SZ, 1024 * KIB) < 0)
		return -1;
	return 0;
}

/* Reads back what went to the output, and closes it. Returns the count. */
static size_t output_take(enum kind k, int fds[2], unsigned char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r;

	if (k == PIPE)
		close(fds[1]);
	else
		lseek(fds[0], 0, SEEK_SET);
	while (len < cap && (r = read(fds[0], buf + len, cap - len)) > 0)
		len += (size_t)r;
	close(fds[0]);
	return len;
}

struct plain_case {
	const char *name;
	enum kind in, out;
	enum order order;
	bool no_splice;
	enum sk_relay_mode send_mode, recv_mode;
};

static void plain_case(const struct plain_case *c)
{
	static unsigned char ours[600 * KIB], theirs[500 * KIB], back[600 * KIB];
	struct modes m = {{0, 0}, {SK_MODE_COPY, SK_MODE_COPY}};
	struct sk_relay_opts o = opts(&m);
	struct sk_endpoint net, in, out;
	struct sk_relay_stats st;
	struct got *g = got_map();
	char err[SK_ERRLEN] = "";
	int sp[2], outfd[2], infd, rc;
	pid_t pid;

	pattern(ours, sizeof(ours), 1);
	pattern(theirs, sizeof(theirs), 2);
	infd = input_fd(c->in, ours, sizeof(ours));
	CHECK(g && infd >= 0 && output_fds(c->out, outfd) >= 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0);
	if (!g || infd < 0)
		return;
	pid = peer_start(sp[1], theirs, sizeof(theirs), c->order, g);
	close(sp[1]);
	sk_endpoint_fd(&net, sp[0]);
	sk_endpoint_fd(&in, infd);
	sk_endpoint_fd(&out, outfd[1]);
	o.net = &net, o.in = &in, o.out = &out, o.no_splice = c->no_splice;
	rc = sk_relay(&o, &st, err);
	sk_endpoint_close(&out);
	sk_endpoint_close(&in);
	sk_endpoint_close(&net);
	close(sp[0]);
	if (rc != SK_RELAY_DONE)
		fprintf(stderr, "%s: relay %d: %s\n", c->name, rc, err);
	CHECK(rc == SK_RELAY_DONE);
	CHECK(peer_ok(pid));
	/* Everything arrived both ways, and our EOF reached the peer. */
	CHECK(g->eof && g->len == sizeof(ours) && memcmp(g->data, ours, sizeof(ours)) == 0);
	CHECK(output_take(c->out, outfd, back, sizeof(back)) == sizeof(theirs));
	CHECK(memcmp(back, theirs, sizeof(theirs)) == 0);
	CHECK(st.sent == sizeof(ours) && st.received == sizeof(theirs));
	/* Each direction named its mode once: the one that moved all the bytes. */
	CHECK(m.calls[SK_DIR_SEND] == 1 && m.last[SK_DIR_SEND] == c->send_mode);
	CHECK(m.calls[SK_DIR_RECV] == 1 && m.last[SK_DIR_RECV] == c->recv_mode);
	if (m.last[SK_DIR_SEND] != c->send_mode || m.last[SK_DIR_RECV] != c->recv_mode)
		fprintf(stderr, "%s: modes %s, %s\n", c->name,
			sk_relay_mode_name(m.last[SK_DIR_SEND]),
			sk_relay_mode_name(m.last[SK_DIR_RECV]));
	close(infd);
	munmap(g, sizeof(*g));
}

static void plain_cases(void)
{
	static const struct plain_case cases[] = {
	    {"file in, pipe out", FILE_, PIPE, BOTH, false, SK_MODE_SENDFILE, SK_MODE_SPLICE},
	    {"pipe in, file out", PIPE, FILE_, BOTH, false, SK_MODE_SPLICE, SK_MODE_PIPE},
	    {"no splice", FILE_, PIPE, BOTH, true, SK_MODE_COPY, SK_MODE_COPY},
	    {"no splice, pipe to file", PIPE, FILE_, BOTH, true, SK_MODE_COPY, SK_MODE_COPY},
	    {"half-close, peer reads first", PIPE, PIPE, READ_FIRST, false, SK_MODE_SPLICE,
	     SK_MODE_SPLICE},
	    {"half-close, peer reads first, copy", PIPE, PIPE, READ_FIRST, true, SK_MODE_COPY,
	     SK_MODE_COPY},
	    {"peer shuts down first", FILE_, FILE_, SEND_FIRST, false, SK_MODE_SENDFILE,
	     SK_MODE_PIPE},
	    {"peer shuts down first, copy", FILE_, FILE_, SEND_FIRST, true, SK_MODE_COPY,
	     SK_MODE_COPY},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		plain_case(&cases[i]);
}

/* The plain endpoint makes a pipe non-blocking and gives its flags back. */
static void plain_flags(void)
{
	struct sk_endpoint ep;
	int p[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	sk_endpoint_fd(&ep, p[0]);
	CHECK(ep.zero_copy && ep.fd == p[0] && (fcntl(p[0], F_GETFL) & O_NONBLOCK));
	sk_endpoint_close(&ep);
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	close(p[0]);
	close(p[1]);
	/* A closed fd still makes an endpoint; its ops report the error. */
	sk_endpoint_fd(&ep, p[0]);
	CHECK(!ep.zero_copy && ep.ops->read(&ep, p, 1) < 0 && errno == EBADF);
	sk_endpoint_close(&ep);
}

/* ---- in-memory endpoints: only the ops ------------------------------------ */

struct mem {
	const unsigned char *src; /* what reads return */
	size_t src_len, src_off;
	unsigned char *sink; /* what writes took */
	size_t sink_cap, sink_len;
	size_t chunk; /* at most this much per op */
	unsigned reads, writes;
	int shut_calls; /* the first says EAGAIN */
	bool shut, closed, write_after_shut;
	bool want_write; /* TLS-like: the last read needs the fd writable */
	bool tlsish;
};

static size_t short_count(size_t n, size_t chunk, unsigned call)
{
	size_t k = 1 + (call * 7919u) % chunk;

	return n < k ? n : k;
}

static ssize_t mem_read(struct sk_endpoint *ep, void *buf, size_t n)
{
	struct mem *m = ep->priv;

	m->reads++;
	if (m->tlsish ? (m->reads % 4 == 1 && !m->want_write) : m->reads % 3 == 0) {
		m->want_write = m->tlsish;
		errno = EAGAIN;
		return -1;
	}
	m->want_write = false;
	n = short_count(n, m->chunk, m->reads);
	if (n > m->src_len - m->src_off)
		n = m->src_len - m->src_off;
	memcpy(buf, m->src + m->src_off, n);
	m->src_off += n;
	return (ssize_t)n;
}

static ssize_t mem_write(struct sk_endpoint *ep, const void *buf, size_t n)
{
	struct mem *m = ep->priv;

	m->writes++;
	if (m->shut)
		m->write_after_shut = true;
	if (m->writes % 4 == 0) {
		errno = EAGAIN;
		return -1;
	}
	n = short_count(n, m->chunk, m->writes);
	if (n > m->sink_cap - m->sink_len) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(m->sink + m->sink_len, buf, n);
	m->sink_len += n;
	return (ssize_t)n;
}

static int mem_shutdown_write(struct sk_endpoint *ep)
{
	struct mem *m = ep->priv;

	if (++m->shut_calls == 1) {
		errno = EAGAIN;
		return -1;
	}
	m->shut = true;
	return 0;
}

/* Everything is in memory: a read can always go on, unless TLS-like and blocked. */
static bool mem_pending(const struct sk_endpoint *ep)
{
	const struct mem *m = ep->priv;

	return !m->want_write;
}

/* TLS-like: a read that said EAGAIN waits for the fd to be writable. */
static short mem_poll_events(const struct sk_endpoint *ep, short want)
{
	const struct mem *m = ep->priv;

	return want == POLLIN && m->want_write ? POLLOUT : want;
}

static const char *mem_strerror(const struct sk_endpoint *ep, int e)
{
	(void)ep;
	return e == ENOSPC ? "memory endpoint full" : strerror(e);
}

static void mem_close(struct sk_endpoint *ep)
{
	((struct mem *)ep->priv)->closed = true;
}

static const struct sk_endpoint_ops mem_ops = {
    .read = mem_read,
    .write = mem_write,
    .shutdown_write = mem_shutdown_write,
    .pending = mem_pending,
    .poll_events = mem_poll_events,
    .strerror = mem_strerror,
    .close = mem_close,
};

static void mem_init(struct sk_endpoint *ep, struct mem *m, int fd)
{
	memset(ep, 0, sizeof(*ep));
	ep->ops = &mem_ops;
	ep->fd = fd;
	ep->priv = m;
}

/* net is in memory, with no fd; stdin a pipe, stdout a pipe. */
static void mem_net_plain_ends(void)
{
	static unsigned char ours[300 * KIB], theirs[200 * KIB], sink[400 * KIB], back[300 * KIB];
	struct mem nm = {.src = theirs,
			 .src_len = sizeof(theirs),
			 .sink = sink,
			 .sink_cap = sizeof(sink),
			 .chunk = 4099};
	struct modes md = {{0, 0}, {SK_MODE_PIPE, SK_MODE_PIPE}};
	struct sk_relay_opts o = opts(&md);
	struct sk_endpoint net, in, out;
	struct sk_relay_stats st;
	char err[SK_ERRLEN] = "";
	int infd, outfd[2], rc;

	pattern(ours, sizeof(ours), 3);
	pattern(theirs, sizeof(theirs), 4);
	infd = input_fd(PIPE, ours, sizeof(ours));
	CHECK(infd >= 0 && output_fds(PIPE, outfd) >= 0);
	mem_init(&net, &nm, -1);
	sk_endpoint_fd(&in, infd);
	sk_endpoint_fd(&out, outfd[1]);
	o.net = &net, o.in = &in, o.out = &out;
	rc = sk_relay(&o, &st, err);
	sk_endpoint_close(&out);
	sk_endpoint_close(&in);
	sk_endpoint_close(&net);
	CHECK(rc == SK_RELAY_DONE);
	CHECK(nm.sink_len == sizeof(ours) && memcmp(sink, ours, sizeof(ours)) == 0);
	CHECK(output_take(PIPE, outfd, back, sizeof(back)) == sizeof(theirs));
	CHECK(memcmp(back, theirs, sizeof(theirs)) == 0);
	/* Short counts and EAGAINs happened, the shutdown was retried, once done. */
	CHECK(nm.reads > sizeof(theirs) / 4099 && nm.writes > sizeof(ours) / 4099);
	CHECK(nm.shut && nm.shut_calls == 2 && !nm.write_after_shut && nm.closed);
	/* A memory endpoint is no fd: both directions copy. */
	CHECK(md.calls[0] == 1 && md.last[0] == SK_MODE_COPY);
	CHECK(md.calls[1] == 1 && md.last[1] == SK_MODE_COPY);
	close(infd);
}

/* All three ends in memory, --crlf on the way out, one byte at a time. */
static void mem_all_ends(void)
{
	static const unsigned char text[] = "a\nb\r\nc\n\n", reply[] = "hello, world";
	unsigned char net_sink[64], out_sink[64];
	struct mem im = {.src = text, .src_len = sizeof(text) - 1, .chunk = 1};
	struct mem nm = {.src = reply,
			 .src_len = sizeof(reply) - 1,
			 .sink = net_sink,
			 .sink_cap = sizeof(net_sink),
			 .chunk = 2};
	struct mem om = {.sink = out_sink, .sink_cap = sizeof(out_sink), .chunk = 3};
	struct modes md = {{0, 0}, {SK_MODE_PIPE, SK_MODE_PIPE}};
	struct sk_relay_opts o = opts(&md);
	struct sk_endpoint net, in, out;
	struct sk_relay_stats st;
	char err[SK_ERRLEN] = "";

	mem_init(&net, &nm, -1);
	mem_init(&in, &im, -1);
	mem_init(&out, &om, -1);
	o.net = &net, o.in = &in, o.out = &out, o.crlf = true;
	CHECK(sk_relay(&o, &st, err) == SK_RELAY_DONE);
	CHECK(nm.sink_len == 11 && memcmp(net_sink, "a\r\nb\r\nc\r\n\r\n", 11) == 0);
	CHECK(om.sink_len == sizeof(reply) - 1 && memcmp(out_sink, reply, om.sink_len) == 0);
	CHECK(nm.shut && !im.shut && !om.shut);
	CHECK(st.sent == 11 && st.received == sizeof(reply) - 1);
}

/* A failing write names the endpoint's own reason, through its strerror op. */
static void mem_error(void)
{
	static const unsigned char reply[] = "more than four bytes";
	unsigned char out_sink[4];
	struct mem nm = {.src = reply, .src_len = sizeof(reply) - 1, .chunk = 64};
	struct mem om = {.sink = out_sink, .sink_cap = sizeof(out_sink), .chunk = 64};
	struct modes md = {{0, 0}, {SK_MODE_PIPE, SK_MODE_PIPE}};
	struct sk_relay_opts o = opts(&md);
	struct sk_endpoint net, out;
	struct sk_relay_stats st;
	char err[SK_ERRLEN] = "";

	mem_init(&net, &nm, -1);
	mem_init(&out, &om, -1);
	o.net = &net, o.out = &out;
	CHECK(sk_relay(&o, &st, err) == SK_RELAY_ERROR);
	CHECK(strcmp(err, "write to output: memory endpoint full") == 0);
	/* No input: the send direction never started, and never shut down. */
	CHECK(md.calls[SK_DIR_SEND] == 0 && nm.shut_calls == 0);
}

/*
 * A TLS-like net end on a real fd that is always writable and never
 * readable: its reads say EAGAIN and need POLLOUT, then its bytes are
 * in memory where poll cannot see them. A relay that polled POLLIN, or
 * ignored pending, would wait for nothing and time out.
 */
static void mem_tlsish(void)
{
	static unsigned char ours[100 * KIB], theirs[150 * KIB], sink[200 * KIB], back[200 * KIB];
	struct mem nm = {.src = theirs,
			 .src_len = sizeof(theirs),
			 .sink = sink,
			 .sink_cap = sizeof(sink),
			 .chunk = 8191,
			 .tlsish = true};
	struct modes md = {{0, 0}, {SK_MODE_PIPE, SK_MODE_PIPE}};
	struct sk_relay_opts o = opts(&md);
	struct sk_endpoint net, in, out;
	struct sk_relay_stats st;
	char err[SK_ERRLEN] = "";
	int sp[2], infd, outfd[2];

	pattern(ours, sizeof(ours), 5);
	pattern(theirs, sizeof(theirs), 6);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	infd = input_fd(FILE_, ours, sizeof(ours));
	CHECK(infd >= 0 && output_fds(PIPE, outfd) >= 0);
	mem_init(&net, &nm, sp[0]);
	sk_endpoint_fd(&in, infd);
	sk_endpoint_fd(&out, outfd[1]);
	o.net = &net, o.in = &in, o.out = &out, o.idle_ms = 2000;
	CHECK(sk_relay(&o, &st, err) == SK_RELAY_DONE);
	sk_endpoint_close(&out);
	sk_endpoint_close(&in);
	CHECK(nm.sink_len == sizeof(ours) && memcmp(sink, ours, sizeof(ours)) == 0);
	CHECK(output_take(PIPE, outfd, back, sizeof(back)) == sizeof(theirs));
	CHECK(memcmp(back, theirs, sizeof(theirs)) == 0);
	CHECK(nm.reads > 8 && nm.shut);
	close(sp[0]);
	close(sp[1]);
	close(infd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	plain_cases();
	plain_flags();
	mem_net_plain_ends();
	mem_all_ends();
	mem_error();
	mem_tlsish();
	return check_summary("relay");
}
