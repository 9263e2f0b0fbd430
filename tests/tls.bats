#!/usr/bin/env bats
# TLS for connect and listen against real peers: openssl s_server and
# s_client, socat OPENSSL, a python3 ssl peer that reports what it saw
# (tls_helpers.bash), and sockctl itself. The certificates (a CA, good,
# expired, wrong-name, untrusted, self-signed and client ones) are made in
# setup_file with the openssl CLI.

load helpers
load tls_helpers

setup_file() {
	export C="$BATS_FILE_TMPDIR/certs" TLSPEER="$BATS_FILE_TMPDIR/tlspeer.py" TLS_OFF=
	if ! tls_built_in; then
		TLS_OFF=1
		return 0
	fi
	make_certs "$C"
	write_tlspeer "$TLSPEER"
}

# helpers.bash's setup, then: in a build without TLS, only the tests about
# that build run.
eval "helpers_$(declare -f setup)"
setup() {
	helpers_setup
	if [ -n "$TLS_OFF" ] && [[ "$BATS_TEST_DESCRIPTION" != *"without TLS"* ]]; then
		skip "sockctl is built without TLS"
	fi
}

have_ipv6() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# sink_server CERT [OPTIONS...]: a tlspeer sink server presenting CERT
# (OPTIONS are tlspeer's); sets peer_pid and port.
sink_server() {
	local cert=$1
	shift
	bg peer python3 "$TLSPEER" server --cert "$C/$cert.pem" --key "$C/$cert.key" "$@" sink
	port=$(port_of "$TMP/peer.err")
}

# tls_listen NAME ARGS...: sockctl listen -v ARGS 127.0.0.1 0 in the
# background; sets port and fpr, the fingerprint it printed.
tls_listen() {
	local name=$1
	shift
	bg "$name" "$SK" listen -v "$@" 127.0.0.1 0
	port=$(port_of "$TMP/$name.err")
	wait_for "$TMP/$name.err" '^sockctl listen: tls certificate sha256:'
	fpr=$(sed -n 's/^sockctl listen: tls certificate \(sha256:[0-9a-f]*\)$/\1/p' "$TMP/$name.err" | head -n 1)
}

# line_of FILE PATTERN: the first line of FILE matching PATTERN (ERE).
line_of() {
	grep -E -m 1 -- "$2" "$1"
}

# payload_line TEXT: what a tlspeer sink prints for TEXT (plus a newline)
# closed with close_notify.
payload_line() {
	printf '%d %s close_notify' "$((${#1} + 1))" "$(printf '%s\n' "$1" | sha256sum | cut -d' ' -f1)"
}

# raw_send PORT PYBYTES: a plain TCP client sends the python bytes literal,
# half-closes, reads until the server closes (bounded). The server may
# drop it at any point, even before it has sent everything.
raw_send() {
	timeout 15 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    s.sendall(eval(sys.argv[2]))
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
except OSError:
    pass
' "$@"
}

no_descendants() {
	[ -z "$(descendants_of "$1")" ]
}

# verify_fails CERT HOST NAME REASON [CONNECT_ARGS...]: connect --tls
# --tls-ca CA (CONNECT_ARGS instead, if given) to a server presenting CERT
# fails verification: exit 1, one line 'certificate verify failed for
# NAME: REASON', no byte delivered.
verify_fails() {
	local cert=$1 host=$2 name=$3 reason=$4
	shift 4
	[ $# -gt 0 ] || set -- --tls --tls-ca "$C/ca.pem"
	sink_server "$cert"
	run --separate-stderr timeout 20 "$SK" connect "$@" "$host" "$port" <<<"secret payload"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "sockctl connect: TLS: certificate verify failed for $name: $reason" ]
	wait_exit "$peer_pid" || true
	cat "$TMP/peer.out"
	no_payload "$TMP/peer.out"
}

# ---------------------------------------------------------------- version, usage

@test "tls: --version names the OpenSSL in use on its second line" {
	run --separate-stderr "$SK" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "sockctl "* ]]
	[[ "${lines[1]}" == "tls: OpenSSL 3."* ]]
	[ "${lines[1]}" = "tls: $(openssl version | cut -d' ' -f1-2)" ]
}

@test "tls: unreadable, missing or mismatched certificate and key are usage errors (exit 2) naming the problem" {
	closed_port
	usage() { # usage WORD CMD...: exit 2, WORD in the message
		local word=$1
		shift
		run --separate-stderr timeout 10 "$@" </dev/null
		echo "$* -> $status: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == "sockctl "*"$word"* ]]
		[ -z "$output" ]
	}
	usage missing.pem "$SK" listen --tls-cert "$C/missing.pem" 127.0.0.1 0
	usage missing.key "$SK" listen --tls-cert "$C/good.pem" --tls-key "$C/missing.key" 127.0.0.1 0
	usage "" "$SK" listen --tls-cert "$C/good.pem" --tls-key "$C/stray.key" 127.0.0.1 0
	usage "" "$SK" listen --tls-cert "$C/good.pem" 127.0.0.1 0 # no key in the file
	usage "" "$SK" listen --tls-cert "$C/ca.cnf" --tls-key "$C/good.key" 127.0.0.1 0
	usage missing.pem "$SK" listen --tls --tls-client-ca "$C/missing.pem" 127.0.0.1 0
	usage missing.pem "$SK" connect --tls --tls-cert "$C/missing.pem" 127.0.0.1 "$closed"
	usage "" "$SK" connect --tls --tls-cert "$C/client.pem" --tls-key "$C/stray.key" 127.0.0.1 "$closed"
	usage missing.pem "$SK" connect --tls --tls-ca "$C/missing.pem" 127.0.0.1 "$closed"
}

@test "tls: a malformed --tls-pin is a usage error (exit 2)" {
	closed_port
	local hex64 pair31
	hex64=$(printf 'ab%.0s' {1..32})
	pair31=$(printf 'AB:%.0s' {1..31})
	for pin in "sha256:${hex64:0:63}" "sha256:${hex64}00" "sha256:$(printf 'g%.0s' {1..64})" \
		"md5:$hex64" "$hex64" "${pair31}" "${pair31}ABC" "${pair31}A" "sha256:" ""; do
		run --separate-stderr timeout 10 "$SK" connect --tls-pin "$pin" 127.0.0.1 "$closed" </dev/null
		echo "pin '$pin' -> $status: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == "sockctl connect: "* ]]
	done
}

@test "tls: --tls-min takes 1.2 or 1.3 only (exit 2 otherwise), for connect and listen" {
	closed_port
	for v in 1.1 1.0 1.4 tls1.3 13 ""; do
		run --separate-stderr timeout 10 "$SK" connect --tls --tls-min "$v" 127.0.0.1 "$closed" </dev/null
		echo "connect --tls-min '$v' -> $status: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == "sockctl connect: "*"$v"* ]]
		run --separate-stderr timeout 10 "$SK" listen --tls --tls-min "$v" 127.0.0.1 0 </dev/null
		echo "listen --tls-min '$v' -> $status: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == "sockctl listen: "*"$v"* ]]
	done
}

@test "tls: --sni, --no-sni and --alpn without --tls are usage errors that say they need --tls" {
	closed_port
	for opt in "--sni localhost" --no-sni "--alpn h2"; do
		run --separate-stderr timeout 10 "$SK" connect $opt 127.0.0.1 "$closed" </dev/null
		echo "$opt -> $status: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == "sockctl connect: "*"--tls"* ]]
	done
}

@test "tls: a build without TLS says so in --version and refuses TLS options (exit 2)" {
	tls_built_in && skip "sockctl is built with TLS"
	run --separate-stderr "$SK" --version
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "tls: not built in" ]
	closed_port
	for args in "connect --tls 127.0.0.1 $closed" "connect --tls-ca /dev/null 127.0.0.1 $closed" \
		"listen --tls 127.0.0.1 0" "listen --tls-cert /dev/null 127.0.0.1 0"; do
		run --separate-stderr timeout 10 "$SK" $args </dev/null
		echo "$args -> $status: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"TLS is not built in"* ]]
	done
}

@test "tls: make TLS=0 builds without TLS, says so, and that build refuses TLS options (exit 2)" {
	local src="$BATS_TEST_DIRNAME/.."
	mkdir -p "$TMP/src"
	cp -r "$src/Makefile" "$src/cmd" "$src/lib" "$TMP/src/"
	run timeout 300 make -C "$TMP/src" -j2 TLS=0 CFLAGS=-O0 sockctl
	[ "$status" -eq 0 ]
	[[ "$output" == *"building without TLS"* ]]
	! grep -q -- '-lssl' <<<"$output"
	run "$TMP/src/sockctl" --version
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "tls: not built in" ]
	closed_port
	run --separate-stderr "$TMP/src/sockctl" connect --tls 127.0.0.1 "$closed"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"TLS is not built in"* ]]
	run --separate-stderr "$TMP/src/sockctl" serve-http --tls -p 0 "$TMP"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"TLS is not built in"* ]]
	# The rest works as ever.
	bg srv "$TMP/src/sockctl" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run "$TMP/src/sockctl" connect 127.0.0.1 "$port" <<<"plain still works"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = "plain still works" ]
}

# ---------------------------------------------------------------- client: trust

@test "tls: connect --tls-ca verifies the chain and the name (localhost, 127.0.0.1), stderr clean" {
	for host in localhost 127.0.0.1; do
		sink_server good
		run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" "$host" "$port" <<<"to $host"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		[ -z "$stderr" ]
		wait_exit "$peer_pid"
		grep -qx "$(payload_line "to $host")" "$TMP/peer.out"
		grep -qx fin "$TMP/peer.out"
	done
}

@test "tls: --tls and --ssl verify against the system store by default: our test CA is not in it" {
	for opt in --tls --ssl; do
		verify_fails good localhost localhost "unable to get local issuer certificate" $opt
	done
}

@test "tls: any --tls-* option implies --tls (connect --tls-ca, listen --tls-cert)" {
	tls_listen srv --tls-cert "$C/good-both.pem"
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" localhost "$port" <<<implied
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = implied ]
	[ "$fpr" = "$(fp "$C/good.pem")" ]
}

@test "tls: an expired certificate fails: no data, exit 1, 'certificate has expired'" {
	verify_fails expired localhost localhost "certificate has expired"
}

@test "tls: a certificate for another name fails: 'hostname mismatch' / 'IP address mismatch'" {
	verify_fails wrongname localhost localhost "hostname mismatch"
	verify_fails wrongname 127.0.0.1 127.0.0.1 "IP address mismatch"
}

@test "tls: a certificate from an untrusted CA fails: 'unable to get local issuer certificate'" {
	verify_fails untrusted localhost localhost "unable to get local issuer certificate"
}

@test "tls: a self-signed certificate fails: 'self-signed certificate'" {
	verify_fails self localhost localhost "self-signed certificate"
	verify_fails self localhost localhost "self-signed certificate" --tls-ca "$C/ca.pem" --no-sni
}

@test "tls: --sni NAME is the name checked; --no-sni still checks HOST" {
	# The wrong-name certificate is good for wrong.example.
	sink_server wrongname
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" --sni wrong.example 127.0.0.1 "$port" <<<sni
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	wait_exit "$peer_pid"
	grep -qx "sni wrong.example" "$TMP/peer.out"
	grep -qx "$(payload_line sni)" "$TMP/peer.out"
	verify_fails wrongname 127.0.0.1 localhost "hostname mismatch" --tls-ca "$C/ca.pem" --sni localhost
	verify_fails wrongname localhost localhost "hostname mismatch" --tls-ca "$C/ca.pem" --no-sni
}

@test "tls: SNI: HOST when it is a name, none for an IP literal, NAME with --sni, none with --no-sni" {
	check_sni() { # check_sni WANT HOST CONNECT_ARGS...
		local want=$1 host=$2
		shift 2
		sink_server good
		run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" "$@" "$host" "$port" <<<x
		[ "$status" -eq 0 ]
		wait_exit "$peer_pid"
		grep -qx "sni $want" "$TMP/peer.out" || { cat "$TMP/peer.out"; return 1; }
	}
	check_sni localhost localhost
	check_sni - 127.0.0.1
	check_sni localhost 127.0.0.1 --sni localhost
	check_sni - localhost --no-sni
	# And a server that refuses a wrong name (fatal unrecognized_name).
	s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -servername localhost -servername_fatal \
		-cert2 "$C/good.pem" -key2 "$C/good.key" -naccept 1
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-pin "$(fp "$C/good.pem")" --sni other.example 127.0.0.1 "$port" <<<hello
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -servername localhost -servername_fatal \
		-cert2 "$C/good.pem" -key2 "$C/good.key" -naccept 1
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = olleh ]
	wait_exit "$ss_pid" || true
	grep -q 'Hostname in TLS extension: "localhost"' "$TMP/ss.out"
}

@test "tls: --tls-pin in both forms, either case, accepts exactly that certificate without CA or name" {
	local lower colon
	lower=$(fp "$C/wrongname.pem")
	colon=$(fp_colon "$C/wrongname.pem")
	for pin in "$lower" "$colon" "sha256:$(tr 'a-f' 'A-F' <<<"${lower#sha256:}")" "$(tr 'A-F' 'a-f' <<<"$colon")"; do
		sink_server wrongname
		run --separate-stderr timeout 20 "$SK" connect --tls-pin "$pin" 127.0.0.1 "$port" <<<pinned
		echo "pin $pin -> $status: $stderr"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		wait_exit "$peer_pid"
		grep -qx "$(payload_line pinned)" "$TMP/peer.out"
	done
	# A self-signed certificate too.
	sink_server self
	run --separate-stderr timeout 20 "$SK" connect --tls-pin "$(fp "$C/self.pem")" localhost "$port" <<<pinned
	[ "$status" -eq 0 ]
	wait_exit "$peer_pid"
	grep -qx "$(payload_line pinned)" "$TMP/peer.out"
}

@test "tls: a wrong --tls-pin fails like a verification: no data, exit 1" {
	sink_server self
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-pin "$(fp "$C/good.pem")" 127.0.0.1 "$port" <<<"secret payload"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "sockctl connect: TLS: certificate verify failed for 127.0.0.1: "* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	wait_exit "$peer_pid" || true
	no_payload "$TMP/peer.out"
}

@test "tls: --tls-insecure connects to anything and says so on stderr" {
	for cert in self expired wrongname untrusted; do
		sink_server "$cert"
		run --separate-stderr timeout 20 "$SK" connect --tls-insecure 127.0.0.1 "$port" <<<insecure
		echo "$cert -> $status: $stderr"
		[ "$status" -eq 0 ]
		[[ "$stderr" == "sockctl connect: "* ]]
		grep -qiE 'insecure|verif' <<<"$stderr"
		wait_exit "$peer_pid"
		grep -qx "$(payload_line insecure)" "$TMP/peer.out"
	done
}

# ---------------------------------------------------------------- client: options

@test "tls: --alpn offers the protocols; -v names the one chosen (s_server and the python peer)" {
	s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -alpn h2,http/1.1 -naccept 1
	run --separate-stderr timeout 20 "$SK" connect -v --tls --tls-ca "$C/ca.pem" --alpn foo,http/1.1 localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = olleh ]
	printf '%s\n' "$stderr" >"$TMP/cli.err"
	[[ "$(line_of "$TMP/cli.err" 'TLSv1\.[23]')" == *"ALPN http/1.1"* ]]
	sink_server good --alpn x,h2
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" --alpn h2 localhost "$port" <<<x
	[ "$status" -eq 0 ]
	wait_exit "$peer_pid"
	grep -qx "alpn h2" "$TMP/peer.out"
	# Without --alpn: none offered, none named.
	sink_server good --alpn h2
	run --separate-stderr timeout 20 "$SK" connect -v --tls --tls-ca "$C/ca.pem" localhost "$port" <<<x
	[ "$status" -eq 0 ]
	wait_exit "$peer_pid"
	grep -qx "alpn -" "$TMP/peer.out"
	[[ "$stderr" != *ALPN* ]]
}

@test "tls: -v prints one line after the handshake: protocol, cipher, peer subject, fingerprint" {
	sink_server good
	run --separate-stderr timeout 20 "$SK" connect -v --tls --tls-ca "$C/ca.pem" localhost "$port" <<<x
	[ "$status" -eq 0 ]
	printf '%s\n' "$stderr" >"$TMP/cli.err"
	cat "$TMP/cli.err"
	[ "$(grep -c 'TLSv1\.3' "$TMP/cli.err")" -eq 1 ]
	line=$(line_of "$TMP/cli.err" 'TLSv1\.3')
	[[ "$line" == "sockctl connect: "* ]]
	[[ "$line" =~ TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256) ]]
	[[ "$line" == *CN*localhost* ]]
	[[ "$line" == *"$(fp "$C/good.pem")"* ]]
	# TLS 1.2 with a server that stops there.
	sink_server good --max 1.2
	run --separate-stderr timeout 20 "$SK" connect -v --tls --tls-ca "$C/ca.pem" localhost "$port" <<<x
	[ "$status" -eq 0 ]
	printf '%s\n' "$stderr" >"$TMP/cli.err"
	line=$(line_of "$TMP/cli.err" 'TLSv1\.2')
	[[ "$line" == *ECDHE-ECDSA-* ]]
	wait_exit "$peer_pid"
	grep -qx "version TLSv1.2" "$TMP/peer.out"
}

@test "tls: client certificate (--tls-cert/--tls-key, or both in one file) for s_server -Verify" {
	ss_verify() {
		s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -Verify 1 -CAfile "$C/ca.pem" \
			-verify_return_error -naccept 1
	}
	ss_verify
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" --tls-cert "$C/client.pem" \
		--tls-key "$C/client.key" localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = olleh ]
	ss_verify
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" --tls-cert "$C/client-both.pem" \
		localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = olleh ]
	# No client certificate: refused.
	ss_verify
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <<<hello
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "sockctl connect: "* ]]
	# The python peer sees who it is.
	sink_server good --ca "$C/ca.pem"
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" --tls-cert "$C/client.pem" \
		--tls-key "$C/client.key" localhost "$port" <<<x
	[ "$status" -eq 0 ]
	wait_exit "$peer_pid"
	grep -qx "client sockctl-client" "$TMP/peer.out"
}

@test "tls: --tls-min 1.3 fails against a TLS 1.2 server; the default takes 1.2; nothing below 1.2 is offered" {
	s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -tls1_2 -naccept 1
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" --tls-min 1.3 localhost "$port" <<<hello
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "sockctl connect: "*TLS* ]]
	s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -tls1_2 -naccept 1
	run --separate-stderr timeout 20 "$SK" connect -v --tls --tls-ca "$C/ca.pem" localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = olleh ]
	[[ "$stderr" == *TLSv1.2* ]]
	s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" -naccept 1
	run --separate-stderr timeout 20 "$SK" connect -v --tls --tls-ca "$C/ca.pem" --tls-min 1.3 localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = olleh ]
	[[ "$stderr" == *TLSv1.3* ]]
	# A server that speaks only TLS 1.1 (allowed at security level 0) or 1.0.
	for v in -tls1_1 -tls1; do
		s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" $v -cipher 'DEFAULT:@SECLEVEL=0' -naccept 1
		run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <<<hello
		[ "$status" -eq 1 ]
		[ -z "$output" ]
	done
}

@test "tls: the handshake times out after -w SECS against a server that never speaks" {
	bg peer python3 "$PEER" server hold
	port=$(port_of "$TMP/peer.err")
	start=$SECONDS
	run --separate-stderr timeout 20 "$SK" connect --tls -w 1 127.0.0.1 "$port" </dev/null
	[ "$status" -eq 1 ]
	[ $((SECONDS - start)) -le 5 ]
	[[ "$stderr" == "sockctl connect: "* ]]
	grep -qi 'time' <<<"$stderr"
}

# ---------------------------------------------------------------- relay over TLS

@test "tls: 10 MiB each way at once, connect --tls to listen --tls, sha-checked, exit 0" {
	make_data "$TMP/a" 10
	make_data "$TMP/b" 10
	BG_STDIN="$TMP/a" tls_listen srv --tls-cert "$C/good.pem" --tls-key "$C/good.key"
	[ "$fpr" = "$(fp "$C/good.pem")" ]
	st=0
	timeout 60 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <"$TMP/b" >"$TMP/got" \
		2>"$TMP/cli.err" || st=$?
	cat "$TMP/cli.err"
	[ "$st" -eq 0 ]
	[ ! -s "$TMP/cli.err" ]
	wait_exit "$srv_pid" 30
	[ "$(sha "$TMP/a")" = "$(sha "$TMP/got")" ]
	[ "$(sha "$TMP/b")" = "$(sha "$TMP/srv.out")" ]
}

@test "tls: 10 MiB to socat OPENSSL-LISTEN, then its 10 MiB reply after our close_notify, through pipes" {
	make_data "$TMP/up" 10
	make_data "$TMP/reply" 10
	bg peer socat -d -d -t 30 "OPENSSL-LISTEN:0,bind=127.0.0.1,cert=$C/good.pem,key=$C/good.key,verify=0" \
		SYSTEM:"cat >$TMP/recv; cat $TMP/reply"
	port=$(port_of "$TMP/peer.err")
	st=0
	# stdin and stdout are pipes here (the files elsewhere).
	cat "$TMP/up" | timeout 60 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" 2>"$TMP/cli.err" |
		cat >"$TMP/got" || st=$?
	cat "$TMP/cli.err"
	[ "$st" -eq 0 ]
	[ ! -s "$TMP/cli.err" ]
	wait_exit "$peer_pid" 30
	[ "$(sha "$TMP/up")" = "$(sha "$TMP/recv")" ]
	[ "$(sha "$TMP/reply")" = "$(sha "$TMP/got")" ]
}

@test "tls: 10 MiB each way at once, socat OPENSSL to listen --tls" {
	make_data "$TMP/a" 10
	make_data "$TMP/b" 10
	BG_STDIN="$TMP/a" tls_listen srv --tls-cert "$C/good-both.pem"
	run timeout 60 socat -t 30 "OPEN:$TMP/b!!CREATE:$TMP/got" \
		"OPENSSL:127.0.0.1:$port,cafile=$C/ca.pem,commonname=localhost"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid" 30
	[ "$(sha "$TMP/a")" = "$(sha "$TMP/got")" ]
	[ "$(sha "$TMP/b")" = "$(sha "$TMP/srv.out")" ]
}

@test "tls: 10 MiB from listen --tls to openssl s_client, and from s_client to listen --tls -e" {
	make_data "$TMP/a" 10
	BG_STDIN="$TMP/a" tls_listen srv --tls-cert "$C/good-both.pem"
	run timeout 60 bash -c "openssl s_client -quiet -connect 127.0.0.1:$port -CAfile '$C/ca.pem' \
		-verify_return_error -verify_hostname localhost </dev/null >'$TMP/got' 2>'$TMP/sc.err'"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid" 30
	[ "$(sha "$TMP/a")" = "$(sha "$TMP/got")" ]
	# The other way: the command writes what it reads, so nothing goes back
	# before s_client has sent it all.
	tls_listen srv --tls-cert "$C/good-both.pem" -e "cat >$TMP/recv"
	run timeout 60 bash -c "openssl s_client -nocommands -connect 127.0.0.1:$port -CAfile '$C/ca.pem' \
		-verify_return_error -verify_hostname localhost <'$TMP/a' >/dev/null 2>'$TMP/sc.err'"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid" 30 || true
	[ "$(sha "$TMP/a")" = "$(sha "$TMP/recv")" ]
}

@test "tls: half-close: stdin EOF sends close_notify and a TCP FIN; the peer's reply still arrives" {
	make_data "$TMP/in" 1
	make_data "$TMP/reply" 1
	bg peer python3 "$TLSPEER" server --cert "$C/good.pem" --key "$C/good.key" sink "$TMP/reply"
	port=$(port_of "$TMP/peer.err")
	st=0
	timeout 30 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <"$TMP/in" >"$TMP/got" \
		2>"$TMP/cli.err" || st=$?
	cat "$TMP/cli.err"
	[ "$st" -eq 0 ]
	[ ! -s "$TMP/cli.err" ]
	wait_exit "$peer_pid"
	cat "$TMP/peer.out"
	grep -qx "1048576 $(sha "$TMP/in") close_notify" "$TMP/peer.out"
	grep -qx fin "$TMP/peer.out"
	[ "$(sha "$TMP/reply")" = "$(sha "$TMP/got")" ]
}

@test "tls: half-close between two sockctl: listen -e reads to EOF, then its reply arrives" {
	make_data "$TMP/in" 1
	tls_listen srv --tls-cert "$C/good-both.pem" -e 'wc -c; echo after-eof'
	run --separate-stderr timeout 30 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "$(tr -d ' ' <<<"$output")" = $'1048576\nafter-eof' ]
	wait_exit "$srv_pid"
}

@test "tls: listen half-closes at its stdin EOF too; the client's data arrives after" {
	make_data "$TMP/ours" 1
	make_data "$TMP/theirs" 1
	BG_STDIN="$TMP/ours" tls_listen srv --tls-cert "$C/good-both.pem"
	# The client reads to our close_notify, then sends its data.
	run timeout 30 python3 "$TLSPEER" client --ca "$C/ca.pem" 127.0.0.1 "$port" sink "$TMP/theirs"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1048576 $(sha "$TMP/ours") close_notify"* ]]
	[[ "$output" == *fin* ]]
	wait_exit "$srv_pid"
	[ "$(sha "$TMP/theirs")" = "$(sha "$TMP/srv.out")" ]
}

@test "tls: truncation: a server that closes TCP without close_notify: all data written, then exit 1" {
	make_data "$TMP/data" 1
	bg peer python3 "$TLSPEER" server --cert "$C/good.pem" --key "$C/good.key" truncate "$TMP/data"
	port=$(port_of "$TMP/peer.err")
	st=0
	timeout 30 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" </dev/null >"$TMP/got" \
		2>"$TMP/cli.err" || st=$?
	cat "$TMP/cli.err"
	[ "$st" -eq 1 ]
	[ "$(sha "$TMP/data")" = "$(sha "$TMP/got")" ]
	grep -q '^sockctl connect: .*TLS: connection closed without close_notify (the data may be truncated)' "$TMP/cli.err"
	[ "$(wc -l <"$TMP/cli.err")" -eq 1 ]
}

@test "tls: truncation while our stdin is still open: all data written, exit 1 at once" {
	make_data "$TMP/data" 1
	bg peer python3 "$TLSPEER" server --cert "$C/good.pem" --key "$C/good.key" truncate-now "$TMP/data"
	port=$(port_of "$TMP/peer.err")
	mkfifo "$TMP/fifo"
	exec {w}<>"$TMP/fifo"
	st=0
	timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <"$TMP/fifo" >"$TMP/got" \
		2>"$TMP/cli.err" || st=$?
	exec {w}>&-
	cat "$TMP/cli.err"
	[ "$st" -eq 1 ]
	[ "$(sha "$TMP/data")" = "$(sha "$TMP/got")" ]
	grep -q '^sockctl connect: .*TLS: connection closed without close_notify (the data may be truncated)' "$TMP/cli.err"
}

@test "tls: -w on a TLS relay: exit 1 after SECS with no data either way" {
	sink_server good
	mkfifo "$TMP/fifo"
	exec {w}<>"$TMP/fifo"
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" -w 1 localhost "$port" <"$TMP/fifo"
	exec {w}>&-
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sockctl connect: 127.0.0.1:$port: no data for 1 s, closing"* ]]
}

@test "tls: truncation at listen: a client that closes TCP without close_notify: all data written, exit 1" {
	make_data "$TMP/data" 1
	tls_listen srv --tls-cert "$C/good-both.pem"
	run timeout 30 python3 "$TLSPEER" client --ca "$C/ca.pem" 127.0.0.1 "$port" truncate "$TMP/data"
	[ "$status" -eq 0 ]
	st=0
	wait_exit "$srv_pid" || st=$?
	[ "$st" -eq 1 ]
	[ "$(sha "$TMP/data")" = "$(sha "$TMP/srv.out")" ]
	grep -q '^sockctl listen: .*TLS: connection closed without close_notify (the data may be truncated)' "$TMP/srv.err"
}

@test "tls: -x dumps the plaintext; --crlf and --progress work over TLS" {
	printf 'world!' >"$TMP/reply"
	BG_STDIN="$TMP/reply" tls_listen srv --tls-cert "$C/good-both.pem"
	run --separate-stderr timeout 20 "$SK" connect -x --tls --tls-ca "$C/ca.pem" localhost "$port" < <(printf hello)
	[ "$status" -eq 0 ]
	[ "$output" = "world!" ]
	[[ "$stderr" == *"> 00000000  68 65 6c 6c 6f"*"|hello|"* ]]
	[[ "$stderr" == *"< 00000000  77 6f 72 6c 64 21"*"|world!|"* ]]
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = hello ]

	printf 'a\nb\r\n' >"$TMP/in"
	tls_listen srv --tls-cert "$C/good-both.pem"
	run timeout 20 "$SK" connect --crlf --tls --tls-ca "$C/ca.pem" localhost "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(od -An -c "$TMP/srv.out" | tr -s ' ')" = " a \r \n b \r \n" ]

	make_data "$TMP/in" 2
	tls_listen srv --tls-cert "$C/good-both.pem"
	run --separate-stderr timeout 20 "$SK" connect --progress --tls --tls-ca "$C/ca.pem" localhost "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl connect: sent 2.0 MiB, received 0 B"*"/s"* ]]
	wait_exit "$srv_pid"
}

# ---------------------------------------------------------------- -e

@test "tls: listen --tls -e: the command reads and writes plaintext" {
	tls_listen srv --tls-cert "$C/good-both.pem" -e 'tr a-z A-Z'
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" localhost "$port" <<<hello
	[ "$status" -eq 0 ]
	[ "$output" = HELLO ]
	wait_exit "$srv_pid"
}

@test "tls: connect --tls -e: the command reads and writes plaintext" {
	make_data "$TMP/in" 1
	BG_STDIN="$TMP/in" tls_listen srv --tls-cert "$C/good-both.pem"
	run --separate-stderr timeout 20 "$SK" connect --tls --tls-ca "$C/ca.pem" -e cat localhost "$port" </dev/null
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(sha "$TMP/in")" = "$(sha "$TMP/srv.out")" ]
}

@test "tls: listen -k -e with concurrent TLS clients: each echoed whole, no child left behind" {
	tls_listen srv -k --tls -e cat
	# A client that never speaks holds up no one (its handshake is its own).
	bg silent python3 "$PEER" client 127.0.0.1 "$port" hold
	wait_for "$TMP/srv.err" 'connection from'
	# Three clients held open at once, each echoed: served concurrently.
	for i in 1 2 3; do
		bg "h$i" python3 "$TLSPEER" client 127.0.0.1 "$port" echo-hold
	done
	for i in 1 2 3; do
		wait_for "$TMP/h$i.out" '^echoed$'
	done
	# Three sockctl clients at once, 1 MiB each.
	for i in 1 2 3; do
		make_data "$TMP/in$i" 1
		BG_STDIN="$TMP/in$i" bg "c$i" "$SK" connect --tls --tls-pin "$fpr" 127.0.0.1 "$port"
	done
	for i in 1 2 3; do
		pid="c${i}_pid"
		wait_exit "${!pid}" 30
		[ "$(sha "$TMP/in$i")" = "$(sha "$TMP/c$i.out")" ]
		[ ! -s "$TMP/c$i.err" ]
	done
	for i in 1 2 3; do
		pid="h${i}_pid"
		kill "${!pid}"
	done
	kill "$silent_pid"
	wait_until 10 no_descendants "$srv_pid"
	kill -TERM "$srv_pid"
	wait_exit "$srv_pid"
}

@test "tls: listen -k -e --max-conns 2: a third TLS client waits until one ends" {
	tls_listen srv -k --tls --max-conns 2 -e cat
	bg h1 python3 "$TLSPEER" client 127.0.0.1 "$port" echo-hold
	bg h2 python3 "$TLSPEER" client 127.0.0.1 "$port" echo-hold
	wait_for "$TMP/h1.out" '^echoed$'
	wait_for "$TMP/h2.out" '^echoed$'
	bg h3 python3 "$TLSPEER" client 127.0.0.1 "$port" echo-hold
	# Not served while two are (a bounded check that it does not happen).
	run ! wait_until 1 grep -q '^echoed$' "$TMP/h3.out"
	kill "$h1_pid"
	wait_for "$TMP/h3.out" '^echoed$'
	kill "$h2_pid" "$h3_pid"
	wait_until 10 no_descendants "$srv_pid"
}

# ---------------------------------------------------------------- server side

@test "tls: listen --tls without a certificate makes an ECDSA P-256 one for localhost, 127.0.0.1, ::1 and the host name" {
	bg srv "$SK" listen -v -k --tls 0
	port=$(port_of "$TMP/srv.err")
	wait_for "$TMP/srv.err" 'tls certificate'
	# The fingerprint line comes right after the listening line.
	[[ "$(sed -n 1p "$TMP/srv.err")" == "sockctl listen: listening on "*":$port" ]]
	[[ "$(sed -n 2p "$TMP/srv.err")" =~ ^sockctl\ listen:\ tls\ certificate\ sha256:[0-9a-f]{64}$ ]]
	fpr=$(sed -n '2s/.* //p' "$TMP/srv.err")
	timeout 20 openssl s_client -connect 127.0.0.1:"$port" </dev/null 2>/dev/null | openssl x509 >"$TMP/eph.pem"
	[ "$(fp "$TMP/eph.pem")" = "$fpr" ]
	text=$(openssl x509 -in "$TMP/eph.pem" -noout -text)
	[[ "$text" == *prime256v1* ]]
	[[ "$text" == *"DNS:localhost"* ]]
	[[ "$text" == *"IP Address:127.0.0.1"* ]]
	[[ "$text" == *"IP Address:0:0:0:0:0:0:0:1"* ]]
	[[ "$text" == *"DNS:$(hostname)"* ]]
	# Pinned, or trusted as its own CA (then its names are checked).
	run timeout 20 "$SK" connect --tls-pin "$fpr" 127.0.0.1 "$port" <<<pinned
	[ "$status" -eq 0 ]
	run timeout 20 "$SK" connect --tls-ca "$TMP/eph.pem" localhost "$port" <<<by-name
	[ "$status" -eq 0 ]
	run timeout 20 "$SK" connect --tls-ca "$TMP/eph.pem" 127.0.0.1 "$port" <<<by-ipv4
	[ "$status" -eq 0 ]
	if have_ipv6; then
		run timeout 20 "$SK" connect --tls-ca "$TMP/eph.pem" ::1 "$port" <<<by-ipv6
		[ "$status" -eq 0 ]
	fi
	run --separate-stderr timeout 20 "$SK" connect --tls 127.0.0.1 "$port" <<<unverified
	[ "$status" -eq 1 ]
	[ "$stderr" = "sockctl connect: TLS: certificate verify failed for 127.0.0.1: self-signed certificate" ]
	wait_until 5 grep -qx by-name "$TMP/srv.out"
	grep -qx pinned "$TMP/srv.out"
	grep -qx by-ipv4 "$TMP/srv.out"
	run ! grep -q unverified "$TMP/srv.out"
	# Each start makes a fresh one.
	tls_listen srv2 --tls
	[ "$fpr" != "$(sed -n '2s/.* //p' "$TMP/srv.err")" ]
}

@test "tls: listen --tls without -v prints neither the listening line nor the fingerprint" {
	bg srv "$SK" listen --tls 127.0.0.1 0
	port=$(port_of_pid "$srv_pid")
	run --separate-stderr timeout 20 "$SK" connect --tls-insecure 127.0.0.1 "$port" <<<quiet
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = quiet ]
	[ ! -s "$TMP/srv.err" ]
}

@test "tls: a client's renegotiation is refused (s_client R over TLS 1.2); listen -k goes on serving" {
	tls_listen srv -k --tls-cert "$C/good-both.pem" -e cat
	mkfifo "$TMP/sc.in"
	BG_STDIN="$TMP/sc.in" bg sc openssl s_client -tls1_2 -CAfile "$C/ca.pem" -connect 127.0.0.1:"$port"
	exec {w}>"$TMP/sc.in"
	wait_for "$TMP/sc.out" 'Verify return code: 0'
	printf 'R\n' >&"$w"
	st=0
	wait_exit "$sc_pid" 10 || st=$?
	exec {w}>&-
	cat "$TMP/sc.err"
	[ "$st" -ne 0 ]
	[ "$st" -ne 124 ] # refused, not hanging
	grep -q RENEGOTIATING "$TMP/sc.err"
	grep -qi 'no renegotiation' "$TMP/sc.err"
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" localhost "$port" <<<next
	[ "$status" -eq 0 ]
	[ "$output" = next ]
}

@test "tls: listen --tls-client-ca requires a client certificate from that CA; -v names the client" {
	tls_listen srv -k --tls-cert "$C/good-both.pem" --tls-client-ca "$C/ca.pem"
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" localhost "$port" <<<no-cert
	[ "$status" -eq 1 ]
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" --tls-cert "$C/other-client.pem" \
		--tls-key "$C/other-client.key" localhost "$port" <<<other-ca
	[ "$status" -eq 1 ]
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" --tls-cert "$C/client-both.pem" \
		localhost "$port" <<<good-client
	[ "$status" -eq 0 ]
	wait_until 5 grep -qx good-client "$TMP/srv.out"
	run ! grep -qE 'no-cert|other-ca' "$TMP/srv.out"
	grep -q 'sockctl-client' "$TMP/srv.err"
	# Without -k, a refused client ends listen with 1.
	tls_listen srv --tls-cert "$C/good-both.pem" --tls-client-ca "$C/ca.pem"
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" localhost "$port" <<<no-cert
	[ "$status" -eq 1 ]
	st=0
	wait_exit "$srv_pid" || st=$?
	[ "$st" -eq 1 ]
	[ ! -s "$TMP/srv.out" ]
}

@test "tls: listen --alpn: the client's choice is agreed (s_client -alpn) and named by -v" {
	tls_listen srv -k --tls-cert "$C/good-both.pem" --alpn h2,http/1.1
	run timeout 20 openssl s_client -alpn foo,http/1.1 -connect 127.0.0.1:"$port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"ALPN protocol: http/1.1"* ]]
	wait_until 5 grep -q 'ALPN http/1.1' "$TMP/srv.err"
}

@test "tls: listen -k --tls survives garbage, plain-text and half-open clients and serves the next one" {
	tls_listen srv -k --tls-cert "$C/good-both.pem"
	raw_send "$port" 'bytes(range(256)) * 8'
	raw_send "$port" 'b"GET / HTTP/1.0\r\n\r\n"'
	raw_send "$port" 'b"\x16\x03\x01\x00\x10" + b"\x01" * 16'
	raw_send "$port" 'b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"' # a ClientHello cut short
	raw_send "$port" 'b""'
	kill -0 "$srv_pid"
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" localhost "$port" <<<still-serving
	[ "$status" -eq 0 ]
	wait_until 5 grep -qx still-serving "$TMP/srv.out"
	[ "$(cat "$TMP/srv.out")" = still-serving ]
	# -v logged each failed client, naming it, one line each.
	cat "$TMP/srv.err"
	[ "$(grep -vE 'listening on|tls certificate|connection from|TLS: TLSv1' "$TMP/srv.err" |
		grep -cE '^sockctl listen: .*127\.0\.0\.1:[0-9]+')" -ge 5 ]
	# Without -k, a failed handshake ends listen with 1.
	tls_listen srv --tls-cert "$C/good-both.pem"
	raw_send "$port" 'b"GET / HTTP/1.0\r\n\r\n"'
	st=0
	wait_exit "$srv_pid" || st=$?
	[ "$st" -eq 1 ]
}

@test "tls: listen -k --tls -w 2: a client that never speaks is dropped, the next one is served" {
	tls_listen srv -k -w 2 --tls-cert "$C/good-both.pem"
	bg silent python3 "$PEER" client 127.0.0.1 "$port" hold
	wait_for "$TMP/srv.err" 'connection from'
	start=$SECONDS
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" localhost "$port" <<<next
	[ "$status" -eq 0 ]
	[ $((SECONDS - start)) -le 8 ]
	wait_until 5 grep -qx next "$TMP/srv.out"
}

@test "tls: protocol scan: s_client -tls1 and -tls1_1 fail against listen --tls, -tls1_2 and -tls1_3 succeed" {
	# The scanner really speaks TLS 1.1 and 1.0 (a server that allows them).
	for v in -tls1_1 -tls1; do
		s_server ss -rev -cert "$C/good.pem" -key "$C/good.key" $v -cipher 'DEFAULT:@SECLEVEL=0' -naccept 1
		run timeout 20 openssl s_client $v -cipher 'DEFAULT:@SECLEVEL=0' -brief -connect 127.0.0.1:"$port" <<<x
		[ "$status" -eq 0 ]
	done
	tls_listen srv -k --tls-cert "$C/good-both.pem" -e cat
	for v in -tls1 -tls1_1; do
		run timeout 20 openssl s_client $v -cipher 'DEFAULT:@SECLEVEL=0' -brief -connect 127.0.0.1:"$port" <<<x
		echo "$v -> $status"
		[ "$status" -ne 0 ]
		[[ "$output" != *"Protocol version"* ]]
	done
	for v in 1_2 1_3; do
		run timeout 20 openssl s_client -tls$v -brief -CAfile "$C/ca.pem" -verify_return_error \
			-connect 127.0.0.1:"$port" <<<x
		echo "-tls$v -> $status"
		[ "$status" -eq 0 ]
		[[ "$output" == *"Protocol version: TLSv${v/_/.}"* ]]
	done
	kill -0 "$srv_pid"
}

@test "tls: listen --tls-min 1.3 refuses a TLS 1.2 client" {
	tls_listen srv -k --tls-cert "$C/good-both.pem" --tls-min 1.3 -e cat
	run timeout 20 openssl s_client -tls1_2 -brief -CAfile "$C/ca.pem" -connect 127.0.0.1:"$port" <<<x
	[ "$status" -ne 0 ]
	[[ "$output" != *"Protocol version"* ]]
	run timeout 20 openssl s_client -tls1_3 -brief -CAfile "$C/ca.pem" -connect 127.0.0.1:"$port" <<<x
	[ "$status" -eq 0 ]
	[[ "$output" == *"Protocol version: TLSv1.3"* ]]
}

@test "tls: connect -z --tls: open only when the handshake and the verification succeed" {
	tls_listen srv -k --tls
	run --separate-stderr timeout 20 "$SK" connect -z --tls --tls-pin "$fpr" 127.0.0.1 "$port"
	[ "$status" -eq 0 ]
	[ "$output" = "127.0.0.1 $port open" ]
	# Self-signed, not pinned: the handshake works, the verification does not.
	run --separate-stderr timeout 20 "$SK" connect -z -v --tls 127.0.0.1 "$port"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	grep -qi 'verif' <<<"$stderr"
	# A TCP port that speaks no TLS.
	bg plain python3 "$PEER" server hello
	plain=$(port_of "$TMP/plain.err")
	run --separate-stderr timeout 20 "$SK" connect -z --tls-insecure 127.0.0.1 "$plain"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	# The server still serves.
	run timeout 20 "$SK" connect --tls-pin "$fpr" 127.0.0.1 "$port" <<<after-scan
	[ "$status" -eq 0 ]
	wait_until 5 grep -qx after-scan "$TMP/srv.out"
}

@test "tls: connect --tls to ::1 verifies the IPv6 address in the certificate" {
	have_ipv6 || skip "no IPv6 loopback here"
	bg srv "$SK" listen -v --tls-cert "$C/good-both.pem" ::1 0
	port=$(port_of "$TMP/srv.err")
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" ::1 "$port" <<<six
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = six ]
}

@test "tls: connect --tls -U needs a name to verify (--sni), a pin or --tls-insecure" {
	run --separate-stderr "$SK" connect --tls -U "$TMP/nothing"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"-U has no host name to verify"* ]]
	bg srv "$SK" listen -v --tls --tls-cert "$C/good.pem" --tls-key "$C/good.key" -U "$TMP/s"
	wait_for "$TMP/srv.err" 'tls certificate'
	run --separate-stderr timeout 20 "$SK" connect --tls-ca "$C/ca.pem" --sni localhost -U "$TMP/s" <<<"over unix"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(cat "$TMP/srv.out")" = "over unix" ]
}
