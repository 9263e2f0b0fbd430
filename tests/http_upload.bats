#!/usr/bin/env bats
# serve-http --upload (issue 16): PUT and multipart POST, the safety rules
# (no writing outside DIR, bad names refused with nothing written, a file
# whole or not at all), --max-upload, Expect: 100-continue, chunked bodies,
# a full disk, and uploads that do not block other clients.

load http_more_helpers

setup_www() {
	mkdir -p "$TMP/www/up" "$TMP/www/sub" "$TMP/outside"
	printf 'hello world\n' >"$TMP/www/a.txt"
	printf 'in sub\n' >"$TMP/www/sub/f.txt"
	printf 'secret\n' >"$TMP/outside/secret.txt"
	ln -s ../outside "$TMP/www/out-dir"
	ln -s ../outside/secret.txt "$TMP/www/out-file"
}

# loc_is PATH: the Location header names PATH (as a path, or as $url PATH).
loc_is() {
	local loc
	loc=$(hdr Location "${2:-$TMP/h}") || { echo "no Location"; return 1; }
	[ "$loc" = "$1" ] || [ "$loc" = "$url$1" ] || { echo "Location is '$loc', want '$1'"; return 1; }
}

# deleted_in PID DIR: how many fds of PID are unnamed files that were in DIR
# (a temporary file still open); fds of a valgrind or ASan runtime elsewhere
# do not count.
deleted_in() {
	local n=0 f l
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		[[ "$l" == "$2"/*"(deleted)" ]] && n=$((n + 1))
	done
	echo "$n"
}
none_deleted_in() { [ "$(deleted_in "$1" "$2")" -eq 0 ]; }

# mp_body BOUNDARY [FIELD FILENAME CONTENT]...: a multipart/form-data body.
# FILENAME takes printf %b escapes (\0, \x01, \\); '-' means no filename
# parameter at all (a text field).
mp_body() {
	local b=$1
	shift
	while [ $# -ge 3 ]; do
		if [ "$2" = - ]; then
			printf -- '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' "$b" "$1" "$3"
		else
			printf -- '--%s\r\nContent-Disposition: form-data; name="%s"; filename="%b"\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n' \
				"$b" "$1" "$2" "$3"
		fi
		shift 3
	done
	printf -- '--%s--\r\n' "$b"
}

# post_mp TARGET BODY-FILE [CONTENT-TYPE]: POSTs BODY-FILE; the answer in
# $TMP/post.out, its status on stdout.
post_mp() {
	send POST "$1" -H "Content-Type: ${3:-multipart/form-data; boundary=XyZzy42}" --body "$2" \
		>"$TMP/post.out" 2>"$TMP/post.err"
	status_of "$TMP/post.out"
}

# --- PUT --------------------------------------------------------------------

@test "upload PUT: a new file is stored, 201 with Location; -H headers on it; readable back" {
	setup_www
	serve --upload -H 'X-Test: up'
	printf 'new content\n' >"$TMP/n.txt"
	[ "$(req -T "$TMP/n.txt" "$url/up/new.txt")" = 201 ]
	loc_is /up/new.txt
	want_hdr X-Test up
	cmp "$TMP/www/up/new.txt" "$TMP/n.txt"
	[ "$(curl -sS --max-time 10 "$url/up/new.txt")" = "new content" ]
	# A percent-encoded name is stored decoded; at the top of DIR too.
	[ "$(req -T "$TMP/n.txt" "$url/up/a%20b.txt")" = 201 ]
	cmp "$TMP/www/up/a b.txt" "$TMP/n.txt"
	[ "$(req -T "$TMP/n.txt" "$url/top.txt")" = 201 ]
	cmp "$TMP/www/top.txt" "$TMP/n.txt"
	# An empty body makes an empty file.
	send PUT /up/empty.txt -H 'Content-Length: 0' >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 201 ]
	[ -f "$TMP/www/up/empty.txt" ] && [ ! -s "$TMP/www/up/empty.txt" ]
	# Binary bytes, exactly (NULs, CRs, high bytes).
	head -c 70000 /dev/urandom >"$TMP/bin"
	[ "$(req -T "$TMP/bin" "$url/up/bin")" = 201 ]
	cmp "$TMP/www/up/bin" "$TMP/bin"
	# An HTTP/1.0 client.
	printf 'PUT /up/old.txt HTTP/1.0\r\nContent-Length: 4\r\n\r\nold\n' | raw >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 201 ]
	[ "$(cat "$TMP/www/up/old.txt")" = old ]
}

@test "upload: UTF-8 file names are stored as sent (PUT percent-encoded, POST as browsers send them)" {
	setup_www
	serve --upload
	printf 'utf\n' >"$TMP/u.txt"
	[ "$(req -T "$TMP/u.txt" "$url/up/caf%C3%A9%20%C3%BC.txt")" = 201 ]
	cmp "$TMP/www/up/café ü.txt" "$TMP/u.txt"
	mp_body XyZzy42 f 'naïve 日本.txt' 'utf8 body' >"$TMP/body"
	[ "$(post_mp /up/ "$TMP/body")" = 303 ]
	[ "$(cat "$TMP/www/up/naïve 日本.txt")" = "utf8 body" ]
	[ "$(curl -sS --max-time 10 "$url/up/na%C3%AFve%20%E6%97%A5%E6%9C%AC.txt")" = "utf8 body" ]
}

@test "upload PUT: a Content-Range (partial content) is refused with 400, nothing written (RFC 9110 14.5)" {
	setup_www
	serve --upload --overwrite
	tree_state >"$TMP/before"
	printf '0123456789' >"$TMP/ten"
	[ "$(req -T "$TMP/ten" -H 'Content-Range: bytes 0-9/100' "$url/up/part.bin")" = 400 ]
	[ "$(req -T "$TMP/ten" -H 'Content-Range: bytes 0-9/10' "$url/a.txt")" = 400 ]
	unchanged_since "$TMP/before"
}

@test "upload with --spa: a PUT of a missing path creates it (no fallback), and GET then serves it" {
	setup_www
	printf '<h1>spa</h1>\n' >"$TMP/www/index.html"
	serve --upload --spa
	[ "$(req "$url/up/new.txt")" = 200 ]
	cmp "$TMP/b" "$TMP/www/index.html"
	printf 'real\n' >"$TMP/n.txt"
	[ "$(req -T "$TMP/n.txt" "$url/up/new.txt")" = 201 ]
	cmp "$TMP/www/up/new.txt" "$TMP/n.txt"
	[ "$(curl -sS --max-time 10 "$url/up/new.txt")" = real ]
	[ "$(req -T "$TMP/n.txt" "$url/index.html")" = 409 ]
	cmp "$TMP/www/index.html" <(printf '<h1>spa</h1>\n')
}

@test "upload PUT: an existing file is 409 and unchanged; with --overwrite 204 and replaced" {
	setup_www
	serve --upload
	printf 'other\n' >"$TMP/o.txt"
	[ "$(req -T "$TMP/o.txt" "$url/a.txt")" = 409 ]
	[ "$(cat "$TMP/www/a.txt")" = "hello world" ]
	[ "$(req -T "$TMP/o.txt" "$url/sub/f.txt")" = 409 ]
	[ "$(cat "$TMP/www/sub/f.txt")" = "in sub" ]
	kill "$srv_pid"
	serve --upload --overwrite
	[ "$(req -T "$TMP/o.txt" "$url/a.txt")" = 204 ]
	[ ! -s "$TMP/b" ]
	[ "$(cat "$TMP/www/a.txt")" = other ]
	# A new file under --overwrite is still 201.
	[ "$(req -T "$TMP/o.txt" "$url/up/fresh.txt")" = 201 ]
	cmp "$TMP/www/up/fresh.txt" "$TMP/o.txt"
}

@test "upload PUT: a missing parent directory or a directory at that name is 409" {
	setup_www
	serve --upload --overwrite
	printf 'x\n' >"$TMP/x.txt"
	tree_state >"$TMP/before"
	[ "$(req -T "$TMP/x.txt" "$url/up/nodir/x.txt")" = 409 ]
	[ "$(req -T "$TMP/x.txt" "$url/no/such/dir/x.txt")" = 409 ]
	[ "$(req -T "$TMP/x.txt" "$url/sub")" = 409 ]
	[ "$(req -T "$TMP/x.txt" "$url/up")" = 409 ]
	for t in /sub/ /; do
		code=$(send PUT "$t" --body "$TMP/x.txt" | tee "$TMP/r.out" | status_of /dev/stdin)
		[[ "$code" == 4* ]] || { echo "PUT $t: $code"; return 1; }
	done
	unchanged_since "$TMP/before"
	[ -d "$TMP/www/sub" ] && [ -d "$TMP/www/up" ]
}

@test "upload PUT: paths that climb out and unsafe names are refused, nothing written" {
	setup_www
	serve --upload --overwrite
	printf 'x\n' >"$TMP/x.txt"
	tree_state >"$TMP/before"
	for t in /../outside/new.txt /%2e%2e/outside/new.txt /%2E%2E/outside/secret.txt \
		/up/..%2f..%2foutside%2fnew.txt /up/%2e%2e/%2e%2e/outside/new.txt /up/../../outside/new.txt \
		/sub/..%2f..%2foutside/secret.txt '/..%5coutside%5cnew.txt' http://x/../outside/new.txt; do
		code=$(send PUT "$t" --body "$TMP/x.txt" | status_of /dev/stdin)
		case "$code" in
		400 | 403 | 404) ;;
		*) echo "PUT $t: '$code'"; return 1 ;;
		esac
	done
	for t in /up/a%00b.txt /up/a%01b.txt /up/a%0ab.txt /up/a%0db.txt /up/a%1bb.txt /up/a%7fb.txt /up/%09x; do
		code=$(send PUT "$t" --body "$TMP/x.txt" | status_of /dev/stdin)
		[ "$code" = 400 ] || { echo "PUT $t: '$code', want 400"; return 1; }
	done
	# '..' as the last segment: never a file called '..', never a 2xx. (The
	# dot-segment may be removed first, as the read side does: then it is a
	# PUT on the directory DIR itself, refused like PUT / with 405 or 409.)
	for t in /up/%2e%2e /up/.. /up/%2e%2e/ /up/.%2e; do
		code=$(send PUT "$t" --body "$TMP/x.txt" | status_of /dev/stdin)
		case "$code" in
		400 | 403 | 404 | 405 | 409) ;;
		*) echo "PUT $t: '$code'"; return 1 ;;
		esac
	done
	unchanged_since "$TMP/before"
}

@test "upload PUT: never writes outside DIR through symlinks (a directory or a file leading out)" {
	setup_www
	serve --upload
	printf 'EVIL\n' >"$TMP/evil.txt"
	tree_state >"$TMP/before"
	code=$(req -T "$TMP/evil.txt" "$url/out-dir/new.txt")
	[[ "$code" != 2* ]] || { echo "PUT through a symlinked directory: $code"; false; }
	code=$(req -T "$TMP/evil.txt" "$url/out-dir/secret.txt")
	[[ "$code" != 2* ]]
	req -T "$TMP/evil.txt" "$url/out-file" >/dev/null || true
	unchanged_since "$TMP/before"
	kill "$srv_pid"
	serve --upload --overwrite
	code=$(req -T "$TMP/evil.txt" "$url/out-dir/new.txt")
	[[ "$code" != 2* ]] || { echo "PUT --overwrite through a symlinked directory: $code"; false; }
	code=$(req -T "$TMP/evil.txt" "$url/out-dir/secret.txt")
	[[ "$code" != 2* ]]
	# Onto a symlink that leads out: refused, or the link replaced by a
	# regular file in DIR; the outside file never changes.
	req -T "$TMP/evil.txt" "$url/out-file" >/dev/null || true
	[ "$(cat "$TMP/outside/secret.txt")" = secret ]
	[ "$(ls -A "$TMP/outside")" = secret.txt ]
	[ -L "$TMP/www/out-file" ] || cmp "$TMP/www/out-file" "$TMP/evil.txt"
	[ -L "$TMP/www/out-dir" ]
}

# --- POST multipart/form-data -----------------------------------------------

@test "upload POST: every file part is stored, then 303 See Other back to the directory" {
	setup_www
	serve --upload -H 'X-Test: up'
	head -c 100000 /dev/urandom >"$TMP/a.bin"
	printf 'bee\n' >"$TMP/b.txt"
	printf 'sea\n' >"$TMP/c.dat"
	code=$(req -F "f=@$TMP/a.bin" -F "g=@$TMP/b.txt" -F "h=@$TMP/c.dat;filename=renamed.dat" "$url/up/")
	[ "$code" = 303 ] || { echo "status $code"; cat "$TMP/h"; false; }
	loc_is /up/
	want_hdr X-Test up
	cmp "$TMP/www/up/a.bin" "$TMP/a.bin"
	cmp "$TMP/www/up/b.txt" "$TMP/b.txt"
	cmp "$TMP/www/up/renamed.dat" "$TMP/c.dat"
	[ ! -e "$TMP/www/up/c.dat" ]
	# To the top directory, and with the browser's multiple-file field name.
	[ "$(req -F "file=@$TMP/b.txt;filename=one.txt" -F "file=@$TMP/c.dat;filename=two.txt" "$url/")" = 303 ]
	loc_is /
	# A query string (a form on a listing URL that had one) is not part of it.
	[ "$(req -F "file=@$TMP/b.txt;filename=q.txt" "$url/up/?from=form")" = 303 ]
	loc_is /up/
	cmp "$TMP/www/up/q.txt" "$TMP/b.txt"
	cmp "$TMP/www/one.txt" "$TMP/b.txt"
	cmp "$TMP/www/two.txt" "$TMP/c.dat"
	# A hand-made body: a part with CRLFs, a prefix of the delimiter, and the
	# boundary not after a CRLF (so no delimiter) inside it.
	printf 'line1\r\n--XyZzy4\r\nmid--XyZzy42--line\r\n\r\nend' >"$TMP/tricky"
	mp_body XyZzy42 f tricky.txt "$(cat "$TMP/tricky")" >"$TMP/body"
	[ "$(post_mp /up/ "$TMP/body")" = 303 ]
	cmp "$TMP/www/up/tricky.txt" "$TMP/tricky"
}

@test "upload POST: bad multipart input is 400 with nothing written" {
	setup_www
	serve --upload --overwrite
	tree_state >"$TMP/before"
	failed=0
	# bad DESCRIPTION BODY-FILE [CONTENT-TYPE]: 400 and nothing written; a
	# failure is counted and said, and the next case still runs.
	bad() {
		local code
		code=$(post_mp /up/ "$2" "${3:-}")
		if [ "$code" != 400 ]; then
			echo "$1: status '$code', want 400; the directory now has: $(ls -A "$TMP/www/up" | tr '\n' ' ')"
			failed=$((failed + 1))
		fi
		if ! unchanged_since "$TMP/before" >/dev/null; then
			echo "... and something was written after $1"
			rm -rf "$TMP/www/up" && mkdir "$TMP/www/up"
			failed=$((failed + 1))
		fi
		return 0
	}
	# bad_name FILENAME: a good part first, then one named FILENAME (%b escapes).
	bad_name() {
		mp_body XyZzy42 f good.txt good f "$1" bad >"$TMP/body"
		bad "file name '$(printf %b "$1" | cat -v)'" "$TMP/body"
	}
	mp_body XyZzy42 f good.txt good >"$TMP/body"
	bad "no boundary" "$TMP/body" "multipart/form-data"
	bad "a boundary that does not occur" "$TMP/body" "multipart/form-data; boundary=NotInTheBody"
	bad "an empty boundary" "$TMP/body" 'multipart/form-data; boundary=""'
	head -c -8 "$TMP/body" >"$TMP/cut"
	bad "no closing delimiter" "$TMP/cut"
	bad_name ''
	mp_body XyZzy42 f good.txt good text - 'just a field' >"$TMP/body"
	bad "a part without a file name" "$TMP/body"
	bad_name 'a/b.txt'
	bad_name '../escape.txt'
	bad_name '../../outside/escape.txt'
	bad_name '/abs.txt'
	# A backslash as browsers send it (HTML escapes only '"', CR and LF in a
	# file name), as old browsers send whole Windows paths, and as a
	# quoted-pair would carry it.
	bad_name 'a\\b.txt'
	bad_name '..\\escape.txt'
	bad_name 'C:\\Users\\me\\x.txt'
	bad_name 'a\\\\b.txt'
	bad_name 'a\0b.txt'
	bad_name 'a\x01b.txt'
	bad_name 'a\x1bb.txt'
	bad_name 'a\x7fb.txt'
	bad_name 'a\tb.txt'
	bad_name '.'
	bad_name '..'
	bad_name '%2e%2e'
	mp_body XyZzy42 f dup.txt one g dup.txt two >"$TMP/body"
	bad "the same name twice" "$TMP/body"
	[ "$failed" -eq 0 ]
}

@test "upload POST: an existing file is 409 (unchanged); with --overwrite it is replaced" {
	setup_www
	serve --upload
	mp_body XyZzy42 f a.txt replaced >"$TMP/body"
	[ "$(post_mp / "$TMP/body")" = 409 ]
	[ "$(cat "$TMP/www/a.txt")" = "hello world" ]
	kill "$srv_pid"
	serve --upload --overwrite
	[ "$(post_mp / "$TMP/body")" = 303 ]
	[ "$(cat "$TMP/www/a.txt")" = replaced ]
}

@test "upload POST: other content types 415, to a file 405; without --upload PUT and POST are 405" {
	setup_www
	serve --upload
	tree_state >"$TMP/before"
	[ "$(req -d 'a=1&b=2' "$url/up/")" = 415 ]
	[ "$(req -H 'Content-Type: text/plain' --data-binary 'hi' "$url/up/")" = 415 ]
	printf 'x\n' >"$TMP/x.txt"
	[ "$(req -F "f=@$TMP/x.txt" "$url/a.txt")" = 405 ]
	unchanged_since "$TMP/before"
	kill "$srv_pid"
	serve
	[ "$(req -T "$TMP/x.txt" "$url/up/x.txt")" = 405 ]
	list_is "$(hdr Allow)" GET HEAD
	[ "$(req -F "f=@$TMP/x.txt" "$url/up/")" = 405 ]
	list_is "$(hdr Allow)" GET HEAD
	unchanged_since "$TMP/before"
}

@test "upload: a 405 names in Allow the methods its target takes (POST on a directory, PUT on a file)" {
	setup_www
	serve --upload
	printf 'x\n' >"$TMP/x.txt"
	send PUT /sub/ --body "$TMP/x.txt" >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 405 ]
	list_has "$(hdr Allow "$TMP/r.out")" GET HEAD POST
	[ "$(req -F "f=@$TMP/x.txt" "$url/a.txt")" = 405 ]
	list_has "$(hdr Allow)" GET HEAD PUT
}

@test "upload: the listing shows an upload form only with --upload" {
	setup_www
	serve --upload
	[ "$(req "$url/up/")" = 200 ]
	page=$(tr 'A-Z' 'a-z' <"$TMP/b")
	[[ "$page" == *"<form"* ]]
	[[ "$page" == *'method="post"'* ]]
	[[ "$page" == *'enctype="multipart/form-data"'* ]]
	[[ "$page" == *'<input type="file"'* ]]
	kill "$srv_pid"
	serve
	[ "$(req "$url/up/")" = 200 ]
	lacks -i '<form' "$TMP/b"
	lacks -i 'type="file"' "$TMP/b"
}

# --- whole or nothing -------------------------------------------------------

@test "upload: while the body arrives no new name is in the directory; then the whole file" {
	setup_www
	serve --upload
	make_data "$TMP/body" 1
	lsa "$TMP/www/up" >"$TMP/ls.before"
	bg put timeout 60 python3 "$SEND" "$port" PUT /up/whole.bin --body "$TMP/body" \
		--pause-at 500000 --go "$TMP/go"
	wait_for "$TMP/put.err" 'paused at 500000' 20
	wait_until 20 recv_queue_empty "$port"
	diff "$TMP/ls.before" <(lsa "$TMP/www/up")
	lsa "$TMP/www" | grep -qvxE 'a\.txt|sub|up|out-dir|out-file' && { echo "a new name in DIR:"; lsa "$TMP/www"; false; }
	touch "$TMP/go"
	wait_exit "$put_pid" 30
	[ "$(status_of "$TMP/put.out")" = 201 ]
	cmp "$TMP/www/up/whole.bin" "$TMP/body"
	[ "$(lsa "$TMP/www/up")" = whole.bin ]
}

@test "upload: a client that resets mid-body leaves no file, no temporary file, no open unnamed file" {
	setup_www
	serve --upload
	make_data "$TMP/body" 1
	bg put timeout 60 python3 "$SEND" "$port" PUT /up/gone.bin --body "$TMP/body" \
		--pause-at 500000 --go "$TMP/go" --vanish
	wait_for "$TMP/put.err" 'paused at' 20
	wait_until 20 recv_queue_empty "$port"
	touch "$TMP/go"
	wait_for "$TMP/put.err" 'reset sent' 20
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
	[ -z "$(lsa "$TMP/www/up")" ]
	[ "$(curl -sS --max-time 10 "$url/a.txt")" = "hello world" ]
	# The same through POST multipart.
	mp_body XyZzy42 f gone2.bin "$(head -c 300000 /dev/zero | tr '\0' a)" >"$TMP/mp"
	bg post timeout 60 python3 "$SEND" "$port" POST /up/ -H 'Content-Type: multipart/form-data; boundary=XyZzy42' \
		--body "$TMP/mp" --pause-at 150000 --go "$TMP/go2" --vanish
	wait_for "$TMP/post.err" 'paused at' 20
	wait_until 20 recv_queue_empty "$port"
	touch "$TMP/go2"
	wait_for "$TMP/post.err" 'reset sent' 20
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
	[ -z "$(lsa "$TMP/www/up")" ]
}

@test "upload: a body shorter than its Content-Length, then a close, leaves nothing" {
	setup_www
	serve --upload
	make_data "$TMP/body" 1
	send PUT /up/short.bin --body "$TMP/body" --stop-at 400000 --wait 20 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q 'stopped at 400000' "$TMP/r.err"
	code=$(status_of "$TMP/r.out" || true)
	[[ "$code" != 2* ]] || { echo "a truncated body was answered $code"; false; }
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
	[ -z "$(lsa "$TMP/www/up")" ]
	[ "$(curl -sS --max-time 10 "$url/a.txt")" = "hello world" ]
}

@test "upload POST: all files or none: when one cannot be linked (its name appeared meanwhile), the others are removed" {
	setup_www
	serve --upload
	{
		printf -- '--XyZzy42\r\nContent-Disposition: form-data; name="f"; filename="first.txt"\r\n\r\nfirst\r\n'
		printf -- '--XyZzy42\r\nContent-Disposition: form-data; name="f"; filename="race.txt"\r\n\r\n'
		head -c 400000 /dev/zero | tr '\0' r
		printf -- '\r\n--XyZzy42--\r\n'
	} >"$TMP/mp"
	bg post timeout 60 python3 "$SEND" "$port" POST /up/ -H 'Content-Type: multipart/form-data; boundary=XyZzy42' \
		--body "$TMP/mp" --pause-at 200000 --go "$TMP/go"
	wait_for "$TMP/post.err" 'paused at' 20
	wait_until 20 recv_queue_empty "$port"
	printf 'mine\n' >"$TMP/www/up/race.txt"
	touch "$TMP/go"
	wait_exit "$post_pid" 30
	[ "$(status_of "$TMP/post.out")" = 409 ] || { cat "$TMP/post.out"; false; }
	[ "$(cat "$TMP/www/up/race.txt")" = mine ]
	[ "$(lsa "$TMP/www/up")" = race.txt ]
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
}

@test "upload: the --overwrite temporary names (.sockctl-upload.*) are refused as upload names" {
	setup_www
	serve --upload --overwrite
	tree_state >"$TMP/before"
	printf 'x\n' >"$TMP/x.txt"
	[ "$(req -T "$TMP/x.txt" "$url/up/.sockctl-upload.1234.0")" = 400 ]
	mp_body XyZzy42 f .sockctl-upload.x x >"$TMP/body"
	[ "$(post_mp /up/ "$TMP/body")" = 400 ]
	unchanged_since "$TMP/before"
	# A name that only looks alike is fine.
	[ "$(req -T "$TMP/x.txt" "$url/up/sockctl-upload.txt")" = 201 ]
}

@test "upload: thousands of pipelined PUTs on one connection, under a 256 KiB stack: all answered, in order" {
	setup_www
	bg srv bash -c 'ulimit -s 256 && exec "$0" serve-http -p 0 -b 127.0.0.1 --upload "$1"' "$SK" "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	run timeout 120 python3 - "$port" <<'PY'
import re, socket, sys, threading
n = 3000
reqs = b"".join(b"PUT /up/f%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d" % (i, i % 10)
                for i in range(n))
reqs += b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
# Sent while the answers are read: neither side's buffers fill up for good.
t = threading.Thread(target=s.sendall, args=(reqs,))
t.start()
out = b""
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    out += b
codes = re.findall(rb"HTTP/1\.1 ([0-9]{3}) ", out)
t.join()
print(len(codes), codes.count(b"201"), codes[-1].decode(), out.endswith(b"hello world\n"))
PY
	[ "$status" -eq 0 ]
	[ "$output" = "3001 3000 200 True" ] || { echo "got: $output"; cat "$TMP/srv.err" | tail -5; false; }
	kill -0 "$srv_pid"
	[ "$(cat "$TMP/www/up/f2999")" = 9 ]
	[ "$(ls "$TMP/www/up" | wc -l)" -eq 3000 ]
}

# --- limits, Expect, chunked --------------------------------------------------

@test "upload --max-upload: over it 413, answered before the body (no 100 first); K and M are 1024-based" {
	setup_www
	serve --upload --max-upload 1K
	head -c 1024 /dev/urandom >"$TMP/f1024"
	head -c 1025 /dev/urandom >"$TMP/f1025"
	[ "$(req -T "$TMP/f1025" "$url/up/big.bin")" = 413 ]
	[ "$(req -T "$TMP/f1024" "$url/up/ok.bin")" = 201 ]
	cmp "$TMP/www/up/ok.bin" "$TMP/f1024"
	# The head alone: the 413 comes without the body.
	send PUT /up/big.bin -H 'Content-Length: 5000' --wait 5 >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 413 ]
	# With Expect: 100-continue, the 413 and no 100.
	head -c 5000 /dev/zero >"$TMP/f5000"
	send PUT /up/big.bin --body "$TMP/f5000" --expect 10 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^final before body HTTP/1.1 413' "$TMP/r.err"
	lacks -a '100 Continue' "$TMP/r.out"
	# POST multipart too.
	mp_body XyZzy42 f big.bin "$(head -c 3000 /dev/zero | tr '\0' a)" >"$TMP/mp"
	[ "$(post_mp /up/ "$TMP/mp")" = 413 ]
	[ "$(lsa "$TMP/www/up")" = ok.bin ]
	kill "$srv_pid"
	serve --upload --max-upload 1M
	head -c 1048576 /dev/urandom >"$TMP/f1m"
	head -c 1048577 /dev/urandom >"$TMP/f1m1"
	[ "$(req -T "$TMP/f1m1" "$url/up/big.bin")" = 413 ]
	[ "$(req -T "$TMP/f1m" "$url/up/ok1m.bin")" = 201 ]
	cmp "$TMP/www/up/ok1m.bin" "$TMP/f1m"
	[ ! -e "$TMP/www/up/big.bin" ]
}

@test "upload --max-upload: the default is 1G; G works; bad sizes are exit 2" {
	setup_www
	serve --upload
	send PUT /up/huge.bin -H 'Content-Length: 1073741825' --expect 10 --wait 2 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^final before body HTTP/1.1 413' "$TMP/r.err"
	send PUT /up/huge.bin -H 'Content-Length: 1073741824' --expect 10 --wait 1 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^interim HTTP/1.1 100' "$TMP/r.err"
	kill "$srv_pid"
	serve --upload --max-upload 2G
	send PUT /up/huge.bin -H 'Content-Length: 2147483649' --expect 10 --wait 2 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^final before body HTTP/1.1 413' "$TMP/r.err"
	send PUT /up/huge.bin -H 'Content-Length: 1073741825' --expect 10 --wait 1 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^interim HTTP/1.1 100' "$TMP/r.err"
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
	[ -z "$(lsa "$TMP/www/up")" ]
	for v in x 1X -1 '' 1.5K 10Q; do
		usage_error --upload --max-upload "$v" "$TMP/www" || { echo "for --max-upload '$v'"; return 1; }
	done
}

@test "upload --max-upload: a chunked body that grows past it is 413, nothing left" {
	setup_www
	serve --upload --max-upload 64K
	head -c 262144 /dev/urandom >"$TMP/body"
	send PUT /up/chunky.bin --body "$TMP/body" --chunked 4096 --trickle 4200,0.01 >"$TMP/r.out" 2>"$TMP/r.err"
	[ "$(status_of "$TMP/r.out")" = 413 ] || { cat "$TMP/r.err" "$TMP/r.out"; false; }
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
	[ -z "$(lsa "$TMP/www/up")" ]
	# Under the limit, chunked is fine.
	head -c 60000 /dev/urandom >"$TMP/small"
	send PUT /up/small.bin --body "$TMP/small" --chunked 4096 >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 201 ]
	cmp "$TMP/www/up/small.bin" "$TMP/small"
}

@test "upload: Expect: 100-continue gets HTTP/1.1 100 Continue before the body, then the status" {
	setup_www
	serve --upload
	head -c 5000 /dev/urandom >"$TMP/body"
	send PUT /up/e.bin --body "$TMP/body" --expect 10 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^interim HTTP/1.1 100 Continue' "$TMP/r.err" || { cat "$TMP/r.err"; false; }
	[[ "$(head -n 1 "$TMP/r.out")" == "HTTP/1.1 100 Continue"* ]]
	[ "$(status_of "$TMP/r.out")" = 201 ]
	cmp "$TMP/www/up/e.bin" "$TMP/body"
	# curl sends Expect for a large PUT and gets the 100 at once.
	make_data "$TMP/big" 2
	curl -sS -v --max-time 30 --expect100-timeout 20 -T "$TMP/big" -o /dev/null "$url/up/big.bin" 2>"$TMP/curl.err"
	grep -q '^< HTTP/1.1 100 Continue' "$TMP/curl.err"
	grep -q '^< HTTP/1.1 201 ' "$TMP/curl.err"
	cmp "$TMP/www/up/big.bin" "$TMP/big"
	# Multipart POST with Expect too.
	mp_body XyZzy42 f e2.txt hello >"$TMP/mp"
	send POST /up/ -H 'Content-Type: multipart/form-data; boundary=XyZzy42' --body "$TMP/mp" --expect 10 \
		>"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^interim HTTP/1.1 100 Continue' "$TMP/r.err"
	[ "$(status_of "$TMP/r.out")" = 303 ]
	[ "$(cat "$TMP/www/up/e2.txt")" = hello ]
}

@test "upload: chunked PUT bodies (curl -T - from a pipe, raw, extensions, trailers) are stored" {
	setup_www
	serve --upload
	head -c 300000 /dev/urandom >"$TMP/data"
	code=$(cat "$TMP/data" | curl -sS --max-time 30 -T - -o /dev/null -w '%{http_code}' "$url/up/piped.bin")
	[ "$code" = 201 ]
	cmp "$TMP/www/up/piped.bin" "$TMP/data"
	send PUT /up/raw.bin --body "$TMP/data" --chunked 1000 >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 201 ]
	cmp "$TMP/www/up/raw.bin" "$TMP/data"
	printf '5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n' >"$TMP/ext"
	send PUT /up/ext.txt -H 'Transfer-Encoding: chunked' --body "$TMP/ext" >"$TMP/r.out"
	[ "$(status_of "$TMP/r.out")" = 201 ]
	[ "$(cat "$TMP/www/up/ext.txt")" = "hello world" ]
}

@test "upload: a malformed chunked body is 400 and nothing is written" {
	setup_www
	serve --upload
	tree_state >"$TMP/before"
	i=0
	for b in 'zz\r\nhello\r\n0\r\n\r\n' '5\r\nhelloXX0\r\n\r\n' '-5\r\nhello\r\n0\r\n\r\n' \
		'5\r\nhello\r\nq\r\n\r\n' '\r\nhello\r\n0\r\n\r\n' '0x5\r\nhello\r\n0\r\n\r\n' \
		'5\nhello\n0\n\n' '5\r\nhello\r\n0\r\nbad trailer\r\n\r\n'; do
		i=$((i + 1))
		printf '%b' "$b" >"$TMP/bad"
		send PUT "/up/bad$i.txt" -H 'Transfer-Encoding: chunked' --body "$TMP/bad" --wait 5 >"$TMP/r.out"
		code=$(status_of "$TMP/r.out" || true)
		[ "$code" = 400 ] || { echo "chunked body $b: status '$code', want 400"; return 1; }
		unchanged_since "$TMP/before" || { echo "... after $b"; return 1; }
	done
	# A chunk size that overflows: refused (400, or 413), nothing written.
	printf 'fffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n' >"$TMP/bad"
	send PUT /up/over.txt -H 'Transfer-Encoding: chunked' --body "$TMP/bad" --wait 5 >"$TMP/r.out"
	code=$(status_of "$TMP/r.out" || true)
	[ "$code" = 400 ] || [ "$code" = 413 ]
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/www"
	unchanged_since "$TMP/before"
}

# --- framing ------------------------------------------------------------------

@test "upload: a body answered early (409, 405, 415, 413, 401) is never read as a request" {
	setup_www
	smuggled=$'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'
	# early SERVE-OPTIONS -- REQUEST-HEAD-LINES...: the head (with a
	# Content-Length of the smuggled request as its body), the body, then a
	# real GET /sub/f.txt. The answer: the early status, then either that
	# GET's answer or a close; never a response to the smuggled request.
	early() {
		local want=$1 head="" line n
		shift
		for line in "$@"; do head+="$line"$'\r\n'; done
		printf '%sContent-Length: %d\r\n\r\n%sGET /sub/f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
			"$head" "${#smuggled}" "$smuggled" | raw --wait 5 >"$TMP/r.out"
		n=$(grep -ac '^HTTP/1.1 ' "$TMP/r.out")
		if [ "$(grep -ao '^HTTP/1.1 [0-9]*' "$TMP/r.out" | head -n 1)" != "HTTP/1.1 $want" ] ||
			grep -aq 'hello world' "$TMP/r.out" || [ "$n" -gt 2 ] ||
			{ [ "$n" -eq 2 ] && ! grep -aq 'in sub' "$TMP/r.out"; }; then
			echo "for $1 (want $want first, then 'in sub' or a close):"
			cat "$TMP/r.out"
			return 1
		fi
	}
	serve --upload
	early 409 'PUT /a.txt HTTP/1.1' 'Host: x'
	early 405 'POST /a.txt HTTP/1.1' 'Host: x' 'Content-Type: multipart/form-data; boundary=B'
	early 415 'POST /up/ HTTP/1.1' 'Host: x' 'Content-Type: text/plain'
	early 409 'PUT /up/nodir/new.txt HTTP/1.1' 'Host: x'
	kill "$srv_pid"
	serve --upload --max-upload 10
	early 413 'PUT /up/new.txt HTTP/1.1' 'Host: x'
	early 413 'POST /up/ HTTP/1.1' 'Host: x' 'Content-Type: multipart/form-data; boundary=B'
	kill "$srv_pid"
	serve --upload --auth u:p
	early 401 'PUT /up/new.txt HTTP/1.1' 'Host: x'
	early 401 'POST /up/ HTTP/1.1' 'Host: x' 'Content-Type: multipart/form-data; boundary=B'
	# A chunked body answered early: the same.
	printf 'PUT /up/new.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\nGET /sub/f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
		"${#smuggled}" "$smuggled" | raw --wait 5 >"$TMP/r.out"
	[[ "$(head -n 1 "$TMP/r.out")" == "HTTP/1.1 401 "* ]]
	lacks -a 'hello world' "$TMP/r.out"
	[ ! -e "$TMP/www/up/new.txt" ]
}

@test "upload: pipelined PUTs (Content-Length, chunked) and a GET on one connection: each body exactly its bytes" {
	setup_www
	serve --upload
	printf 'PUT /up/one.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPUT /up/two.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nwor\r\n2\r\nld\r\n0\r\n\r\nGET /up/one.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		raw --wait 10 >"$TMP/r.out"
	[ "$(grep -ao '^HTTP/1.1 [0-9]*' "$TMP/r.out" | tr '\n' ' ')" = "HTTP/1.1 201 HTTP/1.1 201 HTTP/1.1 200 " ] ||
		{ cat "$TMP/r.out"; false; }
	[[ "$(cat "$TMP/r.out")" == *$'\r\n\r\nhello' ]]
	[ "$(cat "$TMP/www/up/one.txt")" = hello ]
	[ "$(cat "$TMP/www/up/two.txt")" = world ]
	# A multipart POST, then a GET, on one connection.
	mp_body XyZzy42 f three.txt three >"$TMP/mp"
	{
		printf 'POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZzy42\r\nContent-Length: %d\r\n\r\n' \
			"$(stat -c %s "$TMP/mp")"
		cat "$TMP/mp"
		printf 'GET /up/three.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	} | raw --wait 10 >"$TMP/r.out"
	[ "$(grep -ao '^HTTP/1.1 [0-9]*' "$TMP/r.out" | tr '\n' ' ')" = "HTTP/1.1 303 HTTP/1.1 200 " ] ||
		{ cat "$TMP/r.out"; false; }
	[[ "$(cat "$TMP/r.out")" == *$'\r\n\r\nthree' ]]
}

@test "upload --overwrite: a GET right after an upload gets the new bytes, not a cached old file" {
	setup_www
	serve --upload --overwrite
	for i in 1 2 3; do
		[ "$(curl -sS --max-time 10 "$url/a.txt")" = "hello world" ]
	done
	printf 'replaced by PUT\n' >"$TMP/n.txt"
	[ "$(req -T "$TMP/n.txt" "$url/a.txt")" = 204 ]
	[ "$(curl -sS --max-time 10 "$url/a.txt")" = "replaced by PUT" ]
	[ "$(curl -sS --max-time 10 -I "$url/a.txt" | tr -d '\r' | sed -n 's/^Content-Length: //p')" = 16 ]
	printf 'replaced by POST, longer than before\n' >"$TMP/a.txt"
	[ "$(req -F "f=@$TMP/a.txt" "$url/")" = 303 ]
	[ "$(curl -sS --max-time 10 "$url/a.txt")" = "replaced by POST, longer than before" ]
	# A new file where a GET just found nothing.
	[ "$(req "$url/up/later.txt")" = 404 ]
	[ "$(req -T "$TMP/n.txt" "$url/up/later.txt")" = 201 ]
	[ "$(curl -sS --max-time 10 "$url/up/later.txt")" = "replaced by PUT" ]
}

# --- a full disk ------------------------------------------------------------

@test "upload: a full disk is 507 with nothing left; a small file still works after" {
	setup_www
	[ "$(id -u)" = 0 ] || skip "needs root for a private tmpfs (unshare -m)"
	unshare -m true 2>/dev/null || skip "unshare -m fails here"
	mkdir "$TMP/tiny"
	bg srv unshare -m sh -c 'mount -t tmpfs -o size=1m none "$1" && exec "$2" serve-http -p 0 -b 127.0.0.1 --upload "$1"' \
		sh "$TMP/tiny" "$SK"
	port=$(port_of "$TMP/srv.err")
	url="http://127.0.0.1:$port"
	inside="/proc/$srv_pid/root$TMP/tiny"
	# It is the tmpfs that is served, not the directory seen from here.
	grep -q " $TMP/tiny tmpfs " "/proc/$srv_pid/mounts"
	make_data "$TMP/4m" 4
	send PUT /big.bin --body "$TMP/4m" --wait 20 >"$TMP/r.out" 2>"$TMP/r.err"
	[ "$(status_of "$TMP/r.out")" = 507 ] || { cat "$TMP/r.err"; head -c 300 "$TMP/r.out"; false; }
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/tiny"
	[ -z "$(ls -A "$inside")" ]
	# The same through curl -T, and through POST.
	code=$(curl -sS --max-time 30 -T "$TMP/4m" -o /dev/null -w '%{http_code}' "$url/big2.bin" || true)
	[ "$code" = 507 ] || [ "$code" = 000 ]
	mp_body XyZzy42 f big3.bin "$(head -c 3000000 /dev/zero | tr '\0' a)" >"$TMP/mp"
	[ "$(post_mp / "$TMP/mp")" = 507 ]
	wait_until 20 none_deleted_in "$srv_pid" "$TMP/tiny"
	[ -z "$(ls -A "$inside")" ]
	printf 'small\n' >"$TMP/small"
	[ "$(req -T "$TMP/small" "$url/small.txt")" = 201 ]
	[ "$(curl -sS --max-time 10 "$url/small.txt")" = small ]
	[ "$(ls -A "$inside")" = small.txt ]
	[ ! -e "$TMP/tiny/small.txt" ]
}

# --- the event loop -----------------------------------------------------------

@test "upload: a client trickling a PUT body does not hold up others" {
	setup_www
	serve --upload
	# 400 bytes, 4 every 100 ms: 10 s at least.
	head -c 400 /dev/urandom >"$TMP/body"
	bg put timeout 60 python3 "$SEND" "$port" PUT /up/slow.bin --body "$TMP/body" --trickle 4,0.1 --wait 20
	wait_for "$TMP/put.err" '^body 8$' 20
	for i in 1 2 3; do
		start=$(date +%s%N)
		[ "$(curl -sS --max-time 2 "$url/a.txt")" = "hello world" ]
		[ $((($(date +%s%N) - start) / 1000000)) -lt 2000 ]
	done
	# All that while the PUT was still arriving.
	lacks '^body 400$' "$TMP/put.err"
	[ ! -e "$TMP/www/up/slow.bin" ]
	wait_exit "$put_pid" 40
	[ "$(status_of "$TMP/put.out")" = 201 ]
	cmp "$TMP/www/up/slow.bin" "$TMP/body"
}

# --- integrity ----------------------------------------------------------------

@test "upload: 20 MiB PUT and a multipart POST of several files arrive intact" {
	setup_www
	serve --upload
	make_data "$TMP/big" 20
	[ "$(req -T "$TMP/big" "$url/up/big.bin")" = 201 ]
	[ "$(sha "$TMP/www/up/big.bin")" = "$(sha "$TMP/big")" ]
	make_data "$TMP/m1" 3
	head -c 12345 /dev/urandom >"$TMP/m2"
	printf '' >"$TMP/m3"
	make_data "$TMP/m4" 1
	code=$(req -F "a=@$TMP/m1" -F "b=@$TMP/m2" -F "c=@$TMP/m3" -F "d=@$TMP/m4" "$url/up/")
	[ "$code" = 303 ]
	for f in m1 m2 m3 m4; do
		[ "$(sha "$TMP/www/up/$f")" = "$(sha "$TMP/$f")" ] || { echo "$f differs"; return 1; }
	done
	# And read back through serve-http.
	[ "$(curl -sS --max-time 30 "$url/up/big.bin" | sha256sum | cut -d' ' -f1)" = "$(sha "$TMP/big")" ]
}

@test "upload over TLS: 20 MiB PUT and a multipart POST arrive intact" {
	"$SK" --version | grep -q '^tls: OpenSSL' || skip "built without TLS"
	setup_www
	serve --tls --upload
	url="https://127.0.0.1:$port"
	make_data "$TMP/big" 20
	[ "$(req -k -T "$TMP/big" "$url/up/big.bin")" = 201 ]
	[ "$(sha "$TMP/www/up/big.bin")" = "$(sha "$TMP/big")" ]
	make_data "$TMP/m1" 2
	head -c 777 /dev/urandom >"$TMP/m2"
	[ "$(req -k -F "a=@$TMP/m1" -F "b=@$TMP/m2" "$url/up/")" = 303 ]
	[ "$(sha "$TMP/www/up/m1")" = "$(sha "$TMP/m1")" ]
	[ "$(sha "$TMP/www/up/m2")" = "$(sha "$TMP/m2")" ]
	# Expect: 100-continue over TLS too.
	head -c 3000 /dev/urandom >"$TMP/e"
	send PUT /up/e.bin --tls --body "$TMP/e" --expect 10 >"$TMP/r.out" 2>"$TMP/r.err"
	grep -q '^interim HTTP/1.1 100' "$TMP/r.err"
	[ "$(status_of "$TMP/r.out")" = 201 ]
	cmp "$TMP/www/up/e.bin" "$TMP/e"
}

@test "upload: a client refused by --deny writes nothing" {
	setup_www
	serve --upload --deny 127.0.0.1
	tree_state >"$TMP/before"
	printf 'x\n' >"$TMP/x.txt"
	code=$(req -T "$TMP/x.txt" "$url/up/x.txt" || true)
	[ "$code" = 000 ]
	code=$(req -F "f=@$TMP/x.txt" "$url/up/" || true)
	[ "$code" = 000 ]
	wait_until 10 lines_at_least "$TMP/srv.err" 2 '"-" - -$'
	unchanged_since "$TMP/before"
}

@test "upload: pipelined uploads whose bodies cross buffer refills do not grow the stack (a 256 KiB stack, 2000 requests)" {
	mkdir -p "$TMP/www"
	echo a >"$TMP/www/a.txt"
	bg srv bash -c "ulimit -s 256 && exec \"\$0\" \"\$@\"" "$SK" serve-http -p 0 -b 127.0.0.1 \
		--log /dev/null --upload "$TMP/www"
	port=$(port_of "$TMP/srv.err")
	# Small chunked PUTs, one large one ending just past each 17 KiB read of
	# the server's, so that every read ends inside a body; then a GET.
	run timeout 120 python3 - "$port" <<'PY'
import socket, sys
cap = 16384 + 1024
head = b"PUT /q%06d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
out, n = bytearray(), 0
for k in range(1, 11):
    while len(out) + 120 < cap * k:
        out += head % n + b"1\r\nx\r\n0\r\n\r\n"
        n += 1
    d = cap * k - (len(out) + len(head % n) + 6) + 50
    out += head % n + b"%04x\r\n" % d + b"y" * d + b"\r\n0\r\n\r\n"
    n += 1
out += b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=100)
s.sendall(bytes(out))
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
print(n, got.count(b"HTTP/1.1 201 "), got.endswith(b"a\n"))
PY
	echo "$output"
	[ "$status" -eq 0 ]
	read -r sent created last <<<"$output"
	[ "$sent" -gt 1000 ] && [ "$created" -eq "$sent" ] && [ "$last" = True ]
	kill -0 "$srv_pid"
}
