#!/usr/bin/env bats
# Access lists (--allow, --deny) of listen, serve-http, udp-recv and
# forward: a refused TCP client is closed at once and never reaches -e,
# the HTTP parser or a target; a refused datagram is dropped; -v (the
# access log for serve-http) says so. Every client here is on loopback:
# 127.0.0.1, 127.0.0.2 (a source address of its own), ::1, and
# ::ffff:127.0.0.1 for a dual-stack listener.

load helpers

have_ipv6() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# probe HOST PORT [SOURCE]: connects to HOST (from SOURCE), sends
# $PROBE_SEND (default "ping\n"), half-closes, and prints what comes back
# until EOF or a reset; nothing at all from a refused connection.
probe() {
	PROBE_SEND=${PROBE_SEND:-$'ping\n'} timeout 20 python3 -c '
import errno, os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
src = sys.argv[3] if len(sys.argv) > 3 else None
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(10)
if src:
    s.bind((src, 0))
s.connect((host, port))
out = b""
try:
    s.sendall(os.environ["PROBE_SEND"].encode())
    s.shutdown(socket.SHUT_WR)
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError as e:  # refused: reset, or not even connected any more
    if e.errno not in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
        raise
sys.stdout.buffer.write(out)
' "$@"
}

# send_dgram HOST PORT SOURCE TEXT: one datagram from SOURCE (port 0).
send_dgram() {
	python3 -c '
import socket, sys
host, port, src, text = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.sendto(text.encode(), (host, port))
' "$@"
}

# bound_port PID t|u: waits for PID's listening TCP (t) or UDP (u) socket
# and prints its port (for a run without -v and its 'listening on' line).
bound_port() {
	local i line
	for ((i = 0; i < 500; i++)); do
		line=$(ss -Hln"$2"p 2>/dev/null | grep -F "pid=$1," | head -n 1)
		if [ -n "$line" ]; then
			awk '{print $4}' <<<"$line" | sed 's/.*://'
			return 0
		fi
		sleep 0.02
	done
	echo "no listening socket of pid $1" >&2
	return 1
}

# refused FILE COUNT: FILE has COUNT "refused by the access list" lines (waits).
refused() {
	wait_until 10 lines_at_least "$1" "$2" 'refused by the access list'
}

# --- listen ---------------------------------------------------------------

@test "listen: a refused client is closed at once; without -k the next allowed one is the connection" {
	bg srv "$SK" listen -v --allow 127.0.0.2 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	[ -z "$(probe 127.0.0.1 "$port")" ]
	refused "$TMP/srv.err" 1
	grep -qE "^sockctl listen: 127\.0\.0\.1:[0-9]+: refused by the access list$" "$TMP/srv.err"
	kill -0 "$srv_pid" # still waiting: the refused client was not the one connection
	[ -z "$(probe 127.0.0.1 "$port")" ]
	refused "$TMP/srv.err" 2
	probe 127.0.0.1 "$port" 127.0.0.2 >/dev/null
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = ping ]
	grep -qE "connection from 127\.0\.0\.2:[0-9]+$" "$TMP/srv.err"
	[ "$(grep -c 'connection from' "$TMP/srv.err")" -eq 1 ]
}

@test "listen: without -v a refusal is silent" {
	bg srv "$SK" listen --deny 127.0.0.1 127.0.0.1 0
	port=$(bound_port "$srv_pid" t)
	[ -z "$(probe 127.0.0.1 "$port")" ]
	probe 127.0.0.1 "$port" 127.0.0.2 >/dev/null
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = ping ]
	[ ! -s "$TMP/srv.err" ]
}

@test "listen -k: --deny wins over --allow; refused and served clients interleave" {
	bg srv "$SK" listen -k -v --allow 127.0.0.0/8 --deny 127.0.0.1 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	[ -z "$(probe 127.0.0.1 "$port")" ]
	probe 127.0.0.1 "$port" 127.0.0.2 >/dev/null
	[ -z "$(probe 127.0.0.1 "$port")" ]
	probe 127.0.0.1 "$port" 127.0.0.2 >/dev/null
	refused "$TMP/srv.err" 2
	wait_until 10 lines_at_least "$TMP/srv.out" 2 ping
	[ "$(grep -c 'connection from 127.0.0.2' "$TMP/srv.err")" -eq 2 ]
	[ "$(grep -c 'refused by the access list' "$TMP/srv.err")" -eq 2 ]
	kill -0 "$srv_pid"
}

@test "listen -e: CMD never runs for a refused client; -v logs the refusal" {
	bg srv "$SK" listen -v --deny 127.0.0.1 -e "touch '$TMP/ran'; cat" 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	[ -z "$(probe 127.0.0.1 "$port")" ]
	refused "$TMP/srv.err" 1
	[ ! -e "$TMP/ran" ]
	! grep -q 'connection from' "$TMP/srv.err"
	kill -0 "$srv_pid" # without -k, still waiting for its one connection
	[ "$(probe 127.0.0.1 "$port" 127.0.0.2)" = ping ]
	wait_exit "$srv_pid"
	[ -e "$TMP/ran" ]
	grep -qE "connection from 127\.0\.0\.2:[0-9]+ \(pid [0-9]+\)$" "$TMP/srv.err"
}

@test "listen -k -e: refused clients start no child, allowed ones do" {
	bg srv "$SK" listen -k -v --allow 127.0.0.2 -e "echo x >>'$TMP/ran'; cat" 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	[ -z "$(probe 127.0.0.1 "$port")" ]
	[ "$(probe 127.0.0.1 "$port" 127.0.0.2)" = ping ]
	[ -z "$(probe 127.0.0.1 "$port")" ]
	[ "$(probe 127.0.0.1 "$port" 127.0.0.2)" = ping ]
	refused "$TMP/srv.err" 2
	[ "$(wc -l <"$TMP/ran")" -eq 2 ]
	[ "$(grep -c 'connection from 127.0.0.2' "$TMP/srv.err")" -eq 2 ]
	wait_until 10 no_children "$srv_pid"
	kill -0 "$srv_pid"
}

@test "listen: an IPv4 rule matches the v4-mapped client of a dual-stack listener" {
	have_ipv6 || skip "no IPv6 loopback here"
	bg srv "$SK" listen -k -v --allow 127.0.0.0/8 0
	port=$(port_of "$TMP/srv.err")
	grep -qE "listening on \[::\]:[0-9]+$" "$TMP/srv.err" # dual-stack
	probe ::ffff:127.0.0.1 "$port" >/dev/null
	wait_until 10 lines_at_least "$TMP/srv.out" 1 ping
	grep -qE "connection from 127\.0\.0\.1:[0-9]+$" "$TMP/srv.err"
	[ -z "$(probe ::1 "$port")" ] # not IPv4: refused
	refused "$TMP/srv.err" 1
	grep -qE "\[::1\]:[0-9]+: refused by the access list$" "$TMP/srv.err"
}

@test "listen: --allow ::1 serves the IPv6 client and refuses the IPv4 one" {
	have_ipv6 || skip "no IPv6 loopback here"
	bg srv "$SK" listen -k -v --allow ::1 0
	port=$(port_of "$TMP/srv.err")
	grep -qE "listening on \[::\]:[0-9]+$" "$TMP/srv.err"
	[ -z "$(probe 127.0.0.1 "$port")" ]
	refused "$TMP/srv.err" 1
	grep -qE "127\.0\.0\.1:[0-9]+: refused by the access list$" "$TMP/srv.err"
	probe ::1 "$port" >/dev/null
	wait_until 10 lines_at_least "$TMP/srv.out" 1 ping
	grep -qE "connection from \[::1\]:[0-9]+$" "$TMP/srv.err"
}

# refuse_until_gone PID PORT: one refused client for PID on PORT; true once PID has ended.
refuse_until_gone() {
	kill -0 "$1" 2>/dev/null || return 0
	probe 127.0.0.1 "$2" >/dev/null 2>&1 || true
	! kill -0 "$1" 2>/dev/null
}

@test "listen: refused clients do not restart -w's wait for a connection" {
	bg srv "$SK" listen -v -w 2 --deny 127.0.0.1 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	# Refused clients all along: -w still ends it after 2 s.
	wait_until 10 refuse_until_gone "$srv_pid" "$port"
	grep -q 'refused by the access list' "$TMP/srv.err"
	local st=0
	wait_exit "$srv_pid" 10 || st=$?
	[ "$st" -eq 1 ]
	grep -q "no connection within 2 s" "$TMP/srv.err"
}

# --- serve-http ------------------------------------------------------------

@test "serve-http: a refused client gets no response bytes and a '-' access-log line" {
	mkdir "$TMP/www"
	echo hello >"$TMP/www/hello.txt"
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 --allow 127.0.0.2 "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	out=$(PROBE_SEND=$'GET /hello.txt HTTP/1.0\r\n\r\n' probe 127.0.0.1 "$port" | wc -c)
	[ "$out" -eq 0 ]
	wait_for "$TMP/srv.err" '"-" - -$'
	grep -qE '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [-+][0-9]{4}\] "-" - -$' "$TMP/srv.err"
	! grep -q 'GET /hello.txt' "$TMP/srv.err" # never parsed

	run curl -s -o "$TMP/got" -w '%{http_code}' --interface 127.0.0.2 "http://127.0.0.1:$port/hello.txt"
	[ "$status" -eq 0 ]
	[ "$output" = 200 ]
	[ "$(cat "$TMP/got")" = hello ]
	wait_for "$TMP/srv.err" '"GET /hello.txt HTTP/1.1" 200 6$'
	grep -qE '^127\.0\.0\.2 - - \[.*\] "GET /hello.txt HTTP/1.1" 200 6$' "$TMP/srv.err"
	kill -0 "$srv_pid"
}

@test "serve-http: --deny wins over --allow, also over TLS; --log gets the refusals" {
	mkdir "$TMP/www"
	echo hello >"$TMP/www/hello.txt"
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 --log "$TMP/access.log" \
		--allow 127.0.0.0/8 --deny 127.0.0.1 "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/hello.txt"
	[ "$status" -ne 0 ] # empty reply or reset
	[ "$output" = 000 ]
	run curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "http://127.0.0.1:$port/hello.txt"
	[ "$output" = 200 ]
	wait_until 10 lines_at_least "$TMP/access.log" 2
	grep -qE '^127\.0\.0\.1 - - \[.*\] "-" - -$' "$TMP/access.log"
	grep -qE '^127\.0\.0\.2 - - \[.*\] "GET /hello.txt HTTP/1.1" 200 6$' "$TMP/access.log"
}

@test "serve-http --tls: a refused client is closed before any handshake byte" {
	"$SK" serve-http --help | grep -q -- '--tls' || skip "no TLS"
	mkdir "$TMP/www"
	echo hello >"$TMP/www/hello.txt"
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 --tls --deny 127.0.0.1 "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	# A TLS ClientHello's first bytes: the server would answer a handshake.
	out=$(PROBE_SEND=$'\x16\x03\x01\x00\x05hello' probe 127.0.0.1 "$port" | wc -c)
	[ "$out" -eq 0 ]
	wait_for "$TMP/srv.err" '^127\.0\.0\.1 - - \[.*\] "-" - -$'
	run curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "https://127.0.0.1:$port/hello.txt"
	[ "$output" = 200 ]
}

@test "serve-http: the v4-mapped client of a dual-stack server matches an IPv4 rule" {
	have_ipv6 || skip "no IPv6 loopback here"
	mkdir "$TMP/www"
	echo hello >"$TMP/www/hello.txt"
	bg srv "$SK" serve-http -p 0 --allow 127.0.0.1 "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	grep -qE "listening on \[::\]:[0-9]+$" "$TMP/srv.err"
	run curl -s -o /dev/null -w '%{http_code}' "http://[::ffff:127.0.0.1]:$port/hello.txt"
	[ "$output" = 200 ]
	run curl -s -o /dev/null -w '%{http_code}' "http://[::1]:$port/hello.txt"
	[ "$output" = 000 ]
	wait_for "$TMP/srv.err" '^\[::1\] - - \[.*\] "-" - -$'
	grep -qE '^127\.0\.0\.1 - - \[.*\] "GET /hello.txt HTTP/1.1" 200 6$' "$TMP/srv.err"
}

# --- udp-recv ----------------------------------------------------------------

@test "udp-recv: refused datagrams are dropped (no output, not counted); -v logs them" {
	bg srv "$SK" udp-recv -v -c 2 --allow 127.0.0.2 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	send_dgram 127.0.0.1 "$port" 127.0.0.1 bad1
	send_dgram 127.0.0.1 "$port" 127.0.0.2 good1
	send_dgram 127.0.0.1 "$port" 127.0.0.1 bad2
	send_dgram 127.0.0.1 "$port" 127.0.0.2 good2
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = good1good2 ]
	[ "$(grep -cE '^sockctl udp-recv: refused datagram from 127\.0\.0\.1:[0-9]+$' "$TMP/srv.err")" -eq 2 ]
	[ "$(grep -c 'bytes from 127.0.0.2' "$TMP/srv.err")" -eq 2 ]
	! grep -q 'bytes from 127.0.0.1' "$TMP/srv.err"
}

@test "udp-recv: refused datagrams get no --echo and no -e; silent without -v" {
	bg srv "$SK" udp-recv --deny 127.0.0.1 -c 1 -e "touch '$TMP/ran'; cat" 127.0.0.1 0
	port=$(bound_port "$srv_pid" u)
	send_dgram 127.0.0.1 "$port" 127.0.0.1 bad
	send_dgram 127.0.0.1 "$port" 127.0.0.2 good
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = good ]
	[ ! -s "$TMP/srv.err" ]

	rm -f "$TMP/ran"
	bg srv "$SK" udp-recv -v --deny 127.0.0.1 -e "touch '$TMP/ran'; cat" 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	send_dgram 127.0.0.1 "$port" 127.0.0.1 bad
	wait_for "$TMP/srv.err" 'refused datagram from 127\.0\.0\.1:'
	[ ! -e "$TMP/ran" ]
	[ ! -s "$TMP/srv.out" ]
}

@test "udp-recv --echo: a refused sender hears nothing back" {
	bg srv "$SK" udp-recv -v --echo --deny 127.0.0.1 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run timeout 10 python3 -c '
import socket, sys
port = int(sys.argv[1])
for src, want in (("127.0.0.1", None), ("127.0.0.2", b"hi")):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(1 if want is None else 5)
    s.sendto(b"hi", ("127.0.0.1", port))
    try:
        got = s.recv(100)
    except socket.timeout:
        got = None
    print(src, got)
    assert got == want
' "$port"
	[ "$status" -eq 0 ]
	grep -q 'refused datagram from 127.0.0.1:' "$TMP/srv.err"
}

@test "udp-recv: dual-stack with --allow ::1 takes IPv6 and drops IPv4, v4-mapped matches IPv4 rules" {
	have_ipv6 || skip "no IPv6 loopback here"
	bg srv "$SK" udp-recv -v -c 1 --allow ::1 0
	port=$(port_of "$TMP/srv.err")
	grep -qE "listening on \[::\]:[0-9]+$" "$TMP/srv.err"
	send_dgram 127.0.0.1 "$port" 127.0.0.1 v4
	send_dgram ::1 "$port" ::1 v6
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = v6 ]
	grep -qE 'refused datagram from 127\.0\.0\.1:[0-9]+$' "$TMP/srv.err"

	bg srv "$SK" udp-recv -v -c 1 --allow 127.0.0.0/8 0
	port=$(port_of "$TMP/srv.err")
	send_dgram ::1 "$port" ::1 v6
	send_dgram ::ffff:127.0.0.1 "$port" :: v4mapped
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = v4mapped ]
	grep -qE 'refused datagram from \[::1\]:[0-9]+$' "$TMP/srv.err"
}

# --- forward -----------------------------------------------------------------

@test "forward: a refused client is closed, the target never sees it; -v logs it" {
	bg tgt "$SK" listen -k -v -e cat 127.0.0.1 0
	tport=$(port_of "$TMP/tgt.err")
	bg fwd "$SK" forward -v --deny 127.0.0.1 127.0.0.1:0 "127.0.0.1:$tport"
	port=$(port_of "$TMP/fwd.err")
	[ -z "$(probe 127.0.0.1 "$port")" ]
	refused "$TMP/fwd.err" 1
	grep -qE "127\.0\.0\.1:[0-9]+: refused by the access list$" "$TMP/fwd.err"
	[ "$(probe 127.0.0.1 "$port" 127.0.0.2)" = ping ]
	[ "$(grep -c 'connection from' "$TMP/tgt.err")" -eq 1 ]
	kill -0 "$fwd_pid"
}

@test "forward: --allow only; quiet about refusals without -v" {
	bg tgt "$SK" listen -k -v -e cat 127.0.0.1 0
	tport=$(port_of "$TMP/tgt.err")
	bg fwd "$SK" forward --allow 127.0.0.2/32 127.0.0.1:0 "127.0.0.1:$tport"
	port=$(port_of "$TMP/fwd.err")
	[ -z "$(probe 127.0.0.1 "$port")" ]
	[ "$(probe 127.0.0.1 "$port" 127.0.0.2)" = ping ]
	[ "$(grep -c 'connection from' "$TMP/tgt.err")" -eq 1 ]
	! grep -q 'refused' "$TMP/fwd.err"
}

# --- usage -------------------------------------------------------------------

@test "bad CIDR values are usage errors for each command" {
	local bad cmd
	for bad in 10.0.0.0/33 ::1/129 host.name 1.2.3 '' /8 '[::1' 10.0.0.0/-1 10.0.0.0/8x; do
		for cmd in "listen 0" "serve-http -p 0" "udp-recv 0" "forward 127.0.0.1:0 127.0.0.1:1"; do
			# shellcheck disable=SC2086
			run --separate-stderr "$SK" ${cmd%% *} --allow "$bad" ${cmd#* }
			[ "$status" -eq 2 ]
			[[ "$stderr" == *"sockctl ${cmd%% *}: bad --allow '$bad': expected an address or ADDRESS/PREFIX"* ]]
			[ -z "$output" ]
			# shellcheck disable=SC2086
			run --separate-stderr "$SK" ${cmd%% *} --deny "$bad" ${cmd#* }
			[ "$status" -eq 2 ]
			[[ "$stderr" == *"bad --deny '$bad'"* ]]
		done
	done
}

@test "--help of listen, serve-http and udp-recv lists --allow and --deny" {
	local cmd
	for cmd in listen serve-http udp-recv; do
		run "$SK" "$cmd" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"--allow CIDR"* ]]
		[[ "$output" == *"--deny CIDR"* ]]
	done
}
