#!/usr/bin/env bash
# UDP benchmark over 127.0.0.1: BENCH_COUNT datagrams of 64 bytes (one
# numbered line each) from sockctl to sockctl, socat to socat and
# nc.openbsd to nc.openbsd, plus the peak RSS of each sender and receiver.
# Issue target: sockctl delivers >= 2x socat's datagrams per second with no
# more loss than socat. The script only prints figures: it exits non-zero
# when a tool breaks (wrong datagram size, corrupt or duplicated payload),
# never because of timing or loss.
#
# Knobs: SOCKCTL (binary), BENCH_COUNT (datagrams per run, default 200000),
# BENCH_ROUNDS (default 3; each round runs every tool once, so tools
# interleave), BENCH_TIMEOUT (seconds per run, default 60), BENCH_IDLE
# (whole seconds of silence after which a receiver exits, default 1).
set -euo pipefail
export LC_ALL=C   # '.' decimal point in $EPOCHREALTIME, awk and sort

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/common.bash
. "$HERE/common.bash"
SOCKCTL=${SOCKCTL:-$HERE/../../sockctl}
COUNT=${BENCH_COUNT:-200000}
ROUNDS=${BENCH_ROUNDS:-3}
TIMEOUT=${BENCH_TIMEOUT:-60}
IDLE=${BENCH_IDLE:-1}
SIZE=64   # datagram size: 63 digits and a newline
TOOLS=(sockctl socat nc.openbsd)


for v in COUNT ROUNDS TIMEOUT IDLE; do
	[[ ${!v} =~ ^[1-9][0-9]{0,8}$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
CHECK_COUNT=$((COUNT < 1000 ? COUNT : 1000))

# The peers, and GNU time for peak RSS, are installed only when missing.
need_tools() {
	install_missing nc.openbsd:netcat-openbsd socat:socat /usr/bin/time:time
}

# free_port: a UDP port the kernel just handed out for port 0 (a tiny race
# we accept). sockctl gets one too: it could bind port 0 itself, but only
# -v reports the port, and -v also prints a line per datagram on stderr,
# which would slow its receiver down.
free_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# udp_ctr NAME: the namespace-wide Udp: counter NAME of /proc/net/snmp.
udp_ctr() {
	awk -v k="$1" '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else print $col[k] }' \
		/proc/net/snmp
}

# start_rx TOOL OUT: starts TOOL's receiver writing to OUT and waits (5 s at
# most) until its socket is bound; sets RX_PID, PORT and RX_RB (the socket's
# receive buffer in bytes, as ss reports it). TOOL 'check' is sockctl with
# -v, whose stderr gives the size of every datagram. Every receiver exits
# by itself after IDLE seconds without a datagram.
start_rx() {
	local tool=$1 out=$2 i
	local -a cmd
	PORT=$(free_port)
	case $tool in
	sockctl) cmd=("$SOCKCTL" udp-recv -w "$IDLE" 127.0.0.1 "$PORT") ;;
	check) cmd=("$SOCKCTL" udp-recv -v -w "$IDLE" 127.0.0.1 "$PORT") ;;
	socat) cmd=(socat -T "$IDLE" -u "UDP-RECV:$PORT,bind=127.0.0.1" STDOUT) ;;
	# -d: no stdin; -w: with -l -u, exit after IDLE seconds of silence.
	nc.openbsd) cmd=(nc.openbsd -d -u -l -w "$IDLE" 127.0.0.1 "$PORT") ;;
	esac
	# timeout outermost: on expiry it signals its whole process group.
	timeout "$TIMEOUT" /usr/bin/time -f %M -o "$TMP/rx.rss" "${cmd[@]}" \
		</dev/null >"$out" 2>"$TMP/rx.err" &
	RX_PID=$!
	PIDS+=("$RX_PID")
	for ((i = 0; i < 250; i++)); do
		RX_RB=$(ss -Hlunm "sport = :$PORT" | sed -n 's/.*skmem:(.*,rb\([0-9]*\),.*/\1/p')
		[[ -n $RX_RB ]] && return 0
		kill -0 "$RX_PID" 2>/dev/null || break
		sleep 0.02
	done
	die "$tool receiver did not bind 127.0.0.1:$PORT: $(cat "$TMP/rx.err")"
}

# run TOOL RX SRC OUT: sends SRC with TOOL's sender to RX's receiver (RX is
# TOOL or 'check'), receiving to OUT. Sets TX_SECS (sender's wall time),
# RX_SECS (sender start to the last datagram written out), DROPS (Udp
# RcvbufErrors during the run), TX_RSS and RX_RSS (KiB).
#
# The receivers leave only after IDLE silent seconds, so their exit time is
# not the end of the transfer. The end is OUT's mtime, i.e. the receiver's
# last write; it comes from the kernel's coarse clock, so it can read up to
# one timer tick (1-4 ms) early. A receiver that held its output until exit
# would stamp OUT about IDLE seconds late: for that case the end is capped
# at its exit minus IDLE. Both ends start at the sender's launch, which adds
# the few ms of starting timeout, time and the sender to every tool alike.
run() {
	local tool=$1 rx=$2 src=$3 out=$4 t0 t1 t2 end d0 rc=0
	local -a cmd
	start_rx "$rx" "$out"
	case $tool in
	# one datagram per line, batched with sendmmsg
	sockctl) cmd=("$SOCKCTL" udp-send 127.0.0.1 "$PORT") ;;
	# a 64-byte read of a regular file returns 64 bytes: one line per datagram
	socat) cmd=(socat -b "$SIZE" -u STDIN "UDP:127.0.0.1:$PORT") ;;
	# one datagram per read of stdin (up to 16 KiB): nc has no per-line mode
	nc.openbsd) cmd=(nc.openbsd -u -q 0 127.0.0.1 "$PORT") ;;
	esac
	d0=$(udp_ctr RcvbufErrors)
	t0=$EPOCHREALTIME
	timeout "$TIMEOUT" /usr/bin/time -f %M -o "$TMP/tx.rss" "${cmd[@]}" \
		<"$src" >/dev/null 2>"$TMP/tx.err" &
	PIDS+=("$!")
	wait "$!" || rc=$?
	t1=$EPOCHREALTIME
	((rc == 0)) || die "$tool sender exited $rc: $(cat "$TMP/tx.err")"
	wait "$RX_PID" || rc=$?
	t2=$EPOCHREALTIME
	((rc == 0)) || die "$rx receiver exited $rc: $(cat "$TMP/rx.err")"
	PIDS=()
	DROPS=$(($(udp_ctr RcvbufErrors) - d0))
	end=$(date -r "$out" +%s.%N)
	read -r TX_SECS RX_SECS < <(awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v m="$end" -v idle="$IDLE" \
		'BEGIN { e = (m < t2 - idle) ? m : t2 - idle; printf "%.6f %.6f\n", t1 - t0, e - t0 }')
	TX_RSS=$(tail -n 1 "$TMP/tx.rss")
	RX_RSS=$(tail -n 1 "$TMP/rx.rss")
}

# check_out OUT WHAT: every line of OUT must be a whole, distinct input line
# (63 digits, 1..COUNT, newline), else WHAT broke; sets GOT to the number
# of lines.
check_out() {
	local out=$1 bad first bytes
	read -r GOT bad first < <(awk -v n="$COUNT" '
		length($0) != 63 || $0 !~ /^[0-9]+$/ || $0 + 0 < 1 || $0 + 0 > n || seen[$0]++ {
			if (!bad++) first = NR
		}
		END { printf "%d %d %d\n", NR, bad, first }' "$out")
	bytes=$(wc -c <"$out")
	((bad == 0)) || die "$2: $bad bad lines in the received data, the first is line $first:" \
		"$(sed -n "${first}p" "$out" | head -c 80)"
	((bytes == GOT * SIZE)) || die "$2: received $bytes bytes, not $GOT whole $SIZE-byte lines"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? 100 * a / b : 0 }'; }

# --- set-up ---------------------------------------------------------------
need_tools
[[ -x $SOCKCTL ]] || die "no sockctl binary at $SOCKCTL (run make)"
for c in python3 ss; do command -v "$c" >/dev/null || die "$c is required"; done

echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "net.core.rmem_default $(cat /proc/sys/net/core/rmem_default)," \
	"net.core.rmem_max $(cat /proc/sys/net/core/rmem_max)"
echo "datagrams per run: $COUNT x $SIZE bytes, rounds: $ROUNDS, receivers exit after ${IDLE}s idle"

# Distinct lines, so that what arrives can be counted and checked. Written
# just now, the file is in the page cache for every sender.
awk -v n="$COUNT" 'BEGIN { for (i = 1; i <= n; i++) printf "%063d\n", i }' >"$TMP/in"
head -n "$CHECK_COUNT" "$TMP/in" >"$TMP/check.in"

# Correctness first: each sender into sockctl -v, whose stderr gives every
# datagram's size (output lines alone cannot tell one 128-byte datagram
# from two 64-byte ones). sockctl and socat must send exactly one line per
# datagram; nc.openbsd sends whatever its reads return, which we report.
NC_SIZES=
for tool in "${TOOLS[@]}"; do
	run "$tool" check "$TMP/check.in" "$TMP/out"
	check_out "$TMP/out" "$tool sender (check)"
	((GOT > 0)) || die "$tool sender: nothing of $CHECK_COUNT datagrams arrived"
	sizes=$(sed -n 's/^sockctl udp-recv: \([0-9]*\) bytes from .*/\1/p' "$TMP/rx.err" |
		sort -n | uniq -c | awk '{ printf "%s%s B x%s", (NR > 1) ? ", " : "", $2, $1 }')
	if [[ $tool == nc.openbsd ]]; then
		NC_SIZES=$sizes
	elif [[ $sizes != "$SIZE B x"* || $sizes == *,* ]]; then
		die "$tool sender: datagram sizes $sizes, expected $SIZE B each"
	fi
done
echo "check: sockctl and socat send one $SIZE-byte line per datagram;" \
	"nc.openbsd sent $((CHECK_COUNT * SIZE)) bytes as: $NC_SIZES"

# --- timed rounds -----------------------------------------------------------
declare -A RATES=() SENDS=() DELIV=() DROPPED=() TXR=() RXR=() RB=()
for ((r = 1; r <= ROUNDS; r++)); do
	for tool in "${TOOLS[@]}"; do
		run "$tool" "$tool" "$TMP/in" "$TMP/out"
		check_out "$TMP/out" "$tool"
		rate=$(awk -v n="$GOT" -v s="$RX_SECS" 'BEGIN { printf "%.0f", (n > 0 && s > 0) ? n / s : 0 }')
		printf '  round %d  %-10s delivered %7d/%d  loss %6s%%  %9s dgram/s  (send %.3f s, rcvbuf drops %d)\n' \
			"$r" "$tool" "$GOT" "$COUNT" "$(pct $((COUNT - GOT)) "$COUNT")" "$rate" \
			"$TX_SECS" "$DROPS" >&2
		RATES[$tool]+=" $rate"
		SENDS[$tool]+=" $TX_SECS"
		DELIV[$tool]=$((${DELIV[$tool]:-0} + GOT))
		DROPPED[$tool]=$((${DROPPED[$tool]:-0} + DROPS))
		TXR[$tool]=$(max "${TXR[$tool]:-0}" "$TX_RSS")
		RXR[$tool]=$(max "${RXR[$tool]:-0}" "$RX_RSS")
		RB[$tool]=$RX_RB
	done
done
rm -f "$TMP/out"

# --- report -----------------------------------------------------------------
SENT=$((COUNT * ROUNDS))
echo
printf '%-10s %9s %9s %7s %10s %7s %8s %10s %7s %9s %10s %10s\n' tool sent delivered loss% \
	dgram/s MB/s vs-socat send-dg/s drops "rx rcvbuf" "tx RSS KiB" "rx RSS KiB"
declare -A MED=() SEND=() LOSS=()
for tool in "${TOOLS[@]}"; do
	# shellcheck disable=SC2086 # word splitting of the per-round lists is wanted
	MED[$tool]=$(median ${RATES[$tool]})
	# shellcheck disable=SC2086
	SEND[$tool]=$(median ${SENDS[$tool]})
	LOSS[$tool]=$(pct $((SENT - DELIV[$tool])) "$SENT")
done
vs_socat() {
	if [[ $1 == nc.openbsd ]]; then echo n/a; else echo "$(ratio "${MED[$1]}" "${MED[socat]}")x"; fi
}
for tool in "${TOOLS[@]}"; do
	printf '%-10s %9d %9d %7s %10.0f %7.2f %8s %10.0f %7d %9s %10s %10s\n' "$tool" "$SENT" \
		"${DELIV[$tool]}" "${LOSS[$tool]}" "${MED[$tool]}" \
		"$(awk -v r="${MED[$tool]}" -v s="$SIZE" 'BEGIN { print r * s / 1e6 }')" \
		"$(vs_socat "$tool")" \
		"$(awk -v n="$COUNT" -v s="${SEND[$tool]}" 'BEGIN { print (s > 0) ? n / s : 0 }')" \
		"${DROPPED[$tool]}" "${RB[$tool]}" "${TXR[$tool]}" "${RXR[$tool]}"
done
echo
echo "sent, delivered, drops: totals over $ROUNDS rounds; loss% = (sent - delivered) / sent."
echo "dgram/s: delivered $SIZE-byte datagrams per second from the sender's start to the"
echo "  receiver's last write, median of rounds; send-dg/s: $COUNT over the sender's median wall time."
echo "drops: Udp RcvbufErrors (full receive buffer, counted in datagrams) during the runs;"
echo "  rx rcvbuf: the receiver socket's buffer as ss reports it (skmem rb)."
echo "nc.openbsd: its datagrams are its stdin reads ($NC_SIZES for $((CHECK_COUNT * SIZE)) bytes),"
echo "  not $SIZE bytes: its sent, delivered and dgram/s count $SIZE-byte lines, its drops"
echo "  count its big datagrams, and its figures are not comparable (vs-socat n/a)."
echo
echo "sockctl vs socat (delivered/s): $(ratio "${MED[sockctl]}" "${MED[socat]}")x   (target >= 2x)"
echo "loss: sockctl ${LOSS[sockctl]}% socat ${LOSS[socat]}%   (target: sockctl <= socat)"
result "udp: delivered/s vs socat" "$(ratio "${MED[sockctl]}" "${MED[socat]}")" ">=2"
