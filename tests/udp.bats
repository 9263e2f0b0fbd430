#!/usr/bin/env bats
# udp-send and udp-recv: datagram boundaries, --json, echo and -e
# request/response, limits, IPv6, ICMP errors, multicast and broadcast.

load helpers

have_ipv6() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# A python3 receiver: prints one line per datagram, "LEN HEX", then exits.
py_recv() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(10)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], file=sys.stderr, flush=True)
for _ in range(int(sys.argv[1])):
    d, a = s.recvfrom(70000)
    print(len(d), d.hex(), flush=True)
    if len(sys.argv) > 2:
        s.sendto(b"re:" + d, a)
' "$@"
}

# A free UDP port that nothing is bound to (the python socket closes).
free_udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "udp: each line of stdin is one datagram, newline included; the last may lack it" {
	bg rx py_recv 3
	port=$(port_of "$TMP/rx.err")
	printf 'a\nbb\nccc' | "$SK" udp-send 127.0.0.1 "$port"
	wait_exit "$rx_pid"
	[ "$(cat "$TMP/rx.out")" = "2 610a
3 62620a
3 636363" ]
}

@test "udp: --size N cuts stdin into N-byte datagrams; MESSAGE is one datagram as it is" {
	bg rx py_recv 4
	port=$(port_of "$TMP/rx.err")
	printf 'abcdefghij' | "$SK" udp-send --size 4 127.0.0.1 "$port"
	"$SK" udp-send 127.0.0.1 "$port" $'two\nlines'
	wait_exit "$rx_pid"
	[ "$(cat "$TMP/rx.out")" = "4 61626364
4 65666768
2 696a
9 74776f0a6c696e6573" ]
}

@test "udp: sockctl to sockctl, 500 datagrams arrive whole and in count" {
	seq -f 'line %05g of the datagram test' 500 >"$TMP/in"
	bg rx "$SK" udp-recv -v -c 500 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	"$SK" udp-send 127.0.0.1 "$port" <"$TMP/in"
	wait_exit "$rx_pid"
	[ "$(sort "$TMP/rx.out" | sha)" = "$(sort "$TMP/in" | sha)" ] || [ "$(sort "$TMP/rx.out")" = "$(sort "$TMP/in")" ]
	[ "$(grep -c ' bytes from 127.0.0.1:' "$TMP/rx.err")" -eq 500 ]
}

@test "udp-recv writes payloads unchanged, binary and empty ones too" {
	bg rx "$SK" udp-recv -v -c 3 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (b"\x00\xff\n\r", b"", b"end"):
    s.sendto(d, ("127.0.0.1", int(sys.argv[1])))' "$port"
	wait_exit "$rx_pid"
	[ "$(od -An -tx1 "$TMP/rx.out" | tr -d ' \n')" = "00ff0a0d656e64" ]
	grep -q ' 0 bytes from ' "$TMP/rx.err"
}

@test "udp-recv --json: one object per datagram, parsed by python3 (UTF-8 and binary)" {
	bg rx "$SK" udp-recv -v --json -c 4 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in ("héllo \"q\" \\ €".encode(), b"\xff\xfe\x00", b"tab\tnl\n\x01", b""):
    s.sendto(d, ("127.0.0.1", int(sys.argv[1])))' "$port"
	wait_exit "$rx_pid"
	run python3 -c '
import base64, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4, rows
assert rows[0]["data"] == "héllo \"q\" \\ €" and rows[0]["size"] == len("héllo \"q\" \\ €".encode())
assert "data" not in rows[1] and base64.b64decode(rows[1]["data_base64"]) == b"\xff\xfe\x00"
assert rows[2]["data"] == "tab\tnl\n\x01"
assert rows[3] == {"from": rows[3]["from"], "size": 0, "data": ""}
assert all(r["from"].startswith("127.0.0.1:") for r in rows)
print("ok")' "$TMP/rx.out"
	[ "$output" = ok ]
}

@test "udp: --echo sends each datagram back; udp-send -w prints the replies" {
	bg rx "$SK" udp-recv --echo 127.0.0.1 0 -v
	port=$(port_of "$TMP/rx.err")
	run --separate-stderr bash -c "printf 'ping\npong\n' | '$SK' udp-send -w 0.5 127.0.0.1 $port"
	[ "$status" -eq 0 ]
	[ "$output" = "ping
pong" ]
	[ -z "$stderr" ]
}

@test "udp: -e answers each datagram with CMD's stdout (request/response)" {
	bg rx "$SK" udp-recv -e 'tr a-z A-Z' 127.0.0.1 0 -v
	port=$(port_of "$TMP/rx.err")
	run --separate-stderr "$SK" udp-send -w 1 127.0.0.1 "$port" hello
	[ "$status" -eq 0 ]
	[ "$output" = "HELLO" ]
	# sockctl's own stdout still gets the request.
	wait_for "$TMP/rx.out" hello
}

@test "udp: replies from a python3 server arrive as separate datagrams" {
	bg rx py_recv 2 reply
	port=$(port_of "$TMP/rx.err")
	run --separate-stderr bash -c "printf 'x\ny\n' | '$SK' udp-send -v -w 1 127.0.0.1 $port"
	[ "$status" -eq 0 ]
	[ "$output" = "re:x
re:y" ]
	[[ "$stderr" == *"5 bytes from 127.0.0.1:$port"* ]]
}

@test "udp: the largest IPv4 datagram (65507 bytes) goes through whole" {
	head -c 65507 /dev/urandom >"$TMP/big"
	bg rx "$SK" udp-recv -c 1 127.0.0.1 0 -v
	port=$(port_of "$TMP/rx.err")
	"$SK" udp-send --size 65507 127.0.0.1 "$port" <"$TMP/big"
	wait_exit "$rx_pid"
	[ "$(sha "$TMP/big")" = "$(sha "$TMP/rx.out")" ]
}

@test "udp: an oversize datagram is an error naming the limit, never truncated" {
	bg rx "$SK" udp-recv -w 2 -v 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	head -c 70000 /dev/zero | tr '\0' a >"$TMP/long"
	run --separate-stderr "$SK" udp-send 127.0.0.1 "$port" <"$TMP/long"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"a line of "*" bytes is over the UDP maximum of 65507 bytes for IPv4"* ]]
	run --separate-stderr "$SK" udp-send 127.0.0.1 "$port" "$(head -c 65508 /dev/zero | tr '\0' b)"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"MESSAGE of 65508 bytes is over the UDP maximum of 65507 bytes"* ]]
	run --separate-stderr "$SK" udp-send --size 65520 127.0.0.1 "$port" </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"over the UDP maximum of 65507 bytes"* ]]
	wait_exit "$rx_pid"
	[ ! -s "$TMP/rx.out" ]
}

@test "udp: IPv6 both ways, listening line in brackets" {
	have_ipv6 || skip "no IPv6 loopback here"
	bg rx "$SK" udp-recv -v --echo -c 1 ::1 0
	wait_for "$TMP/rx.err" 'listening on \[::1\]:[0-9]+$'
	port=$(port_of "$TMP/rx.err")
	run "$SK" udp-send -w 1 '[::1]' "$port" six
	[ "$output" = six ]
	grep -qE '3 bytes from \[::1\]:[0-9]+$' "$TMP/rx.err"
}

@test "udp-send: an ICMP port unreachable while waiting is reported, exit 1" {
	port=$(free_udp_port)
	run --separate-stderr "$SK" udp-send -w 2 127.0.0.1 "$port" anyone
	[ "$status" -eq 1 ]
	[ "$stderr" = "sockctl udp-send: 127.0.0.1:$port: port unreachable (Connection refused)" ]
}

@test "udp-recv: -c stops after N, -w after SECS of silence, SIGTERM with 0" {
	bg rx "$SK" udp-recv -v -c 2 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	"$SK" udp-send 127.0.0.1 "$port" one
	"$SK" udp-send 127.0.0.1 "$port" two
	st=0
	wait_exit "$rx_pid" || st=$?
	[ "$st" -eq 0 ]
	[ "$(cat "$TMP/rx.out")" = onetwo ]
	run --separate-stderr timeout 10 "$SK" udp-recv -w 0.3 127.0.0.1 0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	bg rx "$SK" udp-recv -v 127.0.0.1 0
	port_of "$TMP/rx.err" >/dev/null
	kill -TERM "$rx_pid"
	st=0
	wait_exit "$rx_pid" || st=$?
	[ "$st" -eq 0 ]
}

@test "udp-recv: a port in use is exit 1 with the whois-port hint" {
	bg rx "$SK" udp-recv -v 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	run --separate-stderr "$SK" udp-recv 127.0.0.1 "$port"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Address already in use (find the holder: sockctl whois-port $port/udp)"* ]]
}

@test "udp: bad input is a usage error with a hint" {
	for args in "udp-send 127.0.0.1" "udp-send" "udp-send 127.0.0.1 0 x" "udp-send 127.0.0.1 99999 x" \
		"udp-send --size 0 127.0.0.1 9" "udp-send --size 70000 127.0.0.1 9" \
		"udp-send --size 4 127.0.0.1 9 msg" "udp-send -w x 127.0.0.1 9 m" "udp-send -4 -6 127.0.0.1 9 m" \
		"udp-send 127.0.0.1 9 a b" "udp-recv" "udp-recv -c 0 9" "udp-recv -c x 9" "udp-recv --echo -e cat 9" \
		"udp-recv -w -1 9" "udp-recv --bogus 9" "udp-recv 127.0.0.1 9 9"; do
		run --separate-stderr "$SK" $args
		[ "$status" -eq 2 ] || { echo "not a usage error: $args ($status)"; false; }
		[[ "$stderr" == *"see 'sockctl udp-"* ]]
	done
	for g in 10.1.2.3 nonsense ::1 '[ff02::1'; do
		run --separate-stderr "$SK" udp-recv --join "$g" 0
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"not an IPv4 or IPv6 multicast address"* ]]
	done
	run --separate-stderr "$SK" udp-send -n localhost 9 m
	[ "$status" -eq 1 ]
}

# In a namespace of the test's own, with loopback up and multicast routed to it.
netns_up() {
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null || skip "needs root and ip(8) for a network namespace"
	ns="sockctl-udp-$$-$BATS_TEST_NUMBER"
	ip netns add "$ns" || skip "cannot create a network namespace here"
	ip -n "$ns" link set lo up
}

netns_down() {
	ip netns delete "$ns" 2>/dev/null || true
}

# A veth pair in the namespace carries multicast and broadcast; what is
# sent out of sk0 loops back to the namespace's own listeners.
netns_veth() {
	ip -n "$ns" link add sk0 type veth peer name sk1
	ip -n "$ns" addr add 10.213.0.1/24 brd + dev sk0
	ip -n "$ns" -6 addr add fd00:5c::1/64 dev sk0 nodad
	ip -n "$ns" link set sk1 up
	ip -n "$ns" link set sk0 up
	# No default route in here: say where IPv4 multicast goes.
	ip -n "$ns" route add 224.0.0.0/4 dev sk0
}

# mcast GROUP: one datagram to GROUP arrives at a receiver that joined it.
mcast() {
	bg rx ip netns exec "$ns" "$SK" udp-recv -v -c 1 --join "$1" 0
	port=$(port_of "$TMP/rx.err")
	ip netns exec "$ns" "$SK" udp-send "$1" "$port" "to $1"
	st=0
	wait_exit "$rx_pid" 5 || st=$?
	[ "$st" -eq 0 ] && [ "$(cat "$TMP/rx.out")" = "to $1" ]
}

@test "udp: --join receives a multicast group, IPv4 and IPv6 (own namespace)" {
	netns_up
	netns_veth
	st=0
	mcast 239.255.42.1 && mcast ff05::4242 || st=1
	netns_down
	[ "$st" -eq 0 ]
}

@test "udp: -b allows a broadcast; without it the kernel refuses (own namespace)" {
	netns_up
	netns_veth
	bg rx ip netns exec "$ns" "$SK" udp-recv -v -4 -c 1 0
	port=$(port_of "$TMP/rx.err")
	run --separate-stderr ip netns exec "$ns" "$SK" udp-send 10.213.0.255 "$port" nope
	[ "$status" -eq 1 ] || { netns_down; false; }
	[[ "$stderr" == *"Permission denied"* ]] || { netns_down; false; }
	run --separate-stderr ip netns exec "$ns" "$SK" udp-send -b 10.213.0.255 "$port" to-all
	[ "$status" -eq 0 ] || { netns_down; false; }
	st=0
	wait_exit "$rx_pid" 5 || st=$?
	netns_down
	[ "$st" -eq 0 ]
	[ "$(cat "$TMP/rx.out")" = to-all ]
}

@test "udp-recv -e keeps serving after the first answer, and SIGTERM stops a hung CMD" {
	bg rx "$SK" udp-recv -v -e 'tr a-z A-Z' 127.0.0.1 0
	port=$(port_of "$TMP/rx.err")
	for w in one two three; do
		run "$SK" udp-send -w 1 127.0.0.1 "$port" "$w"
		[ "$output" = "${w^^}" ]
	done
	kill "$rx_pid"
	bg hung "$SK" udp-recv -v -e 'sleep 30' 127.0.0.1 0
	port=$(port_of "$TMP/hung.err")
	"$SK" udp-send 127.0.0.1 "$port" x
	wait_for "$TMP/hung.err" '1 bytes from'
	kill -TERM "$hung_pid"
	st=0
	wait_exit "$hung_pid" 5 || st=$?
	[ "$st" -eq 0 ]
}
