#include "pidfd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "parse.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int sk_pidfd_open(pid_t pid)
{
	/* pidfds are always close-on-exec */
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int sk_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

int sk_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

bool sk_pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

int sk_pidfd_wait(const int *fds, bool *exited, size_t n, int ms)
{
	int64_t deadline = sk_now_ms() + ms;
	struct pollfd *p = malloc((n + 1) * sizeof(*p));
	size_t *at = malloc((n + 1) * sizeof(*at));
	int rc = -1;

	if (!p || !at)
		goto out;
	for (;;) {
		size_t i, k = 0;
		int64_t left = deadline - sk_now_ms();

		for (i = 0; i < n; i++) {
			if (fds[i] < 0 || exited[i])
				continue;
			p[k] = (struct pollfd){.fd = fds[i], .events = POLLIN};
			at[k++] = i;
		}
		if (k == 0 || left <= 0) {
			rc = (int)k;
			break;
		}
		if (poll(p, k, (int)left) < 0 && errno != EINTR)
			break;
		for (i = 0; i < k; i++)
			if (p[i].revents) /* a pidfd is readable once its process has exited */
				exited[at[i]] = true;
	}
out:
	free(p);
	free(at);
	return rc;
}

static const struct {
	int sig;
	const char *name;
} signals[] = {
    {SIGHUP, "HUP"},	   {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},	   {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},	   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},	   {SIGUSR1, "USR1"}, {SIGSEGV, "SEGV"},   {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},	   {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},   {SIGCHLD, "CHLD"},
    {SIGCONT, "CONT"},	   {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},   {SIGTTIN, "TTIN"},
    {SIGTTOU, "TTOU"},	   {SIGURG, "URG"},   {SIGXCPU, "XCPU"},   {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},
    {SIGPWR, "PWR"},	   {SIGSYS, "SYS"},
};

#define NSIGNALS (sizeof(signals) / sizeof(signals[0]))

int sk_parse_signal(const char *s)
{
	long long v;
	size_t i;

	if (sk_parse_num(s, 1, 64, &v) == 0)
		return (int)v;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < NSIGNALS; i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].sig;
	errno = EINVAL;
	return -1;
}

const char *sk_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}
