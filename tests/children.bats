#!/usr/bin/env bats
# No child left behind: every process sockctl starts (-e commands, udp-recv
# -e filters, serve-http workers) leads a process group of its own, and
# stopping sockctl stops the whole group: SIGTERM, then SIGKILL after a
# grace. The commands here fork, so signalling only the shell would leave
# their children running.

load helpers

# held_client PORT: a client that keeps its connection open (up to 20 s).
held_client() {
	bg cli python3 "$PEER" client 127.0.0.1 "$1" hold
}

# has_descendants PID MIN: PID has at least MIN processes below it.
has_descendants() {
	[ "$(wc -w <<<"$(descendants_of "$1")")" -ge "$2" ]
}

# no_descendants PID: nothing runs below PID.
no_descendants() {
	[ -z "$(descendants_of "$1")" ]
}

# tree_of PID MIN: waits until PID has at least MIN descendants, prints them.
tree_of() {
	wait_until 5 has_descendants "$1" "$2" && descendants_of "$1"
}

# stops PID with SIGTERM and checks that it exits 0 and TREE is gone.
stop_and_check() {
	local pid=$1 st=0
	shift
	kill -TERM "$pid"
	wait_exit "$pid" 10 || st=$?
	[ "$st" -eq 0 ] || { echo "exit status $st" >&2; return 1; }
	wait_until 5 all_gone "$@"
}

@test "children: listen -k -e stops what the command forked (cat; true / sleep & wait)" {
	for cmd in 'cat; true' 'sleep 100 & wait'; do
		bg srv "$SK" listen -v -k -e "$cmd" 127.0.0.1 0
		port=$(port_of "$TMP/srv.err")
		held_client "$port"
		tree=$(tree_of "$srv_pid" 2) # the shell and what it forked
		stop_and_check "$srv_pid" $tree
		kill "$cli_pid" 2>/dev/null || true
	done
}

@test "children: listen -e (one connection) stops the whole group too" {
	bg srv "$SK" listen -v -e 'sleep 100 & wait' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	held_client "$port"
	tree=$(tree_of "$srv_pid" 2)
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 10 || st=$?
	[ "$st" -eq 143 ] # the status of CMD, killed by SIGTERM
	wait_until 5 all_gone $tree
}

@test "children: each -e child leads its own process group" {
	bg srv "$SK" listen -v -k -e 'sleep 100 & wait' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	held_client "$port"
	tree=$(tree_of "$srv_pid" 2)
	sh=$(children_of "$srv_pid")
	sh=${sh%% *}
	[ "$(awk '{print $5}' "/proc/$sh/stat")" = "$sh" ]
	[ "$(awk '{print $5}' "/proc/$srv_pid/stat")" != "$sh" ]
	for p in $tree; do
		[ "$(awk '{print $5}' "/proc/$p/stat")" = "$sh" ]
	done
	stop_and_check "$srv_pid" $tree
}

@test "children: a group that ignores SIGTERM gets SIGKILL after the grace" {
	bg srv "$SK" listen -v -k -e 'trap "" TERM; sleep 100 & wait' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	held_client "$port"
	tree=$(tree_of "$srv_pid" 2)
	start=$SECONDS
	stop_and_check "$srv_pid" $tree
	# the grace is 2 s: not at once, and not much later
	[ $((SECONDS - start)) -ge 1 ] && [ $((SECONDS - start)) -le 6 ]
}

@test "children: what a finished -e command left in its group is stopped" {
	bg srv "$SK" listen -v -k -e 'sleep 100 & echo started' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run timeout 10 "$SK" connect 127.0.0.1 "$port" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = started ]
	# the shell has ended; its background sleep must not outlive it
	wait_until 5 no_descendants "$srv_pid"
	kill -0 "$srv_pid"
}

@test "children: what a finished command left that ignores SIGTERM gets SIGKILL after the grace" {
	bg srv "$SK" listen -v -k -e 'trap "" TERM; sleep 100 & echo started' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	start=$SECONDS
	# the client gets its EOF only once the sleep, which holds the socket, is gone
	run timeout 10 "$SK" connect 127.0.0.1 "$port" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = started ]
	[ $((SECONDS - start)) -ge 1 ] # it had its 2 s of grace first
	wait_until 5 no_descendants "$srv_pid"
	kill -0 "$srv_pid"
}

@test "children: SIGTERM reaches what a finished command left behind" {
	bg srv "$SK" listen -v -k -e 'trap "" TERM; sleep 100 & echo started' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	bg cli "$SK" connect 127.0.0.1 "$port"
	wait_for "$TMP/cli.out" started
	tree=$(tree_of "$srv_pid" 1) # the sleep, whose shell has ended
	stop_and_check "$srv_pid" $tree
}

@test "children: connect -e stops what the command forked" {
	for cmd in 'cat; true' 'sleep 100 & wait'; do
		bg peer python3 "$PEER" server hold
		port=$(port_of "$TMP/peer.err")
		bg cli "$SK" connect -e "$cmd" 127.0.0.1 "$port"
		tree=$(tree_of "$cli_pid" 2)
		kill -TERM "$cli_pid"
		st=0
		wait_exit "$cli_pid" 10 || st=$?
		[ "$st" -eq 143 ]
		wait_until 5 all_gone $tree
		kill "$peer_pid" 2>/dev/null || true
	done
}

@test "children: udp-recv -e stops what the filter forked" {
	for cmd in 'cat; sleep 100' 'sleep 100 & wait'; do
		bg rx "$SK" udp-recv -v -e "$cmd" 127.0.0.1 0
		port=$(port_of "$TMP/rx.err")
		"$SK" udp-send 127.0.0.1 "$port" x
		tree=$(tree_of "$rx_pid" 2)
		stop_and_check "$rx_pid" $tree
	done
}

@test "children: udp-recv -e can be stopped while a filter runs on after closing its stdout" {
	bg rx "$SK" udp-recv -v -e 'cat; exec >&-; sleep 100' 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	"$SK" udp-send 127.0.0.1 "$port" x
	tree=$(tree_of "$rx_pid" 2)
	stop_and_check "$rx_pid" $tree
}

# workers N: serve-http --workers N on $TMP/www; sets port and tree (the workers).
workers() {
	mkdir -p "$TMP/www"
	echo hi >"$TMP/www/a.txt"
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 --workers "$1" "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	tree=$(tree_of "$srv_pid" "$1")
}

@test "children: serve-http --workers run in their own groups and stop with it" {
	workers 3
	for w in $tree; do
		[ "$(awk '{print $5}' "/proc/$w/stat")" = "$w" ]
	done
	[ "$(curl -sS --max-time 10 "http://127.0.0.1:$port/a.txt")" = hi ]
	stop_and_check "$srv_pid" $tree
}

@test "children: a serve-http worker killed from outside stops the rest, exit 1" {
	workers 2
	kill -KILL "${tree%% *}"
	st=0
	wait_exit "$srv_pid" 10 || st=$?
	[ "$st" -eq 1 ]
	grep -q "a worker (PID ${tree%% *}) failed; stopping the others" "$TMP/srv.err"
	wait_until 5 all_gone $tree
}

@test "children: serve-http workers stop if the parent is killed with SIGKILL" {
	workers 2
	kill -KILL "$srv_pid"
	wait_until 10 all_gone $tree
}
