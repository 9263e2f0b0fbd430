#!/usr/bin/env bats
# Faults: resets mid-transfer, clients that vanish, -e children that die,
# signals during transfers. Each gives the documented exit status and
# message, with no crash, no hang and no child left behind.

load helpers

# wait_flow PORT: waits (bounded) until the connection to PORT has bytes
# queued, that is, a transfer is in full flow; fails if none ever is.
wait_flow() {
	wait_until 5 bytes_queued "$1"
}

# bytes_queued PORT: a connection to PORT has bytes in its queues.
bytes_queued() {
	[ "$(ss -Htn state established "( dport = :$1 )" | awk '{s += $2 + $3} END {print s + 0}')" -gt 0 ]
}

# port_held_by PID: prints the port PID listens on, once it does.
port_held_by() {
	port=$("$SK" whois-port --json 2>/dev/null | python3 -c "
import json, sys
print(next((r['port'] for r in json.load(sys.stdin) if r['pid'] == $1), ''))") && [ -n "$port" ]
}

@test "faults: the peer resets mid-transfer: exit 1 naming the peer, both relay paths" {
	make_data "$TMP/in" 32
	for mode in "" 1; do
		bg peer python3 "$PEER" server reset-after 1048576
		port=$(port_of "$TMP/peer.err")
		run --separate-stderr timeout 20 env ${mode:+SOCKCTL_NO_SPLICE=1} "$SK" connect 127.0.0.1 "$port" <"$TMP/in"
		[ "$status" -eq 1 ] || { echo "status $status ($mode)"; false; }
		[[ "$stderr" == "sockctl connect: 127.0.0.1:$port: "*"Connection reset by peer" ]] ||
			[[ "$stderr" == "sockctl connect: 127.0.0.1:$port: send: Broken pipe (the peer closed before taking all of the input)" ]]
		wait_exit "$peer_pid" 5
	done
}

@test "faults: a client resets while listen sends: exit 1, no hang" {
	make_data "$TMP/in" 32
	BG_STDIN="$TMP/in" bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run python3 "$PEER" client 127.0.0.1 "$port" reset-after 1048576
	st=0
	wait_exit "$srv_pid" 10 || st=$?
	cat "$TMP/srv.err"
	[ "$st" -eq 1 ]
	grep -qE "127.0.0.1:[0-9]+: .*(Connection reset by peer|Broken pipe \(the peer closed before taking all of the input\))" "$TMP/srv.err"
}

@test "faults: serve-http survives clients that vanish mid-response, and leaks no fd" {
	mkdir "$TMP/www"
	make_data "$TMP/www/big" 32
	bg http "$SK" serve-http -q -p 0 -b 127.0.0.1 "$TMP/www"
	# -q hides the 'listening on' line: find the port with whois-port
	wait_until 5 port_held_by "$http_pid"
	before=$(fd_count "$http_pid")
	python3 - "$port" <<'PY'
import socket, struct, sys
for i in range(20):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    c.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    c.recv(1000 if i % 2 else 1)
    if i % 2:  # half of them reset, half close normally with data unread
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
	run curl -sS --max-time 20 -o "$TMP/got" -w '%{http_code}' "http://127.0.0.1:$port/big"
	[ "$output" = 200 ]
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/www/big")" ]
	# the vanished clients' connections are closed by now (bounded wait)
	wait_until 5 fds_at_most "$http_pid" "$((before + 1))"
	kill -0 "$http_pid"
}

@test "faults: a -e child that dies does not stop listen -k, and leaves no zombie" {
	bg srv "$SK" listen -v -k -e 'kill -KILL $$' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	for i in 1 2 3; do
		run timeout 10 "$SK" connect 127.0.0.1 "$port" </dev/null
		[ "$status" -eq 0 ]
	done
	kill -0 "$srv_pid"
	wait_until 5 no_children "$srv_pid"
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 10 || st=$?
	[ "$st" -eq 0 ]
}

@test "faults: connect -e returns the status of a child killed by a signal" {
	bg peer python3 "$PEER" server hold
	port=$(port_of "$TMP/peer.err")
	run --separate-stderr timeout 10 "$SK" connect -e 'kill -KILL $$' 127.0.0.1 "$port"
	[ "$status" -eq 137 ]
}

@test "faults: SIGTERM and SIGINT during a transfer end it with 128+N, promptly" {
	for sig in TERM INT; do
		bg peer python3 "$PEER" server hold
		port=$(port_of "$TMP/peer.err")
		# an endless stdin: the transfer is in full flow when the signal lands
		bg cli bash -c "exec '$SK' connect 127.0.0.1 $port < /dev/zero"
		wait_flow "$port"
		kill "-$sig" "$cli_pid"
		st=0
		wait_exit "$cli_pid" 5 || st=$?
		[ "$st" -eq $((128 + $(kill -l "$sig"))) ] || { echo "$sig: $st"; false; }
		kill "$peer_pid" 2>/dev/null || true
		wait_exit "$peer_pid" 5 || true
	done
}

@test "faults: serve-http under SIGTERM mid-download finishes it, exits 0" {
	mkdir "$TMP/www"
	make_data "$TMP/www/big" 16
	bg http "$SK" serve-http -p 0 -b 127.0.0.1 "$TMP/www"
	port=$(port_of "$TMP/http.err")
	bg dl curl -sS --max-time 20 --limit-rate 8M -o "$TMP/got" "http://127.0.0.1:$port/big"
	wait_until 5 file_not_empty "$TMP/got"
	kill -TERM "$http_pid"
	st=0
	wait_exit "$dl_pid" 20 || st=$?
	[ "$st" -eq 0 ]
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/www/big")" ]
	wait_exit "$http_pid" 10 || st=$?
	[ "$st" -eq 0 ]
}
