/* sockctl: the command table, global options and dispatch. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "tls.h"

#ifndef SOCKCTL_VERSION
#define SOCKCTL_VERSION "0.0.0"
#endif

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"listen", cmd_listen, "TCP or unix-socket server relayed to stdin/stdout"},
    {"connect", cmd_connect, "TCP or unix-socket client relayed to stdin/stdout"},
    {"udp-send", cmd_udp_send, "send datagrams, print the replies"},
    {"udp-recv", cmd_udp_recv, "receive datagrams; echo or answer them"},
    {"forward", cmd_forward, "relay every client of a port to a target"},
    {"serve-http", cmd_serve_http, "static HTTP/1.1 file server"},
    {"whois-port", cmd_whois_port, "who holds a port; stop it safely"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *f)
{
	size_t i;

	fputs("usage: sockctl [-h|--help] [-V|--version] COMMAND [OPTIONS] [ARGS]\n"
	      "       sockctl help [COMMAND]\n"
	      "\n"
	      "A socket toolkit: relay, serve and inspect sockets.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Run 'sockctl COMMAND --help' for a command's options.\n"
	      "Exit status: 0 success, 1 runtime failure, 2 usage error (whois-port: also 3).\n",
	      f);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	fprintf(stderr, "sockctl: unknown command '%s'\nsee 'sockctl --help'\n", name);
	return EXIT_USAGE;
}

/*
 * After a command: stdout is flushed and closed, and a failure of either
 * (a full disk, a closed pipe that was not EPIPE) is an error, as in git's
 * run_builtin. EPIPE stays silent: the reader chose to stop.
 */
static int finish_stdout(const char *who, int rc)
{
	bool failed = fflush(stdout) != 0 || ferror(stdout);

	if (!failed && fclose(stdout) != 0)
		failed = true;
	if (failed && errno != EPIPE && errno != EBADF) {
		fprintf(stderr, "%s: write error on stdout: %s\n", who, strerror(errno));
		return rc ? rc : EXIT_FAIL;
	}
	return rc;
}

static int run_command(const struct command *c, int argc, char **argv)
{
	char who[64];

	optind = 0; /* a full getopt reset for the command's own options */
	snprintf(who, sizeof(who), "sockctl %s", c->name);
	return finish_stdout(who, c->fn(argc, argv));
}

static int help_command(int argc, char **argv)
{
	const struct command *c;
	char *args[] = {argv[1], "--help", NULL};

	if (argc < 2) {
		print_usage(stdout);
		return finish_stdout("sockctl", 0);
	}
	if (argc > 2) {
		fprintf(stderr, "sockctl: help takes one COMMAND\nsee 'sockctl --help'\n");
		return EXIT_USAGE;
	}
	c = find_command(argv[1]);
	if (!c)
		return unknown_command(argv[1]);
	return run_command(c, 2, args);
}

/* fds 0-2 must exist, or the first socket would become stdin or stdout. */
static void sanitize_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd;
	char tls[64];
	int c;

	sanitize_std_fds();
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': print_usage(stdout); return finish_stdout("sockctl", 0);
		case 'V':
			printf("sockctl %s\n", SOCKCTL_VERSION);
			sk_tls_library(tls, sizeof(tls));
			printf("tls: %s\n", tls);
			return finish_stdout("sockctl", 0);
		default:
			fprintf(stderr, "sockctl: unknown option '%s'\nsee 'sockctl --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("sockctl: missing COMMAND\nsee 'sockctl --help'\n", stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0)
		return help_command(argc - optind, argv + optind);
	cmd = find_command(argv[optind]);
	if (!cmd)
		return unknown_command(argv[optind]);
	return run_command(cmd, argc - optind, argv + optind);
}
