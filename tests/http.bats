#!/usr/bin/env bats
# serve-http: the protocol through curl and raw sockets, and every safety
# rule as an attack that must fail.

load helpers

RAW="$BATS_TEST_DIRNAME/peers/http_raw.py"

# serve [OPTIONS]: serves $TMP/www in the background; sets $port.
serve() {
	bg srv "$SK" serve-http -p 0 "$@" "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	url="http://127.0.0.1:$port"
}

# recv_queue_empty PORT: the server has read all that its client on PORT sent.
recv_queue_empty() {
	[ "$(ss -Htn state established "sport = :$1" | awk '{print $1}')" = 0 ]
}

# listens PID: sets port to the TCP port PID listens on, once it does.
listens() {
	port=$(ss -Hltnp | sed -n "s/.*:\([0-9]*\) .*pid=$1,.*/\1/p" | head -n 1)
	[ -n "$port" ]
}

# raw [ARGS]: the request on stdin, the server's raw answer on stdout.
raw() {
	python3 "$RAW" "$port" "$@"
}

setup_www() {
	mkdir -p "$TMP/www/sub" "$TMP/www/empty" "$TMP/www/evil.example" "$TMP/outside"
	printf 'hello world\n' >"$TMP/www/a.txt"
	printf '<h1>sub index</h1>\n' >"$TMP/www/sub/index.html"
	printf 'body{}' >"$TMP/www/s.css"
	printf '{}' >"$TMP/www/d.json"
	printf 'x' >"$TMP/www/blob.bin"
	printf 'secret\n' >"$TMP/outside/secret.txt"
	head -c 300000 /dev/urandom >"$TMP/www/big.bin"
	printf 'odd' >"$TMP/www/<b>&\"q'.txt"
	printf 'sp' >"$TMP/www/a b%#?.txt"
	ln -s ../outside "$TMP/www/out-dir"
	ln -s ../outside/secret.txt "$TMP/www/out-file"
	ln -s /etc/passwd "$TMP/www/passwd"
	ln -s a.txt "$TMP/www/in-link"
}

@test "http: GET and HEAD of a file, with the headers browsers and caches use" {
	setup_www
	serve
	run curl -sS -i "$url/a.txt"
	[ "$status" -eq 0 ]
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	for h in "Content-Type: text/plain; charset=utf-8" "Content-Length: 12" "Accept-Ranges: bytes" \
		"Server: sockctl/" "Date: " "Last-Modified: " 'ETag: "'; do
		[[ "$output" == *"$h"* ]] || { echo "missing $h"; false; }
	done
	[[ "$output" == *$'\r\n\r\nhello world' ]]
	run curl -sS -I "$url/a.txt"
	[[ "$output" == *"Content-Length: 12"* ]]
	run curl -sS -X HEAD --max-time 5 "$url/a.txt" -o "$TMP/head.body"
	[ ! -s "$TMP/head.body" ]
	cmp <(curl -sS "$url/big.bin") "$TMP/www/big.bin"
}

@test "http: MIME types from the table, text with charset, unknown as octet-stream" {
	setup_www
	serve
	[ "$(curl -sS -o /dev/null -w '%{content_type}' "$url/s.css")" = "text/css; charset=utf-8" ]
	[ "$(curl -sS -o /dev/null -w '%{content_type}' "$url/d.json")" = "application/json; charset=utf-8" ]
	[ "$(curl -sS -o /dev/null -w '%{content_type}' "$url/sub/")" = "text/html; charset=utf-8" ]
	[ "$(curl -sS -o /dev/null -w '%{content_type}' "$url/blob.bin")" = "application/octet-stream" ]
}

@test "http: keep-alive reuses the connection; HTTP/1.0 closes unless asked" {
	setup_www
	serve
	run curl -sS -v "$url/a.txt" "$url/s.css"
	[[ "$output" == *"Re-using existing connection"* ]] || [[ "$output" == *"Reusing existing connection"* ]]
	out=$(printf 'GET /a.txt HTTP/1.0\r\n\r\n' | raw)
	[[ "$out" == *"Connection: close"* ]]
	[[ "$out" == *"hello world" ]]
	out=$(printf 'GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /s.css HTTP/1.0\r\n\r\n' | raw)
	[ "$(grep -c 'HTTP/1.1 200 OK' <<<"$out")" -eq 2 ]
	# A body that goes out over several turns of the loop (64 KiB each),
	# then more requests on the same connection: every byte, in order.
	curl -sS -w '%{num_connects}\n' -o "$TMP/got1" "$url/big.bin" -o "$TMP/got2" "$url/a.txt" \
		-o "$TMP/got3" "$url/big.bin" >"$TMP/conns"
	cmp "$TMP/got1" "$TMP/www/big.bin"
	cmp "$TMP/got2" "$TMP/www/a.txt"
	cmp "$TMP/got3" "$TMP/www/big.bin"
	[ "$(tr '\n' ' ' <"$TMP/conns")" = "1 0 0 " ]
}

@test "http: pipelined requests are answered in order, in one write" {
	setup_www
	serve
	out=$(printf 'GET /s.css HTTP/1.1\r\nHost: x\r\n\r\nHEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /d.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw)
	[ "$(grep -o 'HTTP/1.1 200 OK' <<<"$out" | wc -l)" -eq 3 ]
	first=$(grep -n 'body{}' <<<"$out" | cut -d: -f1)
	last=$(grep -n '^{}$' <<<"$out" | cut -d: -f1)
	[ "$first" -lt "$last" ]
	[ "$(grep -c 'Content-Length: 12' <<<"$out")" -eq 1 ]
	[[ "$out" != *"hello world"* ]]
	# Behind a body that takes several turns of the loop (64 KiB each).
	printf 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		raw >"$TMP/two"
	python3 - "$TMP/two" "$TMP/www/big.bin" "$TMP/www/a.txt" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for path in sys.argv[2:]:
    head, _, data = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head[:40]
    want = open(path, "rb").read()
    assert b"\r\nContent-Length: %d\r\n" % len(want) in head + b"\r\n", head
    assert data[:len(want)] == want, path
    data = data[len(want):]
assert data == b"", data[:40]
PY
}

@test "http: byte ranges a-b, a-, -n with 206; 416 when unsatisfiable; If-Range" {
	setup_www
	serve
	[ "$(curl -sS -r 0-4 "$url/a.txt")" = hello ]
	[ "$(curl -sS -r 6- "$url/a.txt")" = "world" ]
	[ "$(curl -sS -r -6 "$url/a.txt")" = "world" ]
	run curl -sS -i -r 6-100 "$url/a.txt"
	[[ "$output" == "HTTP/1.1 206 Partial Content"* ]]
	[[ "$output" == *"Content-Range: bytes 6-11/12"* ]]
	run curl -sS -i -r 50-60 "$url/a.txt"
	[[ "$output" == "HTTP/1.1 416 Range Not Satisfiable"* ]]
	[[ "$output" == *"Content-Range: bytes */12"* ]]
	run curl -sS -i -r 0-1,3-4 "$url/a.txt"
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	etag=$(curl -sS -I "$url/a.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ "$(curl -sS -r 0-4 -H "If-Range: $etag" "$url/a.txt")" = hello ]
	[ "$(curl -sS -r 0-4 -H 'If-Range: "other"' "$url/a.txt")" = "hello world" ]
	cmp <(curl -sS -r 1000-200999 "$url/big.bin") <(tail -c +1001 "$TMP/www/big.bin" | head -c 200000)
}

@test "http: If-None-Match and If-Modified-Since give 304" {
	setup_www
	serve
	etag=$(curl -sS -I "$url/a.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	lm=$(curl -sS -I "$url/a.txt" | sed -n 's/^Last-Modified: \(.*\)\r$/\1/p')
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/a.txt")" = 304 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"x\", W/$etag" "$url/a.txt")" = 304 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "x"' "$url/a.txt")" = 200 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$url/a.txt")" = 304 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT' "$url/a.txt")" = 200 ]
}

@test "http: index.html, redirect without the slash, listing sorted and escaped, --no-listing" {
	setup_www
	serve
	[ "$(curl -sS "$url/sub/")" = "<h1>sub index</h1>" ]
	run curl -sS -i "$url/sub"
	[[ "$output" == "HTTP/1.1 301 Moved Permanently"* ]]
	[[ "$output" == *"Location: /sub/"* ]]
	[ "$(curl -sSL "$url/sub")" = "<h1>sub index</h1>" ]
	page=$(curl -sS "$url/")
	[[ "$page" == *'<a href="%3Cb%3E%26%22q%27.txt">&lt;b&gt;&amp;&quot;q&#39;.txt</a>'* ]]
	[[ "$page" == *'<a href="a%20b%25%23%3F.txt">a b%#?.txt</a>'* ]]
	[[ "$page" == *'<a href="in-link">in-link</a>'* ]]
	[[ "$page" != *out-dir* && "$page" != *passwd* && "$page" != *out-file* ]]
	dirs=$(grep -o 'href="[^"]*/"' <<<"$page" | tr '\n' ' ')
	[ "$dirs" = 'href="empty/" href="evil.example/" href="sub/" ' ]
	first_file=$(grep -n 'href="[^"]*[^/]"' <<<"$page" | head -1 | cut -d: -f1)
	last_dir=$(grep -n 'href="sub/"' <<<"$page" | cut -d: -f1)
	[ "$last_dir" -lt "$first_file" ]
	[ "$(curl -sS "$url/a%20b%25%23%3F.txt")" = sp ]
	kill "$srv_pid"
	serve --no-listing
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/empty/")" = 403 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/sub/")" = 200 ]
}

@test "http: other methods get 405 with Allow, unknown ones 501, promptly even with a body" {
	setup_www
	serve
	run curl -sS -i --max-time 5 -X POST -d "$(head -c 100000 /dev/zero | tr '\0' a)" "$url/a.txt"
	[ "$status" -eq 0 ]
	[[ "$output" == "HTTP/1.1 405 Method Not Allowed"* ]]
	[[ "$output" == *"Allow: GET, HEAD"* ]]
	out=$(printf 'BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' | raw)
	[[ "$out" == "HTTP/1.1 501 Not Implemented"* ]]
	out=$(printf 'DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' | raw)
	[[ "$out" == "HTTP/1.1 405 "* ]]
}

# attack REQUEST-TARGET: the status line of a raw GET; never 200 with a secret.
attack() {
	printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" | raw >"$TMP/attack.out"
	if grep -q -e 'secret' -e 'root:' "$TMP/attack.out"; then
		echo "LEAK through $1"
		return 1
	fi
	head -n 1 "$TMP/attack.out" | tr -d '\r'
}

traversal_attacks() {
	for t in /../outside/secret.txt /..%2foutside/secret.txt /%2e%2e/outside/secret.txt \
		/%2E%2E/outside/secret.txt /.%2e/outside/secret.txt /sub/../../outside/secret.txt \
		/sub/%2e%2e/%2e%2e/outside/secret.txt /%252e%252e/outside/secret.txt \
		'/..\outside\secret.txt' /a.txt/../../outside/secret.txt \
		'http://x/../outside/secret.txt' /out-dir/secret.txt /out-file /passwd \
		/../../../../../../etc/passwd /%2e%2e%2f%2e%2e%2fetc%2fpasswd /.. /sub/../.. ; do
		status=$(attack "$t") || return 1
		case "$status" in
		"HTTP/1.1 400 "* | "HTTP/1.1 403 "* | "HTTP/1.1 404 "*) ;;
		*) echo "unexpected answer to $t: $status"; return 1 ;;
		esac
	done
}

@test "http: no traversal, encoded or not, and no symlink out of DIR (openat2 path)" {
	setup_www
	serve
	traversal_attacks
	[ "$(curl -sS "$url/in-link")" = "hello world" ]
}

@test "http: no traversal and no symlink escape on the fallback path too" {
	setup_www
	SOCKCTL_NO_OPENAT2=1 serve
	export SOCKCTL_NO_OPENAT2=1
	bg srv2 "$SK" serve-http -p 0 "$TMP/www"
	port=$(port_of "$TMP/srv2.err")
	traversal_attacks
	[ "$(curl -sS "http://127.0.0.1:$port/in-link")" = "hello world" ]
}

@test "http: NUL and malformed escapes are 400" {
	setup_www
	serve
	[ "$(attack /a.txt%00.html)" = "HTTP/1.1 400 Bad Request" ]
	[ "$(attack /a%zz.txt)" = "HTTP/1.1 400 Bad Request" ]
	[ "$(attack /a%2)" = "HTTP/1.1 400 Bad Request" ]
	out=$(printf 'GET /a.txt\0 HTTP/1.1\r\nHost: x\r\n\r\n' | raw)
	[[ "$out" == "HTTP/1.1 400 "* ]]
}

@test "http: raw bytes above 0x7E or control bytes in the request-target are 400" {
	setup_www
	serve
	for t in '/a.txt\x80' '/\xc3\xa9' '/a.txt\x01' '/a\x7f.txt' '/a\tb'; do
		out=$(printf "GET $t HTTP/1.1\r\nHost: x\r\n\r\n" | raw)
		[[ "$out" == "HTTP/1.1 400 "* ]] || { echo "want 400 for $t: ${out%%$'\r'*}"; false; }
	done
	out=$(printf 'HEAD /\x80 HTTP/1.0\r\n\r\n' | raw)
	[[ "$out" == "HTTP/1.1 400 "* ]]
}

@test "http: an absolute-form target with an empty path means / (http and https, any case)" {
	setup_www
	serve
	for t in "http://127.0.0.1:$port" "http://127.0.0.1:$port?q=1" "HTTPS://127.0.0.1:$port"; do
		printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$t" | raw >"$TMP/r.out"
		[[ "$(head -n 1 "$TMP/r.out")" == "HTTP/1.1 200 "* ]] || { echo "want 200 for $t"; cat "$TMP/r.out"; false; }
		grep -q 'href="a.txt"' "$TMP/r.out"
	done
	out=$(printf 'GET https://x/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw)
	[[ "$out" == "HTTP/1.1 200 "*"hello world" ]]
}

# raw_eof REQUEST: sends REQUEST (printf %b escapes), prints the answer, then
# "<EOF>" once the server closes (nothing if it stays open for 5 s).
raw_eof() {
	python3 - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
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
sys.stdout.buffer.write(out)
PY
}

@test "http: Transfer-Encoding not ending in one chunked, or in HTTP/1.0, is 400 and a close" {
	setup_www
	serve
	for v in 'chunked, deflate' pigeons chunkedchunked 'chunked, chunked' '' 'chunked;x'; do
		out=$(raw_eof "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: $v\r\n\r\n")
		[[ "$out" == "HTTP/1.1 400 "*"<EOF>" ]] || { echo "want 400 and EOF for '$v': $out"; false; }
		[[ "$out" == *$'Connection: close\r'* ]]
	done
	out=$(raw_eof 'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n')
	[[ "$out" == "HTTP/1.1 400 "*"<EOF>" ]]
	out=$(raw_eof 'GET /a.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
	[[ "$out" == "HTTP/1.1 400 "*"<EOF>" ]]
	# A well-framed chunked body is still answered, then the connection closed.
	out=$(raw_eof 'GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n')
	[[ "$out" == "HTTP/1.1 200 "*"hello world"$'\n'"<EOF>" ]]
}

@test "http: no open redirect: a Location never starts with // or names a host" {
	setup_www
	serve
	for t in //evil.example /%2F%2Fevil.example //evil.example/ /%2fevil.example '/\evil.example' \
		'http://x//evil.example' /./evil.example /sub/..//evil.example; do
		printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$t" | raw >"$TMP/r.out"
		loc=$(sed -n 's/^Location: \(.*\)\r$/\1/p' "$TMP/r.out")
		[ -z "$loc" ] || [[ "$loc" == /[!/]* ]] || { echo "open redirect for $t: $loc"; false; }
	done
	printf 'GET //evil.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw >"$TMP/r.out"
	grep -q $'^Location: /evil.example/\r$' "$TMP/r.out"
}

@test "http: strict parsing per RFC 9112" {
	setup_www
	serve
	check() {
		local want=$1 got
		got=$(printf '%b' "$2" | raw | head -n 1 | tr -d '\r')
		[[ "$got" == "HTTP/1.1 $want "* ]] || { echo "want $want for $2, got $got"; return 1; }
	}
	check 400 'GET /a.txt HTTP/1.1\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nX-Host: x\r\n\r\n'
	check 200 'GET /a.txt HTTP/1.0\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: b\r\n  folded\r\n\r\n'
	check 400 'GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n'
	check 505 'GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n'
	check 400 'GET /a.txt HTTX/1.1\r\nHost: x\r\n\r\n'
	check 400 'GET  /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'
	check 400 'GET a.txt HTTP/1.1\r\nHost: x\r\n\r\n'
	check 200 'GET /a.txt HTTP/1.1\r\nhOsT: x\r\nContent-Length-X: 5\r\nTransfer-Encoding-X: y\r\n\r\n'
	check 414 "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: x\r\n\r\n"
	check 431 "GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: $(head -c 17000 /dev/zero | tr '\0' a)\r\n\r\n"
	big=""
	for i in $(seq 120); do big+="X-$i: v\r\n"; done
	check 431 "GET /a.txt HTTP/1.1\r\nHost: x\r\n$big\r\n"
}

@test "http: a slow client is cut off by --timeout and does not hold up others" {
	setup_www
	serve --timeout 1
	start=$(date +%s)
	(printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Slow: %s\r\n\r\n' "$(head -c 40 /dev/zero | tr '\0' a)" |
		timeout 20 python3 "$RAW" "$port" --slow 0.2 >"$TMP/slow.out" 2>"$TMP/slow.err") &
	BG_PIDS+=("$!")
	for i in 1 2 3; do
		[ "$(curl -sS --max-time 2 "$url/a.txt")" = "hello world" ]
	done
	wait_for "$TMP/slow.err" 'closed while sending' 10
	[ ! -s "$TMP/slow.out" ]
	[ $(($(date +%s) - start)) -lt 10 ]
	# An idle keep-alive connection is closed after --timeout too.
	out=$(printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' | raw --wait 5)
	[[ "$out" == *"hello world" ]]
}

@test "http: two thousand idle connections do not stop it serving" {
	setup_www
	serve
	run timeout 60 python3 - "$port" "$url/a.txt" <<'PY'
import resource, socket, subprocess, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(2000)]
conns[0].sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
first = conns[0].recv(4096)
out = subprocess.run(["curl", "-sS", "--max-time", "5", sys.argv[2]], capture_output=True).stdout
print(first.split(b"\r\n")[0].decode(), out.decode().strip())
PY
	[ "$status" -eq 0 ]
	[ "$output" = "HTTP/1.1 200 OK hello world" ]
}

@test "http: --max-conns N holds further clients in the backlog until one leaves" {
	setup_www
	serve --max-conns 1
	# A request in progress holds the one slot (an idle one would be evicted).
	exec 7<>/dev/tcp/127.0.0.1/"$port"
	printf 'GET /a.txt HTTP/1.1\r\n' >&7
	# Until the server has read those bytes, the connection still counts as idle.
	wait_until 5 recv_queue_empty "$port"
	run curl -sS --max-time 1 "$url/a.txt"
	[ "$status" -ne 0 ]
	exec 7>&-
	[ "$(curl -sS --max-time 5 "$url/a.txt")" = "hello world" ]
}

@test "http: access log in Common Log Format, control characters escaped; -q and --log" {
	setup_www
	serve
	curl -sS -o /dev/null "$url/a.txt"
	printf 'GET /\033[31mred HTTP/1.1\r\nHost: x\r\n\r\n' | raw >/dev/null
	printf 'GET /caf\303\251 HTTP/1.1\r\nHost: x\r\n\r\n' | raw >/dev/null
	wait_for "$TMP/srv.err" 'caf'
	grep -qE '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] "GET /a\.txt HTTP/1\.1" 200 12$' "$TMP/srv.err"
	grep -qF '"GET /\x1b[31mred HTTP/1.1" 400' "$TMP/srv.err"
	grep -qF '"GET /caf\xc3\xa9 HTTP/1.1" 400' "$TMP/srv.err"
	! grep -q $'\033' "$TMP/srv.err"
	kill "$srv_pid"
	bg srv "$SK" serve-http -q -p 0 --log "$TMP/access.log" "$TMP/www"
	# -q prints no listening line: find the port the process holds.
	wait_until 5 listens "$srv_pid"
	url="http://127.0.0.1:$port"
	curl -sS -o /dev/null "$url/a.txt"
	wait_for "$TMP/access.log" 'GET /a.txt'
	[ ! -s "$TMP/srv.err" ]
}

@test "http: SIGTERM finishes the response in flight, then exits 0" {
	setup_www
	head -c 50000000 /dev/urandom >"$TMP/www/huge.bin"
	serve
	(python3 - "$port" >"$TMP/dl.out" <<'PY'
import hashlib, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
chunks, got = [], 0
while True:
    b = s.recv(65536)
    if not b:
        break
    chunks.append(b)
    got += len(b)
    if got < 2000000:
        if got == len(b):
            print("receiving", file=sys.stderr, flush=True)
        time.sleep(0.01)
body = b"".join(chunks).split(b"\r\n\r\n", 1)[1]
print(len(body), hashlib.sha256(body).hexdigest())
PY
	) 2>"$TMP/dl.err" &
	BG_PIDS+=("$!")
	dl=$!
	wait_for "$TMP/dl.err" receiving
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 30 || st=$?
	[ "$st" -eq 0 ]
	wait_exit "$dl" 30
	[ "$(cat "$TMP/dl.out")" = "50000000 $(sha "$TMP/www/huge.bin")" ]
}

@test "http: failures: bad DIR, port in use, bad options" {
	run --separate-stderr "$SK" serve-http -p 0 "$TMP/nope"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sockctl serve-http: $TMP/nope: No such file or directory"* ]]
	mkdir -p "$TMP/www"
	serve -b 127.0.0.1
	run --separate-stderr "$SK" serve-http -b 127.0.0.1 -p "$port" "$TMP/www"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Address already in use (find the holder: sockctl whois-port $port)"* ]]
	for args in "-p 70000" "--max-conns 0" "--timeout x" "a b" "--bogus"; do
		run --separate-stderr "$SK" serve-http $args
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"see 'sockctl serve-http --help'"* ]]
	done
}

@test "http: out of file descriptors it neither spins nor stops serving" {
	setup_www
	bg srv bash -c "ulimit -n 40; exec '$SK' serve-http -p 0 -b 127.0.0.1 '$TMP/www'"
	port=$(port_of "$TMP/srv.err")
	url="http://127.0.0.1:$port"
	run timeout 30 python3 - "$port" "$srv_pid" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0
held = []
for i in range(60):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")  # a request in progress: not idle
    held.append(s)
time.sleep(0.3)
before = cpu()
time.sleep(1.0)
spent = cpu() - before
for s in held:
    s.close()
print("cpu %.2f" % spent)
PY
	[ "$status" -eq 0 ]
	cpu=${output#cpu }
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)" "$cpu"
	[ "$(curl -sS --max-time 5 "$url/a.txt")" = "hello world" ]
}

@test "http: HTTP/1.0 keep-alive is announced; HEAD errors have no body; blank lines before a request" {
	setup_www
	serve
	out=$(printf 'GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' | raw --wait 1)
	[[ "$out" == *$'Connection: keep-alive\r'* ]]
	printf 'HEAD /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n' | raw >"$TMP/head.out"
	[[ "$(head -n 1 "$TMP/head.out")" == "HTTP/1.1 400 "* ]]
	[ "$(tail -c 4 "$TMP/head.out" | od -An -c | tr -d ' ')" = '\r\n\r\n' ]
	out=$(printf '\r\n\r\n\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw)
	[[ "$out" == "HTTP/1.1 200 OK"* ]]
}

@test "http: a symlink swapped in during the request never leads out (fallback path)" {
	setup_www
	mkdir -p "$TMP/www/race"
	for i in $(seq 0 49); do
		echo INSIDE >"$TMP/www/race/f$i"
		echo OUTSIDE-SECRET >"$TMP/outside/f$i"
	done
	ln -s ../outside "$TMP/www/racelink"
	export SOCKCTL_NO_OPENAT2=1
	serve
	run timeout 60 python3 - "$port" "$TMP/www" <<'PY'
import ctypes, os, socket, sys, threading, time
port, root = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
stop, leaks, answers = False, 0, 0
def swap():
    a, b = os.path.join(root, "race").encode(), os.path.join(root, "racelink").encode()
    while not stop:
        libc.renameat2(-100, a, -100, b, 2)  # RENAME_EXCHANGE
t = threading.Thread(target=swap)
t.start()
deadline = time.time() + 15
try:
    for i in range(3000):
        if time.time() > deadline:
            break
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /race/f%d HTTP/1.0\r\n\r\n" % (i % 50))
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        answers += 1
        leaks += b"OUTSIDE-SECRET" in data
finally:
    stop = True
    t.join()
print(answers, leaks)
PY
	[ "$status" -eq 0 ]
	[ "${output#* }" = 0 ]
	[ "${output% *}" -gt 200 ]
}

@test "http: at --max-conns a new client takes the place of an idle keep-alive one" {
	setup_www
	serve --max-conns 1
	run timeout 20 python3 - "$port" "$url/a.txt" <<'PY'
import socket, subprocess, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
first = s.recv(4096)                       # served; now idle, kept alive
out = subprocess.run(["curl", "-sS", "--max-time", "5", sys.argv[2]], capture_output=True)
s.settimeout(5)
print(first.split(b"\r\n")[0].decode(), out.stdout.decode().strip(), repr(s.recv(4096)))
PY
	[ "$status" -eq 0 ]
	# The idle one was closed (recv gives b'') so that curl could be served.
	[ "$output" = "HTTP/1.1 200 OK hello world b''" ]
}

@test "http: --workers 3 share the port (one listener each), serve, and stop together" {
	setup_www
	serve --workers 3
	holders=$("$SK" whois-port --json "$port" | python3 -c '
import json, sys
print(" ".join(sorted(str(r["pid"]) for r in json.load(sys.stdin))))')
	# three workers, each its own socket; the parent holds none
	[ "$(wc -w <<<"$holders")" -eq 3 ]
	[[ " $holders " != *" $srv_pid "* ]]
	for w in $holders; do
		[ "$(awk '{print $4}' "/proc/$w/stat")" = "$srv_pid" ]
	done
	for i in $(seq 30); do
		[ "$(curl -sS --max-time 10 "$url/a.txt")" = "hello world" ]
	done
	kill -TERM "$srv_pid"
	st=0
	wait_exit "$srv_pid" 20 || st=$?
	[ "$st" -eq 0 ]
	for w in $holders; do
		! kill -0 "$w" 2>/dev/null
	done
	run "$SK" whois-port "$port"
	[ "$status" -eq 1 ]
	run --separate-stderr "$SK" serve-http --workers 0 "$TMP/www"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad --workers '0'"* ]]
	run --separate-stderr "$SK" serve-http --workers 65 "$TMP/www"
	[ "$status" -eq 2 ]
}

@test "http: a worker that dies stops the others; exit 1" {
	setup_www
	serve --workers 2
	w=$("$SK" whois-port --json "$port" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["pid"])')
	kill -KILL "$w"
	st=0
	wait_exit "$srv_pid" 20 || st=$?
	[ "$st" -eq 1 ]
	grep -q "a worker (PID $w) failed; stopping the others" "$TMP/srv.err"
	run "$SK" whois-port "$port"
	[ "$status" -eq 1 ]
}

@test "http: a listing stops at 10,000 entries and says so" {
	setup_www
	mkdir "$TMP/www/many"
	python3 -c '
import os, sys
for i in range(10050):
    open(os.path.join(sys.argv[1], "f%05d" % i), "w").close()' "$TMP/www/many"
	serve
	run curl -sS --max-time 20 "$url/many/"
	[ "$(grep -c '<tr><td><a href="f' <<<"$output")" -eq 10000 ]
	[[ "$output" == *"<p>Only 10000 entries are listed; this directory has more.</p>"* ]]
	run curl -sS --max-time 20 "$url/sub/"
	[[ "$output" != *"Only 10000"* ]]
}
