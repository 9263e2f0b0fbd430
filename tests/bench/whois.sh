#!/usr/bin/env bash
# whois-port benchmark: with BENCH_CONNS established loopback connections
# open (both ends in one python3 process) and a listener in another,
# hyperfine times, in one run:
#   sockctl whois-port PORT                  (netlink, port filtered in the kernel)
#   SOCKCTL_NO_NETLINK=1 sockctl whois-port PORT   (/proc/net tables)
#   ss -ltnp 'sport = :PORT'
#   fuser -n tcp PORT
#   lsof -nP -iTCP:PORT -sTCP:LISTEN
# and prints each mean and its ratio to ss's. Issue target: sockctl at most
# half of ss's time (ratio <= 0.50). It first checks that every tool names
# the listener's PID. It prints figures only; it never fails on timing.
#
# Knobs: SOCKCTL (binary), BENCH_CONNS (default 2000), BENCH_RUNS (hyperfine
# runs per command, default 30).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/common.bash
. "$HERE/common.bash"
SOCKCTL=${SOCKCTL:-$HERE/../../sockctl}
CONNS=${BENCH_CONNS:-2000}
RUNS=${BENCH_RUNS:-30}
for v in CONNS RUNS; do
	[[ ${!v} =~ ^[1-9][0-9]{0,5}$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
[ -x "$SOCKCTL" ] || die "no sockctl at $SOCKCTL (run make)"
install_missing hyperfine:hyperfine ss:iproute2 fuser:psmisc lsof:lsof
ulimit -n $((2 * CONNS + 256)) 2>/dev/null || die "cannot raise the fd limit for $CONNS connections"

# wait_line FILE PATTERN: waits (30 s at most) for a line of FILE matching PATTERN.
wait_line() {
	local i
	for ((i = 0; i < 1500; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	die "timed out waiting for '$2' in $1"
}

# The crowd: CONNS connections to a listener of their own, all in one process.
python3 - "$CONNS" 2>"$TMP/crowd.err" <<'PY' &
import socket, sys, time
n = int(sys.argv[1])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(n)
keep = []
for _ in range(n):
    keep.append(socket.create_connection(srv.getsockname()))
    keep.append(srv.accept()[0])
print("ready", file=sys.stderr, flush=True)
time.sleep(600)
PY
PIDS+=($!)
wait_line "$TMP/crowd.err" '^ready$'

python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print("port %d" % s.getsockname()[1], file=sys.stderr, flush=True)
time.sleep(600)' 2>"$TMP/target.err" &
TARGET=$!
PIDS+=("$TARGET")
wait_line "$TMP/target.err" '^port '
PORT=$(sed -n 's/^port //p' "$TMP/target.err")

established=$(ss -Htn state established | wc -l)
echo "established TCP connections: $established; listener pid $TARGET on port $PORT"

# Every tool must find the listener before its time means anything.
"$SOCKCTL" whois-port "$PORT" | grep -q " $TARGET " || die "sockctl did not name PID $TARGET"
SOCKCTL_NO_NETLINK=1 "$SOCKCTL" whois-port "$PORT" | grep -q " $TARGET " ||
	die "sockctl (/proc/net) did not name PID $TARGET"
ss -ltnp "sport = :$PORT" | grep -q "pid=$TARGET," || die "ss did not name PID $TARGET"
fuser -n tcp "$PORT" 2>/dev/null | grep -qw "$TARGET" || die "fuser did not name PID $TARGET"
lsof -nP -iTCP:"$PORT" -sTCP:LISTEN -t | grep -qx "$TARGET" || die "lsof did not name PID $TARGET"

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$TMP/h.json" \
	-n sockctl "$SOCKCTL whois-port $PORT" \
	-n sockctl-proc "env SOCKCTL_NO_NETLINK=1 $SOCKCTL whois-port $PORT" \
	-n ss "ss -ltnp 'sport = :$PORT'" \
	-n fuser "fuser -n tcp $PORT" \
	-n lsof "lsof -nP -iTCP:$PORT -sTCP:LISTEN" >"$TMP/hyperfine.out" 2>&1 ||
	{ cat "$TMP/hyperfine.out" >&2; die "hyperfine failed"; }

python3 - "$TMP/h.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
ss = res["ss"]["mean"]
print("%-14s %10s %10s %12s" % ("tool", "mean ms", "stddev", "ratio to ss"))
for name, r in res.items():
    print("%-14s %10.2f %10.2f %12.2f" % (name, r["mean"] * 1e3, r["stddev"] * 1e3, r["mean"] / ss))
print("target: sockctl <= 0.50 x ss -> %s" % ("met" if res["sockctl"]["mean"] <= 0.5 * ss else "NOT met"))
PY
ratio=$(python3 -c 'import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print("%.2f" % (r["sockctl"] / r["ss"]))' "$TMP/h.json")
result "whois-port: time vs ss -ltnp" "$ratio" "<=0.5"
