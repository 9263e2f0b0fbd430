# Shared set-up for the serve-http additions (issue 16): -H, --cors,
# --fallback/--spa, --cache/--no-cache, --precompressed, --auth and
# --upload. Built on helpers.bash (bg, wait_for, port_of, wait_until, ...).

load helpers

RAW="$BATS_TEST_DIRNAME/peers/http_raw.py"
SEND="$BATS_TEST_DIRNAME/peers/http_send.py"

# serve [OPTIONS]: serves $WWW (default $TMP/www) on 127.0.0.1 in the
# background; sets $port and $url. The server's stderr is $TMP/srv.err.
serve() {
	bg srv "$SK" serve-http -p 0 -b 127.0.0.1 "$@" "${WWW:-$TMP/www}"
	port=$(port_of "$TMP/srv.err") || return 1
	url="http://127.0.0.1:$port"
}

# raw [ARGS]: the request on stdin, the server's raw answer on stdout.
raw() {
	python3 "$RAW" "$port" "$@"
}

# send METHOD TARGET [OPTIONS]: tests/peers/http_send.py against $port;
# the answer on stdout, its events on stderr.
send() {
	timeout 60 python3 "$SEND" "$port" "$@"
}

# req CURL-ARGS...: curl with the response head in $TMP/h and the body in
# $TMP/b (both emptied first: curl creates its -o file only when a body byte
# arrives); prints the status code. (With -I curl writes the head to $TMP/b
# too: check a HEAD's empty body with raw_head.)
req() {
	: >"$TMP/h"
	: >"$TMP/b"
	curl -sS --max-time 30 -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' "$@"
}

# raw_head TARGET [HEADER-LINE]...: a HEAD request through raw sockets, with
# Connection: close; the whole answer in $TMP/r.out. Then
# no_body_after_head checks that nothing followed the head.
raw_head() {
	local t=$1 x hs=""
	shift
	for x in "$@"; do hs+="$x"$'\r\n'; done
	printf 'HEAD %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n' "$t" "$hs" | raw >"$TMP/r.out"
}
no_body_after_head() {
	local n
	n=$(body_of "${1:-$TMP/r.out}" | wc -c)
	[ "$n" -eq 0 ] || { echo "$n bytes after the head of a HEAD answer"; return 1; }
}

# hdr NAME [FILE]: the value of header NAME (any case) in the last response
# head of FILE (default $TMP/h: curl -D output, or a raw answer); status 1
# when it is absent. Only the heads are read, never a body.
hdr() {
	awk -v n="$1" '
		BEGIN { n = tolower(n); inhead = 0 }
		{ sub(/\r$/, "") }
		/^HTTP\/1\.[01] [0-9][0-9][0-9]/ { inhead = 1; found = 0; v = ""; next }
		inhead && $0 == "" { inhead = 0; last_found = found; last_v = v; next }
		inhead {
			i = index($0, ":")
			if (i && !found && tolower(substr($0, 1, i - 1)) == n) {
				v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v); found = 1
			}
		}
		END {
			if (inhead) { last_found = found; last_v = v }
			if (!last_found) exit 1
			print last_v
		}' "${2:-$TMP/h}"
}

# hdr_count NAME [FILE]: how many times header NAME is in the last head.
hdr_count() {
	awk -v n="$1" '
		BEGIN { n = tolower(n); inhead = 0; c = 0; last = 0 }
		{ sub(/\r$/, "") }
		/^HTTP\/1\.[01] [0-9][0-9][0-9]/ { inhead = 1; c = 0; next }
		inhead && $0 == "" { inhead = 0; last = c; next }
		inhead { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) c++ }
		END { if (inhead) last = c; print last }' "${2:-$TMP/h}"
}

# status_of FILE: the status code of the last response head in FILE.
status_of() {
	grep -aoE '^HTTP/1\.[01] [0-9]{3}' "$1" | tail -n 1 | cut -d' ' -f2
}

# body_of FILE: the bytes after the first blank line of the last response in
# FILE (a raw answer holding one final response, maybe after a 100).
body_of() {
	python3 - "$1" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
while True:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        sys.exit(1)
    if head.startswith(b"HTTP/1.1 100 ") and rest.startswith(b"HTTP/"):
        data = rest
        continue
    sys.stdout.buffer.write(rest)
    break
PY
}

# want_hdr NAME VALUE [FILE]: header NAME is exactly VALUE.
want_hdr() {
	local got
	got=$(hdr "$1" "${3:-$TMP/h}") || { echo "no $1 header (want '$2') in:"; cat "${3:-$TMP/h}"; return 1; }
	[ "$got" = "$2" ] || { echo "$1 is '$got', want '$2'"; return 1; }
}

# no_hdr NAME [FILE]: header NAME is absent.
no_hdr() {
	if hdr "$1" "${2:-$TMP/h}" >/dev/null; then
		echo "unexpected $1: $(hdr "$1" "${2:-$TMP/h}")"
		return 1
	fi
}

# list_has LIST ITEM...: the comma list LIST names every ITEM (any case).
list_has() {
	local given=$1 list item
	list=",$(tr 'A-Z' 'a-z' <<<"$1" | tr -d ' \t'),"
	shift
	for item in "$@"; do
		item=$(tr 'A-Z' 'a-z' <<<"$item")
		[[ "$list" == *",$item,"* ]] || { echo "'$item' not in '$given'"; return 1; }
	done
}

# list_is LIST ITEM...: the comma list LIST names exactly the ITEMs (any
# case and order).
list_is() {
	local a b
	a=$(tr 'A-Z' 'a-z' <<<"$1" | tr -d ' \t' | tr ',' '\n' | sort | tr '\n' ' ')
	shift
	b=$(printf '%s\n' "$@" | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
	[ "$a" = "$b" ] || { echo "list is '$a', want '$b'"; return 1; }
}

# usage_error ARGS...: serve-http ARGS exits 2 with a 'sockctl serve-http: '
# message (bounded: a server that starts instead is stopped after 10 s).
usage_error() {
	run --separate-stderr timeout 10 "$SK" serve-http -p 0 -b 127.0.0.1 "$@"
	if [ "$status" -ne 2 ]; then
		echo "want exit 2 for serve-http $*; got $status, stderr: $stderr"
		return 1
	fi
	if [[ "$stderr" != "sockctl serve-http: "* ]]; then
		echo "the message of serve-http $* does not start with 'sockctl serve-http: ': $stderr"
		return 1
	fi
}

# recv_queue_empty PORT: the server has read all that its client on PORT sent.
recv_queue_empty() {
	[ "$(ss -Htn state established "sport = :$1" | awk '{s += $1} END {print s + 0}')" = 0 ]
}

# deleted_fds PID: how many of PID's fds are files that no longer have a name.
deleted_fds() {
	local n=0 f
	for f in /proc/"$1"/fd/*; do
		case "$(readlink "$f" 2>/dev/null)" in
		*"(deleted)"*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}

# no_deleted_fds PID: PID holds no unnamed file (a temporary file left open).
no_deleted_fds() { [ "$(deleted_fds "$1")" -eq 0 ]; }

# tree_state: every path under $TMP/www and $TMP/outside with its type, and
# the sha256 of every regular file: 'nothing was written' is an unchanged
# tree_state.
tree_state() {
	(
		cd "$TMP" || exit 1
		find www outside -mindepth 1 \( -type f -printf '%p f ' -exec sh -c 'sha256sum <"$1" | cut -d" " -f1' sh {} \; \) \
			-o -printf '%p %y\n' 2>/dev/null | sort
	)
}

# unchanged_since FILE: tree_state is what FILE recorded.
unchanged_since() {
	diff "$1" <(tree_state) || { echo "the tree changed (diff above)"; return 1; }
}

# lacks GREP-ARGS...: grep finds no match (else it shows the matches and
# fails). In bats a bare '! cmd' never fails a test (set -e ignores it).
lacks() {
	if grep "$@"; then
		echo "^ found, but should not be: grep $*"
		return 1
	fi
}

# lsa DIR: ls -A of DIR, one name a line.
lsa() {
	ls -A "$1"
}
