#!/usr/bin/env bats
# serve-http additions (issue 16), part 1: -H/--header, --cors,
# --fallback/--spa and --cache/--no-cache. (--precompressed, --auth and
# --upload have files of their own: http_precompressed.bats, http_auth.bats,
# http_upload.bats.)

load http_more_helpers

setup_www() {
	mkdir -p "$TMP/www/sub" "$TMP/www/app" "$TMP/www/withindex" "$TMP/outside"
	printf 'hello world\n' >"$TMP/www/a.txt"
	printf '<!doctype html><h1>spa shell</h1>\n' >"$TMP/www/index.html"
	printf '<!doctype html><h1>app shell</h1>\n' >"$TMP/www/app/shell.html"
	printf 'in sub\n' >"$TMP/www/sub/f.txt"
	printf '<h1>withindex</h1>\n' >"$TMP/www/withindex/index.html"
	head -c 3000 /dev/urandom >"$TMP/www/big.bin"
	printf 'secret\n' >"$TMP/outside/secret.txt"
	ln -s ../outside "$TMP/www/out-dir"
	ln -s ../outside/secret.txt "$TMP/www/out-file"
}

# --- -H/--header ------------------------------------------------------------

@test "http -H: the headers are on every kind of response, once each, value kept as given" {
	setup_www
	serve -H 'X-Test: one two' --header 'X-Frame-Options: DENY'
	etag=$(curl -sS -I "$url/a.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	# what -> curl arguments
	check() {
		local what=$1 want=$2 code
		shift 2
		code=$(req "$@")
		[ "$code" = "$want" ] || { echo "$what: status $code, want $want"; return 1; }
		want_hdr X-Test 'one two' || { echo "... on $what"; return 1; }
		want_hdr X-Frame-Options DENY || { echo "... on $what"; return 1; }
		[ "$(hdr_count X-Test)" = 1 ] || { echo "X-Test $(hdr_count X-Test) times on $what"; return 1; }
	}
	check "200 file" 200 "$url/a.txt"
	check "HEAD" 200 -I "$url/a.txt"
	check "listing" 200 "$url/sub/"
	check "index.html" 200 "$url/withindex/"
	check "404" 404 "$url/nope"
	check "301 redirect" 301 "$url/sub"
	check "304" 304 -H "If-None-Match: $etag" "$url/a.txt"
	check "206" 206 -r 0-4 "$url/a.txt"
	check "416" 416 -r 500-600 "$url/a.txt"
	check "405" 405 -X DELETE "$url/a.txt"
	check "403 (symlink out)" 403 "$url/out-file" || check "404 (symlink out)" 404 "$url/out-file"
	# A 400 for a malformed request too.
	printf 'GET /a%%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 400 ]
	want_hdr X-Test 'one two' "$TMP/r.out"
}

@test "http -H: on a CORS preflight and a 401 too" {
	setup_www
	serve -H 'X-Test: yes' --cors --auth 'u:p'
	code=$(req -X OPTIONS -H 'Origin: http://other.example' -H 'Access-Control-Request-Method: GET' "$url/a.txt")
	[ "$code" = 204 ]
	want_hdr X-Test yes
	code=$(req "$url/a.txt")
	[ "$code" = 401 ]
	want_hdr X-Test yes
	code=$(req -u u:p "$url/a.txt")
	[ "$code" = 200 ]
	want_hdr X-Test yes
}

@test "http -H: malformed headers and framing headers are usage errors (exit 2)" {
	mkdir -p "$TMP/www"
	for h in 'NoColon' ': empty-name' 'Bad Name: v' 'X(y): v' 'X@y: v' 'X"y: v' 'Ä: v' \
		$'X-A: a\rb' $'X-A: a\nb' $'X-A: a\x01b' $'X-A: a\x7fb' $'X-A: \r\nX-B: c' \
		'Content-Length: 5' 'content-length: 5' 'Transfer-Encoding: chunked' \
		'TRANSFER-ENCODING: gzip' 'Connection: close' 'connection: keep-alive'; do
		usage_error -H "$h" "$TMP/www" || { echo "for -H $(printf %q "$h")"; return 1; }
		usage_error --header "$h" "$TMP/www" || { echo "for --header $(printf %q "$h")"; return 1; }
	done
	usage_error -H "$TMP/www"
}

# --- --cors -----------------------------------------------------------------

@test "http --cors: Allow-Origin * and Expose-Headers on every response, no credentials" {
	setup_www
	serve --cors
	for t in a.txt sub/ nope sub; do
		req -H 'Origin: http://other.example' "$url/$t" >/dev/null
		want_hdr Access-Control-Allow-Origin '*' || { echo "... on /$t"; return 1; }
		list_has "$(hdr Access-Control-Expose-Headers)" Content-Length Content-Range ETag ||
			{ echo "... on /$t"; return 1; }
		no_hdr Access-Control-Allow-Credentials
	done
	# Also without an Origin header (every response), and on a 206.
	[ "$(req -r 0-4 "$url/a.txt")" = 206 ]
	want_hdr Access-Control-Allow-Origin '*'
	[ "$(cat "$TMP/b")" = hello ]
}

@test "http --cors=ORIGIN: that origin, with Allow-Credentials: true" {
	setup_www
	serve --cors=https://app.example:8443
	[ "$(req -H 'Origin: https://app.example:8443' "$url/a.txt")" = 200 ]
	want_hdr Access-Control-Allow-Origin 'https://app.example:8443'
	want_hdr Access-Control-Allow-Credentials true
	list_has "$(hdr Access-Control-Expose-Headers)" Content-Length Content-Range ETag
	[ "$(req "$url/nope")" = 404 ]
	want_hdr Access-Control-Allow-Origin 'https://app.example:8443'
}

@test "http --cors: an OPTIONS preflight gets 204, methods, the requested headers, Max-Age, no body" {
	setup_www
	serve --cors
	code=$(req -X OPTIONS -H 'Origin: http://other.example' -H 'Access-Control-Request-Method: GET' \
		-H 'Access-Control-Request-Headers: X-Custom-One, range' "$url/a.txt")
	[ "$code" = 204 ]
	want_hdr Access-Control-Allow-Origin '*'
	list_is "$(hdr Access-Control-Allow-Methods)" GET HEAD OPTIONS
	list_has "$(hdr Access-Control-Allow-Headers)" X-Custom-One range
	[[ "$(hdr Access-Control-Max-Age)" =~ ^[0-9]+$ ]]
	[ ! -s "$TMP/b" ]
	# Raw: nothing after the head (no body bytes, whatever the framing says).
	printf 'OPTIONS /sub/ HTTP/1.1\r\nHost: x\r\nOrigin: http://o.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-a\r\nConnection: close\r\n\r\n' |
		raw >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 204 ]
	[ "$(body_of "$TMP/r.out" | wc -c)" -eq 0 ]
	list_has "$(hdr Access-Control-Allow-Headers "$TMP/r.out")" x-a
	# A request behind a preflight on the same connection is answered too.
	printf 'OPTIONS /a.txt HTTP/1.1\r\nHost: x\r\nOrigin: http://o.example\r\nAccess-Control-Request-Method: GET\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		raw >"$TMP/r.out"
	[ "$(grep -c '^HTTP/1.1 ' "$TMP/r.out")" -eq 2 ]
	[[ "$(cat "$TMP/r.out")" == *"hello world" ]]
}

@test "http --cors --upload: the preflight allows PUT and POST too" {
	setup_www
	serve --cors --upload
	code=$(req -X OPTIONS -H 'Origin: http://other.example' -H 'Access-Control-Request-Method: PUT' \
		-H 'Access-Control-Request-Headers: content-type' "$url/sub/new.txt")
	[ "$code" = 204 ]
	list_is "$(hdr Access-Control-Allow-Methods)" GET HEAD OPTIONS PUT POST
	list_has "$(hdr Access-Control-Allow-Headers)" content-type
	[ ! -e "$TMP/www/sub/new.txt" ]
}

@test "http: OPTIONS without --cors is still 405" {
	setup_www
	serve
	code=$(req -X OPTIONS -H 'Origin: http://other.example' -H 'Access-Control-Request-Method: GET' "$url/a.txt")
	[ "$code" = 405 ]
	hdr Allow >/dev/null
	no_hdr Access-Control-Allow-Origin
}

# --- --fallback / --spa -----------------------------------------------------

@test "http --spa: a missing path gets index.html with 200, its type and ETag; GET and HEAD" {
	setup_www
	serve --spa
	etag=$(curl -sS -I "$url/index.html" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ -n "$etag" ]
	for t in /nope /deep/route/x '/route?x=1' /sub/missing.txt /app/nothing; do
		[ "$(req "$url$t")" = 200 ] || { echo "GET $t: $(head -n 1 "$TMP/h")"; return 1; }
		cmp "$TMP/b" "$TMP/www/index.html"
		want_hdr Content-Type 'text/html; charset=utf-8'
		want_hdr ETag "$etag"
	done
	[ "$(req -I "$url/nope")" = 200 ]
	want_hdr Content-Length "$(stat -c %s "$TMP/www/index.html")"
	want_hdr ETag "$etag"
	raw_head /deep/nope
	[ "$(status_of "$TMP/r.out")" = 200 ]
	want_hdr ETag "$etag" "$TMP/r.out"
	no_body_after_head
}

@test "http --spa: existing files, listings, index.html and redirects are unchanged; other methods too" {
	setup_www
	serve --spa
	[ "$(req "$url/a.txt")" = 200 ]
	cmp "$TMP/b" "$TMP/www/a.txt"
	want_hdr Content-Type 'text/plain; charset=utf-8'
	[ "$(req "$url/sub/")" = 200 ]
	grep -q 'href="f.txt"' "$TMP/b"
	[ "$(req "$url/withindex/")" = 200 ]
	cmp "$TMP/b" "$TMP/www/withindex/index.html"
	[ "$(req "$url/sub")" = 301 ]
	want_hdr Location /sub/
	[ "$(req "$url/app/shell.html")" = 200 ]
	cmp "$TMP/b" "$TMP/www/app/shell.html"
	[ "$(req -X POST -d x "$url/nope")" = 405 ]
	[ "$(req -X DELETE "$url/nope")" = 405 ]
	[ "$(req -X PUT -d x "$url/nope")" = 405 ]
	[ ! -e "$TMP/www/nope" ]
}

@test "http --spa: a forbidden path stays 403; nothing outside DIR leaks through the fallback" {
	setup_www
	serve --spa --no-listing
	[ "$(req "$url/sub/")" = 403 ]
	for t in /../outside/secret.txt /%2e%2e/outside/secret.txt /out-dir/secret.txt /out-file \
		/sub/%2e%2e/%2e%2e/outside/secret.txt /..%2foutside/secret.txt; do
		printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$t" | raw >"$TMP/r.out"
		! grep -q secret "$TMP/r.out" || { echo "LEAK through $t"; return 1; }
		case "$(status_of "$TMP/r.out")" in
		400 | 403 | 404) ;;
		200) cmp <(body_of "$TMP/r.out") "$TMP/www/index.html" || { echo "$t: 200 but not the fallback"; return 1; } ;;
		*) echo "unexpected answer to $t: $(head -n 1 "$TMP/r.out")"; return 1 ;;
		esac
	done
}

@test "http --fallback FILE: a path relative to DIR, served for missing paths" {
	setup_www
	serve --fallback app/shell.html
	etag=$(curl -sS -I "$url/app/shell.html" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ "$(req "$url/nope")" = 200 ]
	cmp "$TMP/b" "$TMP/www/app/shell.html"
	want_hdr ETag "$etag"
	want_hdr Content-Type 'text/html; charset=utf-8'
	[ "$(req "$url/app/other/route")" = 200 ]
	cmp "$TMP/b" "$TMP/www/app/shell.html"
	# index.html is not the fallback here, but still the index of /.
	[ "$(req "$url/")" = 200 ]
	cmp "$TMP/b" "$TMP/www/index.html"
	# The fallback's own type, whatever it is.
	kill "$srv_pid"
	serve --fallback a.txt
	[ "$(req "$url/nope.html")" = 200 ]
	cmp "$TMP/b" "$TMP/www/a.txt"
	want_hdr Content-Type 'text/plain; charset=utf-8'
}

@test "http --fallback: a fallback swapped for a symlink out of DIR after the start is never followed" {
	setup_www
	serve --fallback app/shell.html
	[ "$(req "$url/nope")" = 200 ]
	rm "$TMP/www/app/shell.html"
	ln -s ../../outside/secret.txt "$TMP/www/app/shell.html"
	# Past the file cache's second, too.
	for i in $(seq 12); do
		printf 'GET /nope%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$i" | raw >"$TMP/r.out"
		! grep -q secret "$TMP/r.out" || { echo "LEAK through the fallback"; return 1; }
		[ "$(status_of "$TMP/r.out")" != 200 ] || cmp <(body_of "$TMP/r.out") <(printf '<!doctype html><h1>app shell</h1>\n')
		sleep 0.2 # spreading requests over 2.4 s, not a synchronisation
	done
	[[ "$(status_of "$TMP/r.out")" == [45]* ]]
}

@test "http --fallback: missing, not a regular file, outside DIR, or --spa with it: exit 2" {
	setup_www
	ln -s sub "$TMP/www/dirlink"
	usage_error --fallback missing.html "$TMP/www"
	usage_error --fallback sub "$TMP/www"
	usage_error --fallback dirlink "$TMP/www"
	usage_error --fallback ../outside/secret.txt "$TMP/www"
	usage_error --fallback out-file "$TMP/www"
	usage_error --fallback out-dir/secret.txt "$TMP/www"
	usage_error --fallback sub/../../outside/secret.txt "$TMP/www"
	usage_error --spa --fallback a.txt "$TMP/www"
	usage_error --fallback a.txt --spa "$TMP/www"
	# --spa needs DIR/index.html.
	usage_error --spa "$TMP/www/sub"
	# A fifo is not a regular file.
	mkfifo "$TMP/www/fifo"
	usage_error --fallback fifo "$TMP/www"
}

# --- --cache / --no-cache ---------------------------------------------------

@test "http --cache SECS: max-age on 200, 206 and 304 of files; listings keep no-cache" {
	setup_www
	serve --cache 3600
	etag=$(curl -sS -I "$url/a.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ "$(req "$url/a.txt")" = 200 ]
	want_hdr Cache-Control max-age=3600
	[ "$(req -I "$url/a.txt")" = 200 ]
	want_hdr Cache-Control max-age=3600
	[ "$(req -r 0-4 "$url/a.txt")" = 206 ]
	want_hdr Cache-Control max-age=3600
	[ "$(req -H "If-None-Match: $etag" "$url/a.txt")" = 304 ]
	want_hdr Cache-Control max-age=3600
	[ "$(req "$url/withindex/")" = 200 ]
	want_hdr Cache-Control max-age=3600
	[ "$(req "$url/sub/")" = 200 ]
	want_hdr Cache-Control no-cache
	# An error is not a file response: never cached for an hour.
	[ "$(req "$url/nope")" = 404 ]
	[[ "$(hdr Cache-Control || true)" != *max-age=3600* ]]
}

@test "http --no-cache: Cache-Control: no-cache on files; --cache with --no-cache is exit 2" {
	setup_www
	serve --no-cache
	etag=$(curl -sS -I "$url/a.txt" | sed -n 's/^ETag: \(.*\)\r$/\1/p')
	[ "$(req "$url/a.txt")" = 200 ]
	want_hdr Cache-Control no-cache
	[ "$(req -r 0-4 "$url/a.txt")" = 206 ]
	want_hdr Cache-Control no-cache
	[ "$(req -H "If-None-Match: $etag" "$url/a.txt")" = 304 ]
	want_hdr Cache-Control no-cache
	[ "$(req "$url/sub/")" = 200 ]
	want_hdr Cache-Control no-cache
	usage_error --cache 60 --no-cache "$TMP/www"
	usage_error --no-cache --cache 60 "$TMP/www"
	usage_error --cache abc "$TMP/www"
}
