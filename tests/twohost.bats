#!/usr/bin/env bats
# Two hosts: network namespaces A and B of the test's own, joined by a veth
# pair (10.214.0.1 and fd00:5d::1 in A, 10.214.0.2 and fd00:5d::2 in B).
# Every command runs between them. Needs root and ip(8); skipped otherwise.

load helpers

eval "helpers_$(declare -f teardown)"

setup() {
	TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/sockctl.XXXXXX")"
	BG_PIDS=()
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null || skip "needs root and ip(8) for network namespaces"
	A="sockctl-a-$$-$BATS_TEST_NUMBER"
	B="sockctl-b-$$-$BATS_TEST_NUMBER"
	ip netns add "$A" || skip "cannot create a network namespace here"
	ip netns add "$B"
	ip -n "$A" link add a0 type veth peer name b0 netns "$B"
	ip -n "$A" addr add 10.214.0.1/24 dev a0
	ip -n "$B" addr add 10.214.0.2/24 dev b0
	ip -n "$A" -6 addr add fd00:5d::1/64 dev a0 nodad
	ip -n "$B" -6 addr add fd00:5d::2/64 dev b0 nodad
	for ns in "$A" "$B"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$A" link set a0 up
	ip -n "$B" link set b0 up
}

teardown() {
	helpers_teardown
	ip netns delete "$A" 2>/dev/null || true
	ip netns delete "$B" 2>/dev/null || true
}

inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }

@test "two hosts: a 16 MiB file goes from A to B and another back, sha256 intact" {
	make_data "$TMP/up" 16
	make_data "$TMP/down" 16
	BG_STDIN="$TMP/down" bg srv ip netns exec "$B" "$SK" listen -v 10.214.0.2 0
	port=$(port_of "$TMP/srv.err")
	inA "$SK" connect -w 20 10.214.0.2 "$port" <"$TMP/up" >"$TMP/got-down"
	wait_exit "$srv_pid" 20
	[ "$(sha "$TMP/srv.out")" = "$(sha "$TMP/up")" ]
	[ "$(sha "$TMP/got-down")" = "$(sha "$TMP/down")" ]
	grep -q "connection from 10.214.0.1:" "$TMP/srv.err"
}

@test "two hosts: IPv6 with the read/write path" {
	make_data "$TMP/up" 4
	SOCKCTL_NO_SPLICE=1 bg srv ip netns exec "$B" "$SK" listen -v -6 0
	port=$(port_of "$TMP/srv.err")
	SOCKCTL_NO_SPLICE=1 run inA "$SK" connect -w 20 fd00:5d::2 "$port" <"$TMP/up"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid" 20
	[ "$(sha "$TMP/srv.out")" = "$(sha "$TMP/up")" ]
	grep -q "connection from \[fd00:5d::1\]:" "$TMP/srv.err"
}

@test "two hosts: udp-send from A gets B's answers" {
	bg rx ip netns exec "$B" "$SK" udp-recv -v -e 'tr a-z A-Z' 10.214.0.2 0
	port=$(port_of "$TMP/rx.err")
	run --separate-stderr inA "$SK" udp-send -w 1 10.214.0.2 "$port" <<<$'one\ntwo'
	[ "$status" -eq 0 ]
	[ "$output" = $'ONE\nTWO' ]
	wait_for "$TMP/rx.err" 'from 10\.214\.0\.1:'
}

@test "two hosts: serve-http in B, curl in A" {
	command -v curl >/dev/null || skip "no curl"
	mkdir "$TMP/www"
	make_data "$TMP/www/blob" 8
	bg http ip netns exec "$B" "$SK" serve-http -b 10.214.0.2 -p 0 "$TMP/www"
	port=$(port_of "$TMP/http.err")
	run inA curl -sS --max-time 20 -o "$TMP/blob" -w '%{http_code}' "http://10.214.0.2:$port/blob"
	[ "$output" = 200 ]
	[ "$(sha "$TMP/blob")" = "$(sha "$TMP/www/blob")" ]
	run inA curl -sS --max-time 20 -r 0-3 "http://10.214.0.2:$port/blob" -o "$TMP/part"
	[ "$(stat -c %s "$TMP/part")" = 4 ]
	wait_for "$TMP/http.err" '^10\.214\.0\.1 .*"GET /blob HTTP/1.1" 206 4'
}

@test "two hosts: a connect to an address that never answers honours -w" {
	# Frames for 10.214.0.3 go to a MAC nobody has: B drops them, silently.
	ip -n "$A" neigh add 10.214.0.3 lladdr 02:00:00:00:00:99 dev a0 nud permanent
	start=$(date +%s%N)
	run --separate-stderr inA "$SK" connect -w 1 10.214.0.3 80 </dev/null
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$status" -eq 1 ]
	[ "$stderr" = "sockctl connect: connect to 10.214.0.3:80: Connection timed out" ]
	[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ]
	run --separate-stderr inA "$SK" connect -z -w 1 10.214.0.3 80
	[ "$status" -eq 1 ]
}

@test "two hosts: whois-port sees B's listener from B only" {
	bg srv ip netns exec "$B" python3 "$BATS_TEST_DIRNAME/peers/holder.py" tcp 10.214.0.2
	port=$(port_of "$TMP/srv.err")
	run inB "$SK" whois-port "$port"
	[ "$status" -eq 0 ]
	[[ "$output" == *"10.214.0.2:$port "*"LISTEN"*" $srv_pid "* ]]
	run inA "$SK" whois-port "$port"
	[ "$status" -eq 1 ]
}

@test "two hosts: whois-port -a --close closes the local listener on a port, not a connection to another host's server on that port" {
	bg srv ip netns exec "$B" python3 -c '
import socket, sys
s = socket.socket(); s.bind(("10.214.0.2", 0)); s.listen(1)
print("listening on 10.214.0.2:%d" % s.getsockname()[1], file=sys.stderr, flush=True)
c = s.accept()[0]
print("got %r" % c.recv(64), file=sys.stderr, flush=True)'
	port=$(port_of "$TMP/srv.err")
	# in A: a listener on the same port number, and a client of B's server
	bg cli ip netns exec "$A" python3 -c '
import os, socket, sys, time
p = int(sys.argv[1])
l = socket.socket(); l.bind(("10.214.0.1", p)); l.listen(1)
c = socket.create_connection(("10.214.0.2", p))
print("listening on 10.214.0.1:%d" % p, file=sys.stderr, flush=True)
for _ in range(500):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.02)
c.sendall(b"still here")
time.sleep(5)' "$port" "$TMP/go"
	port_of "$TMP/cli.err" >/dev/null
	run --separate-stderr inA "$SK" whois-port -a --close -y "$port" </dev/null
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$stderr" == *"closed tcp 10.214.0.1:$port LISTEN"* ]]
	[[ "$stderr" != *"10.214.0.2:$port ESTABLISHED"* ]]
	touch "$TMP/go"
	wait_for "$TMP/srv.err" "got b'still here'"
}
