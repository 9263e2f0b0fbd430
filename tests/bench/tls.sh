#!/usr/bin/env bash
# TLS throughput benchmark over 127.0.0.1: 1 GiB through `sockctl connect
# --tls` to `sockctl listen --tls`, against socat's OPENSSL addresses (-b
# 131072) and ncat --ssl, for file stdin and for pipe stdin (cat FILE into
# a FIFO), rounds interleaved. Every tool uses one ECDSA P-256 certificate
# made here with openssl, the cipher it negotiates by default (each one's
# is printed) and, where it can, verifies it (sockctl --tls-ca, socat
# cafile=). Issue target: sockctl >= 2x the best peer's GB/s, per stdin
# kind. The script only prints figures: it exits non-zero when a tool
# breaks (corrupt or short data, a failed handshake), never on timing.
#
# ncat sends from the listening side here: as a TLS 1.3 client with
# --send-only it never reads the server's session tickets, and closing a
# socket with unread data makes the kernel send a reset, which loses the
# tail of the stream (the receiver gets ~95% and an SSL_read error). As
# the listener it sends, the client reads: no reset, all the bytes.
#
# Knobs: SOCKCTL (binary), BENCH_BYTES (default 1 GiB), BENCH_ROUNDS
# (default 3; each round runs every tool once per stdin kind, so tools
# interleave), BENCH_TIMEOUT (seconds per transfer, default 120),
# BENCH_TOOLS (default "sockctl socat ncat").
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/common.bash
. "$HERE/common.bash"
SOCKCTL=${SOCKCTL:-$HERE/../../sockctl}
BYTES=${BENCH_BYTES:-1073741824}
ROUNDS=${BENCH_ROUNDS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
read -r -a TOOLS <<<"${BENCH_TOOLS:-sockctl socat ncat}"
KINDS=(file pipe)
CHECK_BYTES=$((32 << 20))

for v in "BENCH_BYTES=$BYTES" "BENCH_ROUNDS=$ROUNDS" "BENCH_TIMEOUT=$TIMEOUT"; do
	[[ ${v#*=} =~ ^[1-9][0-9]{0,11}$ ]] || die "${v%%=*} must be a positive integer, not '${v#*=}'"
done
PEERS=()
for t in "${TOOLS[@]}"; do
	case $t in
	sockctl) ;;
	socat | ncat) PEERS+=("$t") ;;
	*) die "BENCH_TOOLS: unknown tool '$t' (sockctl, socat, ncat)" ;;
	esac
done

# The peers, openssl and GNU time are installed only when missing.
install_missing socat:socat ncat:ncat openssl:openssl /usr/bin/time:time

# free_port: a port the kernel just handed out for port 0. The peers cannot
# bind port 0 and report it, so we borrow one (a tiny race we accept).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port TOOL PORT PID: bounded wait (5 s) until PORT listens. Polls ss
# rather than connecting: a test connection would use up the one accept.
wait_port() {
	local i
	for ((i = 0; i < 250; i++)); do
		[[ -n $(ss -Hltn "sport = :$2") ]] && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.02
	done
	die "$1 did not listen on $2: $(cat "$TMP/srv.err")"
}

# The listening side (receiver, or ncat's sender) and the connecting side
# (sender, or ncat's receiver). VERBOSE=1 adds the flags that make each tool
# log the negotiated cipher.
VERBOSE=
srv_cmd() {
	case $1 in
	sockctl) SRV=("$SOCKCTL" listen -v --tls-cert "$CERT" --tls-key "$KEY" 127.0.0.1 0) ;;
	socat) SRV=(socat ${VERBOSE:+-d -d} -b 131072 -u
		"OPENSSL-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,cert=$CERT,key=$KEY,verify=0" STDOUT) ;;
	ncat) SRV=(ncat -l --ssl --ssl-cert "$CERT" --ssl-key "$KEY" --send-only 127.0.0.1 "$PORT") ;;
	esac
}
cli_cmd() {
	case $1 in
	sockctl) CLI=("$SOCKCTL" connect ${VERBOSE:+-v} --tls-ca "$CERT" 127.0.0.1 "$PORT") ;;
	socat) CLI=(socat ${VERBOSE:+-d -d} -b 131072 -u STDIN "OPENSSL:127.0.0.1:$PORT,cafile=$CERT") ;;
	ncat) CLI=(ncat --ssl --recv-only 127.0.0.1 "$PORT") ;;
	esac
}

# run_bg NAME IN OUT CMD...: starts CMD under timeout and GNU time (peak RSS
# in KiB, user and system seconds to $TMP/NAME.time, stderr to
# $TMP/NAME.err); sets BG. timeout outermost: on expiry it signals its
# whole process group.
run_bg() {
	local name=$1 in=$2 out=$3
	shift 3
	timeout "$TIMEOUT" /usr/bin/time -f '%M %U %S' -o "$TMP/$name.time" "$@" \
		<"$in" >"$out" 2>"$TMP/$name.err" &
	BG=$!
	PIDS+=("$BG")
}

# transfer TOOL KIND SRC OUT: sends SRC (a file) with TOOL to OUT, as file
# stdin or through a FIFO fed by cat. Sets SECS (from the moment both ends
# can connect to both exited), and per side (tx, rx) RSS KiB and CPU s.
transfer() {
	local tool=$1 kind=$2 src=$3 out=$4 t0 t1 rc=0 prod='' i srv_pid cli_pid tx rx
	local -a SRV CLI
	PORT=0
	[[ $tool == sockctl ]] || PORT=$(free_port)
	# The last run's log would show the last run's port.
	rm -f "$TMP/srv.err" "$TMP/cli.err"
	srv_cmd "$tool"
	if [[ $kind == pipe ]]; then
		# Same producer for every tool; the FIFO keeps cat and the sender
		# separate PIDs we can wait for and kill.
		cat "$src" >"$TMP/fifo" &
		prod=$!
		PIDS+=("$prod")
		src=$TMP/fifo
	fi
	if [[ $tool == ncat ]]; then   # see the top: ncat's listener sends
		run_bg srv "$src" /dev/null "${SRV[@]}"
		tx=srv rx=cli
	else
		run_bg srv /dev/null "$out" "${SRV[@]}"
		tx=cli rx=srv
	fi
	srv_pid=$BG
	if [[ $tool == sockctl ]]; then
		for ((i = 0; i < 250; i++)); do   # sockctl prints the real port
			# (the shell may not have created srv.err yet)
			PORT=$({ sed -n 's/.*listening on .*:\([0-9]\{1,5\}\)$/\1/p' "$TMP/srv.err" 2>/dev/null || true; } | head -n 1)
			[[ -n $PORT ]] && break
			kill -0 "$srv_pid" 2>/dev/null || break
			sleep 0.02
		done
		[[ -n $PORT ]] || die "sockctl listen printed no port: $(cat "$TMP/srv.err")"
	else
		wait_port "$tool" "$PORT" "$srv_pid"
	fi
	cli_cmd "$tool"
	t0=$(date +%s.%N)
	if [[ $tool == ncat ]]; then
		run_bg cli /dev/null "$out" "${CLI[@]}"
	else
		run_bg cli "$src" /dev/null "${CLI[@]}"
	fi
	cli_pid=$BG
	wait "$cli_pid" || rc=$?
	((rc == 0)) || die "$tool client ($kind) exited $rc: $(cat "$TMP/cli.err")"
	wait "$srv_pid" || rc=$?
	((rc == 0)) || die "$tool listener ($kind) exited $rc: $(cat "$TMP/srv.err")"
	if [[ -n $prod ]]; then
		wait "$prod" || rc=$?
		((rc == 0)) || die "$tool sender did not read all its stdin (cat exited $rc)"
	fi
	t1=$(date +%s.%N)
	PIDS=()
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
	read -r TX_RSS TX_U TX_S < <(tail -n 1 "$TMP/$tx.time")
	read -r RX_RSS RX_U RX_S < <(tail -n 1 "$TMP/$rx.time")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lo() { printf '%s\n' "$@" | sort -g | head -n 1; }
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

# --- set-up ---------------------------------------------------------------
if [[ " ${TOOLS[*]} " == *" sockctl "* ]]; then
	[[ -x $SOCKCTL ]] || die "no sockctl binary at $SOCKCTL (run make)"
	"$SOCKCTL" --version 2>&1 | grep -qi 'tls' ||
		echo "note: '$SOCKCTL --version' does not mention TLS: $("$SOCKCTL" --version 2>&1 | head -n 1)"
fi
for c in python3 ss; do command -v "$c" >/dev/null || die "$c is required"; done
mkfifo "$TMP/fifo"

# One certificate for every tool: ECDSA P-256, valid for 127.0.0.1.
CERT=$TMP/cert.pem KEY=$TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-keyout "$KEY" -out "$CERT" 2>"$TMP/openssl.err" ||
	die "openssl could not make a certificate: $(cat "$TMP/openssl.err")"

echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
ver() { { "$@" 2>&1 || true; } | head -n 1; }
versions="$(ver openssl version)"
[[ " ${TOOLS[*]} " != *" sockctl "* ]] || versions="$(ver "$SOCKCTL" --version), $versions"
[[ " ${TOOLS[*]} " != *" socat "* ]] || versions+=", $(socat -V | sed -n 's/^socat version \([^ ]*\).*/socat \1/p')"
[[ " ${TOOLS[*]} " != *" ncat "* ]] || versions+=", $(ver ncat --version | sed 's/ ( .*//; s/^Ncat: Version/ncat/')"
echo "versions: $versions"
echo "bytes per transfer: $BYTES, rounds: $ROUNDS (each figure: median of the rounds, [min-max])"

# One core's AES-GCM speed for 16 KiB records (a TLS record's size), for
# context: a relay that encrypts on one core and decrypts on another cannot
# beat it. TLS 1.3's default first choice is AES-256-GCM.
for c in aes-128-gcm aes-256-gcm; do
	openssl speed -evp "$c" -seconds 1 -bytes 16384 2>/dev/null |
		awk -v c="$c" 'tolower($1) == c { v = $NF; sub(/k$/, "", v); printf "openssl speed: %s, 16 KiB blocks, one core: %.2f GB/s\n", c, v * 1000 / 1e9 }'
done

# Correctness first: random data through every tool, both stdin kinds,
# compared byte for byte; the file run also logs the negotiated cipher.
head -c "$CHECK_BYTES" /dev/urandom >"$TMP/check.in"
declare -A CIPHER=()
for tool in "${TOOLS[@]}"; do
	for kind in "${KINDS[@]}"; do
		VERBOSE=
		[[ $kind == file ]] && VERBOSE=1
		transfer "$tool" "$kind" "$TMP/check.in" "$TMP/check.out"
		cmp -s "$TMP/check.in" "$TMP/check.out" ||
			die "$tool ($kind) corrupted data: got $(wc -c <"$TMP/check.out") of $CHECK_BYTES bytes"
		[[ $kind == file ]] || continue
		case $tool in
		# -v: "... TLSv1.3 TLS_AES_256_GCM_SHA384 ..." after the handshake.
		sockctl) CIPHER[$tool]=$(grep -o -m 1 -E 'TLSv1\.[23].*' "$TMP/cli.err" || true) ;;
		socat) CIPHER[$tool]=$(sed -n 's/.*SSL connection using //p' "$TMP/cli.err" | head -n 1) ;;
		esac
	done
done
VERBOSE=
echo "check: ${CHECK_BYTES} random bytes intact through every tool and stdin kind"

# ncat says nothing about the cipher: openssl s_server -www tells its client
# (ncat's server offers the same OpenSSL 3 defaults).
if [[ " ${TOOLS[*]} " == *" ncat "* ]]; then
	PORT=$(free_port)
	timeout 10 openssl s_server -www -accept "127.0.0.1:$PORT" -cert "$CERT" -key "$KEY" -naccept 1 \
		</dev/null >"$TMP/srv.err" 2>&1 &
	PIDS+=("$!")
	wait_port "openssl s_server" "$PORT" "$!"
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 ncat --ssl 127.0.0.1 "$PORT" >"$TMP/page" 2>/dev/null || true
	wait "${PIDS[-1]}" || true
	PIDS=()
	CIPHER[ncat]="$(sed -n 's/.*Cipher is \([^ ]*\).*/\1/p' "$TMP/page" | head -n 1) (as openssl s_server -www saw it)"
fi
for tool in "${TOOLS[@]}"; do echo "cipher: $tool: ${CIPHER[$tool]:-(not reported)}"; done

# Real zero pages (a sparse file would make reads artificially cheap), read
# once so every tool finds the file in the page cache.
dd if=/dev/zero of="$TMP/zero" bs=1M iflag=count_bytes count="$BYTES" status=none
cat "$TMP/zero" >/dev/null

# The pipe producer's own ceiling, no network: bounds the pipe figures.
t0=$(date +%s.%N)
# shellcheck disable=SC2002 # the pipe is what is measured
cat "$TMP/zero" | cat >/dev/null
t1=$(date +%s.%N)
awk -v n="$BYTES" -v a="$t0" -v b="$t1" \
	'BEGIN { printf "pipe producer ceiling (cat FILE | cat): %.2f GB/s\n", n / 1e9 / (b - a) }'

# --- timed rounds -----------------------------------------------------------
declare -A GBS=() TXR=() RXR=() TXC=() RXC=()
for ((r = 1; r <= ROUNDS; r++)); do
	for kind in "${KINDS[@]}"; do
		for tool in "${TOOLS[@]}"; do
			transfer "$tool" "$kind" "$TMP/zero" /dev/null
			g=$(awk -v n="$BYTES" -v s="$SECS" 'BEGIN { printf "%.3f", n / 1e9 / s }')
			# CPU seconds per GB on each side: where a core is the limit.
			tc=$(awk -v n="$BYTES" -v u="$TX_U" -v s="$TX_S" 'BEGIN { printf "%.2f", (u + s) / (n / 1e9) }')
			rc=$(awk -v n="$BYTES" -v u="$RX_U" -v s="$RX_S" 'BEGIN { printf "%.2f", (u + s) / (n / 1e9) }')
			printf '  round %d  %-5s %-8s %7.3f GB/s   cpu s/GB tx %s (user %s sys %s) rx %s (user %s sys %s)\n' \
				"$r" "$kind" "$tool" "$g" "$tc" "$TX_U" "$TX_S" "$rc" "$RX_U" "$RX_S" >&2
			k=$tool/$kind
			GBS[$k]+=" $g"
			TXC[$k]+=" $tc"
			RXC[$k]+=" $rc"
			TXR[$k]=$(max "${TXR[$k]:-0}" "$TX_RSS")
			RXR[$k]=$(max "${RXR[$k]:-0}" "$RX_RSS")
		done
	done
done

# --- report -----------------------------------------------------------------
echo
printf '%-8s %-5s %7s %-15s %8s %10s %10s %11s %11s\n' tool stdin GB/s "[min-max]" vs-peer \
	"tx cpu s/GB" "rx cpu s/GB" "tx RSS KiB" "rx RSS KiB"
declare -A MED=() BEST=() BESTNAME=() SUMMARY=()
for kind in "${KINDS[@]}"; do
	BEST[$kind]=0
	BESTNAME[$kind]=none
	for tool in "${TOOLS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the per-round lists is wanted
		MED[$tool/$kind]=$(median ${GBS[$tool/$kind]})
	done
	for tool in "${PEERS[@]}"; do
		if [[ $(max "${BEST[$kind]}" "${MED[$tool/$kind]}") != "${BEST[$kind]}" ]]; then
			BEST[$kind]=${MED[$tool/$kind]}
			BESTNAME[$kind]=$tool
		fi
	done
	for tool in "${TOOLS[@]}"; do
		k=$tool/$kind
		# shellcheck disable=SC2086
		printf '%-8s %-5s %7.3f %-15s %7sx %10s %10s %11s %11s\n' "$tool" "$kind" "${MED[$k]}" \
			"[$(lo ${GBS[$k]})-$(hi ${GBS[$k]})]" "$(ratio "${MED[$k]}" "${BEST[$kind]}")" \
			"$(median ${TXC[$k]})" "$(median ${RXC[$k]})" "${TXR[$k]}" "${RXR[$k]}"
	done
	SUMMARY[$kind]=$(ratio "${MED[sockctl/$kind]:-0}" "${BEST[$kind]}")
done
echo
echo "GB/s: 10^9 bytes per second from the client's start to both ends' exit (handshake"
echo "  included); vs-peer: median GB/s over the best peer's (${PEERS[*]}) for that stdin kind;"
echo "  cpu s/GB: user + system seconds per 10^9 bytes of the sending (tx) and receiving"
echo "  (rx) process; RSS: the largest peak over the rounds."
[[ " ${TOOLS[*]} " != *" ncat "* ]] || echo "note: ncat sends from its listener (see the top of $0)"
if [[ " ${TOOLS[*]} " == *" sockctl "* ]] && ((${#PEERS[@]})); then
	for kind in "${KINDS[@]}"; do
		echo "sockctl vs best peer ($kind): ${SUMMARY[$kind]}x   (best peer: ${BESTNAME[$kind]}; target >= 2x)"
	done
	result "tls: GB/s, file stdin, vs ${BESTNAME[file]}" "${SUMMARY[file]}" ">=2"
	result "tls: GB/s, pipe stdin, vs ${BESTNAME[pipe]}" "${SUMMARY[pipe]}" ">=2"
fi
