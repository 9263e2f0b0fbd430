#include "sigfd.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int signal_fd(bool child)
{
	sigset_t set;

	sigemptyset(&set);
	if (child)
		sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int sk_stop_signals(void)
{
	return signal_fd(false);
}

int sk_child_signals(void)
{
	return signal_fd(true);
}

int sk_read_stop_signal(int sigfd)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			stop = (int)si.ssi_signo;
	return stop;
}
