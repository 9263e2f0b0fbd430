#!/usr/bin/env bats
# serve-http over TLS: every HTTP feature through curl, wget, openssl
# s_client and python3's ssl, the handshake under --timeout, clients that
# speak plain HTTP or garbage, protocol versions, ALPN and mutual TLS.

load helpers

RAW="$BATS_TEST_DIRNAME/peers/http_raw.py"

# A CA, a server certificate from it for localhost and 127.0.0.1, a client
# CA with a client certificate, and a client certificate from the wrong CA.
setup_file() {
	export CERTS="$BATS_FILE_TMPDIR/certs" TLS_OFF=
	if ! "$SK" --version 2>/dev/null | grep -q '^tls: OpenSSL'; then
		TLS_OFF=1
		return 0
	fi
	mkdir -p "$CERTS"
	(
		cd "$CERTS" || exit 1
		key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
		ca() {
			key "$1.key"
			openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" \
				-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign
		}
		# leaf NAME CA EXT: a certificate for NAME signed by CA, with extensions EXT.
		leaf() {
			key "$1.key"
			openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
			printf '%b' "$3" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
				-out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
		}
		ca ca
		ca clientca
		leaf srv ca 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
		leaf client clientca 'extendedKeyUsage=clientAuth\n'
		leaf stranger ca 'extendedKeyUsage=clientAuth\n'
	) || return 1
	# tls_raw.py PORT WAIT: the request on stdin, sent at once over TLS
	# (verified against the CA); prints the answer, then "<EOF>" after the
	# server's close_notify or "<RAGGED>" after a TCP close without one;
	# nothing more if the connection stays open for WAIT seconds.
	cat >"$CERTS/tls_raw.py" <<'PY'
import socket, ssl, sys
port, wait = int(sys.argv[1]), float(sys.argv[2])
data = sys.stdin.buffer.read()
ctx = ssl.create_default_context(cafile=sys.argv[3])
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False)
s.sendall(data)
s.settimeout(wait)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            out += b"<EOF>"
            break
        out += b
except socket.timeout:
    pass
except ssl.SSLEOFError:
    out += b"<RAGGED>"
sys.stdout.buffer.write(out)
PY
}

# helpers.bash's setup; in a build without TLS (make TLS=0) nothing here runs
# (tests/tls.bats checks what such a build says).
eval "helpers_$(declare -f setup)"
setup() {
	helpers_setup
	[ -z "$TLS_OFF" ] || skip "sockctl is built without TLS"
}

setup_www() {
	mkdir -p "$TMP/www/sub" "$TMP/www/empty"
	printf 'hello world\n' >"$TMP/www/a.txt"
	printf '<h1>sub index</h1>\n' >"$TMP/www/sub/index.html"
	printf 'body{}' >"$TMP/www/s.css"
	head -c 300000 /dev/urandom >"$TMP/www/big.bin"
	make_data "$TMP/www/2m.bin" 2
}

# serve [OPTIONS]: serves $TMP/www over TLS with the CA's certificate on
# 127.0.0.1; sets $port and $url.
serve() {
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 --tls-cert "$CERTS/srv.pem" --tls-key "$CERTS/srv.key" \
		"$@" "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	url="https://127.0.0.1:$port"
}

# c ARGS: curl trusting the test CA.
c() {
	curl -sS --max-time 10 --cacert "$CERTS/ca.pem" "$@"
}

tls_raw() {
	python3 "$CERTS/tls_raw.py" "$port" "${1:-3}" "$CERTS/ca.pem"
}

# fp_of_pem FILE: the sha256:HEX fingerprint of the certificate in FILE.
fp_of_pem() {
	printf 'sha256:%s\n' "$(openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')"
}

# holds_a_port PID: PID has a listening TCP socket.
holds_a_port() {
	ss -Hltnp | grep -q "pid=$1,"
}

# served_fp: the fingerprint of the certificate the server on $port presents.
served_fp() {
	openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null >"$TMP/sc.out"
	fp_of_pem "$TMP/sc.out"
}

@test "https: GET and HEAD through curl and wget; the fingerprint line and the https URL" {
	setup_www
	serve
	[ "$(c "$url/a.txt")" = "hello world" ]
	run c -i "$url/a.txt"
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	for h in "Content-Length: 12" "Accept-Ranges: bytes" 'ETag: "' "Content-Type: text/plain; charset=utf-8"; do
		[[ "$output" == *"$h"* ]] || { echo "missing $h"; false; }
	done
	run c -I "$url/a.txt"
	[[ "$output" == "HTTP/1.1 200 OK"*"Content-Length: 12"* ]]
	run c -X HEAD --max-time 2 "$url/a.txt" -o "$TMP/head.body"
	[ ! -s "$TMP/head.body" ]
	c -o "$TMP/got" "$url/2m.bin"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/www/2m.bin")" ]
	wget -q --ca-certificate="$CERTS/ca.pem" -O "$TMP/wget.out" "$url/2m.bin"
	[ "$(sha "$TMP/wget.out")" = "$(sha "$TMP/www/2m.bin")" ]
	[ "$(wget -q --ca-certificate="$CERTS/ca.pem" -O - "$url/a.txt")" = "hello world" ]
	# listening on, then the certificate, then the URL
	sed -n 1,3p "$TMP/srv.err" >"$TMP/head3"
	grep -qx "sockctl serve-http: listening on 127.0.0.1:$port" <(sed -n 1p "$TMP/head3")
	grep -qx "sockctl serve-http: tls certificate $(fp_of_pem "$CERTS/srv.pem")" <(sed -n 2p "$TMP/head3")
	grep -qx "sockctl serve-http: serving $TMP/www at https://127.0.0.1:$port/" <(sed -n 3p "$TMP/head3")
	wait_for "$TMP/srv.err" '"GET /2m.bin HTTP/1.1" 200 2097152$'
	grep -qE '^127\.0\.0\.1 - - \[.*\] "GET /a\.txt HTTP/1\.1" 200 12$' "$TMP/srv.err"
}

@test "https: --tls alone serves a made-up certificate whose fingerprint is printed; -q prints nothing" {
	setup_www
	bg srv "$SK" serve-http -p 0 --tls "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	fp=$(sed -n 's/^sockctl serve-http: tls certificate \(sha256:[0-9a-f]\{64\}\)$/\1/p' "$TMP/srv.err")
	[ -n "$fp" ]
	grep -q "at https://localhost:$port/" "$TMP/srv.err"
	[ "$(served_fp)" = "$fp" ]
	[ "$(curl -sS -k --max-time 10 "https://127.0.0.1:$port/a.txt")" = "hello world" ]
	run curl -sS --max-time 10 "https://127.0.0.1:$port/a.txt"
	[ "$status" -ne 0 ] # not trusted without -k
	kill "$srv_pid"
	bg srv "$SK" serve-http -q -p 0 --tls "$TMP/www"
	wait_until 5 holds_a_port "$srv_pid"
	[ ! -s "$TMP/srv.err" ]
}

@test "https: keep-alive reuses the connection, also after bodies over several turns" {
	setup_www
	serve
	run c -v "$url/a.txt" "$url/s.css"
	[[ "$output" == *"Re-using existing connection"* ]] || [[ "$output" == *"Reusing existing connection"* ]]
	c -w '%{num_connects}\n' -o "$TMP/got1" "$url/big.bin" -o "$TMP/got2" "$url/a.txt" \
		-o "$TMP/got3" "$url/2m.bin" -o "$TMP/got4" "$url/s.css" >"$TMP/conns"
	cmp "$TMP/got1" "$TMP/www/big.bin"
	cmp "$TMP/got2" "$TMP/www/a.txt"
	cmp "$TMP/got3" "$TMP/www/2m.bin"
	cmp "$TMP/got4" "$TMP/www/s.css"
	[ "$(tr '\n' ' ' <"$TMP/conns")" = "1 0 0 0 " ]
	# HTTP/1.0 without keep-alive: the answer, then close_notify (not a bare FIN)
	out=$(printf 'GET /a.txt HTTP/1.0\r\n\r\n' | tls_raw)
	[[ "$out" == *"Connection: close"*"hello world"$'\n'"<EOF>" ]]
}

@test "https: pipelined requests are answered in order, behind a large body too" {
	setup_www
	serve
	out=$(printf 'GET /s.css HTTP/1.1\r\nHost: x\r\n\r\nHEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | tls_raw)
	[ "$(grep -o 'HTTP/1.1 200 OK' <<<"$out" | wc -l)" -eq 3 ]
	[[ "$out" == *"body{}"*"hello world"$'\n'"<EOF>" ]]
	printf 'GET /2m.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		tls_raw >"$TMP/three"
	python3 - "$TMP/three" "$TMP/www/2m.bin" "$TMP/www/big.bin" "$TMP/www/a.txt" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for path in sys.argv[2:]:
    head, _, data = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head[:40]
    want = open(path, "rb").read()
    assert b"\r\nContent-Length: %d\r\n" % len(want) in head + b"\r\n", head
    assert data[:len(want)] == want, path
    data = data[len(want):]
assert data == b"<EOF>", data[:40]
PY
}

@test "https: a slow reader gets every byte (writes that wait for the socket)" {
	setup_www
	serve
	run timeout 60 python3 - "$port" "$CERTS/ca.pem" <<'PY'
import hashlib, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
raw.connect(("127.0.0.1", int(sys.argv[1])))
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
s.sendall(b"GET /2m.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data, n = b"", 0
while True:
    b = s.recv(8192)
    if not b:
        break
    data += b
    n += 1
    if n % 16 == 0:
        time.sleep(0.01)
head, _, rest = data.partition(b"\r\n\r\n")
body, tail = rest[:2097152], rest[2097152:]
print(hashlib.sha256(body).hexdigest(), tail.endswith(b"\r\n\r\nhello world\n"))
PY
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha "$TMP/www/2m.bin") True" ]
}

@test "https: several clients downloading at once all get their bytes" {
	setup_www
	serve
	pids=()
	for i in 1 2 3 4 5 6; do
		c -o "$TMP/par$i" "$url/2m.bin" &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for i in 1 2 3 4 5 6; do
		cmp "$TMP/par$i" "$TMP/www/2m.bin"
	done
}

@test "https: Range gives 206 with the right bytes; 416; If-None-Match gives 304" {
	setup_www
	serve
	[ "$(c -r 0-4 "$url/a.txt")" = hello ]
	[ "$(c -r -6 "$url/a.txt")" = world ]
	run c -i -r 6-100 "$url/a.txt"
	[[ "$output" == "HTTP/1.1 206 Partial Content"*"Content-Range: bytes 6-11/12"* ]]
	[ "$(c -o /dev/null -w '%{http_code}' -r 50-60 "$url/a.txt")" = 416 ]
	cmp <(c -r 1000-1500999 "$url/2m.bin") <(tail -c +1001 "$TMP/www/2m.bin" | head -c 1500000)
	etag=$(c -I "$url/a.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ -n "$etag" ]
	run c -i -H "If-None-Match: $etag" "$url/a.txt"
	[[ "$output" == "HTTP/1.1 304 Not Modified"* ]]
	[[ "$output" != *"hello world"* ]]
	[ "$(c -o /dev/null -w '%{http_code}' -H 'If-None-Match: "x"' "$url/a.txt")" = 200 ]
}

@test "https: index.html, the redirect of a directory, listings and --no-listing" {
	setup_www
	serve
	[ "$(c "$url/sub/")" = "<h1>sub index</h1>" ]
	run c -i "$url/sub"
	[[ "$output" == "HTTP/1.1 301 Moved Permanently"*"Location: /sub/"* ]]
	[ "$(c -L "$url/sub")" = "<h1>sub index</h1>" ]
	page=$(c "$url/")
	[[ "$page" == *'<a href="a.txt">a.txt</a>'* && "$page" == *'<a href="empty/">'* ]]
	kill "$srv_pid"
	serve --no-listing
	[ "$(c -o /dev/null -w '%{http_code}' "$url/empty/")" = 403 ]
}

@test "https: --workers 2 share the port and serve the same certificate" {
	setup_www
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 --tls --workers 2 "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	fp=$(sed -n 's/^sockctl serve-http: tls certificate //p' "$TMP/srv.err")
	holders=$("$SK" whois-port --json "$port" | python3 -c '
import json, sys
print(" ".join(sorted(str(r["pid"]) for r in json.load(sys.stdin))))')
	[ "$(wc -w <<<"$holders")" -eq 2 ]
	for i in $(seq 8); do
		[ "$(served_fp)" = "$fp" ]
	done
	for i in $(seq 20); do
		[ "$(curl -sS -k --max-time 10 "https://127.0.0.1:$port/a.txt")" = "hello world" ]
	done
	curl -sS -k --max-time 10 -o "$TMP/got" "https://127.0.0.1:$port/2m.bin"
	cmp "$TMP/got" "$TMP/www/2m.bin"
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 20 || st=$?
	[ "$st" -eq 0 ]
}

@test "https: --timeout closes a client that never finishes the handshake, and others are served" {
	setup_www
	serve --timeout 1
	run timeout 30 python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
silent = socket.create_connection(("127.0.0.1", port))
half = socket.create_connection(("127.0.0.1", port))
half.sendall(bytes.fromhex("160301020001"))  # the start of a ClientHello, no more
start = time.time()
out = []
for s in (silent, half):
    s.settimeout(10)
    try:
        b = s.recv(100)
    except ConnectionResetError:
        b = b""
    out.append("%r %s" % (b, time.time() - start < 5))
print(" ".join(out))
PY
	[ "$status" -eq 0 ]
	[ "$output" = "b'' True b'' True" ]
	[ "$(c "$url/a.txt")" = "hello world" ]
	# An idle keep-alive TLS connection is closed after --timeout too.
	out=$(printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' | tls_raw 5)
	[[ "$out" == *"hello world"$'\n'"<"* ]]
	# the clients cut off during the handshake are not in the access log
	[ -z "$(sed 1,3d "$TMP/srv.err" | grep -v '"GET /a.txt HTTP/1.1" 200 12$')" ]
}

@test "https: plain HTTP on the TLS port gets a plain 400 that says to use https" {
	setup_www
	serve
	run curl -sS -i --max-time 10 "http://127.0.0.1:$port/a.txt"
	[ "$status" -eq 0 ]
	[[ "$output" == "HTTP/1.1 400 Bad Request"* ]]
	[[ "$output" == *$'Connection: close\r'* ]]
	[[ "$output" == *"https://"* ]]
	out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | python3 "$RAW" "$port" --wait 5)
	[[ "$out" == "HTTP/1.1 400 Bad Request"*"https://"* ]]
	wait_for "$TMP/srv.err" '"GET /a.txt HTTP/1.1" 400 '
	[ "$(c "$url/a.txt")" = "hello world" ]
}

@test "https: garbage and abandoned handshakes do not stop or stall the server" {
	setup_www
	serve
	# Garbage of every kind at once; some of it waits for the rest of a
	# record, which the server must not wait for with the others.
	run timeout 30 python3 - "$port" "$url/a.txt" "$CERTS/ca.pem" <<'PY'
import os, socket, subprocess, sys
port = int(sys.argv[1])
held = []
for first in (b"\x16\x03\x01", b"\x00", b"\xff", b"Z", b"\x16\x03\x03\x40\x00"):
    for n in (0, 10, 5000):
        s = socket.create_connection(("127.0.0.1", port))
        try:
            s.sendall(first + os.urandom(n))
        except (ConnectionResetError, BrokenPipeError):
            pass
        held.append(s)
# a handshake abandoned half-way, with a reset
s = socket.create_connection(("127.0.0.1", port))
s.sendall(bytes.fromhex("16030100"))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
s.close()
out = subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", sys.argv[3], sys.argv[2]],
                     capture_output=True).stdout
for s in held:
    s.close()
print(out.decode().strip())
PY
	[ "$status" -eq 0 ]
	[ "$output" = "hello world" ]
	kill -0 "$srv_pid"
	[ "$(c "$url/a.txt")" = "hello world" ]
	c -o "$TMP/got" "$url/2m.bin"
	cmp "$TMP/got" "$TMP/www/2m.bin"
}

@test "https: nothing below TLS 1.2; 1.2 and 1.3 work" {
	setup_www
	serve
	for v in -tls1 -tls1_1; do
		run openssl s_client -connect "127.0.0.1:$port" "$v" -cipher 'DEFAULT@SECLEVEL=0' </dev/null
		[ "$status" -ne 0 ]
		# the client did offer it (the refusal is the server's)
		[[ "$output" != *"no protocols available"* ]]
		[[ "$output" == *"alert protocol version"* ]]
	done
	for v in 1_2 1_3; do
		run openssl s_client -connect "127.0.0.1:$port" "-tls$v" -CAfile "$CERTS/ca.pem" </dev/null
		[ "$status" -eq 0 ]
		[[ "$output" == *"Protocol  : TLSv${v/_/.}"* || "$output" == *"New, TLSv${v/_/.},"* ]]
		[[ "$output" == *"Verify return code: 0 (ok)"* ]]
	done
	kill "$srv_pid"
	serve --tls-min 1.3
	run openssl s_client -connect "127.0.0.1:$port" -tls1_2 </dev/null
	[ "$status" -ne 0 ]
	[ "$(c --tlsv1.3 "$url/a.txt")" = "hello world" ]
}

@test "https: ALPN http/1.1 is negotiated, also when --alpn names others" {
	setup_www
	serve
	run c -v --http2 "$url/a.txt"
	[[ "$output" == *"ALPN: server accepted http/1.1"* || "$output" == *"ALPN, server accepted to use http/1.1"* ]]
	[[ "$output" == *"hello world"* ]]
	run openssl s_client -connect "127.0.0.1:$port" -alpn h2,http/1.1 </dev/null
	[[ "$output" == *"ALPN protocol: http/1.1"* ]]
	kill "$srv_pid"
	serve --alpn foo
	run openssl s_client -connect "127.0.0.1:$port" -alpn http/1.1 </dev/null
	[[ "$output" == *"ALPN protocol: http/1.1"* ]]
	run openssl s_client -connect "127.0.0.1:$port" -alpn foo </dev/null
	[[ "$output" == *"ALPN protocol: foo"* ]]
}

@test "https: mutual TLS with --tls-client-ca" {
	setup_www
	serve --tls-client-ca "$CERTS/clientca.pem"
	[ "$(c --cert "$CERTS/client.pem" --key "$CERTS/client.key" "$url/a.txt")" = "hello world" ]
	run c "$url/a.txt"
	[ "$status" -ne 0 ]
	run c --cert "$CERTS/stranger.pem" --key "$CERTS/stranger.key" "$url/a.txt"
	[ "$status" -ne 0 ]
	c --cert "$CERTS/client.pem" --key "$CERTS/client.key" -o "$TMP/got" "$url/2m.bin"
	cmp "$TMP/got" "$TMP/www/2m.bin"
	# refused clients are not in the access log
	[ "$(grep -c '"GET /a.txt HTTP/1.1"' "$TMP/srv.err")" -eq 1 ]
}

@test "https: SIGTERM ends idle and handshaking connections and exits 0" {
	setup_www
	serve
	(python3 - "$port" "$CERTS/ca.pem" >"$TMP/cl.out" 2>&1 <<'PY'
import socket, ssl, sys, time
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
idle = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
idle.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
idle.recv(4096)
shaking = socket.create_connection(("127.0.0.1", port))
print("ready", flush=True)
time.sleep(20)
PY
	) &
	BG_PIDS+=("$!")
	wait_for "$TMP/cl.out" ready
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 5 || st=$?
	[ "$st" -eq 0 ]
}

@test "https: idle keep-alive TLS connections hold little memory" {
	! grep -qa __asan_init "$SK" || skip "RSS says nothing under ASan"
	setup_www
	serve
	run timeout 60 python3 - "$port" "$CERTS/ca.pem" "$srv_pid" <<'PY'
import resource, socket, ssl, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
port, pid = int(sys.argv[1]), sys.argv[3]
ctx = ssl.create_default_context(cafile=sys.argv[2])
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
def conn():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    need, got = 300000, b""
    while b"\r\n\r\n" not in got or len(got.partition(b"\r\n\r\n")[2]) < need:
        got += s.recv(65536)
    return s
warm = [conn() for _ in range(50)]
before = rss()
conns = [conn() for _ in range(500)]
after = rss()
print((after - before) // 500)
PY
	[ "$status" -eq 0 ]
	echo "KiB per idle TLS connection: $output"
	# Buffers held while idle (16 KiB reads, 64 KiB bodies) would show.
	[ "$output" -lt "${IDLE_TLS_KIB_MAX:-24}" ]
}

@test "https: bad TLS options are usage errors; plain serve-http prints no certificate" {
	mkdir -p "$TMP/www"
	run --separate-stderr "$SK" serve-http -p 0 --tls-cert "$TMP/nope.pem" "$TMP/www"
	[ "$status" -eq 2 ]
	[[ "$stderr" == "sockctl serve-http: "*"nope.pem"* ]]
	run --separate-stderr "$SK" serve-http -p 0 --tls-cert "$CERTS/srv.pem" --tls-key "$CERTS/client.key" "$TMP/www"
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" serve-http -p 0 --tls --tls-min 1.1 "$TMP/www"
	[ "$status" -eq 2 ]
	run "$SK" serve-http --help
	[[ "$output" == *"--tls-cert FILE"* && "$output" == *"--tls-client-ca FILE"* ]]
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	wait_for "$TMP/srv.err" "serving .* at http://127.0.0.1:$port/"
	! grep -q 'tls certificate' "$TMP/srv.err"
}

@test "https: pipelined requests behind a close_notify in the same segment are all answered, then the server closes" {
	setup_www
	serve
	run timeout 30 python3 - "$port" "$CERTS/ca.pem" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="127.0.0.1")
n = 1000  # about 40 KiB of requests: more than one input buffer
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)  # requests and close_notify together
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" * n)
s.setblocking(False)
try:
    s.unwrap()
except ssl.SSLWantReadError:
    pass
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
s.setblocking(True)
s.settimeout(10)
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    end = "closed"
except socket.timeout:
    end = "still open"
print(data.count(b"HTTP/1.1 200 OK"), end)
PY
	[ "$status" -eq 0 ]
	[ "$output" = "1000 closed" ]
}

@test "https: deep pipelining does not grow the stack (a 512 KiB stack answers 20000 requests)" {
	setup_www
	bg srv bash -c "ulimit -s 512 && exec \"\$0\" \"\$@\"" "$SK" serve-http -p 0 -b 127.0.0.1 \
		--tls-cert "$CERTS/srv.pem" --tls-key "$CERTS/srv.key" "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	# One thread, non-blocking: writing as fast as the server takes, reading
	# as fast as it answers (a python ssl socket is not for two threads).
	run timeout 60 python3 - "$port" "$CERTS/ca.pem" <<'PY'
import select, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="127.0.0.1")
n = 20000
out = b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" * n
off, got, tail = 0, 0, b""
s.setblocking(False)
deadline = time.time() + 50
while got < n and time.time() < deadline:
    r, w, _ = select.select([s], [s] if off < len(out) else [], [], 1)
    if r or s.pending():
        try:
            b = s.recv(65536)
            if not b:
                break
            data = tail + b
            got += data.count(b"HTTP/1.1 200")
            tail = data[-11:]
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    if w and off < len(out):
        try:
            off += s.send(out[off:off + 65536])
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
print(got)
PY
	[ "$status" -eq 0 ]
	[ "$output" = 20000 ]
	kill -0 "$srv_pid"
}
