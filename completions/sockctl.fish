# fish completion for sockctl(1)

# How many positional arguments follow the command on the command line
# (options and the arguments of options not counted).
function __sockctl_npos
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l seen_cmd 0
    set -l cmd
    set -l skip 0
    set -l n 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        if test $seen_cmd = 0
            if not string match -q -- '-*' $t
                set seen_cmd 1
                set cmd $t
            end
            continue
        end
        switch $t
            case -s --source -U --unix -w --timeout -e --exec --max-conns --wait \
                -c --count --size --join --tls-ca --tls-pin --sni --alpn --tls-cert \
                --tls-key --tls-min --tls-client-ca --allow --deny --workers --idle \
                --grace --proxy-protocol --proxy --wait-free
                set skip 1
            case -p --port -b --bind --log -H --header --fallback --cache --auth --auth-file \
                --max-upload
                # Only serve-http's take an argument (udp-send's -b does not).
                test "$cmd" = serve-http; and set skip 1
            case '-?*'
            case '*'
                set n (math $n + 1)
        end
    end
    echo $n
end

# Whether -U/--unix is on the command line (then there are no positionals).
function __sockctl_unix
    set -l tokens (commandline -opc)
    string match -q -r -- '^(-U.*|--unix(=.*)?)$' $tokens
end

# Service names from /etc/services of protocol $argv[1] (tcp or udp;
# default tcp).
function __sockctl_services
    set -l proto tcp
    set -q argv[1]; and set proto $argv[1]
    test -r /etc/services; or return 0
    string match -r -- '^[^#\s]+(?=\s+\d+/'$proto'\b)' </etc/services
end

# Unix sockets matching the current token, and directories to descend into.
function __sockctl_sockets
    set -l cur (commandline -ct)
    for f in $cur*
        if test -S $f
            echo $f
        else if test -d $f
            echo $f/
        end
    end
end

# forward's LISTEN (a port or service, ADDRESS:PORT, unix:PATH for a new
# socket) and TARGET (HOST:PORT, unix:PATH of an existing socket).
function __sockctl_forward_arg
    set -l cur (commandline -ct)
    set -l n (__sockctl_npos)
    if string match -q -- 'unix:*' $cur
        set -l p (string sub -s 6 -- $cur)
        for f in $p*
            if test -d $f
                echo unix:$f/
            else if test $n = 0; or test -S $f
                echo unix:$f
            end
        end
    else if string match -q -- '*:*' $cur
        # HOST:PORT or ADDRESS:PORT: the port, a service name.
        set -l host (string replace -r ':[^:]*$' '' -- $cur)
        for s in (__sockctl_services)
            echo $host:$s
        end
    else if test $n = 0
        __sockctl_services
        echo unix:
    else
        # The port follows; an IPv6 address goes in brackets.
        __fish_print_hostnames | string replace -r '^(.*:.*)$' '[$1]' | string replace -r '$' ':'
        echo unix:
    end
end

# --proxy's URL, SCHEME://[USER[:PASS]@]HOST[:PORT]: the schemes, until one
# is typed (the rest is the user's).
function __sockctl_proxy_url
    string match -q -- '*://*' (commandline -ct); and return 0
    printf '%s\t%s\n' \
        socks5:// "SOCKS5; the target's name resolved here" \
        socks5h:// 'SOCKS5; the proxy resolves the name' \
        socks4:// 'SOCKS4, IPv4 only; the name resolved here' \
        socks4a:// 'SOCKS4a; the proxy resolves the name' \
        http:// 'HTTP CONNECT; the proxy resolves the name'
end

# The ports something listens on or is bound to, as sockctl itself reports them.
function __sockctl_listening
    set -l sk (commandline -opc)[1]
    command -q $sk; or return 0
    command $sk whois-port 2>/dev/null | string match -r -- '^\S+\s+\S*:(\d+)\s' | string match -r -- '^\d+$' | sort -un
end

# whois-port's PORT: a list of ports in use, service names and ranges, with
# /tcp or /udp; or a unix socket: PATH or unix:PATH of an existing socket
# (unix:@NAME, an abstract name, is the user's).
function __sockctl_whois_arg
    set -l cur (commandline -ct)
    if string match -q -- 'unix:@*' $cur
        return 0
    else if string match -q -- 'unix:*' $cur
        set -l p (string sub -s 6 -- $cur)
        for f in $p*
            if test -d $f
                echo unix:$f/
            else if test -S $f
                echo unix:$f
            end
        end
    else if string match -q -r -- '^[[:alnum:],-]+/[a-z]*$' $cur
        and not test -d (string replace -r '/.*' '' -- $cur)
        # PORT/tcp or PORT/udp.
        set -l port (string replace -r '/.*' '' -- $cur)
        printf '%s\n' $port/tcp $port/udp
    else if string match -q -r -- '^(.*/|\.|~)' $cur
        __sockctl_sockets
    else if string match -q -- '*,*' $cur
        # The next element of a list.
        set -l pre (string replace -r '[^,]*$' '' -- $cur)
        for p in (__sockctl_listening) (__sockctl_services)
            echo $pre$p
        end
    else
        __sockctl_listening
        __sockctl_services
        # Socket files of this directory, by name.
        if test -n "$cur"
            for f in $cur*
                test -S $f; and echo $f
            end
        end
        echo unix:
    end
end

set -l listen_cond '__fish_seen_subcommand_from listen; and not __fish_seen_subcommand_from help'
set -l connect_cond '__fish_seen_subcommand_from connect; and not __fish_seen_subcommand_from help'
set -l relay_cond '__fish_seen_subcommand_from listen connect; and not __fish_seen_subcommand_from help'
set -l send_cond '__fish_seen_subcommand_from udp-send; and not __fish_seen_subcommand_from help'
set -l recv_cond '__fish_seen_subcommand_from udp-recv; and not __fish_seen_subcommand_from help'
set -l udp_cond '__fish_seen_subcommand_from udp-send udp-recv; and not __fish_seen_subcommand_from help'
set -l http_cond '__fish_seen_subcommand_from serve-http; and not __fish_seen_subcommand_from help'
set -l fwd_cond '__fish_seen_subcommand_from forward; and not __fish_seen_subcommand_from help'
set -l acl_cond '__fish_seen_subcommand_from listen forward serve-http; and not __fish_seen_subcommand_from help'
set -l whois_cond '__fish_seen_subcommand_from whois-port; and not __fish_seen_subcommand_from help'
set -l tls_server_cond '__fish_seen_subcommand_from listen serve-http; and not __fish_seen_subcommand_from help'

# No file names unless asked for.
complete -c sockctl -f

# Global options and commands.
complete -c sockctl -n __fish_use_subcommand -s h -l help -d 'Show the usage and the commands'
complete -c sockctl -n __fish_use_subcommand -s V -l version -d 'Print the version'
complete -c sockctl -n __fish_use_subcommand -a listen -d 'TCP or unix-socket server relayed to stdin/stdout'
complete -c sockctl -n __fish_use_subcommand -a connect -d 'TCP or unix-socket client relayed to stdin/stdout'
complete -c sockctl -n __fish_use_subcommand -a udp-send -d 'Send datagrams, print the replies'
complete -c sockctl -n __fish_use_subcommand -a udp-recv -d 'Receive datagrams; echo or answer them'
complete -c sockctl -n __fish_use_subcommand -a forward -d 'Relay every client of a port to a target'
complete -c sockctl -n __fish_use_subcommand -a serve-http -d 'Static HTTP/1.1 file server'
complete -c sockctl -n __fish_use_subcommand -a whois-port -d 'Who holds a port; stop it safely'
complete -c sockctl -n __fish_use_subcommand -a help -d 'Show the help of a command'

# help COMMAND
complete -c sockctl -n '__fish_seen_subcommand_from help; and not __fish_seen_subcommand_from listen connect udp-send udp-recv forward serve-http whois-port' \
    -a 'listen connect udp-send udp-recv forward serve-http whois-port'

# Options of both listen and connect.
complete -c sockctl -n $relay_cond -s 4 -l ipv4 -d 'IPv4 only'
complete -c sockctl -n $relay_cond -s 6 -l ipv6 -d 'IPv6 only'
complete -c sockctl -n $relay_cond -s n -l numeric -d 'No DNS: addresses must be numeric'
complete -c sockctl -n $listen_cond -s U -l unix -r -F -d 'Unix socket path to create (@NAME: abstract)'
complete -c sockctl -n $connect_cond -s U -l unix -x -a '(__sockctl_sockets)' \
    -d 'Unix socket path (@NAME: abstract)'
complete -c sockctl -n $relay_cond -s v -l verbose -d 'Report connection events on stderr'
complete -c sockctl -n $relay_cond -s e -l exec -x -a '(__fish_complete_command)' \
    -d "Run '/bin/sh -c CMD' with the connection as its stdin and stdout"
complete -c sockctl -n $relay_cond -l crlf -d 'Send each LF of stdin as CRLF'
complete -c sockctl -n $relay_cond -l send-only -d 'Only send stdin; discard what the peer sends'
complete -c sockctl -n $relay_cond -l recv-only -d 'Only write what the peer sends; ignore stdin'
complete -c sockctl -n $relay_cond -l no-shutdown -d 'Do not half-close the connection at stdin EOF'
complete -c sockctl -n $relay_cond -s x -l hexdump -d 'Hex dump of the traffic on stderr'
complete -c sockctl -n $relay_cond -l progress -d 'Bytes moved and the rate on stderr'
complete -c sockctl -n $relay_cond -s h -l help -d 'Show this help'

# listen [OPTIONS] [ADDRESS] PORT
complete -c sockctl -n $listen_cond -s s -l source -x -a '(__fish_print_hostnames)' \
    -d 'The local address to listen on'
complete -c sockctl -n $listen_cond -s w -l timeout -x -d 'Exit 1 after SECS with no connection or no data'
complete -c sockctl -n $listen_cond -s k -l keep-open -d 'After a connection ends, accept the next one'
complete -c sockctl -n $listen_cond -l max-conns -x -d 'With -k -e: at most N children at once (default 256)'
complete -c sockctl -n "$listen_cond; and not __sockctl_unix; and test (__sockctl_npos) -eq 0" \
    -a '(__sockctl_services; __fish_print_hostnames)'
complete -c sockctl -n "$listen_cond; and not __sockctl_unix; and test (__sockctl_npos) -eq 1" \
    -a '(__sockctl_services)'

# connect [OPTIONS] HOST PORT
complete -c sockctl -n $connect_cond -s s -l source -x -a '(__fish_print_hostnames)' \
    -d 'Connect from this local address'
complete -c sockctl -n $connect_cond -s w -l timeout -x -d 'Give up connecting, or exit idle, after SECS'
complete -c sockctl -n $connect_cond -l wait -x -d 'Retry a refused or unreachable connect for up to SECS'
complete -c sockctl -n $connect_cond -s z -l scan -d 'Connect and close, moving no data: a port scan'
complete -c sockctl -n $connect_cond -l proxy -x -a '(__sockctl_proxy_url)' \
    -d 'Reach the target through a SOCKS or HTTP proxy'
complete -c sockctl -n "$connect_cond; and not __sockctl_unix; and test (__sockctl_npos) -eq 0" \
    -a '(__fish_print_hostnames)'
complete -c sockctl -n "$connect_cond; and not __sockctl_unix; and test (__sockctl_npos) -eq 1" \
    -a '(__sockctl_services)'

# TLS, client side (connect).
complete -c sockctl -n $connect_cond -l tls -d "Run TLS over the connection, verifying the server's certificate"
complete -c sockctl -n $connect_cond -l ssl -d 'Same as --tls'
complete -c sockctl -n $connect_cond -l tls-ca -r -F -d "Trust the PEM certificates in FILE, not the system's"
complete -c sockctl -n $connect_cond -l tls-pin -x -d 'Accept only the certificate with this SHA-256 fingerprint'
complete -c sockctl -n $connect_cond -l tls-insecure -d 'Verify nothing (says so on stderr)'
complete -c sockctl -n $connect_cond -l sni -x -a '(__fish_print_hostnames)' \
    -d 'Send NAME as SNI and check the certificate against it'
complete -c sockctl -n $connect_cond -l no-sni -d 'Send no SNI (the name is still checked)'
complete -c sockctl -n $connect_cond -l alpn -x -d 'Offer these ALPN protocols (comma list)'
complete -c sockctl -n $connect_cond -l tls-cert -r -F -d 'Present this client certificate (PEM)'
complete -c sockctl -n $connect_cond -l tls-key -r -F -d "The client certificate's key (PEM; default: in --tls-cert)"
complete -c sockctl -n $connect_cond -l tls-min -x -a '1.2 1.3' -d 'Lowest TLS version (default 1.2)'

# TLS, server side (listen, serve-http).
complete -c sockctl -n $tls_server_cond -l tls -d 'Serve TLS; without --tls-cert, a fresh self-signed certificate'
complete -c sockctl -n $tls_server_cond -l ssl -d 'Same as --tls'
complete -c sockctl -n $tls_server_cond -l tls-cert -r -F -d 'The server certificate, with its chain (PEM)'
complete -c sockctl -n $tls_server_cond -l tls-key -r -F -d 'Its key (PEM; default: in --tls-cert)'
complete -c sockctl -n $tls_server_cond -l tls-client-ca -r -F \
    -d 'Require a client certificate issued by a CA in FILE'
complete -c sockctl -n $tls_server_cond -l alpn -x -d 'Accept these ALPN protocols (comma list)'
complete -c sockctl -n $tls_server_cond -l tls-min -x -a '1.2 1.3' -d 'Lowest TLS version (default 1.2)'

# Options of both udp-send and udp-recv.
complete -c sockctl -n $udp_cond -s 4 -l ipv4 -d 'IPv4 only'
complete -c sockctl -n $udp_cond -s 6 -l ipv6 -d 'IPv6 only'
complete -c sockctl -n $udp_cond -s n -l numeric -d 'No DNS: addresses must be numeric'
complete -c sockctl -n $udp_cond -s h -l help -d 'Show this help'

# udp-send [OPTIONS] HOST PORT [MESSAGE]
complete -c sockctl -n $send_cond -s s -l source -x -a '(__fish_print_hostnames)' \
    -d 'Send from this local address'
complete -c sockctl -n $send_cond -s v -l verbose -d 'Report the destination, replies and totals'
complete -c sockctl -n $send_cond -s w -l wait -x -d 'After the last datagram, wait up to SECS for replies'
complete -c sockctl -n $send_cond -s b -l broadcast -d 'Allow sending to a broadcast address'
complete -c sockctl -n $send_cond -l size -x -d 'Cut stdin into datagrams of N bytes instead of lines'
complete -c sockctl -n "$send_cond; and test (__sockctl_npos) -eq 0" \
    -a '(__fish_print_hostnames)'
complete -c sockctl -n "$send_cond; and test (__sockctl_npos) -eq 1" \
    -a '(__sockctl_services udp)'

# udp-recv [OPTIONS] [ADDRESS] PORT
complete -c sockctl -n $recv_cond -s v -l verbose -d 'Report the bound address and each datagram on stderr'
complete -c sockctl -n $recv_cond -l json -d 'One JSON object per line per datagram instead of the payload'
complete -c sockctl -n $recv_cond -s c -l count -x -d 'Exit 0 after N datagrams'
complete -c sockctl -n $recv_cond -s w -l timeout -x -d 'Exit 0 after SECS without a datagram'
complete -c sockctl -n $recv_cond -l echo -d 'Send each datagram back to its sender'
complete -c sockctl -n $recv_cond -s e -l exec -x -a '(__fish_complete_command)' \
    -d "Run '/bin/sh -c CMD' per datagram; its stdout is the reply"
complete -c sockctl -n $recv_cond -l join -x -d 'Join the IPv4 or IPv6 multicast group GROUP'
complete -c sockctl -n $recv_cond -l allow -x -d 'Accept datagrams only from CIDR (repeatable)'
complete -c sockctl -n $recv_cond -l deny -x -d 'Drop datagrams from CIDR (repeatable; wins over --allow)'
complete -c sockctl -n "$recv_cond; and test (__sockctl_npos) -eq 0" \
    -a '(__sockctl_services udp; __fish_print_hostnames)'
complete -c sockctl -n "$recv_cond; and test (__sockctl_npos) -eq 1" \
    -a '(__sockctl_services udp)'

# forward [OPTIONS] LISTEN TARGET
complete -c sockctl -n $fwd_cond -s 4 -l ipv4 -d 'IPv4 only'
complete -c sockctl -n $fwd_cond -s 6 -l ipv6 -d 'IPv6 only'
complete -c sockctl -n $fwd_cond -s n -l numeric -d 'No DNS: addresses must be numeric'
complete -c sockctl -n $fwd_cond -s v -l verbose -d 'Also log refused clients'
complete -c sockctl -n $fwd_cond -s q -l quiet -d "No 'listening on' line and no log"
complete -c sockctl -n $fwd_cond -s w -l timeout -x \
    -d 'Connect timeout per client (default 10); also the limit of the TLS handshakes'
complete -c sockctl -n $fwd_cond -l max-conns -x -d 'At most N clients at once; more wait in the backlog'
complete -c sockctl -n $fwd_cond -l idle -x -d 'Close a pair that moved nothing either way for SECS'
complete -c sockctl -n $fwd_cond -l grace -x \
    -d 'On SIGINT/SIGTERM, let open connections finish for at most SECS (default 10)'
complete -c sockctl -n $fwd_cond -l workers -x -d 'N processes share the port (SO_REUSEPORT)'
complete -c sockctl -n $fwd_cond -l proxy-protocol -x -a 'v1 v2' -d 'Send TARGET a PROXY protocol header first'
complete -c sockctl -n $fwd_cond -l proxy -x -a '(__sockctl_proxy_url)' \
    -d 'Reach TARGET through a SOCKS or HTTP proxy'
complete -c sockctl -n $fwd_cond -l tls-in -d 'Serve TLS to clients (without --tls-cert, a made-up certificate)'
complete -c sockctl -n $fwd_cond -l tls-out -d 'Speak TLS to TARGET, verifying it'
complete -c sockctl -n $fwd_cond -l tls-cert -r -F -d 'The certificate served to clients (PEM, with chain)'
complete -c sockctl -n $fwd_cond -l tls-key -r -F -d 'Its key (PEM; default: in --tls-cert)'
complete -c sockctl -n $fwd_cond -l tls-client-ca -r -F -d 'Require client certificates issued by a CA in FILE'
complete -c sockctl -n $fwd_cond -l tls-ca -r -F -d 'Trust these PEM certificates for TARGET'
complete -c sockctl -n $fwd_cond -l tls-pin -x -d "Accept only TARGET's certificate with this SHA-256"
complete -c sockctl -n $fwd_cond -l tls-insecure -d 'Verify nothing on TARGET (says so on stderr)'
complete -c sockctl -n $fwd_cond -l sni -x -a '(__fish_print_hostnames)' -d 'SNI sent to TARGET, and the name checked'
complete -c sockctl -n $fwd_cond -l no-sni -d 'Send no SNI (the name is still checked)'
complete -c sockctl -n $fwd_cond -l alpn -x -d 'ALPN protocols, both sides (comma list)'
complete -c sockctl -n $fwd_cond -l tls-min -x -a '1.2 1.3' -d 'Lowest TLS version, both sides (default 1.2)'
complete -c sockctl -n $fwd_cond -s h -l help -d 'Show this help'
complete -c sockctl -n "$fwd_cond; and test (__sockctl_npos) -lt 2" -a '(__sockctl_forward_arg)'

# Access lists (listen, forward, serve-http).
complete -c sockctl -n $acl_cond -l allow -x -d 'Serve only clients in CIDR (repeatable)'
complete -c sockctl -n $acl_cond -l deny -x -d 'Refuse clients in CIDR (repeatable; wins over --allow)'

# serve-http [OPTIONS] [DIR]
complete -c sockctl -n $http_cond -s p -l port -x -a '(__sockctl_services)' \
    -d 'The port (default 8080; 0 lets the kernel choose)'
complete -c sockctl -n $http_cond -s b -l bind -x -a '(__fish_print_hostnames)' \
    -d 'The address (default: every address, IPv6 and IPv4)'
complete -c sockctl -n $http_cond -s 4 -l ipv4 -d 'IPv4 only'
complete -c sockctl -n $http_cond -s 6 -l ipv6 -d 'IPv6 only'
complete -c sockctl -n $http_cond -s n -l numeric -d 'No DNS: ADDRESS must be a numeric address'
complete -c sockctl -n $http_cond -s q -l quiet -d "No 'listening on' line, URL or access log on stderr"
complete -c sockctl -n $http_cond -l no-listing -d 'No directory listings (403 where there is no index.html)'
complete -c sockctl -n $http_cond -s w -l timeout -x \
    -d 'Close a connection without a complete request head, or idle, after SECS'
complete -c sockctl -n $http_cond -l max-conns -x \
    -d 'At most N connections at once; a new client replaces the oldest idle one'
complete -c sockctl -n $http_cond -l log -r -F -d 'Append the access log (Common Log Format) to FILE'
complete -c sockctl -n $http_cond -l workers -x -d 'N processes share the port (SO_REUSEPORT)'
complete -c sockctl -n $http_cond -s H -l header -x -d "Add 'NAME: VALUE' to every response (repeatable)"
# --cors takes its ORIGIN only as --cors=ORIGIN.
complete -c sockctl -n $http_cond -l cors -a 'https:// http://' \
    -d 'Allow cross-origin requests from ORIGIN (default *); answer preflights'
complete -c sockctl -n $http_cond -l fallback -r -F \
    -d 'Answer GET/HEAD of paths that do not exist with FILE (inside DIR)'
complete -c sockctl -n $http_cond -l spa -d 'Same as --fallback index.html (single-page apps)'
complete -c sockctl -n $http_cond -l cache -x -d 'Cache-Control: max-age=SECS on files'
complete -c sockctl -n $http_cond -l no-cache -d 'Cache-Control: no-cache on files'
complete -c sockctl -n $http_cond -l precompressed -d 'Send X.br, X.zst or X.gz for X by Accept-Encoding'
complete -c sockctl -n $http_cond -l auth -x -d 'Require HTTP Basic authentication of USER:PASS (repeatable)'
complete -c sockctl -n $http_cond -l auth-file -r -F \
    -d 'Require HTTP Basic authentication of the users of an htpasswd FILE'
complete -c sockctl -n $http_cond -l upload -d 'Store PUT bodies and multipart/form-data POSTs as files'
complete -c sockctl -n $http_cond -l overwrite -d 'With --upload, replace existing files (else 409)'
complete -c sockctl -n $http_cond -l max-upload -x -a '100M 500M 1G 2G 10G' \
    -d 'The largest upload body, with --upload (default 1G; 413)'
complete -c sockctl -n $http_cond -s h -l help -d 'Show this help'
# (Not after --cors=, whose ORIGIN is no directory.)
complete -c sockctl -n "$http_cond; and test (__sockctl_npos) -eq 0; and not string match -q -- '-*' (commandline -ct)" \
    -a '(__fish_complete_directories (commandline -ct) Directory)'

# whois-port [OPTIONS] [PORT[/tcp|/udp]...]
set -l signals HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM CHLD \
    CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS
complete -c sockctl -n $whois_cond -s a -l all -d 'Every TCP state, and connections to PORT'
complete -c sockctl -n $whois_cond -l all-netns -d 'Also the sockets of other network namespaces'
complete -c sockctl -n $whois_cond -l json -d 'A JSON array of objects instead of the table'
complete -c sockctl -n $whois_cond -s k -l kill -d 'Stop every holder: SIGTERM, then SIGKILL after the grace'
complete -c sockctl -n $whois_cond -l grace -x -d 'How long --kill waits before SIGKILL (default 3)'
complete -c sockctl -n $whois_cond -s s -l signal -x -a "$signals" -d 'Send SIG to every holder, nothing else'
complete -c sockctl -n $whois_cond -s y -l yes -d 'Do not ask before stopping or closing'
complete -c sockctl -n $whois_cond -l dry-run -d 'With -k, -s or --close: say what would be done, do nothing'
complete -c sockctl -n $whois_cond -l close -d 'Close the sockets (SOCK_DESTROY, as ss -K); the holders live on'
complete -c sockctl -n $whois_cond -l free -d 'Print the first free port of the list'
complete -c sockctl -n $whois_cond -l wait-free -x -d 'Wait up to SECS until nothing holds PORT'
complete -c sockctl -n $whois_cond -s h -l help -d 'Show this help'
complete -c sockctl -n $whois_cond -x -a '(__sockctl_whois_arg)'
