# Shared set-up for the bats suite. Every wait is bounded; every
bats_require_minimum_version 1.5.0
# background process is started through bg() and killed in teardown.

SK="${SOCKCTL:-$BATS_TEST_DIRNAME/../sockctl}"
PEER="$BATS_TEST_DIRNAME/peers/peer.py"

setup() {
	TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/sockctl.XXXXXX")"
	BG_PIDS=()
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait_exit "$p" 5 >/dev/null 2>&1 || kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}

# bg NAME CMD...: runs CMD in the background, stdin from $BG_STDIN
# (default /dev/null), stdout to $TMP/NAME.out, stderr to $TMP/NAME.err;
# sets NAME_pid.
bg() {
	local name=$1
	shift
	# Emptied here, not by the background redirections: a loop that reuses
	# NAME must not read the last round's 'listening on' line.
	: >"$TMP/$name.out"
	: >"$TMP/$name.err"
	"$@" <"${BG_STDIN:-/dev/null}" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	BG_PIDS+=("$!")
	printf -v "${name}_pid" '%s' "$!"
}

# wait_for FILE PATTERN [SECS]: until FILE has a line matching PATTERN.
wait_for() {
	local f=$1 pat=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 50; i++)); do
		grep -qE -- "$pat" "$f" 2>/dev/null && return 0
		sleep 0.02
	done
	echo "timed out waiting for '$pat' in $f:" >&2
	cat "$f" >&2 2>/dev/null
	return 1
}

# port_of FILE: waits for the 'listening on' line in FILE, prints the port.
port_of() {
	wait_for "$1" 'listening on ' || return 1
	sed -n 's/.*listening on .*:\([0-9]\{1,5\}\)$/\1/p' "$1" | head -n 1
}

# wait_exit PID [SECS]: waits for a background PID to end; returns its
# exit status, or 124 if it is still running after SECS.
wait_exit() {
	local pid=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 50; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return $?
		fi
		sleep 0.02
	done
	return 124
}

# wait_until SECS CMD...: runs CMD every 20 ms until it succeeds, at most
# SECS seconds; on timeout says what it waited for and returns 1.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 50; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	"$@" && return 0
	echo "timed out after ${secs}s waiting for: $*" >&2
	return 1
}

# Predicates for wait_until.
# fds_at_most PID N: PID has at most N fds open.
fds_at_most() { [ "$(fd_count "$1")" -le "$2" ]; }
# no_children PID: PID has no child process.
no_children() { [ -z "$(children_of "$1")" ]; }
# file_not_empty FILE: FILE exists and has bytes.
file_not_empty() { [ -s "$1" ]; }
# lines_at_least FILE N [PATTERN]: FILE has N lines (matching PATTERN).
lines_at_least() {
	local n
	n=$(grep -c -- "${3:-}" "$1" 2>/dev/null) || true
	[ "${n:-0}" -ge "$2" ]
}

# sha FILE: the sha256 of FILE.
sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# make_data FILE MiB: a file of random bytes.
make_data() {
	head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"
}

# fd_count PID: how many fds PID has open.
fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# children_of PID: the PIDs whose parent is PID, space-separated. (Field 4
# of /proc/N/stat is the parent; the comm of the processes tests start has
# no spaces.)
children_of() {
	local f pids=
	for f in /proc/[0-9]*/stat; do
		read -r -a s <"$f" 2>/dev/null || continue
		[ "${s[3]}" = "$1" ] && pids+="${s[0]} "
	done
	echo "$pids"
}

# descendants_of PID: every process below PID (children, theirs, ...),
# space-separated.
descendants_of() {
	local f kids= todo=("$1") p all=
	while [ "${#todo[@]}" -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		for f in /proc/[0-9]*/stat; do
			read -r -a s <"$f" 2>/dev/null || continue
			[ "${s[3]}" = "$p" ] && { all+="${s[0]} "; todo+=("${s[0]}"); }
		done
	done
	echo "$all"
}

# all_gone PIDS...: true when none of PIDS is still running (a zombie
# waiting for its parent counts as gone).
all_gone() {
	local p st
	for p in "$@"; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
		[ -z "$st" ] || [ "$st" = Z ] || return 1
	done
	return 0
}

# free_port: a port nothing holds (bound by python3, then closed).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# closed_port: sets closed to a port that refuses connections for the
# rest of the test (a bound socket that never listens, held by a background
# python3 process that teardown stops). Not in $(...): the subshell's bg
# would escape teardown.
closed_port() {
	bg closed python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
print("listening on 127.0.0.1:%d" % s.getsockname()[1], file=sys.stderr, flush=True)
time.sleep(60)'
	closed=$(port_of "$TMP/closed.err")
}

# on_tty ANSWER ARGS...: runs sockctl ARGS under a pseudo-terminal, types
# ANSWER at a [y/N] prompt, prints what the terminal showed and the exit
# status.
on_tty() {
	timeout 20 python3 - "$SK" "$@" <<'PY'
import os, pty, select, sys, time
sk, answer, args = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sk, [sk] + args)
out, sent, deadline = b"", False, time.time() + 15
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            b = os.read(fd, 4096)
        except OSError:
            break
        if not b:
            break
        out += b
    if not sent and b"[y/N] " in out:
        os.write(fd, answer.encode() + b"\n")
        sent = True
_, status = os.waitpid(pid, 0)
print(out.decode(errors="replace").replace("\r", ""))
print("exit", os.waitstatus_to_exitcode(status))
PY
}
