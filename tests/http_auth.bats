#!/usr/bin/env bats
# serve-http --auth USER:PASS and --auth-file FILE (issue 16): HTTP Basic
# on every request but a CORS preflight; htpasswd files with bcrypt and
# SHA-crypt; passwords never logged; the clear-text warning without TLS.

load http_more_helpers

PW_ALICE='Alice-pw-7Qx9'
PW_BOB='Bob-pw-K2m8'
PW_CAROL='Carol-pw-Z5v1'
PW_DAN='Dan-pw-R4t6'

setup_www() {
	command -v htpasswd >/dev/null || { echo "htpasswd is missing (tests/run installs apache2-utils)"; return 1; }
	mkdir -p "$TMP/www/sub"
	printf 'hello world\n' >"$TMP/www/a.txt"
	printf 'in sub\n' >"$TMP/www/sub/f.txt"
}

# sha_crypt_line USER PASS 5|6 [ROUNDS]: a user:$5$... or user:$6$... line, by
# htpasswd -2/-5 where it has them, else by openssl passwd.
sha_crypt_line() {
	local r=()
	if htpasswd 2>&1 | grep -q -- '-2 '; then
		[ -z "${4:-}" ] || r=(-r "$4")
		if [ "$3" = 5 ]; then htpasswd -nb2 "${r[@]}" "$1" "$2"; else htpasswd -nb5 "${r[@]}" "$1" "$2"; fi | sed '/^$/d'
	else
		printf '%s:%s\n' "$1" "$(openssl passwd "-$3" "$2")"
	fi
}

# make_htpasswd FILE: alice (bcrypt $2y$), bob ($5$), carol ($6$), dan ($5$
# with rounds=), one a line, in that order.
make_htpasswd() {
	htpasswd -cbB -C 5 "$1" alice "$PW_ALICE" 2>/dev/null
	sha_crypt_line bob "$PW_BOB" 5 >>"$1"
	sha_crypt_line carol "$PW_CAROL" 6 >>"$1"
	sha_crypt_line dan "$PW_DAN" 5 12000 >>"$1"
	grep -q '^alice:\$2y\$' "$1"
	grep -q '^bob:\$5\$' "$1"
	grep -q '^carol:\$6\$' "$1"
}

# b64 TEXT: base64 of TEXT, on one line.
b64() {
	printf '%s' "$1" | base64 -w0
}

@test "auth: without or with wrong credentials 401 and WWW-Authenticate Basic realm; curl -u works" {
	setup_www
	serve --auth "alice:$PW_ALICE"
	[ "$(req "$url/a.txt")" = 401 ]
	[[ "$(hdr WWW-Authenticate)" =~ ^Basic\ realm= ]] || { echo "WWW-Authenticate: $(hdr WWW-Authenticate)"; false; }
	lacks 'hello world' "$TMP/b"
	[ "$(req -u "alice:$PW_ALICE" "$url/a.txt")" = 200 ]
	cmp "$TMP/b" "$TMP/www/a.txt"
	[ "$(req -u "alice:wrong" "$url/a.txt")" = 401 ]
	hdr WWW-Authenticate >/dev/null
	[ "$(req -u "mallory:$PW_ALICE" "$url/a.txt")" = 401 ]
	[ "$(req -u "alice:${PW_ALICE}x" "$url/a.txt")" = 401 ]
	[ "$(req -u "alice:${PW_ALICE%?}" "$url/a.txt")" = 401 ]
	[ "$(req -u "Alice:$PW_ALICE" "$url/a.txt")" = 401 ]
	[ "$(req -u ":$PW_ALICE" "$url/a.txt")" = 401 ]
	# Malformed Authorization: another scheme, bad base64, no colon, nothing.
	for a in "Bearer $(b64 "alice:$PW_ALICE")" 'Basic !!!not-base64!!!' "Basic $(b64 "alice$PW_ALICE")" \
		'Basic' 'Basic ' "Digest username=\"alice\"" "Basic $(b64 "alice:$PW_ALICE")garbage%%"; do
		[ "$(req -H "Authorization: $a" "$url/a.txt")" = 401 ] || { echo "Authorization: $a: $(head -n 1 "$TMP/h")"; return 1; }
	done
	[ "$(req -H "Authorization: Basic $(b64 "alice:$PW_ALICE")" "$url/a.txt")" = 200 ]
}

@test "auth: every request needs it: HEAD, listings, 404s, redirects, ranges" {
	setup_www
	serve --auth "alice:$PW_ALICE"
	for args in "-I $url/a.txt" "$url/" "$url/sub/" "$url/sub" "$url/nope" "-r 0-4 $url/a.txt" "-X DELETE $url/a.txt"; do
		# shellcheck disable=SC2086
		[ "$(req $args)" = 401 ] || { echo "$args: $(head -n 1 "$TMP/h")"; return 1; }
	done
	[ "$(req -u "alice:$PW_ALICE" "$url/sub")" = 301 ]
	[ "$(req -u "alice:$PW_ALICE" "$url/nope")" = 404 ]
	[ "$(req -u "alice:$PW_ALICE" -r 0-4 "$url/a.txt")" = 206 ]
	# Keep-alive: a 401 then the authorised request on one connection.
	printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n' \
		"$(b64 "alice:$PW_ALICE")" | raw >"$TMP/r.out"
	[ "$(grep -aoE '^HTTP/1.1 [0-9]{3}' "$TMP/r.out" | cut -d' ' -f2 | tr '\n' ' ')" = "401 200 " ]
	[[ "$(cat "$TMP/r.out")" == *"hello world" ]]
}

@test "auth: a password with a colon in it (split at the first colon)" {
	setup_www
	serve --auth 'carl:pa:ss:word'
	[ "$(req -u 'carl:pa:ss:word' "$url/a.txt")" = 200 ]
	[ "$(req -u 'carl:pa' "$url/a.txt")" = 401 ]
	[ "$(req -u 'carl:pa:ss' "$url/a.txt")" = 401 ]
}

@test "auth-file: bcrypt \$2y\$, SHA-crypt \$5\$ and \$6\$ (rounds= too)" {
	setup_www
	make_htpasswd "$TMP/htpasswd"
	serve --auth-file "$TMP/htpasswd"
	[ "$(req -u "alice:$PW_ALICE" "$url/a.txt")" = 200 ]
	[ "$(req -u "bob:$PW_BOB" "$url/a.txt")" = 200 ]
	[ "$(req -u "carol:$PW_CAROL" "$url/a.txt")" = 200 ]
	[ "$(req -u "dan:$PW_DAN" "$url/a.txt")" = 200 ]
	cmp "$TMP/b" "$TMP/www/a.txt"
	[ "$(req -u "alice:$PW_BOB" "$url/a.txt")" = 401 ]
	[ "$(req -u "bob:$PW_ALICE" "$url/a.txt")" = 401 ]
	[ "$(req -u "carol:${PW_CAROL}0" "$url/a.txt")" = 401 ]
	[ "$(req -u "dan:" "$url/a.txt")" = 401 ]
	[ "$(req -u "nobody:$PW_ALICE" "$url/a.txt")" = 401 ]
	[ "$(req "$url/a.txt")" = 401 ]
}

@test "auth-file: comment lines (#) and blank lines are skipped, as Apache does" {
	setup_www
	f="$TMP/htpasswd"
	printf '# users\n\n' >"$f"
	sha_crypt_line bob "$PW_BOB" 5 >>"$f"
	printf '\n# more\n' >>"$f"
	serve --auth-file "$f"
	[ "$(req -u "bob:$PW_BOB" "$url/a.txt")" = 200 ]
	[ "$(req -u "bob:x" "$url/a.txt")" = 401 ]
}

@test "auth: --auth and --auth-file together accept the users of both" {
	setup_www
	make_htpasswd "$TMP/htpasswd"
	serve --auth "zed:Zed-pw-1" --auth-file "$TMP/htpasswd"
	[ "$(req -u "zed:Zed-pw-1" "$url/a.txt")" = 200 ]
	[ "$(req -u "bob:$PW_BOB" "$url/a.txt")" = 200 ]
	[ "$(req -u "zed:$PW_BOB" "$url/a.txt")" = 401 ]
}

@test "auth: the access log names the user and never a password (nor its base64)" {
	setup_www
	make_htpasswd "$TMP/htpasswd"
	serve --auth "zed:Zed-pw-1" --auth-file "$TMP/htpasswd"
	req -u "alice:$PW_ALICE" "$url/a.txt" >/dev/null
	req -u "bob:$PW_BOB" "$url/sub/" >/dev/null
	req -u "zed:Zed-pw-1" "$url/nope" >/dev/null
	req -u "alice:$PW_BOB" "$url/a.txt" >/dev/null
	req -u "nobody:$PW_CAROL" "$url/a.txt" >/dev/null
	req -H "Authorization: Basic $(b64 "dan$PW_DAN")" "$url/a.txt" >/dev/null
	req "$url/last-one" >/dev/null
	wait_for "$TMP/srv.err" 'GET /last-one '
	grep -qE '^127\.0\.0\.1 - alice \[[^]]+\] "GET /a\.txt HTTP/1\.1" 200 12$' "$TMP/srv.err"
	grep -qE '^127\.0\.0\.1 - bob \[[^]]+\] "GET /sub/ HTTP/1\.1" 200 ' "$TMP/srv.err"
	grep -qE '^127\.0\.0\.1 - zed \[[^]]+\] "GET /nope HTTP/1\.1" 404 ' "$TMP/srv.err"
	grep -qE '"GET /last-one HTTP/1\.1" 401 ' "$TMP/srv.err"
	for pw in "$PW_ALICE" "$PW_BOB" "$PW_CAROL" "$PW_DAN" Zed-pw-1; do
		! grep -qF -- "$pw" "$TMP/srv.err" || { echo "password $pw in the log:"; cat "$TMP/srv.err"; return 1; }
	done
	for cred in "alice:$PW_ALICE" "bob:$PW_BOB" "zed:Zed-pw-1" "alice:$PW_BOB" "nobody:$PW_CAROL" "dan$PW_DAN"; do
		! grep -qF -- "$(b64 "$cred")" "$TMP/srv.err" || { echo "the base64 of $cred in the log"; return 1; }
	done
	# --log FILE likewise.
	kill "$srv_pid"
	serve --auth "zed:Zed-pw-1" --log "$TMP/access.log"
	req -u "zed:Zed-pw-1" "$url/a.txt" >/dev/null
	req -u "zed:wrong-Zed" "$url/a.txt" >/dev/null
	wait_until 10 lines_at_least "$TMP/access.log" 2
	grep -q ' - zed \[' "$TMP/access.log"
	lacks -F -e Zed-pw-1 -e wrong-Zed "$TMP/access.log" "$TMP/srv.err"
}

@test "auth: without --tls a warning that Basic sends passwords in clear; with --tls none" {
	setup_www
	serve --auth "alice:$PW_ALICE"
	wait_until 10 grep -qi warning "$TMP/srv.err"
	grep -i warning "$TMP/srv.err" | grep -qi clear
	lacks -F "$PW_ALICE" "$TMP/srv.err"
	kill "$srv_pid"
	make_htpasswd "$TMP/htpasswd"
	serve --auth-file "$TMP/htpasswd"
	wait_until 10 grep -qi warning "$TMP/srv.err"
	grep -i warning "$TMP/srv.err" | grep -qi clear
	kill "$srv_pid"
	"$SK" --version | grep -q '^tls: OpenSSL' || skip "built without TLS"
	serve --tls --auth "alice:$PW_ALICE"
	wait_for "$TMP/srv.err" 'tls certificate'
	[ "$(curl -sS -k --max-time 20 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/a.txt")" = 401 ]
	[ "$(curl -sS -k --max-time 20 -u "alice:$PW_ALICE" "https://127.0.0.1:$port/a.txt")" = "hello world" ]
	wait_for "$TMP/srv.err" '"GET /a.txt HTTP/1.1" 200 '
	! grep -qi clear "$TMP/srv.err" || { cat "$TMP/srv.err"; false; }
}

@test "auth-file: unsupported hashes, malformed lines, a missing file: exit 2 naming the line or file" {
	setup_www
	f="$TMP/htpasswd"
	bad() { # what LINE-NUMBER: the file is refused, naming it and the line
		usage_error --auth-file "$f" "$TMP/www" || { echo "($1)"; return 1; }
		[[ "$stderr" == *"$f"* ]] || { echo "($1) the message does not name $f: $stderr"; return 1; }
		[[ "$stderr" =~ (line[[:space:]]+$2([^0-9]|$)|:$2([^0-9]|$)) ]] ||
			{ echo "($1) the message does not name line $2: $stderr"; return 1; }
	}
	make_htpasswd "$f"
	htpasswd -nbm dave pw4 | sed '/^$/d' >>"$f"
	bad "apr1 MD5 on line 5" 5
	make_htpasswd "$f"
	htpasswd -nbs eve pw5 | sed '/^$/d' >>"$f"
	bad "{SHA} on line 5" 5
	make_htpasswd "$f"
	htpasswd -nbp pete pw6 | sed '/^$/d' >>"$f"
	bad "plain text on line 5" 5
	make_htpasswd "$f"
	printf 'no-colon-here\n' >>"$f"
	bad "no colon on line 5" 5
	printf 'alice:$2y$05$short\n' >"$f"
	bad "a truncated bcrypt hash on line 1" 1
	make_htpasswd "$f"
	sed -i '2s/^bob:/:/' "$f"
	bad "an empty user name on line 2" 2
	usage_error --auth-file "$TMP/missing" "$TMP/www"
	[[ "$stderr" == *"$TMP/missing"* ]]
	usage_error --auth nocolon "$TMP/www"
}

@test "auth: CORS preflights are answered without credentials; other answers carry Allow-Origin" {
	setup_www
	serve --cors --auth "alice:$PW_ALICE"
	code=$(req -X OPTIONS -H 'Origin: http://other.example' -H 'Access-Control-Request-Method: GET' \
		-H 'Access-Control-Request-Headers: authorization' "$url/a.txt")
	[ "$code" = 204 ]
	want_hdr Access-Control-Allow-Origin '*'
	list_has "$(hdr Access-Control-Allow-Headers)" authorization
	no_hdr WWW-Authenticate
	[ "$(req -H 'Origin: http://other.example' "$url/a.txt")" = 401 ]
	want_hdr Access-Control-Allow-Origin '*'
	[ "$(req -u "alice:$PW_ALICE" -H 'Origin: http://other.example' "$url/a.txt")" = 200 ]
	want_hdr Access-Control-Allow-Origin '*'
	# OPTIONS that is not a preflight (no Access-Control-Request-Method)
	# is no way around authentication.
	code=$(req -X OPTIONS "$url/a.txt")
	[ "$code" = 401 ] || [ "$code" = 405 ]
}

@test "auth --upload: an unauthenticated PUT or POST writes nothing" {
	setup_www
	serve --upload --auth "alice:$PW_ALICE"
	tree_state >"$TMP/before"
	printf 'data\n' >"$TMP/up.txt"
	[ "$(req -T "$TMP/up.txt" "$url/new.txt")" = 401 ]
	[ "$(req -u "alice:wrong" -T "$TMP/up.txt" "$url/new.txt")" = 401 ]
	[ "$(req -F "f=@$TMP/up.txt" "$url/sub/")" = 401 ]
	unchanged_since "$TMP/before"
	[ "$(req -u "alice:$PW_ALICE" -T "$TMP/up.txt" "$url/new.txt")" = 201 ]
	cmp "$TMP/www/new.txt" "$TMP/up.txt"
}
