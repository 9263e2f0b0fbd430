#!/usr/bin/env bash
# TCP throughput benchmark over 127.0.0.1: sockctl against nc.openbsd,
# socat and ncat, for pipe stdin and for file stdin, plus the peak RSS of
# each sender and receiver. Issue targets: sockctl >= 2x the best peer's
# GB/s, and sockctl peak RSS <= 1.5x nc.openbsd's. The script only prints
# figures: it exits non-zero when a tool breaks, never because of timing.
#
# Knobs: SOCKCTL (binary), BENCH_BYTES (default 2 GiB), BENCH_ROUNDS
# (default 3; each round runs every tool once, so tools interleave),
# BENCH_TIMEOUT (seconds per transfer, default 120).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/common.bash
. "$HERE/common.bash"
SOCKCTL=${SOCKCTL:-$HERE/../../sockctl}
BYTES=${BENCH_BYTES:-2147483648}
ROUNDS=${BENCH_ROUNDS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
TOOLS=(sockctl nc.openbsd socat ncat)
PEERS=(nc.openbsd socat ncat)
KINDS=(pipe file)
CHECK_BYTES=$((8 << 20))

# The peers, and GNU time for peak RSS, are installed only when missing.
need_tools() {
	install_missing nc.openbsd:netcat-openbsd socat:socat ncat:ncat /usr/bin/time:time
}

# free_port: a port the kernel just handed out for port 0. The peers cannot
# bind port 0 and report it, so we borrow one (a tiny race we accept).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port TOOL PORT: bounded wait (5 s) until PORT listens. Polls ss
# rather than connecting: a test connection would use up the one accept.
wait_port() {
	local i
	for ((i = 0; i < 250; i++)); do
		[[ -n $(ss -Hltn "sport = :$2") ]] && return 0
		kill -0 "$RX_PID" 2>/dev/null || break
		sleep 0.02
	done
	die "$1 receiver did not listen on $2: $(cat "$TMP/rx.err")"
}

# start_rx TOOL OUT: starts TOOL's receiver writing to OUT; sets RX_PID, PORT.
start_rx() {
	local tool=$1 out=$2 i
	local -a cmd
	PORT=0
	[[ $tool == sockctl ]] || PORT=$(free_port)
	case $tool in
	sockctl) cmd=("$SOCKCTL" listen -v 127.0.0.1 0) ;;
	nc.openbsd) cmd=(nc.openbsd -l 127.0.0.1 "$PORT") ;;
	socat) cmd=(socat -b 131072 -u "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr" STDOUT) ;;
	ncat) cmd=(ncat -l --recv-only 127.0.0.1 "$PORT") ;;
	esac
	# Emptied here: the background job may open it only after the loop
	# below has read the last round's port from it.
	: >"$TMP/rx.err"
	# timeout outermost: on expiry it signals its whole process group.
	timeout "$TIMEOUT" /usr/bin/time -f %M -o "$TMP/rx.rss" "${cmd[@]}" \
		</dev/null >"$out" 2>"$TMP/rx.err" &
	RX_PID=$!
	PIDS+=("$RX_PID")
	if [[ $tool != sockctl ]]; then wait_port "$tool" "$PORT"; return; fi
	for ((i = 0; i < 250; i++)); do   # sockctl prints the real port
		PORT=$(sed -n 's/.*listening on .*:\([0-9]\{1,5\}\)$/\1/p' "$TMP/rx.err" | head -n 1)
		[[ -n $PORT ]] && return 0
		kill -0 "$RX_PID" 2>/dev/null || break
		sleep 0.02
	done
	die "sockctl receiver printed no port: $(cat "$TMP/rx.err")"
}

# transfer TOOL KIND SRC N OUT: sends N bytes of SRC with TOOL to OUT, as a
# pipe (dd from SRC) or as file stdin (SRC itself, N must be its size).
# Sets SECS (sender start to both ends exited), TX_RSS and RX_RSS (KiB).
transfer() {
	local tool=$1 kind=$2 src=$3 n=$4 out=$5 t0 t1 rc=0 prod=
	local -a cmd
	start_rx "$tool" "$out"
	case $tool in
	sockctl) cmd=("$SOCKCTL" connect 127.0.0.1 "$PORT") ;;
	nc.openbsd) cmd=(nc.openbsd -N 127.0.0.1 "$PORT") ;;   # -N: shut down at EOF
	socat) cmd=(socat -b 131072 -u STDIN "TCP:127.0.0.1:$PORT") ;;
	ncat) cmd=(ncat --send-only 127.0.0.1 "$PORT") ;;
	esac
	t0=$(date +%s.%N)
	if [[ $kind == pipe ]]; then
		# Same producer for every tool; a FIFO keeps dd and the sender as
		# separate PIDs we can wait for and kill. 1 MiB blocks: fastest dd.
		dd if="$src" of="$TMP/fifo" bs=1M iflag=count_bytes count="$n" status=none &
		prod=$!
		PIDS+=("$prod")
		src=$TMP/fifo
	fi
	timeout "$TIMEOUT" /usr/bin/time -f %M -o "$TMP/tx.rss" "${cmd[@]}" \
		<"$src" >/dev/null 2>"$TMP/tx.err" &
	PIDS+=("$!")
	wait "$!" || rc=$?
	((rc == 0)) || die "$tool sender ($kind) exited $rc: $(cat "$TMP/tx.err")"
	wait "$RX_PID" || rc=$?
	((rc == 0)) || die "$tool receiver ($kind) exited $rc: $(cat "$TMP/rx.err")"
	if [[ -n $prod ]]; then
		wait "$prod" || rc=$?
		((rc == 0)) || die "$tool sender did not read all its stdin (dd exited $rc)"
	fi
	t1=$(date +%s.%N)
	PIDS=()
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
	TX_RSS=$(tail -n 1 "$TMP/tx.rss")
	RX_RSS=$(tail -n 1 "$TMP/rx.rss")
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

# --- set-up ---------------------------------------------------------------
need_tools
[[ -x $SOCKCTL ]] || die "no sockctl binary at $SOCKCTL (run make)"
for c in python3 ss; do command -v "$c" >/dev/null || die "$c is required"; done
mkfifo "$TMP/fifo"

echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "bytes per transfer: $BYTES, rounds: $ROUNDS (best round reported)"

# Correctness first: random data through every tool, both stdin kinds,
# compared byte for byte. The timed runs then write to /dev/null.
head -c "$CHECK_BYTES" /dev/urandom >"$TMP/check.in"
for tool in "${TOOLS[@]}"; do
	for kind in "${KINDS[@]}"; do
		transfer "$tool" "$kind" "$TMP/check.in" "$CHECK_BYTES" "$TMP/check.out"
		cmp -s "$TMP/check.in" "$TMP/check.out" ||
			die "$tool ($kind) corrupted data: got $(wc -c <"$TMP/check.out") of $CHECK_BYTES bytes"
	done
done
echo "check: ${CHECK_BYTES} random bytes intact through every tool and stdin kind"

# Real zero pages (a sparse file would make reads artificially cheap), read
# once so every tool finds the file in the page cache.
dd if=/dev/zero of="$TMP/zero" bs=1M iflag=count_bytes count="$BYTES" status=none
cat "$TMP/zero" >/dev/null

# The pipe producer's own ceiling, no network: bounds the pipe figures.
t0=$(date +%s.%N)
dd if=/dev/zero bs=1M iflag=count_bytes count="$BYTES" status=none | cat >/dev/null
t1=$(date +%s.%N)
awk -v n="$BYTES" -v a="$t0" -v b="$t1" \
	'BEGIN { printf "pipe producer ceiling (dd bs=1M | cat): %.2f GB/s\n", n / 1e9 / (b - a) }'

# --- timed rounds -----------------------------------------------------------
declare -A GBS=() TXR=() RXR=()
for ((r = 1; r <= ROUNDS; r++)); do
	for kind in "${KINDS[@]}"; do
		for tool in "${TOOLS[@]}"; do
			src=/dev/zero
			[[ $kind == file ]] && src=$TMP/zero
			transfer "$tool" "$kind" "$src" "$BYTES" /dev/null
			g=$(awk -v n="$BYTES" -v s="$SECS" 'BEGIN { printf "%.3f", n / 1e9 / s }')
			printf '  round %d  %-5s %-11s %7.3f GB/s\n' "$r" "$kind" "$tool" "$g" >&2
			k=$tool/$kind
			GBS[$k]=$(max "${GBS[$k]:-0}" "$g")
			TXR[$k]=$(max "${TXR[$k]:-0}" "$TX_RSS")
			RXR[$k]=$(max "${RXR[$k]:-0}" "$RX_RSS")
		done
	done
done

# --- report -----------------------------------------------------------------
echo
printf '%-11s %-5s %8s %9s %12s %12s\n' tool stdin GB/s vs-peer "tx RSS KiB" "rx RSS KiB"
declare -A BEST=() SUMMARY=()
for kind in "${KINDS[@]}"; do
	BEST[$kind]=0
	for tool in "${PEERS[@]}"; do BEST[$kind]=$(max "${BEST[$kind]}" "${GBS[$tool/$kind]}"); done
	for tool in "${TOOLS[@]}"; do
		k=$tool/$kind
		printf '%-11s %-5s %8.3f %8sx %12s %12s\n' "$tool" "$kind" "${GBS[$k]}" \
			"$(ratio "${GBS[$k]}" "${BEST[$kind]}")" "${TXR[$k]}" "${RXR[$k]}"
	done
	SUMMARY[$kind]=$(ratio "${GBS[sockctl/$kind]}" "${BEST[$kind]}")
done

# Peak RSS of a tool: its largest sender or receiver over all runs.
peak() {
	printf '%s\n' "${TXR[$1/pipe]}" "${RXR[$1/pipe]}" "${TXR[$1/file]}" "${RXR[$1/file]}" | sort -n | tail -n 1
}
echo
echo "vs-peer: GB/s over the best of nc.openbsd/socat/ncat for that stdin kind"
echo "sockctl vs best peer (pipe): ${SUMMARY[pipe]}x   (target >= 2x)"
echo "sockctl vs best peer (file): ${SUMMARY[file]}x   (target >= 2x)"
echo "sockctl peak RSS / nc.openbsd peak RSS: $(ratio "$(peak sockctl)" "$(peak nc.openbsd)")x" \
	"  (target <= 1.5x; peak = max of sender and receiver)"
result "tcp: GB/s, pipe stdin, vs best peer" "${SUMMARY[pipe]}" ">=2"
result "tcp: GB/s, file stdin, vs best peer" "${SUMMARY[file]}" ">=2"
result "tcp: peak RSS vs nc.openbsd" "$(ratio "$(peak sockctl)" "$(peak nc.openbsd)")" "<=1.5"
