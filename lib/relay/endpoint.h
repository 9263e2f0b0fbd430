/*
 * endpoint.h - one end of a relay: a plain fd, or anything that has the ops.
 *
 * The relay only reads, writes and half-closes its ends through the ops,
 * and polls ep->fd for what poll_events says; so a TLS session (whose
 * reads may need to write, whose writes may need to read, and which may
 * hold decrypted bytes that poll cannot see) plugs in as one more ops
 * table. Only a plain fd offers zero_copy, the relay's splice/sendfile
 * fast paths, which bypass the ops.
 */
#ifndef SK_ENDPOINT_H
#define SK_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sk_endpoint;

/*
 * What an endpoint does. No op blocks: -1 with errno EAGAIN means "not
 * now", and the relay tries again once poll(2) on ep->fd reports one of
 * the events poll_events asked for.
 */
struct sk_endpoint_ops {
	/* Reads up to n bytes into buf. Returns the count, 0 at EOF, or -1
	 * with errno (EAGAIN: nothing yet). */
	ssize_t (*read)(struct sk_endpoint *ep, void *buf, size_t n);
	/* Writes up to n bytes of buf. Returns the count taken, which may be
	 * fewer, or -1 with errno (EAGAIN: no room yet; EPIPE: the reader is
	 * gone). */
	ssize_t (*write)(struct sk_endpoint *ep, const void *buf, size_t n);
	/* Ends the writing direction after the bytes written (TCP: a FIN; TLS:
	 * close_notify, then a FIN). Returns 0, or -1 with errno; EAGAIN: call
	 * again once the events of poll_events(ep, POLLOUT) are ready. */
	int (*shutdown_write)(struct sk_endpoint *ep);
	/* Returns true when read can return something (bytes, EOF, an error)
	 * without waiting on fd, which poll cannot see: a TLS session holding a
	 * decrypted record or undecrypted bytes. Always false for a plain fd. */
	bool (*pending)(const struct sk_endpoint *ep);
	/* Returns the poll(2) events on fd that let an op that returned EAGAIN
	 * progress; want is POLLIN for read, POLLOUT for write and
	 * shutdown_write. A plain fd returns want; a TLS session may need
	 * POLLOUT to read and POLLIN to write. */
	short (*poll_events)(const struct sk_endpoint *ep, short want);
	/* Returns the text for error e from one of ep's ops (strerror(e) for a
	 * plain fd; a TLS session may name the library's reason). Never NULL. */
	const char *(*strerror)(const struct sk_endpoint *ep, int e);
	/* Gives back what the endpoint holds: a plain fd gets its file status
	 * flags back and stays open (its owner closes it). */
	void (*close)(struct sk_endpoint *ep);
};

struct sk_endpoint {
	const struct sk_endpoint_ops *ops;
	int fd;		 /* polled for poll_events; -1: never waited for, tried each turn */
	bool zero_copy;	 /* fd carries the bytes as they are: splice/sendfile may bypass ops */
	mode_t type;	 /* S_IFMT bits of fd when zero_copy (S_IFSOCK, S_IFIFO, ...) */
	bool tty;	 /* fd is a terminal (no zero-copy to or from it) */
	bool append;	 /* fd is open O_APPEND (no splice into it) */
	int saved_flags; /* plain fd: flags to restore at close, -1 none */
	void *priv;	 /* the endpoint type's own state */
};

/*
 * Makes ep a plain endpoint over fd, which stays the caller's to close.
 * A pipe or socket goes non-blocking until sk_endpoint_close. Zero-copy
 * is offered when fstat(2) works on fd; when it fails, the ops still try
 * fd and report its errors. Cannot fail.
 */
void sk_endpoint_fd(struct sk_endpoint *ep, int fd);

/* Calls ep's close op; NULL is ignored. */
void sk_endpoint_close(struct sk_endpoint *ep);

#endif
