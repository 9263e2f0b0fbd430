/* cmd.h - what the command files share: handlers, messages, options. */
#ifndef SK_CMD_H
#define SK_CMD_H

#include <stdbool.h>

#include "err.h"

int cmd_listen(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_udp_send(int argc, char **argv);
int cmd_udp_recv(int argc, char **argv);
int cmd_serve_http(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_whois_port(int argc, char **argv);

#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* "sockctl CMD: message" on stderr. */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error: the reason and a hint on stderr. Returns EXIT_USAGE. */
int cmd_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for getopt's '?' or ':' result. Returns EXIT_USAGE. */
int cmd_bad_option(const char *cmd, int c, char **argv);

/*
 * What parsing a command line decided. Usage errors are reported by
 * cmd_usage() and friends, which return EXIT_USAGE.
 */
enum cmd_parsed {
	CMD_RUN = 0,		      /* valid: run the command */
	CMD_USAGE_ERROR = EXIT_USAGE, /* reported on stderr */
	CMD_FAILED = EXIT_FAIL,	      /* a runtime failure (out of memory), reported */
	CMD_HELP_SHOWN = -1,	      /* --help was printed */
};

/* The exit status of a parse that does not run the command (help: 0). */
int cmd_parsed_exit(enum cmd_parsed p);

/* Long-only options, above any short option character. */
enum {
	OPT_WAIT = 256,
	OPT_CRLF,
	OPT_SEND_ONLY,
	OPT_RECV_ONLY,
	OPT_NO_SHUTDOWN,
	OPT_PROGRESS,
	OPT_MAX_CONNS,
	OPT_SIZE,
	OPT_JSON,
	OPT_ECHO,
	OPT_JOIN,
	OPT_NO_LISTING,
	OPT_LOG,
	OPT_WORKERS,
	OPT_TLS,
	OPT_TLS_CA,
	OPT_TLS_PIN,
	OPT_TLS_INSECURE,
	OPT_SNI,
	OPT_NO_SNI,
	OPT_ALPN,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_MIN,
	OPT_TLS_CLIENT_CA,
	OPT_ACL_ALLOW,
	OPT_ACL_DENY,
	OPT_PROXY,
};

/* getopt_long entries of the stream socket options (listen, connect). */
#define STREAM_LONGOPTS                                                                            \
	{"ipv4", no_argument, NULL, '4'}, {"ipv6", no_argument, NULL, '6'},                        \
	    {"numeric", no_argument, NULL, 'n'}, {"source", required_argument, NULL, 's'},         \
	    {"unix", required_argument, NULL, 'U'}, {"verbose", no_argument, NULL, 'v'},           \
	    {"timeout", required_argument, NULL, 'w'},                                             \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* getopt_long entries of the relay options, and their --help lines. */
#define RELAY_LONGOPTS                                                                             \
	{"crlf", no_argument, NULL, OPT_CRLF}, {"send-only", no_argument, NULL, OPT_SEND_ONLY},    \
	    {"recv-only", no_argument, NULL, OPT_RECV_ONLY},                                       \
	    {"no-shutdown", no_argument, NULL, OPT_NO_SHUTDOWN},                                   \
	    {"hexdump", no_argument, NULL, 'x'},                                                   \
	{                                                                                          \
		"progress", no_argument, NULL, OPT_PROGRESS                                        \
	}

#define RELAY_USAGE                                                                                \
	"      --crlf             send each LF of stdin as CRLF\n"                                 \
	"      --send-only        only send stdin; discard what the peer sends\n"                  \
	"      --recv-only        only write what the peer sends; ignore stdin (no half-close)\n"  \
	"      --no-shutdown      do not half-close the connection at stdin EOF\n"                 \
	"  -x, --hexdump          hex dump of the traffic on stderr ('>' sent, '<' received)\n"    \
	"      --progress         bytes moved and the rate on stderr\n"

/* getopt_long entries of the TLS options: a client's (connect) and a server's. */
#define TLS_COMMON_LONGOPTS                                                                        \
	{"tls", no_argument, NULL, OPT_TLS}, {"ssl", no_argument, NULL, OPT_TLS},                  \
	    {"alpn", required_argument, NULL, OPT_ALPN},                                           \
	    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},                                   \
	    {"tls-key", required_argument, NULL, OPT_TLS_KEY},                                     \
	{                                                                                          \
		"tls-min", required_argument, NULL, OPT_TLS_MIN                                    \
	}
#define TLS_CLIENT_LONGOPTS                                                                        \
	TLS_COMMON_LONGOPTS, {"tls-ca", required_argument, NULL, OPT_TLS_CA},                      \
	    {"tls-pin", required_argument, NULL, OPT_TLS_PIN},                                     \
	    {"tls-insecure", no_argument, NULL, OPT_TLS_INSECURE},                                 \
	    {"sni", required_argument, NULL, OPT_SNI},                                             \
	{                                                                                          \
		"no-sni", no_argument, NULL, OPT_NO_SNI                                            \
	}
#define TLS_SERVER_LONGOPTS                                                                        \
	TLS_COMMON_LONGOPTS,                                                                       \
	{                                                                                          \
		"tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA                        \
	}

#define TLS_CLIENT_USAGE                                                                           \
	"      --tls, --ssl       run TLS over the connection, verifying the server's\n"           \
	"                         certificate (chain and name) by default\n"                       \
	"      --tls-ca FILE      trust the PEM certificates in FILE, not the system's\n"          \
	"      --tls-pin FP       accept only the certificate with this SHA-256\n"                 \
	"                         fingerprint (sha256:HEX or AB:CD:...)\n"                         \
	"      --tls-insecure     verify nothing (says so on stderr)\n"                            \
	"      --sni NAME         send NAME as SNI and check the certificate against it\n"         \
	"      --no-sni           send no SNI (the name is still checked)\n"                       \
	"      --alpn LIST        offer these ALPN protocols (comma list)\n"                       \
	"      --tls-cert FILE    present this client certificate (PEM)\n"                         \
	"      --tls-key FILE     the client certificate's key (PEM; default: in --tls-cert)\n"    \
	"      --tls-min VER      lowest TLS version: 1.2 (default) or 1.3\n"

#define TLS_SERVER_USAGE                                                                           \
	"      --tls, --ssl       serve TLS; without --tls-cert, a fresh self-signed\n"            \
	"                         ECDSA certificate whose fingerprint is printed\n"                \
	"      --tls-cert FILE    the server certificate, with its chain (PEM)\n"                  \
	"      --tls-key FILE     its key (PEM; default: in --tls-cert)\n"                         \
	"      --tls-client-ca FILE  require a client certificate issued by a CA in FILE\n"        \
	"      --alpn LIST        accept these ALPN protocols (comma list)\n"                      \
	"      --tls-min VER      lowest TLS version: 1.2 (default) or 1.3\n"

/* getopt_long entries of the access list options, and their --help lines. */
#define ACL_LONGOPTS                                                                               \
	{"allow", required_argument, NULL, OPT_ACL_ALLOW},                                         \
	{                                                                                          \
		"deny", required_argument, NULL, OPT_ACL_DENY                                      \
	}

#define ACL_USAGE                                                                                  \
	"      --allow CIDR       serve only clients in CIDR (repeatable; 10.0.0.0/8, ::1)\n"      \
	"      --deny CIDR        refuse clients in CIDR (repeatable; wins over --allow)\n"

/* Options every socket command shares. */
struct net_opts {
	int family;	       /* AF_UNSPEC, AF_INET, AF_INET6 */
	bool numeric;	       /* -n */
	bool verbose;	       /* -v */
	int timeout_ms;	       /* -w, -1 unset */
	const char *source;    /* -s */
	const char *unix_path; /* -U */
	bool saw4, saw6;
};

/* Options of the stdin/stdout relay. */
struct relay_cli {
	bool crlf, send_only, recv_only, no_shutdown, hexdump, progress;
	bool no_splice; /* SOCKCTL_NO_SPLICE in the environment */
};

void net_opts_init(struct net_opts *o);

enum cmd_option {
	CMD_OPTION_NOT_MINE = 0,     /* not a shared option: the command's own */
	CMD_OPTION_TAKEN = 1,	     /* stored in o or r */
	CMD_OPTION_BAD = EXIT_USAGE, /* a bad value, reported */
};

/* Handles one shared socket or relay option (r may be NULL). */
enum cmd_option cmd_common_option(const char *cmd, int c, const char *arg, struct net_opts *o,
				  struct relay_cli *r);

/* The TLS options as given (all NULL/false: no TLS). */
struct tls_cli {
	bool on;       /* --tls, or any --tls-* option */
	bool insecure; /* --tls-insecure */
	bool no_sni;   /* --no-sni */
	const char *ca, *pin, *cert, *key, *client_ca, *sni, *alpn;
	int min_version;      /* 12 or 13; 0: not given (12) */
	bool release_buffers; /* not an option: servers of many idle clients set it */
};

/* Handles one TLS option. */
enum cmd_option cmd_tls_option(const char *cmd, int c, const char *arg, struct tls_cli *t);

struct sk_acl;

/*
 * Handles --allow or --deny: the rule is added to acl. A bad CIDR is a
 * usage error, reported (as is running out of memory).
 */
enum cmd_option cmd_acl_option(const char *cmd, int c, const char *arg, struct sk_acl *acl);

struct sk_proxy;

/* --proxy's --help lines (connect, forward). */
#define PROXY_USAGE                                                                                \
	"      --proxy URL        reach the target through a proxy: socks5://, socks5h://,\n"      \
	"                         socks4://, socks4a:// or http:// [USER[:PASS]@]HOST[:PORT]\n"    \
	"                         (port 1080 by default; credentials also from\n"                  \
	"                         SOCKCTL_PROXY_AUTH=USER:PASS)\n"

/*
 * Handles --proxy URL into px: the URL, then SOCKCTL_PROXY_AUTH when the
 * URL has no credentials. The credentials in arg (argv) are overwritten,
 * so that ps does not show them. Returns 0, or EXIT_USAGE after reporting
 * (never quoting a password).
 */
int cmd_proxy_option(const char *cmd, char *arg, struct sk_proxy *px);

struct addrinfo;
struct sk_resolve_opts;

/*
 * Resolves the proxy (into *proxies) and, when the proxy is one that is
 * given addresses (SOCKS5, SOCKS4) and host is a name, the target (into
 * *dest; SOCKS4: IPv4); literals and the names a proxy resolves are left
 * to the handshake (*dest NULL). Returns 0, or -1 after reporting.
 */
int cmd_proxy_resolve(const char *cmd, const struct sk_proxy *px, const char *host,
		      const struct sk_resolve_opts *ro, struct addrinfo **proxies,
		      struct addrinfo **dest);

/* -v's sink for the proxy handshake's steps; ctx is a struct cmd_proxy_log. */
struct cmd_proxy_log {
	const char *cmd;
	const char *proxy; /* the proxy's address */
};
void cmd_proxy_say(void *ctx, const char *line);

/* Checks the TLS options against each other and the build; returns 0 or EXIT_USAGE. */
int cmd_check_tls(const char *cmd, const struct tls_cli *t);

struct sk_tls_ctx;

/*
 * Makes the TLS context for t (client: server false), reporting a failure
 * (exit 2: it is the options' fault). names are the extra names of a
 * made-up server certificate. Returns NULL when t is off or on failure;
 * *rc is then 0 or the exit status.
 */
struct sk_tls_ctx *cmd_tls_ctx(const char *cmd, const struct tls_cli *t, bool server,
			       const char *const *names, int *rc);

/* True when SOCKCTL_DEBUG (a comma list) names topic: what tests look at. */
bool cmd_debug(const char *topic);

/* Checks conflicts between shared options; returns 0 or EXIT_USAGE. */
int cmd_check_common(const char *cmd, const struct net_opts *o, const struct relay_cli *r);

/* True when any relay option is set (they need a relay to act on). */
bool relay_cli_any(const struct relay_cli *r);

/* Parses PORT for proto, reporting a usage error. Returns 0 or EXIT_USAGE. */
int cmd_port(const char *cmd, const char *arg, const char *proto, unsigned *port);

/* Parses a count in [min, max] for option name. Returns 0 or EXIT_USAGE. */
int cmd_count(const char *cmd, const char *name, const char *arg, long long min, long long max,
	      long long *out);

/*
 * The stop signals as a signalfd (with SIGCHLD too when children), from
 * lib's sigfd.h. Returns the fd, or -1 after reporting why.
 */
int cmd_signalfd(const char *cmd, bool children);

/*
 * Reports a failure to open a listening socket: err, and for an address
 * in use (e is errno) the whois-port command that names the holder of
 * port, "tcp" or "udp" (proto NULL: no hint, as for unix sockets).
 */
void cmd_listen_error(const char *cmd, const char *err, int e, unsigned port, const char *proto);

struct sk_tls;

/*
 * Relays stdin/stdout over the connected socket fd (through tls, its
 * session, unless NULL) to peer, with r's options, o's idle timeout and
 * verbosity. in_eof carries stdin's EOF across connections. stop_fd (or
 * -1) is a signalfd that ends it; the signal number is stored in
 * *stopped. Returns the exit status.
 */
int cmd_relay(const char *cmd, int fd, struct sk_tls *tls, const char *peer,
	      const struct net_opts *o, const struct relay_cli *r, bool *in_eof, int stop_fd,
	      int *stopped);

/* How long a TLS handshake may take: -w, or 10 s. */
int cmd_handshake_ms(const struct net_opts *o);

/*
 * Raises the soft limit on open files to the hard one. Returns the limit
 * now in force, or -1 when there is none (or it cannot be read).
 */
long long cmd_raise_fd_limit(void);

#define CMD_MAX_WORKERS 64 /* --workers N at most */

/*
 * --workers N: N processes, each with its own listening socket on the
 * same port (SO_REUSEPORT, so the kernel spreads new connections), each
 * in a process group of its own under lib's child supervisor, running
 * serve(ctx, lfd). first is the socket already open; open_more(ctx,
 * first) opens each of the others (quietly, on first's port) or returns
 * -1 after reporting why. SIGINT or SIGTERM is passed on; grace_ms later
 * what is left gets SIGKILL. A worker that fails stops the rest. Closes
 * every socket; returns 0 once all have finished, or EXIT_FAIL.
 */
int cmd_run_workers(const char *cmd, int first, int n, int grace_ms,
		    int (*serve)(void *ctx, int lfd), int (*open_more)(void *ctx, int first),
		    void *ctx);

#endif
