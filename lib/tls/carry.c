/*
 * sk_tls_carry: a -e command over TLS. The command gets one end of a
 * socketpair as its stdin and stdout and reads and writes plaintext; this
 * process relays between the other end and the TLS session, so the
 * command sees the connection as it would a plain one: the peer's
 * close_notify is its EOF, and its closing the socket is the end.
 */
#include "tls.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "relay.h"

/* Waits for pid while reading stop_fd. Returns its exit code, or 128 + the stop signal. */
static int wait_command(pid_t pid, int stop_fd)
{
	int status, sig = sk_child_wait(pid, stop_fd);

	if (sig) {
		kill(pid, sig);
		return 128 + sig;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return sk_exit_code(status);
}

int sk_tls_carry(struct sk_tls *t, const char *cmd, int stop_fd, char *err)
{
	struct sk_endpoint net, local;
	struct sk_relay_stats st;
	struct sk_relay_opts ro = {.idle_ms = -1, .stop_fd = stop_fd, .local_socket = true};
	enum sk_relay_result rc;
	int sp[2], sig;
	pid_t pid;

	err[0] = '\0';
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		sk_seterr(err, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = sk_spawn_sh_here(cmd, sp[1], err);
	close(sp[1]);
	if (pid < 0) {
		close(sp[0]);
		return -1;
	}
	sk_tls_endpoint(&net, t);
	sk_endpoint_fd(&local, sp[0]);
	ro.net = &net;
	ro.in = ro.out = &local;
	rc = sk_relay(&ro, &st, err);
	sk_endpoint_close(&local);
	close(sp[0]); /* the command sees the connection end */
	if (rc == SK_RELAY_STOPPED) {
		sig = sk_read_stop_signal(stop_fd);
		kill(pid, sig ? sig : SIGTERM);
		return 128 + (sig ? sig : SIGTERM);
	}
	if (rc == SK_RELAY_DONE)
		err[0] = '\0';
	return wait_command(pid, stop_fd);
}
