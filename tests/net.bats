#!/usr/bin/env bats
# Addresses and options of listen and connect: families, names, unix
# sockets, source addresses, scans, --wait, -k, -e, and failures.

load helpers

have_ipv6() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# roundtrip LISTEN_ARGS -- CONNECT_ARGS: one line through, prints the server log.
roundtrip() {
	local largs=() cargs=()
	while [ "$1" != -- ]; do largs+=("$1"); shift; done
	shift
	cargs=("$@")
	bg srv "$SK" listen -v "${largs[@]}"
	port=$(port_of "$TMP/srv.err")
	echo "ping" | timeout 20 "$SK" connect "${cargs[@]/PORT/$port}"
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = ping ]
}

@test "listening on shows the real port; port 0 lets the kernel choose" {
	bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	[ "$port" -gt 0 ]
	grep -qx "sockctl listen: listening on 127.0.0.1:$port" "$TMP/srv.err"
}

@test "IPv6: [::1] and ::1, the listening line in brackets" {
	have_ipv6 || skip "no IPv6 loopback here"
	roundtrip ::1 0 -- '[::1]' PORT
	grep -qE "listening on \[::1\]:[0-9]+$" "$TMP/srv.err"
	grep -qE "connection from \[::1\]:[0-9]+$" "$TMP/srv.err"
	roundtrip '[::1]' 0 -- ::1 PORT
}

@test "default listen is dual-stack: IPv4 and IPv6 clients both get through" {
	have_ipv6 || skip "no IPv6 loopback here"
	roundtrip 0 -- 127.0.0.1 PORT
	grep -qE "listening on \[::\]:[0-9]+$" "$TMP/srv.err"
	grep -qE "connection from 127\.0\.0\.1:[0-9]+$" "$TMP/srv.err"
	roundtrip 0 -- ::1 PORT
}

@test "-4 and -6 pick the family, for listen and connect" {
	roundtrip -4 0 -- -4 localhost PORT
	grep -qE "listening on 0\.0\.0\.0:[0-9]+$" "$TMP/srv.err"
	run --separate-stderr "$SK" connect -6 127.0.0.1 9
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"127.0.0.1"* ]]
	have_ipv6 || skip "no IPv6 loopback here"
	roundtrip -6 0 -- -6 ::1 PORT
	grep -qE "listening on \[::\]:[0-9]+$" "$TMP/srv.err"
}

@test "-n refuses names; numeric addresses still work" {
	run --separate-stderr "$SK" connect -n localhost 9
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sockctl connect: localhost: not a numeric address (-n is set)"* ]]
	roundtrip -n 127.0.0.1 0 -- -n 127.0.0.1 PORT
}

@test "service names are ports: -z 127.0.0.1 ssh,http names 22 and 80" {
	run --separate-stderr "$SK" connect -z -v -w 2 127.0.0.1 ssh,http
	[[ "$output$stderr" == *"127.0.0.1 22 "* ]]
	[[ "$output$stderr" == *"127.0.0.1 80 "* ]]
}

@test "-s binds the client's source address" {
	roundtrip 127.0.0.1 0 -- -s 127.0.0.2 127.0.0.1 PORT
	grep -qE "connection from 127\.0\.0\.2:[0-9]+$" "$TMP/srv.err"
	roundtrip -s 127.0.0.1 0 -- 127.0.0.1 PORT
}

@test "unix sockets: -U on both ends, a stale socket file is replaced, abstract names" {
	roundtrip -U "$TMP/s.sock" -- -U "$TMP/s.sock"
	grep -qx "sockctl listen: listening on $TMP/s.sock" "$TMP/srv.err"
	[ ! -e "$TMP/s.sock" ]
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TMP/stale.sock"
	[ -S "$TMP/stale.sock" ]
	roundtrip -U "$TMP/stale.sock" -- -U "$TMP/stale.sock"
	roundtrip -U "@sockctl-test-$$" -- -U "@sockctl-test-$$"
}

@test "unix sockets: a live listener or a regular file at PATH is not clobbered" {
	bg srv "$SK" listen -v -U "$TMP/live.sock"
	wait_for "$TMP/srv.err" 'listening on'
	run --separate-stderr "$SK" listen -U "$TMP/live.sock"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Address already in use"* ]]
	echo data >"$TMP/file"
	run --separate-stderr "$SK" listen -U "$TMP/file"
	[ "$status" -eq 1 ]
	[ "$(cat "$TMP/file")" = data ]
	run --separate-stderr "$SK" connect -U "$TMP/none.sock"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"connect to $TMP/none.sock: No such file or directory"* ]]
}

@test "-z scans ranges and lists, prints open ports, exit 0 if any, 1 if none" {
	bg a "$SK" listen -v 127.0.0.1 0
	bg b "$SK" listen -v 127.0.0.1 0
	pa=$(port_of "$TMP/a.err")
	pb=$(port_of "$TMP/b.err")
	run --separate-stderr "$SK" connect -z 127.0.0.1 "$pa,$pb-$pb"
	[ "$status" -eq 0 ]
	[ "$output" = "127.0.0.1 $pa open
127.0.0.1 $pb open" ]
	[ -z "$stderr" ]
	# Both listeners took their one connection and are gone now.
	wait_exit "$a_pid"
	wait_exit "$b_pid"
	run --separate-stderr "$SK" connect -z -v 127.0.0.1 "$pa,$pb"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"127.0.0.1 $pa closed: Connection refused"* ]]
}

@test "-z over a range of 200 ports is quick; the exit status follows the output" {
	run --separate-stderr timeout 20 "$SK" connect -z 127.0.0.1 1-200
	if [ -z "$output" ]; then [ "$status" -eq 1 ]; else [ "$status" -eq 0 ]; fi
	[ -z "$stderr" ]
}

@test "--wait retries until the service comes up" {
	bg cli "$SK" connect -v --wait 10 -U "$TMP/late.sock"
	wait_for "$TMP/cli.err" . 1 || true
	echo "late hello" | "$SK" listen -U "$TMP/late.sock" >"$TMP/srv.out" &
	BG_PIDS+=("$!")
	wait_exit "$cli_pid"
	[ "$(cat "$TMP/cli.out")" = "late hello" ]
}

@test "--wait gives up after SECS with exit 1" {
	closed_port
	run --separate-stderr timeout 20 "$SK" connect --wait 0.5 127.0.0.1 "$closed"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"connect to 127.0.0.1:$closed: Connection refused (gave up after 0.5 s)"* ]]
}

@test "-w gives up a connect that does not answer" {
	bg peer python3 "$PEER" server backlog
	port=$(port_of "$TMP/peer.err")
	# Fill the accept queue of a listener that never accepts.
	for i in 1 2 3; do
		timeout 5 "$SK" connect -w 0.3 127.0.0.1 "$port" </dev/null >/dev/null 2>&1 &
		BG_PIDS+=("$!")
	done
	run --separate-stderr timeout 20 "$SK" connect -w 1 127.0.0.1 "$port"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"connect to 127.0.0.1:$port: Connection timed out"* ]]
}

@test "refused, unknown host and address in use: exit 1 with the address and reason" {
	closed_port
	run --separate-stderr "$SK" connect 127.0.0.1 "$closed"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sockctl connect: connect to 127.0.0.1:$closed: Connection refused" ]
	run --separate-stderr "$SK" connect no-such-host.invalid 80
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sockctl connect: no-such-host.invalid: "* ]]
	bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run --separate-stderr "$SK" listen 127.0.0.1 "$port"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sockctl listen: bind to 127.0.0.1:$port: Address already in use (find the holder: sockctl whois-port $port)" ]
}

@test "-k accepts the next connection after one ends, without leaking fds" {
	bg srv "$SK" listen -v -k 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	echo one | timeout 10 "$SK" connect 127.0.0.1 "$port"
	before=$(fd_count "$srv_pid")
	for i in $(seq 2 21); do
		echo "n$i" | timeout 10 "$SK" connect 127.0.0.1 "$port"
	done
	[ "$(fd_count "$srv_pid")" -eq "$before" ]
	[ "$(wc -l <"$TMP/srv.out")" -eq 21 ]
	[ "$(grep -c 'connection from' "$TMP/srv.err")" -eq 21 ]
	kill -TERM "$srv_pid"
	wait_exit "$srv_pid"
}

@test "-e without -k: CMD gets the connection; its exit status is ours" {
	bg srv "$SK" listen -v -e 'read line; echo "got $line"; exit 3' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run timeout 10 bash -c "echo hi | '$SK' connect 127.0.0.1 $port"
	[ "$output" = "got hi" ]
	st=0
	wait_exit "$srv_pid" || st=$?
	[ "$st" -eq 3 ]
}

@test "connect -e runs CMD on the connection" {
	bg peer python3 "$PEER" server sink
	port=$(port_of "$TMP/peer.err")
	run timeout 10 "$SK" connect -e 'printf hello-from-cmd' 127.0.0.1 "$port"
	[ "$status" -eq 0 ]
	wait_exit "$peer_pid"
	[ "$(cat "$TMP/peer.out")" = "14 $(printf hello-from-cmd | sha256sum | cut -d' ' -f1)" ]
}

@test "-k -e serves clients concurrently, one child each" {
	# Each child waits until all four are running at once.
	cmd="touch $TMP/run.\$\$; i=0; while [ \$(ls $TMP | grep -c '^run\\.') -lt 4 ] && [ \$i -lt 500 ]; do sleep 0.02; i=\$((i+1)); done; read l; echo \"\$l \$(ls $TMP | grep -c '^run\\.')\""
	bg srv "$SK" listen -v -k -e "$cmd" 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	for i in 1 2 3 4; do
		(echo "c$i" | timeout 20 "$SK" connect 127.0.0.1 "$port" >"$TMP/c$i.out") &
		BG_PIDS+=("$!")
	done
	for i in 1 2 3 4; do
		wait_for "$TMP/c$i.out" "c$i" 20
		[ "$(cat "$TMP/c$i.out")" = "c$i 4" ]
	done
}

@test "--max-conns caps the children at once; more clients wait in the backlog" {
	cmd="touch $TMP/run.\$\$; ls $TMP | grep -c '^run\\.' >>$TMP/counts; read l; rm $TMP/run.\$\$; echo \"ok \$l\""
	bg srv "$SK" listen -v -k -e "$cmd" --max-conns 2 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	mkfifo "$TMP/f1" "$TMP/f2"
	exec 5<>"$TMP/f1" 6<>"$TMP/f2"
	BG_STDIN="$TMP/f1" bg c1 "$SK" connect 127.0.0.1 "$port"
	BG_STDIN="$TMP/f2" bg c2 "$SK" connect 127.0.0.1 "$port"
	wait_for "$TMP/srv.err" 'connection from.*' 10
	wait_until 5 lines_at_least "$TMP/srv.err" 2 'connection from'
	BG_STDIN=/dev/null bg c3 bash -c "echo third | '$SK' connect 127.0.0.1 $port"
	# The third client is in the backlog while two children run.
	! wait_for "$TMP/c3.out" 'ok' 1
	echo first >&5
	exec 5>&-
	wait_for "$TMP/c3.out" 'ok third' 10
	echo second >&6
	exec 6>&-
	wait_for "$TMP/c2.out" 'ok second' 10
	[ "$(sort -n "$TMP/counts" | tail -n 1)" -le 2 ]
}

@test "-k -e: SIGTERM stops the server and leaves no child behind" {
	bg srv "$SK" listen -v -k -e "echo \$\$ >>$TMP/kids; exec sleep 30" 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	for i in 1 2 3; do
		bg "c$i" "$SK" connect 127.0.0.1 "$port"
	done
	wait_until 5 lines_at_least "$TMP/kids" 3
	[ "$(wc -l <"$TMP/kids")" -eq 3 ]
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 10 || st=$?
	cat "$TMP/srv.err"
	[ "$st" -eq 0 ]
	while read -r kid; do
		! kill -0 "$kid" 2>/dev/null
	done <"$TMP/kids"
}

@test "unreachable: exit 1 with the reason (inside a namespace of our own, loopback down)" {
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null || skip "needs root and ip(8) for a network namespace"
	ns="sockctl-unreach-$$"
	ip netns add "$ns" || skip "cannot create a network namespace here"
	run --separate-stderr ip netns exec "$ns" timeout 10 "$SK" connect -w 2 127.0.0.1 9
	ip netns delete "$ns"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sockctl connect: connect to 127.0.0.1:9: Network is unreachable" ]
}

@test "an inherited child's SIGCHLD neither stops a relay nor a waiting listen" {
	make_data "$TMP/in" 8
	bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	# The exec'd sockctl inherits a child that ends during the transfer.
	run timeout 20 bash -c "sleep 0.2 & exec '$SK' connect 127.0.0.1 $port < <(cat '$TMP/in'; sleep 0.5)"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(sha "$TMP/in")" = "$(sha "$TMP/srv.out")" ]
	bg l2 bash -c "sleep 0.2 & exec '$SK' listen -v 127.0.0.1 0"
	port_of "$TMP/l2.err" >/dev/null
	! wait_exit "$l2_pid" 1
	kill -INT "$l2_pid"
	st=0
	wait_exit "$l2_pid" 5 || st=$?
	[ "$st" -eq 130 ]
}

@test "listen -e honours -w while no client comes" {
	run --separate-stderr timeout 10 "$SK" listen -w 0.5 -e cat 127.0.0.1 0
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sockctl listen: no connection within 0.5 s"* ]]
}

@test "usage errors name the bad option even inside a cluster" {
	run --separate-stderr "$SK" listen -kq 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unknown option '-q'"* ]]
	run --separate-stderr "$SK" connect -vw
	[[ "$stderr" == *"option '-w' needs an argument"* ]]
	run --separate-stderr "$SK" connect 127.0.0.1 9 --timeout
	[[ "$stderr" == *"option '--timeout' needs an argument"* ]]
	run --separate-stderr "$SK"
	[ "$status" -eq 2 ]
	[ "$stderr" = "sockctl: missing COMMAND
see 'sockctl --help'" ]
}

@test "listen -e without -k refuses later clients while its one child runs" {
	bg srv "$SK" listen -v -e 'read l; echo "got $l"' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	mkfifo "$TMP/f"
	exec 5<>"$TMP/f"
	BG_STDIN="$TMP/f" bg c1 "$SK" connect 127.0.0.1 "$port"
	wait_for "$TMP/srv.err" 'connection from'
	run --separate-stderr timeout 5 "$SK" connect 127.0.0.1 "$port" </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Connection refused"* ]]
	echo first >&5
	exec 5>&-
	wait_for "$TMP/c1.out" 'got first'
}
