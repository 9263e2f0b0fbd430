#!/usr/bin/env bats
# --proxy for connect and forward (issue 15): SOCKS5 through dante (without
# and with username authentication), HTTP CONNECT through tinyproxy (without
# and with Basic authentication), ssh through both with sockctl as its
# ProxyCommand, TLS end to end through a proxy (to openssl s_server, and to
# the python TLS peer where tinyproxy's close needs it), and a
# scripted fake proxy (tests/peers/proxy_peer.py) wherever the exact bytes
# matter: the name sent unresolved, the RFC 1929 sub-negotiation, SOCKS4
# and 4a, chosen error replies, and hostile proxies (garbage, truncated,
# stalled, endless or oversized answers, an address type that does not
# exist, tunnel bytes in the grant's own segment). The harness is in
# proxy_helpers.bash; targets are forward_helpers.bash's python peer.

load helpers
load tls_helpers
load forward_helpers
load proxy_helpers

setup_file() {
	export FPEER="$BATS_FILE_TMPDIR/fpeer.py"
	write_fpeer "$FPEER"
}

MiB2=2097152

# proxy_fails GLOB CONNECT_ARGS...: connect -w 5 CONNECT_ARGS, stdin empty,
# exits 1 within 30 s with nothing on stdout and one line on stderr that
# matches GLOB.
proxy_fails() {
	local glob=$1
	shift
	run --separate-stderr timeout 30 "$SK" connect -w 5 "$@" </dev/null
	echo "connect $* -> $status: $stderr"
	[ "$status" -eq 1 ] || return 1
	[ -z "$output" ] || return 1
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || return 1
	# shellcheck disable=SC2053 # a glob on purpose
	[[ "$stderr" == $glob ]]
}

# conn_to FILE ARGS...: connect ARGS (stdin as the caller gives it), stdout
# to FILE, stderr to $TMP/cli.err, at most 60 s; its exit status in rc and
# in $TMP/cli.rc (for a connect at the end of a pipeline, in a subshell).
conn_to() {
	local out=$1
	shift
	rc=0
	timeout 60 "$SK" connect "$@" >"$out" 2>"$TMP/cli.err" || rc=$?
	echo "$rc" >"$TMP/cli.rc"
	echo "connect $* -> $rc: $(cat "$TMP/cli.err")"
}

# cli_ok: the last conn_to exited 0 with nothing on stderr.
cli_ok() {
	[ "$(cat "$TMP/cli.rc")" = 0 ] && [ ! -s "$TMP/cli.err" ]
}

# both_ways URL: 2 MiB each way at once through URL to a target on
# 127.0.0.1: sha256 at both ends, exit 0, stderr clean.
both_ways() {
	local url=$1
	make_data "$TMP/up" 2
	make_data "$TMP/down" 2
	target tgt both "$TMP/down"
	conn_to "$TMP/got" --proxy "$url" 127.0.0.1 "$tport" <"$TMP/up"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "$MiB2 $(sha "$TMP/up")" ]
	cli_ok
}

# half_close URL: through URL, (1) the target reads to the client's EOF and
# only then sends 1 MiB, which arrives whole; (2) the target half-closes
# first and the client's 1 MiB sent after that still arrives whole.
half_close() {
	local url=$1
	make_data "$TMP/reply" 1
	make_data "$TMP/more" 1
	target tgt late "$TMP/reply"
	printf 'question\n' >"$TMP/q"
	conn_to "$TMP/got" --proxy "$url" 127.0.0.1 "$tport" <"$TMP/q"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/reply")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "9 $(sha "$TMP/q")" ]
	cli_ok
	target tgt first 'bye now'
	conn_to "$TMP/got" --proxy "$url" 127.0.0.1 "$tport" <"$TMP/more"
	[ "$(cat "$TMP/got")" = "bye now" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "1048576 $(sha "$TMP/more")" ]
	cli_ok
}

# rec_text NAME KEY: what proxy_peer NAME recorded for KEY, as text.
rec_text() {
	python3 -c 'import sys; sys.stdout.write(bytes.fromhex(sys.argv[1]).decode("latin-1"))' "$(rec "$1" "$2")"
}

# ================================================================ usage

@test "proxy: a malformed --proxy URL is a usage error (exit 2) that never echoes the password" {
	closed_port
	for url in "ftp://127.0.0.1:$closed" "socks5://" "socks5://127.0.0.1:99999" \
		"socks5://127.0.0.1:12x" "127.0.0.1:$closed" "socks5://[::1:$closed" \
		"http://user:Secr3tPw@127.0.0.1:notaport" "socks5://user:Secr3tPw@" \
		"socks9://user:Secr3tPw@127.0.0.1:$closed" ""; do
		run --separate-stderr timeout 10 "$SK" connect --proxy "$url" 127.0.0.1 "$closed" </dev/null
		echo "'$url' -> $status: $stderr"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ "$stderr" == "sockctl connect: bad --proxy: "* ]]
		no_secrets "$stderr" Secr3tPw
	done
	run --separate-stderr timeout 10 "$SK" forward --proxy "socks9://user:Secr3tPw@127.0.0.1:$closed" 127.0.0.1:0 "127.0.0.1:$closed"
	echo "forward -> $status: $stderr"
	[ "$status" -eq 2 ]
	[[ "$stderr" == "sockctl forward: bad --proxy: "* ]]
	no_secrets "$stderr" Secr3tPw
}

@test "proxy: a password with socks4 or socks4a is a usage error (exit 2), not echoed" {
	closed_port
	for scheme in socks4 socks4a; do
		run --separate-stderr timeout 10 "$SK" connect --proxy "$scheme://bob:Secr3tPw@127.0.0.1:$closed" 127.0.0.1 "$closed" </dev/null
		echo "$scheme -> $status: $stderr"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ "$stderr" == "sockctl connect: bad --proxy: "* ]]
		no_secrets "$stderr" Secr3tPw
		# The user alone is fine (the proxy is just not there).
		proxy_fails "sockctl connect: proxy 127.0.0.1:$closed: connect: Connection refused*" \
			--proxy "$scheme://bob@127.0.0.1:$closed" 127.0.0.1 "$closed"
	done
}

@test "proxy: a proxy that is not there: exit 1, 'proxy ADDR: connect: Connection refused', every scheme" {
	closed_port
	for scheme in socks5 socks5h socks4 socks4a http; do
		proxy_fails "sockctl connect: proxy 127.0.0.1:$closed: connect: Connection refused*" \
			--proxy "$scheme://127.0.0.1:$closed" 127.0.0.1 80
	done
}

@test "proxy: without a port the proxy is on 1080" {
	[ -z "$(ss -Hltn 'sport = :1080')" ] || skip "something listens on port 1080 here"
	proxy_fails "sockctl connect: proxy 127.0.0.1:1080: connect: Connection refused*" \
		--proxy socks5://127.0.0.1 127.0.0.1 80
}

# ================================================================ dante: SOCKS5

@test "dante: 2 MiB each way at once through socks5 and socks5h, sha256 at both ends, stderr clean" {
	start_dante
	both_ways "socks5://127.0.0.1:$dport"
	both_ways "socks5h://127.0.0.1:$dport"
}

@test "dante: half-close through SOCKS5 both ways (a late 1 MiB reply after the client's EOF; the client's 1 MiB after the target's)" {
	start_dante
	half_close "socks5://127.0.0.1:$dport"
}

@test "dante: socks5h sends the name to the proxy (one only it can resolve); socks5 resolves here and fails" {
	need_ns
	start_dante
	target tgt sink
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks5h://127.0.0.1:$dport" "$PROXY_ONLY_NAME" "$tport" <<<hello
	echo "socks5h -> $status: $stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "6 $(printf 'hello\n' | sha256sum | cut -d' ' -f1)" ]
	# socks5: the name is resolved here, where it does not exist.
	run --separate-stderr timeout 30 "$SK" connect -w 5 --proxy "socks5://127.0.0.1:$dport" "$PROXY_ONLY_NAME" 9 <<<hello
	echo "socks5 -> $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sockctl connect: "*"$PROXY_ONLY_NAME"* ]]
}

@test "dante: an IPv6 proxy (socks5://[::1]:PORT) to an IPv6 target, each way" {
	have_ipv6 || skip "no IPv6 loopback here"
	start_dante
	make_data "$TMP/up" 1
	make_data "$TMP/down" 1
	target tgt --host ::1 both "$TMP/down"
	conn_to "$TMP/got" --proxy "socks5://[::1]:$dport" ::1 "$tport" <"$TMP/up"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "1048576 $(sha "$TMP/up")" ]
	cli_ok
}

@test "dante: a closed target port: 'SOCKS5: connection refused by the destination (reply 5)', exit 1" {
	start_dante
	closed_port
	proxy_fails "sockctl connect: proxy 127.0.0.1:$dport: SOCKS5: connection refused by the destination (reply 5)" \
		--proxy "socks5://127.0.0.1:$dport" 127.0.0.1 "$closed"
}

# ================================================================ dante: username/password

@test "dante username auth: credentials in the URL (percent-decoded) and in SOCKCTL_PROXY_AUTH get through; -v shows the SOCKS5 steps, never the user or the password" {
	start_dante auth
	for how in url env; do
		target tgt echo
		if [ $how = url ]; then
			run --separate-stderr timeout 30 "$SK" connect -v \
				--proxy "socks5://$PROXY_USER:$PROXY_PASS_URL@127.0.0.1:$dport" 127.0.0.1 "$tport" <<<"through $how"
		else
			run --separate-stderr timeout 30 env SOCKCTL_PROXY_AUTH="$PROXY_USER:$PROXY_PASS" "$SK" connect -v \
				--proxy "socks5://127.0.0.1:$dport" 127.0.0.1 "$tport" <<<"through $how"
		fi
		echo "$how -> $status: $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = "through $how" ]
		grep -q "^sockctl connect: proxy 127.0.0.1:$dport: SOCKS5: " <<<"$stderr"
		# Every line is sockctl's.
		only_sockctl_lines "$stderr"
		no_secrets "$stderr" "$PROXY_USER" "$PROXY_PASS" "$PROXY_PASS_URL" with@odd
		wait_exit "$tgt_pid" 20
	done
	# dante did check the user (its log names the user of each session).
	[ "$(grep -c "$PROXY_USER" "$TMP/dante.err")" -ge 2 ]
}

@test "dante username auth: a wrong password: 'SOCKS5: username/password rejected (status N)', exit 1, nothing echoed" {
	start_dante auth
	proxy_fails "sockctl connect: proxy 127.0.0.1:$dport: SOCKS5: username/password rejected (status [0-9]*)" \
		--proxy "socks5://$PROXY_USER:Wr0ngPw@127.0.0.1:$dport" 127.0.0.1 9
	no_secrets "$stderr" Wr0ngPw "$PROXY_USER"
	proxy_fails "sockctl connect: proxy 127.0.0.1:$dport: SOCKS5: username/password rejected (status [0-9]*)" \
		--proxy "socks5h://nosuchuser:$PROXY_PASS_URL@127.0.0.1:$dport" 127.0.0.1 9
	no_secrets "$stderr" nosuchuser "$PROXY_PASS" "$PROXY_PASS_URL"
}

@test "dante username auth: no credentials: 'SOCKS5: no acceptable authentication method', exit 1" {
	start_dante auth
	proxy_fails "sockctl connect: proxy 127.0.0.1:$dport: SOCKS5: no acceptable authentication method*" \
		--proxy "socks5://127.0.0.1:$dport" 127.0.0.1 9
}

# ================================================================ tinyproxy: HTTP CONNECT

@test "tinyproxy: 2 MiB each way at once, sha256 at both ends (the client's EOF held until all arrived: tinyproxy closes both ways at the first EOF)" {
	start_tinyproxy
	make_data "$TMP/up" 2
	make_data "$TMP/down" 2
	xtarget tgt "$TMP/down" "$MiB2"
	held_stdin "$TMP/up" "$TMP/got" "$MiB2" |
		conn_to "$TMP/got" --proxy "http://127.0.0.1:$hport" 127.0.0.1 "$tport"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "$MiB2 $(sha "$TMP/up")" ]
	cli_ok
}

@test "tinyproxy: what its half-close allows: the client's 2 MiB and its EOF reach the target; the target's 2 MiB and its close reach the client" {
	start_tinyproxy
	make_data "$TMP/up" 2
	make_data "$TMP/down" 2
	target tgt sink
	run --separate-stderr timeout 60 "$SK" connect --proxy "http://127.0.0.1:$hport" 127.0.0.1 "$tport" <"$TMP/up"
	echo "up -> $status: $stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "$MiB2 $(sha "$TMP/up")" ]
	target tgt source "$TMP/down"
	held_stdin /dev/null "$TMP/got" "$MiB2" |
		conn_to "$TMP/got" --proxy "http://127.0.0.1:$hport" 127.0.0.1 "$tport"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	cli_ok
}

@test "tinyproxy: http sends the name to the proxy (one only it can resolve)" {
	need_ns
	start_tinyproxy
	target tgt sink
	run --separate-stderr timeout 30 "$SK" connect --proxy "http://127.0.0.1:$hport" "$PROXY_ONLY_NAME" "$tport" <<<hello
	echo "-> $status: $stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "6 $(printf 'hello\n' | sha256sum | cut -d' ' -f1)" ]
	grep -q "CONNECT $PROXY_ONLY_NAME:$tport " "$TMP/tiny.out" "$TMP/tiny.err"
}

@test "tinyproxy Basic auth: credentials in the URL and in SOCKCTL_PROXY_AUTH get through; -v shows the HTTP CONNECT steps, never the user or the password" {
	start_tinyproxy auth
	for how in url env; do
		target tgt sink
		if [ $how = url ]; then
			run --separate-stderr timeout 30 "$SK" connect -v \
				--proxy "http://$PROXY_USER:$HTTP_PASS@127.0.0.1:$hport" 127.0.0.1 "$tport" <<<"through $how"
		else
			run --separate-stderr timeout 30 env SOCKCTL_PROXY_AUTH="$PROXY_USER:$HTTP_PASS" "$SK" connect -v \
				--proxy "http://127.0.0.1:$hport" 127.0.0.1 "$tport" <<<"through $how"
		fi
		echo "$how -> $status: $stderr"
		[ "$status" -eq 0 ]
		grep -q "^sockctl connect: proxy 127.0.0.1:$hport: HTTP CONNECT: " <<<"$stderr"
		only_sockctl_lines "$stderr"
		no_secrets "$stderr" "$PROXY_USER" "$HTTP_PASS" "$(printf '%s' "$PROXY_USER:$HTTP_PASS" | base64)"
		wait_exit "$tgt_pid" 20
		[ "$(cat "$TMP/tgt.out")" = "$((${#how} + 9)) $(printf 'through %s\n' "$how" | sha256sum | cut -d' ' -f1)" ]
	done
}

@test "tinyproxy Basic auth: no credentials: 'HTTP CONNECT: 407 Proxy Authentication Required'; wrong ones: tinyproxy's 401; exit 1" {
	start_tinyproxy auth
	proxy_fails "sockctl connect: proxy 127.0.0.1:$hport: HTTP CONNECT: 407 Proxy Authentication Required" \
		--proxy "http://127.0.0.1:$hport" 127.0.0.1 9
	# tinyproxy 1.11 answers a wrong Proxy-Authorization with 401.
	proxy_fails "sockctl connect: proxy 127.0.0.1:$hport: HTTP CONNECT: 40[17] *" \
		--proxy "http://$PROXY_USER:Wr0ngPw@127.0.0.1:$hport" 127.0.0.1 9
	no_secrets "$stderr" Wr0ngPw "$PROXY_USER"
}

@test "tinyproxy: a closed target port: 'HTTP CONNECT: 500 ...', exit 1" {
	start_tinyproxy
	closed_port
	proxy_fails "sockctl connect: proxy 127.0.0.1:$hport: HTTP CONNECT: 500 *" \
		--proxy "http://127.0.0.1:$hport" 127.0.0.1 "$closed"
}

# ================================================================ the exact bytes (proxy_peer.py)

@test "bytes: socks5 sends the address it resolved (ATYP 1, or 4 for ::1), socks5h the name (ATYP 3); no credentials: method 0 only" {
	local p
	p=$(port_hex 4242)
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks5h://127.0.0.1:$pport" localhost 4242 <<<ping
	echo "socks5h -> $status: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	cat "$TMP/px.out"
	[ "$(rec px greeting)" = 050100 ]
	[ "$(rec px request)" = "0501000309$(hx localhost)$p" ]
	no_early px
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242 <<<ping
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	[ "$(rec px greeting)" = 050100 ]
	[ "$(rec px request)" = "050100017f000001$p" ]
	# A name is resolved here (when localhost is 127.0.0.1 first, as usual).
	if [ "$(getent ahosts localhost | awk '{print $1; exit}')" = 127.0.0.1 ]; then
		ppeer px echo
		run --separate-stderr timeout 30 "$SK" connect --proxy "socks5://127.0.0.1:$pport" localhost 4242 <<<ping
		echo "socks5 localhost -> $status: $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = ping ]
		wait_exit "$px_pid"
		cat "$TMP/px.out"
		[ "$(rec px request)" = "050100017f000001$p" ]
		no_early px
	fi
	have_ipv6 || return 0
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks5://127.0.0.1:$pport" ::1 4242 <<<ping
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	[ "$(rec px request)" = "05010004$(printf '0%.0s' {1..30})01$p" ]
}

@test "bytes: the RFC 1929 sub-negotiation is exact, from the URL (percent-decoded) and from SOCKCTL_PROXY_AUTH" {
	local want
	want="01$(printf '%02x' ${#PROXY_USER})$(hx "$PROXY_USER")$(printf '%02x' ${#PROXY_PASS})$(hx "$PROXY_PASS")"
	for how in url env; do
		ppeer px --auth echo
		if [ $how = url ]; then
			run --separate-stderr timeout 30 "$SK" connect \
				--proxy "socks5h://$PROXY_USER:$PROXY_PASS_URL@127.0.0.1:$pport" 127.0.0.1 4242 <<<ping
		else
			run --separate-stderr timeout 30 env SOCKCTL_PROXY_AUTH="$PROXY_USER:$PROXY_PASS" "$SK" connect \
				--proxy "socks5h://127.0.0.1:$pport" 127.0.0.1 4242 <<<ping
		fi
		echo "$how -> $status: $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = ping ]
		wait_exit "$px_pid"
		cat "$TMP/px.out"
		# A greeting that offers method 2 (username/password).
		[[ "$(rec px greeting)" =~ ^05(0[0-9a-f])((..)*)$ ]]
		[ $((16#${BASH_REMATCH[1]} * 2)) -eq ${#BASH_REMATCH[2]} ]
		[[ "${BASH_REMATCH[2]}" =~ ^(..)*02(..)*$ ]]
		[ "$(rec px auth)" = "$want" ]
		[ -z "$stderr" ]
	done
}

@test "bytes: socks4 sends the IPv4 address (a name resolved here) and the user ID; socks4a the name after 0.0.0.x" {
	local p
	p=$(port_hex 4242)
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks4://bob@127.0.0.1:$pport" 127.0.0.1 4242 <<<ping
	echo "socks4 -> $status: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	cat "$TMP/px.out"
	[ "$(rec px request)" = "0401${p}7f000001$(hx bob)00" ]
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks4://127.0.0.1:$pport" 127.0.0.1 4242 <<<ping
	[ "$status" -eq 0 ]
	wait_exit "$px_pid"
	[ "$(rec px request)" = "0401${p}7f00000100" ]
	# socks4 resolves a name here (to IPv4).
	if [ "$(getent ahostsv4 localhost | awk '{print $1; exit}')" = 127.0.0.1 ]; then
		ppeer px echo
		run --separate-stderr timeout 30 "$SK" connect --proxy "socks4://127.0.0.1:$pport" localhost 4242 <<<ping
		echo "socks4 localhost -> $status: $stderr"
		[ "$status" -eq 0 ]
		wait_exit "$px_pid"
		[ "$(rec px request)" = "0401${p}7f00000100" ]
	fi
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "socks4a://bob@127.0.0.1:$pport" localhost 4242 <<<ping
	echo "socks4a -> $status: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	cat "$TMP/px.out"
	[[ "$(rec px request)" =~ ^0401${p}000000([0-9a-f]{2})$(hx bob)00$(hx localhost)00$ ]]
	[ "${BASH_REMATCH[1]}" != 00 ]
}

@test "bytes: HTTP CONNECT names the target in the request line (IPv6 in brackets) and sends Basic credentials exactly" {
	local basic
	basic=$(printf '%s' "$PROXY_USER:$PROXY_PASS" | base64 -w0)
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect --proxy "http://$PROXY_USER:$PROXY_PASS_URL@127.0.0.1:$pport" localhost 4242 <<<ping
	echo "-> $status: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	rec_text px head >"$TMP/head"
	cat "$TMP/head"
	head -n 1 "$TMP/head" | grep -qE $'^CONNECT localhost:4242 HTTP/1\\.[01]\r$'
	grep -qx $'Proxy-Authorization: Basic '"$basic"$'\r' "$TMP/head"
	[ -z "$stderr" ]
	have_ipv6 || return 0
	ppeer px echo
	run --separate-stderr env SOCKCTL_PROXY_AUTH="$PROXY_USER:$PROXY_PASS" timeout 30 "$SK" connect --proxy "http://127.0.0.1:$pport" ::1 4242 <<<ping
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	wait_exit "$px_pid"
	rec_text px head >"$TMP/head"
	cat "$TMP/head"
	head -n 1 "$TMP/head" | grep -qE $'^CONNECT \\[::1\\]:4242 HTTP/1\\.[01]\r$'
	grep -qx $'Proxy-Authorization: Basic '"$basic"$'\r' "$TMP/head"
	no_early px
}

@test "peer relay: socks4, socks4a and HTTP CONNECT carry 2 MiB each way and half-close both ways" {
	for scheme in socks4 socks4a http; do
		ppeer px relay
		both_ways "$scheme://127.0.0.1:$pport"
		wait_exit "$px_pid"
		grep -qx "relayed $MiB2 $MiB2" "$TMP/px.out"
		ppeer px --count 2 relay
		half_close "$scheme://127.0.0.1:$pport"
		wait_exit "$px_pid"
	done
}

@test "peer relay: IPv6 proxies, socks5://[::1]:PORT and http://[::1]:PORT, to an IPv6 target" {
	have_ipv6 || skip "no IPv6 loopback here"
	make_data "$TMP/up" 1
	make_data "$TMP/down" 1
	for scheme in socks5 socks5h http; do
		ppeer px --host ::1 relay
		target tgt --host ::1 both "$TMP/down"
		conn_to "$TMP/got" --proxy "$scheme://[::1]:$pport" ::1 "$tport" <"$TMP/up"
		[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
		wait_exit "$tgt_pid" 20
		[ "$(cat "$TMP/tgt.out")" = "1048576 $(sha "$TMP/up")" ]
		cli_ok
		wait_exit "$px_pid"
	done
}

# ================================================================ tunnel bytes in the grant's segment

@test "HTTP CONNECT: tunnel bytes in the same segment as the 200 head reach stdout" {
	ppeer px with-data 'first tunnel bytes'
	run --separate-stderr timeout 30 "$SK" connect -w 10 --proxy "http://127.0.0.1:$pport" 127.0.0.1 4242 </dev/null
	echo "-> $status: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = 'first tunnel bytes' ]
	[ -z "$stderr" ]
}

@test "SOCKS5 and SOCKS4: tunnel bytes in the same segment as the reply reach stdout (BND.ADDR IPv4, IPv6, a name)" {
	for bnd in ipv4 ipv6 name; do
		ppeer px --bnd $bnd with-data 'first tunnel bytes'
		run --separate-stderr timeout 30 "$SK" connect -w 10 --proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242 </dev/null
		echo "socks5 bnd $bnd -> $status: $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = 'first tunnel bytes' ]
		[ -z "$stderr" ]
	done
	for scheme in socks4 socks4a; do
		ppeer px with-data 'first tunnel bytes'
		run --separate-stderr timeout 30 "$SK" connect -w 10 --proxy "$scheme://127.0.0.1:$pport" 127.0.0.1 4242 </dev/null
		echo "$scheme -> $status: $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = 'first tunnel bytes' ]
	done
}

# ================================================================ error replies

@test "SOCKS5 error replies name the code; 5 is 'connection refused by the destination (reply 5)'" {
	for rep in 1 2 3 4 5 6 7 8 9 255; do
		ppeer px reply $rep
		if [ $rep = 5 ]; then
			proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: connection refused by the destination (reply 5)" \
				--proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242
		else
			proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: *\(reply $rep\)" \
				--proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242
		fi
		wait_exit "$px_pid"
	done
}

@test "SOCKS4 rejections: 'SOCKS4: request rejected or failed (reply 91)', and 92, 93 by number" {
	for scheme in socks4 socks4a; do
		ppeer px reply 91
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS4*: request rejected or failed (reply 91)" \
			--proxy "$scheme://127.0.0.1:$pport" 127.0.0.1 4242
		for cd in 92 93; do
			ppeer px reply $cd
			proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS4*: *\(reply $cd\)" \
				--proxy "$scheme://127.0.0.1:$pport" 127.0.0.1 4242
		done
	done
}

@test "HTTP CONNECT error statuses: 'HTTP CONNECT: 407 Proxy Authentication Required', 403, 502, 503" {
	for code in 407 403 502 503; do
		ppeer px reply $code
		case $code in
		407) want="407 Proxy Authentication Required" ;;
		403) want="403 Forbidden" ;;
		502) want="502 Bad Gateway" ;;
		503) want="503 Service Unavailable" ;;
		esac
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: HTTP CONNECT: $want" \
			--proxy "http://127.0.0.1:$pport" 127.0.0.1 4242
	done
}

@test "SOCKS5 auth: a rejected sub-negotiation names its status; method 0xFF is 'no acceptable authentication method'" {
	ppeer px --auth auth-reject 1
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: username/password rejected (status 1)" \
		--proxy "socks5://u:Secr3tPw@127.0.0.1:$pport" 127.0.0.1 4242
	no_secrets "$stderr" Secr3tPw
	ppeer px --auth auth-reject 42
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: username/password rejected (status 42)" \
		--proxy "socks5h://u:Secr3tPw@127.0.0.1:$pport" 127.0.0.1 4242
	for creds in "" "u:Secr3tPw@"; do
		ppeer px no-method
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: no acceptable authentication method*" \
			--proxy "socks5://${creds}127.0.0.1:$pport" 127.0.0.1 4242
		no_secrets "$stderr" Secr3tPw
	done
	# A proxy that wants username/password from a client without any.
	ppeer px --auth echo
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: no acceptable authentication method*" \
		--proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242
}

# ================================================================ hostile proxies

@test "hostile: garbage instead of an answer: 'SOCKS5: malformed reply', 'HTTP CONNECT: malformed answer', SOCKS4 an error; exit 1" {
	for mode in garbage garbage-late; do
		ppeer px $mode
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: malformed reply*" \
			--proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242
		ppeer px $mode
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: HTTP CONNECT: malformed answer*" \
			--proxy "http://127.0.0.1:$pport" 127.0.0.1 4242
	done
	ppeer px garbage
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS4: *" \
		--proxy "socks4://127.0.0.1:$pport" 127.0.0.1 4242
}

@test "hostile: a proxy that hangs up before answering, or cuts its reply short: 'the proxy closed the connection', exit 1" {
	for scheme in socks5 socks4 http; do # before any answer
		ppeer px hangup
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: *the proxy closed the connection*" \
			--proxy "$scheme://127.0.0.1:$pport" 127.0.0.1 4242
	done
	for k in 0 1 3 4 9; do
		ppeer px truncate $k
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: *the proxy closed the connection*" \
			--proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242
	done
	for k in 5 15; do # a name in BND.ADDR: cut inside the name
		ppeer px --bnd name truncate $k
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: *the proxy closed the connection*" \
			--proxy "socks5h://127.0.0.1:$pport" localhost 4242
	done
	for k in 0 4 7; do
		ppeer px truncate $k
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS4*: *the proxy closed the connection*" \
			--proxy "socks4://127.0.0.1:$pport" 127.0.0.1 4242
	done
	for k in 0 12 37 50; do # inside the status line, the headers, the last CRLF
		ppeer px truncate $k
		proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: HTTP CONNECT: *the proxy closed the connection*" \
			--proxy "http://127.0.0.1:$pport" 127.0.0.1 4242
	done
}

@test "hostile: a stalled answer fails within -w 2 with 'timed out', it does not hang" {
	local t0 ms
	for spec in "socks5 mute" "socks5 0" "socks5 3" "socks4 0" "socks4 5" "http mute" "http 20"; do
		set -- $spec
		if [ "$2" = mute ]; then
			ppeer px mute
		else
			ppeer px stall "$2"
		fi
		t0=$(date +%s%N)
		run --separate-stderr timeout 60 "$SK" connect -w 2 --proxy "$1://127.0.0.1:$pport" 127.0.0.1 4242 </dev/null
		ms=$(elapsed_ms "$t0")
		echo "$spec -> $status after $ms ms: $stderr"
		[ "$status" -eq 1 ]
		[ -z "$output" ]
		[[ "$stderr" == "sockctl connect: proxy 127.0.0.1:$pport: "*"timed out"* ]]
		[ "$ms" -ge 1500 ]
		[ "$ms" -lt 20000 ]
	done
}

@test "hostile: an endless or oversized HTTP head: 'answer head longer than 16384 bytes'; a 15000-byte head still works" {
	ppeer px endless
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: HTTP CONNECT: answer head longer than 16384 bytes*" \
		--proxy "http://127.0.0.1:$pport" 127.0.0.1 4242
	ppeer px oversized 20000
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: HTTP CONNECT: answer head longer than 16384 bytes*" \
		--proxy "http://127.0.0.1:$pport" 127.0.0.1 4242
	ppeer px oversized 15000
	run --separate-stderr timeout 30 "$SK" connect -w 10 --proxy "http://127.0.0.1:$pport" 127.0.0.1 4242 <<<"still fine"
	echo "15000 -> $status: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "still fine" ]
}

@test "hostile: a SOCKS5 reply with address type 7: 'SOCKS5: ... unknown address type', exit 1" {
	ppeer px bad-atyp
	proxy_fails "sockctl connect: proxy 127.0.0.1:$pport: SOCKS5: *unknown address type*" \
		--proxy "socks5://127.0.0.1:$pport" 127.0.0.1 4242
}

# ================================================================ -z, --wait, --tls, ssh

@test "-z through dante and tinyproxy: open ports listed, closed not; exit 0 if any, 1 if none" {
	start_dante
	start_tinyproxy
	closed_port
	for url in "socks5://127.0.0.1:$dport" "http://127.0.0.1:$hport"; do
		bg a "$SK" listen -v 127.0.0.1 0
		pa=$(port_of "$TMP/a.err")
		run --separate-stderr timeout 60 "$SK" connect -z -w 5 --proxy "$url" 127.0.0.1 "$pa,$closed"
		echo "$url -> $status: $output / $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = "127.0.0.1 $pa open" ]
		wait_exit "$a_pid" 20
		run --separate-stderr timeout 60 "$SK" connect -z -w 5 --proxy "$url" 127.0.0.1 "$closed"
		echo "$url, closed only -> $status: $output / $stderr"
		[ "$status" -eq 1 ]
		[ -z "$output" ]
	done
}

@test "--wait through dante: retries while the proxy says refused, gets through once the target is up" {
	start_dante
	port=$(free_port)
	printf 'from the client\n' >"$TMP/in"
	BG_STDIN="$TMP/in" bg cli "$SK" connect --wait 60 --proxy "socks5://127.0.0.1:$dport" 127.0.0.1 "$port"
	# dante has refused at least one try (its log names the port).
	wait_for "$TMP/dante.err" "127\.0\.0\.1\.$port\b" 30
	kill -0 "$cli_pid"
	printf 'late hello\n' >"$TMP/late"
	BG_STDIN="$TMP/late" bg srv "$SK" listen 127.0.0.1 "$port"
	wait_exit "$cli_pid" 60
	[ "$(cat "$TMP/cli.out")" = "late hello" ]
	wait_exit "$srv_pid" 20
	[ "$(cat "$TMP/srv.out")" = "from the client" ]
}

@test "--tls through SOCKS5 and HTTP CONNECT: TLS end to end (openssl s_server, the python TLS peer), SNI and name checks are the target's" {
	tls_built_in || skip "sockctl is built without TLS"
	make_certs "$TMP/certs"
	C="$TMP/certs"
	start_dante
	start_tinyproxy
	# dante: openssl s_server, which refuses any SNI but localhost (the
	# target's name; the proxy is 127.0.0.1); -rev answers lines reversed.
	for url in "socks5h://127.0.0.1:$dport" "socks5://127.0.0.1:$dport"; do
		s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -servername localhost -servername_fatal \
			-cert2 "$C/good.pem" -key2 "$C/good.key" -naccept 1
		conn_to "$TMP/got" --tls --tls-ca "$C/ca.pem" --proxy "$url" localhost "$port" <<<hello
		[ "$(cat "$TMP/got")" = olleh ]
		cli_ok
		wait_exit "$ss_pid" 20 || true
		grep -q 'Hostname in TLS extension: "localhost"' "$TMP/ss.out"
	done
	# tinyproxy closes both ways at the client's first EOF, and s_server
	# sends its close_notify only after the client's: the python TLS peer
	# sends its data and close_notify in one segment, and the client's EOF
	# comes once they are in.
	write_tlspeer "$TMP/tlspeer.py"
	bg tp python3 "$TMP/tlspeer.py" server --cert "$C/good.pem" --key "$C/good.key" notify-now 'through tinyproxy'
	port=$(port_of "$TMP/tp.err")
	{
		wait_until 30 size_is "$TMP/got" 17 >/dev/null 2>&1 || true
	} | conn_to "$TMP/got" --tls --tls-ca "$C/ca.pem" --proxy "http://127.0.0.1:$hport" localhost "$port"
	[ "$(cat "$TMP/got")" = "through tinyproxy" ]
	cli_ok
	wait_for "$TMP/tp.out" '^eof after' 20
	grep -qx 'handshake ok' "$TMP/tp.out"
	grep -qx 'sni localhost' "$TMP/tp.out"
	# The name checked is the target's: a certificate for another name fails.
	for url in "socks5h://127.0.0.1:$dport" "http://127.0.0.1:$hport"; do
		s_server ss -rev -cert "$C/wrongname.pem" -key "$C/wrongname.key" -naccept 1
		proxy_fails "sockctl connect: *certificate verify failed for localhost*" \
			--tls --tls-ca "$C/ca.pem" --proxy "$url" localhost "$port"
	done
}

@test "ssh: 'sockctl connect --proxy URL %h %p' as ProxyCommand through dante and tinyproxy, 1 MiB checked by the far sha256sum" {
	start_sshd
	start_dante
	start_tinyproxy
	make_data "$TMP/blob" 1
	for url in "socks5://127.0.0.1:$dport" "socks5h://127.0.0.1:$dport" "http://127.0.0.1:$hport"; do
		run --separate-stderr timeout 90 ssh "${SSH_OPTS[@]}" -o ProxyCommand="$SK connect --proxy $url %h %p" \
			"$(id -un)@127.0.0.1" sha256sum <"$TMP/blob"
		echo "$url -> $status: $output / $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = "$(sha "$TMP/blob")  -" ]
	done
	grep -q "Accepted publickey" "$TMP/sshd.err"
}

# ================================================================ forward --proxy

@test "forward --proxy socks5 (dante): 2 MiB each way and a late reply after half-close, logged 'HOST:PORT via PROXY'" {
	start_dante
	make_data "$TMP/up" 2
	make_data "$TMP/down" 2
	target tgt both "$TMP/down"
	fwd fwd --proxy "socks5://127.0.0.1:$dport" 127.0.0.1:0 "127.0.0.1:$tport"
	conn_to "$TMP/got" 127.0.0.1 "$fport" <"$TMP/up"
	cli_ok
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "$MiB2 $(sha "$TMP/up")" ]
	wait_until 20 lines_at_least "$TMP/fwd.err" 1 ' -> '
	cat "$TMP/fwd.err"
	log_lines "$TMP/fwd.err" | grep -qE "^sockctl forward: 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$tport via 127\.0\.0\.1:$dport: $MiB2 up, $MiB2 down, [0-9.]+ s, closed$"
	# Half-close: the target answers only after the client's EOF.
	make_data "$TMP/reply" 1
	target tgt late "$TMP/reply"
	kill "$fwd_pid"
	wait_exit "$fwd_pid" 20 || true
	fwd fwd --proxy "socks5://127.0.0.1:$dport" 127.0.0.1:0 "127.0.0.1:$tport"
	printf 'question\n' >"$TMP/q"
	run peer 127.0.0.1 "$fport" send "$TMP/q"
	[ "$status" -eq 0 ]
	[ "$output" = "1048576 $(sha "$TMP/reply")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "9 $(sha "$TMP/q")" ]
	wait_until 20 lines_at_least "$TMP/fwd.err" 1 " via 127\.0\.0\.1:$dport: 9 up, 1048576 down, .*, closed$"
}

@test "forward --proxy http (tinyproxy, Basic auth from SOCKCTL_PROXY_AUTH): 2 MiB each way, logged via the proxy, no credentials anywhere" {
	start_tinyproxy auth
	make_data "$TMP/up" 2
	make_data "$TMP/down" 2
	xtarget tgt "$TMP/down" "$MiB2"
	FWD_ENV="SOCKCTL_PROXY_AUTH=$PROXY_USER:$HTTP_PASS" fwd fwd -v --proxy "http://127.0.0.1:$hport" 127.0.0.1:0 "127.0.0.1:$tport"
	held_stdin "$TMP/up" "$TMP/got" "$MiB2" | conn_to "$TMP/got" 127.0.0.1 "$fport"
	cli_ok
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid" 20
	[ "$(cat "$TMP/tgt.out")" = "$MiB2 $(sha "$TMP/up")" ]
	wait_until 20 lines_at_least "$TMP/fwd.err" 1 ' -> '
	cat "$TMP/fwd.err"
	log_lines "$TMP/fwd.err" | grep -qE "^sockctl forward: 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$tport via 127\.0\.0\.1:$hport: $MiB2 up, $MiB2 down, [0-9.]+ s, "
	no_secrets "$(cat "$TMP/fwd.err" "$TMP/fwd.out")" "$PROXY_USER" "$HTTP_PASS"
}

@test "forward --proxy: a target the proxy cannot reach resets the client and logs 'unreachable' with the proxy's reason" {
	start_dante
	start_tinyproxy
	closed_port
	for url in "socks5://127.0.0.1:$dport" "http://127.0.0.1:$hport"; do
		paddr=${url#*://}
		fwd fwd --proxy "$url" 127.0.0.1:0 "127.0.0.1:$closed"
		run peer 127.0.0.1 "$fport" wait-end $'hello\n'
		echo "$url -> $status: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "reset after 0" ]
		wait_until 20 lines_at_least "$TMP/fwd.err" 1 ' -> '
		cat "$TMP/fwd.err"
		log_lines "$TMP/fwd.err" | grep -E "^sockctl forward: 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$closed via ${paddr//./\\.}: [0-9]+ up, 0 down, [0-9.]+ s, unreachable" >"$TMP/line"
		case $url in
		socks5*) grep -q 'reply 5' "$TMP/line" ;;
		http*) grep -q '500' "$TMP/line" ;;
		esac
		kill "$fwd_pid"
		wait_exit "$fwd_pid" 20 || true
	done
}

@test "forward --proxy: credentials the proxy refuses reset the client; the log names the refusal, never the credentials" {
	start_tinyproxy auth
	target tgt sink
	fwd fwd -v --proxy "http://$PROXY_USER:Wr0ngPw@127.0.0.1:$hport" 127.0.0.1:0 "127.0.0.1:$tport"
	run peer 127.0.0.1 "$fport" wait-end $'hello\n'
	echo "-> $status: $output"
	[ "$status" -eq 0 ]
	[ "$output" = "reset after 0" ]
	wait_until 20 lines_at_least "$TMP/fwd.err" 1 ' -> '
	cat "$TMP/fwd.err"
	log_lines "$TMP/fwd.err" | grep -E " -> 127\.0\.0\.1:$tport via 127\.0\.0\.1:$hport: [0-9]+ up, 0 down, [0-9.]+ s, " | grep -q '40[17]'
	no_secrets "$(cat "$TMP/fwd.err" "$TMP/fwd.out")" "$PROXY_USER" Wr0ngPw
	kill "$fwd_pid"
	wait_exit "$fwd_pid" 20 || true
	# The target never saw a connection.
	kill -0 "$tgt_pid"
}

@test "forward --proxy socks5h to the python peer: the name and the URL's credentials go exactly, client bytes wait for the grant, no credentials in the log" {
	local want
	want="01$(printf '%02x' ${#PROXY_USER})$(hx "$PROXY_USER")$(printf '%02x' ${#PROXY_PASS})$(hx "$PROXY_PASS")"
	target tgt echo
	ppeer px relay
	fwd fwd -v --proxy "socks5h://127.0.0.1:$pport" 127.0.0.1:0 "localhost:$tport"
	run peer 127.0.0.1 "$fport" ask 'sent at once'
	echo "-> $status: $output"
	[ "$status" -eq 0 ]
	[ "$output" = "b'sent at once'" ]
	wait_exit "$px_pid" 20
	cat "$TMP/px.out"
	[ "$(rec px greeting)" = 050100 ]
	[ "$(rec px request)" = "0501000309$(hx localhost)$(port_hex "$tport")" ]
	no_early px
	wait_until 20 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " -> localhost:$tport via 127\.0\.0\.1:$pport: 12 up, 12 down, [0-9.]+ s, closed$"
	kill "$fwd_pid"
	wait_exit "$fwd_pid" 20 || true
	# With username/password from the URL.
	target tgt echo
	ppeer px --auth relay
	fwd fwd -v --proxy "socks5h://$PROXY_USER:$PROXY_PASS_URL@127.0.0.1:$pport" 127.0.0.1:0 "localhost:$tport"
	run peer 127.0.0.1 "$fport" ask 'sent at once'
	[ "$status" -eq 0 ]
	[ "$output" = "b'sent at once'" ]
	wait_exit "$px_pid" 20
	cat "$TMP/px.out"
	[ "$(rec px auth)" = "$want" ]
	[ "$(rec px request)" = "0501000309$(hx localhost)$(port_hex "$tport")" ]
	no_early px
	wait_until 20 lines_at_least "$TMP/fwd.err" 1 ' -> '
	cat "$TMP/fwd.err"
	no_secrets "$(cat "$TMP/fwd.err" "$TMP/fwd.out")" "$PROXY_USER" "$PROXY_PASS" "$PROXY_PASS_URL" with@odd
}

# ================================================================ review fixes

@test "SOCKCTL_PROXY_AUTH is used, then wiped: -e's command does not inherit it" {
	ppeer px echo
	run --separate-stderr timeout 30 env SOCKCTL_PROXY_AUTH="$PROXY_USER:s3cretPW" \
		"$SK" connect -w 10 --proxy "socks5h://127.0.0.1:$pport" t.example 80 \
		-e 'env >&2; echo env-listed >&2' </dev/null
	echo "-> $status: $stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *env-listed* ]]
	[[ "$stderr" != *SOCKCTL_PROXY_AUTH* ]]
	no_secrets "$stderr" "$PROXY_USER" s3cretPW
	# The credentials were offered: method 2 next to 0.
	[ "$(rec px greeting)" = 05020002 ]
}

@test "a target the proxy's protocol cannot carry is refused before any connection (connect, forward)" {
	ppeer px echo
	run --separate-stderr timeout 30 "$SK" connect -w 5 --proxy "socks4://127.0.0.1:$pport" ::1 22 </dev/null
	echo "connect -> $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"SOCKS4: no IPv6 targets"* ]]
	[[ "$stderr" != *"SOCKS4: SOCKS4"* ]]
	run --separate-stderr timeout 30 "$SK" forward --proxy "socks4a://127.0.0.1:$pport" 127.0.0.1:0 '[::1]:22' </dev/null
	echo "forward -> $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"SOCKS4a: no IPv6 targets"* ]]
	# Neither reached the proxy.
	[ -z "$(rec px greeting)" ] && [ -z "$(rec px request)" ]
}
