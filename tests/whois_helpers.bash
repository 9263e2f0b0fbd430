# Helpers for whois_more.bats: holders (tests/peers/whois_holder.py),
# table lookups, cgroups the tests create, runs as an unprivileged user.
# Load after helpers.bash: setup and teardown extend its own.

WH="$BATS_TEST_DIRNAME/peers/whois_holder.py"

eval "helpers_$(declare -f setup)"
eval "helpers_$(declare -f teardown)"

setup() {
	helpers_setup
	CG_DIRS=()
	CG_ROOTS=()
	NB_DIR=
}

teardown() {
	helpers_teardown
	cg_cleanup
	[ -z "$NB_DIR" ] || rm -rf "$NB_DIR"
}

# hold NAME KIND ADDR [OPTIONS]: starts a whois_holder.py, waits for its
# first line; sets NAME_pid and NAME_port (the bound port, or a client's
# local port). Fails when the holder could not bind.
hold() {
	local name=$1 f
	shift
	bg "$name" python3 "$WH" "$@"
	f="$TMP/$name.err"
	wait_for "$f" '^(listening on|connected|bind failed)' || return 1
	if grep -q '^bind failed' "$f"; then
		cat "$f" >&2
		return 1
	fi
	printf -v "${name}_port" '%s' "$(sed -n -e 's/^listening on .*:\([0-9]\{1,5\}\)$/\1/p' \
		-e 's/^connected from \([0-9]\{1,5\}\)$/\1/p' "$f" | head -n 1)"
}

# hold_block N NAME:OFFSET:KIND...: finds N consecutive ports that nothing
# holds (TCP and UDP, any address), the first in $base, and starts a
# holder NAME of KIND (tcp or udp) on 127.0.0.1:base+OFFSET for each
# spec. Starts over on other ports (at most 5 times) when one was taken
# in between.
hold_block() {
	local n=$1 try spec name off kind first ok
	shift
	for ((try = 0; try < 5; try++)); do
		base=$(python3 "$WH" reserve "$n") || return 1
		first=${#BG_PIDS[@]}
		ok=1
		for spec in "$@"; do
			IFS=: read -r name off kind <<<"$spec"
			hold "$name" "$kind" 127.0.0.1 --port $((base + off)) 2>/dev/null || {
				ok=0
				break
			}
		done
		[ "$ok" = 1 ] && return 0
		kill "${BG_PIDS[@]:first}" 2>/dev/null || true
	done
	echo "hold_block: no block of $n free ports" >&2
	return 1
}

# nrows COL=VALUE...: how many rows of the whois-port table in $output
# have these values in these columns (named by its header line).
nrows() {
	awk -v want="$*" '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; n = split(want, w, " "); next }
	{
		ok = 1
		for (j = 1; j <= n; j++) {
			k = index(w[j], "=")
			c = col[substr(w[j], 1, k - 1)]
			if (!c || $c != substr(w[j], k + 1)) ok = 0
		}
		m += ok
	}
	END { print m + 0 }' <<<"$output"
}

# has_rows N COL=VALUE...: nrows is N (says what it saw otherwise).
has_rows() {
	local want=$1 got
	shift
	got=$(nrows "$@")
	[ "$got" -eq "$want" ] && return 0
	echo "expected $want rows with $*, got $got in:" >&2
	printf '%s\n' "$output" >&2
	return 1
}

# only_sentinel PID FILE: sends the holder SIGRTMAX, which is handled
# after any standard signal already pending, waits until FILE records it,
# and checks FILE records nothing else: nobody signalled PID before.
only_sentinel() {
	kill -s RTMAX "$1"
	wait_until 5 grep -qx SIGRTMAX "$2" || true
	[ "$(cat "$2")" = SIGRTMAX ] || {
		echo "signals PID $1 got: $(tr '\n' ' ' <"$2")" >&2
		return 1
	}
	: >"$2"
}

# ms_since NS: milliseconds since the date +%s%N value NS.
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# bind_free PROTO PORT: binds 127.0.0.1:PORT (no SO_REUSEADDR), listens
# for TCP, and closes: fails when something still holds the port.
bind_free() {
	python3 - "$@" <<'PY'
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
if proto == "tcp":
    s.listen(1)
s.close()
PY
}

# --- cgroups ---------------------------------------------------------

# cg_init: finds the cgroup hierarchies mounted at their root and
# writable here: CG_V1 (cgroup v1's name=systemd) and CG_V2 (cgroup v2).
# Skips without root or without either.
cg_init() {
	[ "$(id -u)" = 0 ] || skip "needs root to create cgroups"
	CG_V1=
	CG_V2=
	local line pre post fstype sopts root mnt
	while IFS= read -r line; do
		pre=${line%% - *}
		post=${line#* - }
		read -r fstype _ sopts <<<"$post"
		read -r _ _ _ root mnt _ <<<"$pre"
		[ "$root" = / ] && [ -w "$mnt" ] || continue
		case $fstype in
		cgroup) [[ ",$sopts," == *,name=systemd,* ]] && [ -z "$CG_V1" ] && CG_V1=$mnt ;;
		cgroup2) [ -z "$CG_V2" ] && CG_V2=$mnt ;;
		esac
	done </proc/self/mountinfo
	[ -n "$CG_V1$CG_V2" ] || skip "no writable cgroup hierarchy (v1 name=systemd or v2)"
	CG_NONE="/sk-none-$$-$BATS_TEST_NUMBER"
}

# cg_mk MOUNT REL: creates the cgroup MOUNT/REL, level by level,
# remembering (for teardown) only the directories it created.
cg_mk() {
	local d=$1 part
	local -a parts
	IFS=/ read -r -a parts <<<"${2#/}"
	for part in "${parts[@]}"; do
		d+=/$part
		[ -d "$d" ] && continue
		mkdir "$d" || skip "cannot create the cgroup $d"
		CG_DIRS+=("$d")
		CG_ROOTS+=("$1")
	done
}

# cg_in MOUNT REL PID: moves PID into the cgroup MOUNT/REL.
cg_in() {
	cg_mk "$1" "$2"
	echo "$3" >"$1$2/cgroup.procs" || skip "cannot move a process into $1$2"
	grep -q ":$2\$" "/proc/$3/cgroup"
}

# cg_put PID REL [V2REL]: moves PID into the cgroup REL of every
# hierarchy there is; with both v1 name=systemd and v2, into V2REL
# (default REL) of v2.
cg_put() {
	local v2=${3:-$2}
	[ -n "$CG_V1" ] || v2=$2
	[ -z "$CG_V1" ] || cg_in "$CG_V1" "$2" "$1"
	[ -z "$CG_V2" ] || cg_in "$CG_V2" "$v2" "$1"
}

# cg_put_v2 PID REL: moves PID into REL of cgroup v2, and into a cgroup
# that is no unit in v1 name=systemd if there is one.
cg_put_v2() {
	[ -n "$CG_V2" ] || skip "no writable cgroup v2 hierarchy"
	[ -z "$CG_V1" ] || cg_in "$CG_V1" "$CG_NONE" "$1"
	cg_in "$CG_V2" "$2" "$1"
}

# cg_cleanup: (teardown) moves whatever is left in the cgroups the test
# created to the root of their hierarchy and removes them, innermost first.
cg_cleanup() {
	local i j d root p
	for ((i = ${#CG_DIRS[@]} - 1; i >= 0; i--)); do
		d=${CG_DIRS[i]}
		root=${CG_ROOTS[i]}
		if [ -r "$d/cgroup.procs" ]; then
			while read -r p; do
				echo "$p" >"$root/cgroup.procs" 2>/dev/null || true
			done <"$d/cgroup.procs"
		fi
		for ((j = 0; j < 100; j++)); do
			rmdir "$d" 2>/dev/null && break
			[ -d "$d" ] || break
			sleep 0.02
		done
	done
}

# --- unprivileged runs -----------------------------------------------

# nobody_init [other]: prepares as_nobody and NB_CMD; NB_SK and NB_WH
# are copies of sockctl and whois_holder.py that nobody can run. As root,
# they run commands as nobody; otherwise (already unprivileged) as they
# are, unless 'other' says the test needs a holder of another user.
nobody_init() {
	NB_DIR=$(mktemp -d)
	chmod 755 "$NB_DIR"
	cp "$SK" "$NB_DIR/sockctl"
	cp "$WH" "$NB_DIR/whois_holder.py"
	NB_SK=$NB_DIR/sockctl
	NB_WH=$NB_DIR/whois_holder.py
	NB_CMD=()
	if [ "$(id -u)" != 0 ]; then
		[ "${1:-}" != other ] || skip "needs root for a holder of another user"
		return 0
	fi
	getent passwd nobody >/dev/null || skip "no user nobody"
	# without the sanitizer options: their log directory is root's
	if command -v setpriv >/dev/null; then
		NB_CMD=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups
			env -u ASAN_OPTIONS -u UBSAN_OPTIONS)
	elif command -v su >/dev/null; then
		NB_CMD=(su -s /bin/sh -c 'exec env -u ASAN_OPTIONS -u UBSAN_OPTIONS "$0" "$@"' -- nobody)
	else
		skip "neither setpriv nor su to run as nobody"
	fi
}

# as_nobody CMD...: runs CMD as nobody (see nobody_init). In the
# background, start "${NB_CMD[@]}" CMD... with bg instead, so that the PID
# is the command's (or su's, which passes signals on).
as_nobody() {
	"${NB_CMD[@]}" "$@"
}

# runs_sockctl PID: PID has executed sockctl.
runs_sockctl() {
	[ "$(readlink -f "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$SK")" ]
}

