#!/usr/bin/env bash
# Port-forwarder benchmark over 127.0.0.1: `sockctl forward` against
# haproxy (mode tcp, option splice-auto, one process, nbthread 1), nginx's
# stream module (one worker), socat TCP-LISTEN:...,fork and rinetd, rounds
# interleaved. Three measures, each forwarder between the same client and
# the same target:
#  (a) BENCH_BYTES (2 GiB) from `sockctl connect` (file stdin) through the
#      forwarder to `sockctl listen --recv-only` writing to /dev/null: GB/s,
#      and the CPU seconds the forwarder used per GiB;
#  (b) short connections: wrk -t1 -c50 with 'Connection: close' through the
#      forwarder to lighttpd serving a 1 KiB file: connections (= requests)
#      per second, and the forwarder's CPU per connection;
#  (c) the forwarder's RSS (summed over its processes) holding BENCH_IDLE_PAIRS
#      idle connection pairs: a python client opens them, one byte echoed
#      each way through each to prove the pair is up, to a python target
#      that accepts and holds them.
# A "direct" row (no forwarder) gives the ceiling of (a) and (b).
# Issue targets: GB/s and conn/s at least the best peer's, CPU per GiB at
# most the best peer's, RSS with 10,000 idle pairs at most half haproxy's.
# Every forwarder gets the connection limits it needs (haproxy maxconn,
# nginx worker_connections, sockctl --max-conns); socat is given -b 131072
# as in tcp.sh and tls.sh, and a listen backlog of 1024 (its default, 5,
# drops SYNs under wrk: 1 s retransmits). socat (a process per connection) and rinetd
# (select(2): no descriptor above 1023) cannot hold the idle pairs and sit
# out (c). The pairs need two descriptors each in the forwarder: where the
# hard fd limit (ulimit -Hn) cannot be raised to fit them, fewer pairs are
# opened and the result line says how many.
#
# The script only prints figures: it exits non-zero when a forwarder breaks
# (corrupt or short data, a wrong status, a dropped idle pair), never
# because of timing.
#
# Knobs: SOCKCTL (binary), BENCH_BYTES (default 2 GiB), BENCH_ROUNDS
# (default 3; each round runs every forwarder once per measure, so they
# interleave), BENCH_TIMEOUT (seconds per transfer, default 120),
# BENCH_FWD_SECONDS (wrk duration per run, default 3), BENCH_CONNS (wrk
# connections, default 50), BENCH_IDLE_PAIRS (default 10000),
# BENCH_FORWARDERS (default "sockctl haproxy nginx socat rinetd").
set -euo pipefail
export LC_ALL=C        # '.' decimal point in awk and sort
PATH=$PATH:/usr/sbin   # haproxy, nginx, lighttpd and rinetd live there

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/common.bash
. "$HERE/common.bash"
SOCKCTL=${SOCKCTL:-$HERE/../../sockctl}
BYTES=${BENCH_BYTES:-2147483648}
ROUNDS=${BENCH_ROUNDS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
WRK_SECONDS=${BENCH_FWD_SECONDS:-3}
CONNS=${BENCH_CONNS:-50}
IDLE_PAIRS=${BENCH_IDLE_PAIRS:-10000}
read -r -a FWDS <<<"${BENCH_FORWARDERS:-sockctl haproxy nginx socat rinetd}"
CHECK_BYTES=$((32 << 20))

for v in "BENCH_BYTES=$BYTES" "BENCH_ROUNDS=$ROUNDS" "BENCH_TIMEOUT=$TIMEOUT" \
	"BENCH_FWD_SECONDS=$WRK_SECONDS" "BENCH_CONNS=$CONNS" "BENCH_IDLE_PAIRS=$IDLE_PAIRS"; do
	[[ ${v#*=} =~ ^[1-9][0-9]{0,11}$ ]] || die "${v%%=*} must be a positive integer, not '${v#*=}'"
done
PEERS=()
for t in "${FWDS[@]}"; do
	case $t in
	sockctl) ;;
	haproxy | nginx | socat | rinetd) PEERS+=("$t") ;;
	*) die "BENCH_FORWARDERS: unknown forwarder '$t' (sockctl, haproxy, nginx, socat, rinetd)" ;;
	esac
done
[[ ${FWDS[0]:-} == sockctl ]] || die "BENCH_FORWARDERS must start with sockctl"
# (c): the forwarders that can hold the idle pairs.
IDLE_FWDS=()
for t in "${FWDS[@]}"; do [[ $t == socat || $t == rinetd ]] || IDLE_FWDS+=("$t"); done

# has_candidate PKG: apt knows a version of PKG to install.
has_candidate() {
	apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
}

# nginx_stream_module: the load_module line nginx needs for the stream
# module ("" when it is built in), or nothing and status 1 when it has none.
nginx_stream_module() {
	local v dir
	v=$(nginx -V 2>&1) || return 1
	[[ $v == *--with-stream\ * || $v == *--with-stream ]] && return 0
	[[ $v == *--with-stream=dynamic* ]] || return 1
	dir=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$v")
	[[ -e ${dir:-/usr/lib/nginx/modules}/ngx_stream_module.so ]] || return 1
	echo "load_module ${dir:-/usr/lib/nginx/modules}/ngx_stream_module.so;"
}

# The peers, lighttpd, wrk, curl and nginx's stream module (its own package
# on Debian: libnginx-mod-stream) are installed only when missing.
need_tools() {
	local -a pkgs=()
	local t
	for t in "${FWDS[@]}"; do
		case $t in
		haproxy | socat | rinetd) command -v "$t" >/dev/null || pkgs+=("$t") ;;
		nginx) command -v nginx >/dev/null || pkgs+=(nginx) ;;
		esac
	done
	command -v lighttpd >/dev/null || pkgs+=(lighttpd)
	command -v wrk >/dev/null || pkgs+=(wrk)
	command -v curl >/dev/null || pkgs+=(curl)
	local sudo=; ((EUID == 0)) || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	if ((${#pkgs[@]})); then
		$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
		if [[ " ${pkgs[*]} " == *" nginx "* ]] && ! has_candidate nginx; then
			pkgs=("${pkgs[@]/#nginx/nginx-light}")
		fi
		echo "installing ${pkgs[*]}" >&2
		$sudo apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${pkgs[@]}" >/dev/null ||
			die "could not install ${pkgs[*]}"
	fi
	if [[ " ${FWDS[*]} " == *" nginx "* ]] && ! nginx_stream_module >/dev/null; then
		echo "installing libnginx-mod-stream" >&2
		{ ((${#pkgs[@]})) || $sudo apt-get update -qq; } >/dev/null || die "apt-get update failed"
		$sudo apt-get install -y -qq -o DPkg::Lock::Timeout=300 libnginx-mod-stream >/dev/null ||
			die "could not install libnginx-mod-stream"
		nginx_stream_module >/dev/null || die "nginx has no stream module: $(nginx -V 2>&1 | tail -n 1)"
	fi
	return 0
}

# free_port: a port the kernel just handed out for port 0 (a tiny race we
# accept). The peers cannot bind port 0 and report it; sockctl gets one
# too, and runs with -q (no per-connection log line).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port WHAT PORT PID ERRFILE: bounded wait (5 s) until PORT listens.
# Polls ss rather than connecting: a test connection would use up a
# one-shot receiver's accept.
wait_port() {
	local i
	for ((i = 0; i < 250; i++)); do
		[[ -n $(ss -Hltn "sport = :$2") ]] && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.02
	done
	die "$1 did not listen on 127.0.0.1:$2: $(cat "$4" 2>/dev/null)"
}

# forget PID: PID is waited for; no longer one to kill on exit.
forget() {
	local i
	for i in "${!PIDS[@]}"; do [[ ${PIDS[i]} != "$1" ]] || unset 'PIDS[i]'; done
	PIDS=("${PIDS[@]}")
}

# start_fwd NAME TARGET_PORT [IDLE]: starts forwarder NAME from a free port
# of 127.0.0.1 to 127.0.0.1:TARGET_PORT and waits until it listens; sets
# FPORT[NAME], SPID[NAME] (timeout's PID: the forwarder is under it) and
# NPROC[NAME] (its processes once started). IDLE=1: with room for
# IDLE_N pairs (and nginx as usually run: a master and one worker).
declare -A FPORT=() SPID=() NPROC=()
start_fwd() {
	local name=$1 tport=$2 idle=${3:-} port d=$TMP/$1 i maxconn pipes
	local -a cmd
	port=$(free_port)
	mkdir -p "$d"
	case $name in
	sockctl)
		cmd=("$SOCKCTL" forward -q)
		[[ -z $idle ]] || cmd+=(--max-conns $((IDLE_N + 64)))
		cmd+=("127.0.0.1:$port" "127.0.0.1:$tport")
		;;
	haproxy)
		# haproxy wants 2 fds per connection and 2 per pipe at start-up
		# (maxpipes defaults to maxconn / 4): the idle run sizes both to fit.
		maxconn=1024 pipes=256
		if [[ -n $idle ]]; then
			maxconn=$((IDLE_N + 64))
			pipes=$(((FD_LIMIT - 2 * maxconn - 64) / 2))
			((pipes < 1024)) || pipes=1024
		fi
		cat >"$d/haproxy.cfg" <<-EOF
			global
			    nbthread 1
			    maxconn $maxconn
			    maxpipes $pipes
			    pidfile $d/haproxy.pid
			defaults
			    mode tcp
			    maxconn $maxconn
			    option splice-auto
			    timeout connect 10s
			    timeout client 300s
			    timeout server 300s
			listen fwd
			    bind 127.0.0.1:$port
			    server target 127.0.0.1:$tport
		EOF
		cmd=(haproxy -db -f "$d/haproxy.cfg")
		;;
	nginx)
		{
			echo "$NGINX_LOAD"
			if [[ -n $idle ]]; then
				# As root, the worker would be 'nobody': it stays root.
				((EUID != 0)) || echo "user root;"
				echo "worker_rlimit_nofile $FD_LIMIT;"
				echo "events { worker_connections $((2 * IDLE_N + 256)); }"
			else
				echo "master_process off;"
				echo "events { worker_connections 1024; }"
			fi
			cat <<-EOF
				daemon off;
				worker_processes 1;
				error_log stderr;
				pid $d/nginx.pid;
				stream {
				    server {
				        listen 127.0.0.1:$port;
				        proxy_pass 127.0.0.1:$tport;
				    }
				}
			EOF
		} >"$d/nginx.conf"
		cmd=(nginx -e stderr -p "$d/" -c "$d/nginx.conf")
		;;
	socat) cmd=(socat -b 131072 "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=1024" "TCP:127.0.0.1:$tport") ;;
	rinetd)
		# pidlogfile: its default is /var/run/rinetd.pid.
		printf 'pidlogfile %s\n127.0.0.1 %s 127.0.0.1 %s\n' "$d/rinetd.pid" "$port" "$tport" >"$d/rinetd.conf"
		cmd=(rinetd -f -c "$d/rinetd.conf")
		;;
	esac
	# timeout outermost, as a bound should this script be killed outright.
	timeout "$LIFETIME" "${cmd[@]}" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" &
	SPID[$name]=$!
	PIDS+=("$!")
	FPORT[$name]=$port
	wait_port "$name" "$port" "${SPID[$name]}" "$TMP/$name.err"
	NPROC[$name]=$(descendants "${SPID[$name]}" | wc -l)
}

# stop_fwd NAMES...: SIGTERM (timeout passes it on), a bounded wait, then
# SIGKILL, by PID.
stop_fwd() {
	local name p i
	for name in "$@"; do
		p=${SPID[$name]}
		kill "$p" 2>/dev/null || true
		for ((i = 0; i < 250; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		forget "$p"
	done
}

alive() {
	kill -0 "${SPID[$1]}" 2>/dev/null || die "$1 died during the benchmark: $(cat "$TMP/$1.err")"
}

# descendants PID: the PIDs of PID's children, theirs, and so on.
descendants() {
	local p kids
	if [[ -r /proc/$1/task/$1/children ]]; then
		kids=$(cat /proc/"$1"/task/*/children 2>/dev/null || true)
	else   # a kernel without CONFIG_PROC_CHILDREN
		kids=$(ps -o pid= --ppid "$1" || true)
	fi
	for p in $kids; do
		echo "$p"
		descendants "$p"
	done
}

# settle NAME: bounded wait (5 s) until the forwarder is back to the
# processes it started with (socat's per-connection children reaped, so
# their CPU is in its parent's cutime and cstime, counted once).
settle() {
	local i
	for ((i = 0; i < 250; i++)); do
		(($(descendants "${SPID[$1]}" | wc -l) <= NPROC[$1])) && return 0
		sleep 0.02
	done
	NOTES+=("$1 still had per-connection processes 5 s after a run: its CPU figure may be off")
}

# cpu_ticks NAME: clock ticks (user + system, and those of its reaped
# children) that forwarder NAME's processes have used so far. Call settle
# first.
cpu_ticks() {
	local p t sum=0
	alive "$1"
	for p in $(descendants "${SPID[$1]}"); do
		# Fields 14 to 17, counted after the ')' that ends the command name.
		t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }') || t=0
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# memory NAME: "RSS PSS N": the sums of VmRSS and of Pss (KiB) over the N
# processes of forwarder NAME (those under its timeout, which is not counted).
memory() {
	local rss=0 pss=0 n=0 p v w
	alive "$1"
	for p in $(descendants "${SPID[$1]}"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
		[[ -n $v ]] || continue
		w=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || w=0
		rss=$((rss + v)) pss=$((pss + ${w:-0})) n=$((n + 1))
	done
	((n > 0)) || die "$1: no forwarder process found under PID ${SPID[$1]}"
	echo "$rss $pss $n"
}

# transfer NAME SRC OUT: SRC (a file) from `sockctl connect` through
# forwarder NAME (or straight, for NAME "direct") to `sockctl listen
# --recv-only` on RXPORT writing OUT. --recv-only: the receiver never
# half-closes first (socat would end the pair 0.5 s after it). Sets SECS
# (sender start to both ends exited) and TICKS (the forwarder's CPU).
transfer() {
	local name=$1 src=$2 out=$3 port t0 t1 c0=0 c1=0 rc=0 rx tx
	: >"$TMP/rx.err"
	timeout "$TIMEOUT" "$SOCKCTL" listen --recv-only 127.0.0.1 "$RXPORT" \
		</dev/null >"$out" 2>"$TMP/rx.err" &
	rx=$!
	PIDS+=("$rx")
	wait_port "sockctl listen (receiver)" "$RXPORT" "$rx" "$TMP/rx.err"
	if [[ $name == direct ]]; then
		port=$RXPORT
	else
		port=${FPORT[$name]}
		settle "$name"
		c0=$(cpu_ticks "$name")
	fi
	t0=$(date +%s.%N)
	timeout "$TIMEOUT" "$SOCKCTL" connect 127.0.0.1 "$port" <"$src" >/dev/null 2>"$TMP/tx.err" &
	tx=$!
	PIDS+=("$tx")
	wait "$tx" || rc=$?
	forget "$tx"
	((rc == 0)) || die "sender through $name exited $rc: $(cat "$TMP/tx.err")"
	wait "$rx" || rc=$?
	forget "$rx"
	((rc == 0)) || die "receiver behind $name exited $rc: $(cat "$TMP/rx.err")"
	t1=$(date +%s.%N)
	if [[ $name != direct ]]; then
		settle "$name"
		c1=$(cpu_ticks "$name")
	fi
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
	TICKS=$((c1 - c0))
}

# The wrk script: a machine-readable summary once the run is done. With
# neither request() nor response() defined, wrk runs its usual C loop.
cat >"$TMP/report.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n",
		summary.duration, summary.requests, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(99)))
end
EOF

# check_http NAME PORT: curl fetches the file through NAME: status 200 and
# the file's exact bytes.
check_http() {
	local code
	code=$(curl -sS --max-time 30 --http1.1 -o "$TMP/got" -w '%{http_code}' \
		"http://127.0.0.1:$2/1k.bin" 2>"$TMP/curl.err" || true)
	[[ $code == 200 ]] || die "$1: GET /1k.bin answered status $code: $(cat "$TMP/curl.err")"
	cmp -s "$WWW/1k.bin" "$TMP/got" || die "$1: GET /1k.bin did not return the file's bytes"
}

# rate NAME ROUND: one wrk run through NAME (or straight to lighttpd);
# appends req/s, the forwarder's CPU per connection and wrk's own CPU.
declare -A RPS=() UCPU=() WCPU=() P50=() P99=() NON2XX=() SOCKERR=()
rate() {
	local name=$1 r=$2 port c0=0 c1=0 rc=0 us reqs bytes ec er ew et es p50 p99 rps cpu wcpu err=
	if [[ $name == direct ]]; then
		port=$LPORT
	else
		port=${FPORT[$name]}
		settle "$name"
		c0=$(cpu_ticks "$name")
	fi
	timeout $((WRK_SECONDS + 30)) /usr/bin/time -f '%e %U %S' -o "$TMP/wrk.time" \
		wrk -t1 -c"$CONNS" -d"${WRK_SECONDS}s" -H 'Connection: close' -s "$TMP/report.lua" \
		"http://127.0.0.1:$port/1k.bin" </dev/null >"$TMP/wrk.out" 2>"$TMP/wrk.err" &
	CURRENT_PID=$!
	wait "$CURRENT_PID" || rc=$?
	CURRENT_PID=
	((rc == 0)) || die "wrk through $name exited $rc: $(cat "$TMP/wrk.out" "$TMP/wrk.err")"
	kill -0 "$LPID" 2>/dev/null || die "lighttpd died: $(cat "$TMP/lighttpd.err")"
	if [[ $name != direct ]]; then
		settle "$name"
		c1=$(cpu_ticks "$name")
	fi
	wcpu=$(awk '{ printf "%.0f", ($2 + $3) / $1 * 100 }' "$TMP/wrk.time")
	read -r us reqs bytes ec er ew et es p50 p99 < <(sed -n 's/^RESULT //p' "$TMP/wrk.out") ||
		die "wrk through $name printed no summary: $(cat "$TMP/wrk.out" "$TMP/wrk.err")"
	((reqs > 0)) || die "$name: no complete response in ${WRK_SECONDS}s: $(cat "$TMP/wrk.out")"
	# Every complete 2xx response carries the whole body.
	((bytes >= (reqs - es) * 1024)) ||
		die "$name: $bytes bytes for $((reqs - es)) 2xx responses, less than 1 KiB each"
	rps=$(awk -v n="$reqs" -v t="$us" 'BEGIN { printf "%.0f", n / (t / 1e6) }')
	cpu=-
	[[ $name == direct ]] ||
		cpu=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
	RPS[$name]+=" $rps"
	UCPU[$name]+=" $cpu"
	WCPU[$name]+=" $wcpu"
	P50[$name]+=" $p50"
	P99[$name]+=" $p99"
	NON2XX[$name]=$((${NON2XX[$name]:-0} + es))
	SOCKERR[$name]=$((${SOCKERR[$name]:-0} + ec + er + ew + et))
	((es + ec + er + ew + et == 0)) ||
		err="  errors: non-2xx $es, connect $ec, read $er, write $ew, timeout $et"
	printf '  round %d  %-8s %8d conn/s %7s us-cpu/conn  wrk %3s%%  p50 %6s ms  p99 %6s ms%s\n' \
		"$r" "$name" "$rps" "$cpu" "$wcpu" "$(ms "$p50")" "$(ms "$p99")" "$err" >&2
}

# The idle target: accepts, echoes the first byte, then holds each
# connection until its peer closes it. Prints its port.
cat >"$TMP/holder.py" <<'PY'
import asyncio, resource, sys

n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < n + 256:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 256, hard), hard))

async def hold(reader, writer):
    try:
        first = await reader.read(1)
        if first:
            writer.write(first)
            await writer.drain()
            while await reader.read(65536):
                pass
    except OSError:
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(hold, "127.0.0.1", 0, backlog=4096)
    print("listening on 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
PY

# The idle client: opens N connections to PORT one after the other, sends a
# byte on each and waits for it to come back (the pair is up end to end),
# prints "ready", waits (120 s at most) for the file GO, then prints how
# many are still open.
cat >"$TMP/idle.py" <<'PY'
import os, resource, socket, sys, time

port, n, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"x")
    if s.recv(1) != b"x":
        sys.exit(f"connection {i}: the byte did not come back through the forwarder")
    conns.append(s)
print("ready", flush=True)
deadline = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.05)
alive = 0
for s in conns:
    s.setblocking(False)
    try:
        alive += 1 if s.recv(1) else 0     # data: unexpected, but open
    except BlockingIOError:
        alive += 1                         # nothing to read: open and idle
    except OSError:
        pass                               # reset
print("alive", alive, flush=True)
PY

# idle NAME: starts the holder and forwarder NAME to it, opens IDLE_N idle
# pairs through it and sets IDLE[NAME] to "RSS-before RSS-with PSS-with
# processes".
declare -A IDLE=()
idle() {
	local name=$1 before after i rc=0 open hpid tport=
	: >"$TMP/holder.out"
	timeout 600 python3 "$TMP/holder.py" "$IDLE_N" </dev/null >"$TMP/holder.out" 2>"$TMP/holder.err" &
	hpid=$!
	PIDS+=("$hpid")
	for ((i = 0; i < 250; i++)); do
		tport=$(sed -n 's/.*listening on .*:\([0-9]\{1,5\}\)$/\1/p' "$TMP/holder.out" | head -n 1)
		[[ -n $tport ]] && break
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.02
	done
	[[ -n $tport ]] || die "the idle target printed no port: $(cat "$TMP/holder.err")"
	start_fwd "$name" "$tport" idle
	sleep 0.5   # let it settle (nginx's worker starting)
	before=$(memory "$name")
	rm -f "$TMP/idle.go"
	: >"$TMP/idle.out"
	timeout 300 python3 "$TMP/idle.py" "${FPORT[$name]}" "$IDLE_N" "$TMP/idle.go" \
		</dev/null >"$TMP/idle.out" 2>"$TMP/idle.err" &
	CURRENT_PID=$!
	for ((i = 0; i < 2400; i++)); do   # 120 s at most
		grep -q '^ready' "$TMP/idle.out" && break
		kill -0 "$CURRENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^ready' "$TMP/idle.out" ||
		die "$name: could not open $IDLE_N pairs: $(cat "$TMP/idle.err" "$TMP/$name.err")"
	sleep 1   # let the forwarder settle (a lazy free, a timer)
	after=$(memory "$name")
	touch "$TMP/idle.go"
	wait "$CURRENT_PID" || rc=$?
	CURRENT_PID=
	((rc == 0)) || die "$name: the idle client exited $rc: $(cat "$TMP/idle.err")"
	open=$(sed -n 's/^alive //p' "$TMP/idle.out")
	((open == IDLE_N)) || die "$name closed $((IDLE_N - open)) of $IDLE_N idle pairs"
	alive "$name"
	stop_fwd "$name"
	kill "$hpid" 2>/dev/null || true
	wait "$hpid" 2>/dev/null || true
	forget "$hpid"
	IDLE[$name]="${before%% *} $after"
	printf '  %-8s RSS %7s KiB before, %7s KiB with %d idle pairs\n' \
		"$name" "${before%% *}" "${after%% *}" "$IDLE_N" >&2
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lo() { printf '%s\n' "$@" | sort -g | head -n 1; }
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# best LIST HIGHER: the peer with the best median of the per-round lists in
# the associative array LIST (HIGHER=1: the highest wins, else the lowest);
# sets BEST and BESTNAME.
best() {
	local -n _list=$1
	local t m
	BEST='' BESTNAME=none
	for t in "${PEERS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the per-round lists is wanted
		m=$(median ${_list[$t]})
		if [[ -z $BEST ]] || awk -v m="$m" -v b="$BEST" -v h="$2" 'BEGIN { exit !(h ? m > b : m < b) }'; then
			BEST=$m BESTNAME=$t
		fi
	done
	BEST=${BEST:-0}
}

# --- set-up ---------------------------------------------------------------
need_tools
[[ -x $SOCKCTL ]] || die "no sockctl binary at $SOCKCTL (run make)"
for c in lighttpd wrk curl python3 ss /usr/bin/time; do command -v "$c" >/dev/null || die "$c is required"; done
NGINX_LOAD=
[[ " ${FWDS[*]} " != *" nginx "* ]] || NGINX_LOAD=$(nginx_stream_module)
HZ=$(getconf CLK_TCK)
NOTES=()

# (c) needs two descriptors a pair in the forwarder, and some to spare:
# the soft limit is raised to the hard one (children inherit it); where
# that is too low, fewer pairs.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
[[ $FD_LIMIT != unlimited ]] || FD_LIMIT=1048576
IDLE_N=$IDLE_PAIRS
if ((2 * IDLE_N + 512 > FD_LIMIT)); then
	IDLE_N=$(((FD_LIMIT - 512) / 2 / 100 * 100))
	((IDLE_N > 0)) || die "the fd limit ($FD_LIMIT) leaves no room for idle pairs"
	NOTES+=("idle pairs: $IDLE_N, not $IDLE_PAIRS: the hard fd limit is $FD_LIMIT and each pair takes two in the forwarder")
fi
if ((IDLE_N == 10000)); then IDLE_LABEL=10k; else IDLE_LABEL=$IDLE_N; fi

echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
ver() { { "$@" 2>&1 || true; } | head -n 1; }
versions="$(ver "$SOCKCTL" --version)"
for t in "${PEERS[@]}"; do
	case $t in
	haproxy) versions+=", $(ver haproxy -v | cut -d' ' -f1-3)" ;;
	nginx) versions+=", $(ver nginx -v | sed 's/^nginx version: //')" ;;
	socat) versions+=", $(socat -V | sed -n 's/^socat version \([^ ]*\).*/socat \1/p')" ;;
	rinetd) versions+=", $(ver rinetd -v)" ;;
	esac
done
versions+=", $(ver lighttpd -v | cut -d' ' -f1), $(ver wrk -v | cut -d' ' -f1-2)"
echo "versions: $versions"
echo "rounds: $ROUNDS (each figure: median of the rounds, [min-max]); forwarders: ${FWDS[*]}"

# --- (a) throughput ---------------------------------------------------------
# Each forwarder lives through all of (a); the bound is a safety net only.
LIFETIME=$(((ROUNDS + 1) * (TIMEOUT + 10) * (${#FWDS[@]} + 1) + 300))
RXPORT=$(free_port)
echo
echo "== throughput: $BYTES bytes, sockctl connect (file stdin) -> forwarder -> sockctl listen > /dev/null"
for t in "${FWDS[@]}"; do start_fwd "$t" "$RXPORT"; done

# Correctness first: random data through every forwarder, compared byte
# for byte. The timed runs then write to /dev/null.
head -c "$CHECK_BYTES" /dev/urandom >"$TMP/check.in"
for t in "${FWDS[@]}"; do
	transfer "$t" "$TMP/check.in" "$TMP/check.out"
	cmp -s "$TMP/check.in" "$TMP/check.out" ||
		die "$t corrupted data: got $(wc -c <"$TMP/check.out") of $CHECK_BYTES bytes"
done
rm -f "$TMP/check.in" "$TMP/check.out"
echo "check: $CHECK_BYTES random bytes intact through ${FWDS[*]}"

# Real zero pages (a sparse file would make reads artificially cheap), read
# once so every run finds the file in the page cache.
dd if=/dev/zero of="$TMP/zero" bs=1M iflag=count_bytes count="$BYTES" status=none
cat "$TMP/zero" >/dev/null

declare -A GBS=() CPG=()
for ((r = 1; r <= ROUNDS; r++)); do
	for t in direct "${FWDS[@]}"; do
		transfer "$t" "$TMP/zero" /dev/null
		g=$(awk -v n="$BYTES" -v s="$SECS" 'BEGIN { printf "%.3f", n / 1e9 / s }')
		c=-
		[[ $t == direct ]] ||
			c=$(awk -v d="$TICKS" -v hz="$HZ" -v n="$BYTES" 'BEGIN { printf "%.3f", d / hz / (n / 1073741824) }')
		printf '  round %d  %-8s %7.3f GB/s  %6s cpu s/GiB\n' "$r" "$t" "$g" "$c" >&2
		GBS[$t]+=" $g"
		CPG[$t]+=" $c"
	done
done
stop_fwd "${FWDS[@]}"
rm -f "$TMP/zero"

echo
printf '%-9s %7s %-15s %8s %10s %-15s %8s\n' forwarder GB/s "[min-max]" vs-peer "cpu s/GiB" "[min-max]" vs-peer
best GBS 1
BEST_GBS=$BEST BEST_GBS_NAME=$BESTNAME
best CPG 0
BEST_CPG=$BEST BEST_CPG_NAME=$BESTNAME
for t in direct "${FWDS[@]}"; do
	# shellcheck disable=SC2086
	if [[ $t == direct ]]; then
		printf '%-9s %7.3f %-15s %8s %10s %-15s %8s\n' "$t" "$(median ${GBS[$t]})" \
			"[$(lo ${GBS[$t]})-$(hi ${GBS[$t]})]" - - - -
	else
		printf '%-9s %7.3f %-15s %7sx %10s %-15s %7sx\n' "$t" "$(median ${GBS[$t]})" \
			"[$(lo ${GBS[$t]})-$(hi ${GBS[$t]})]" "$(ratio "$(median ${GBS[$t]})" "$BEST_GBS")" \
			"$(median ${CPG[$t]})" "[$(lo ${CPG[$t]})-$(hi ${CPG[$t]})]" \
			"$(ratio "$(median ${CPG[$t]})" "$BEST_CPG")"
	fi
done
echo
echo "GB/s: 10^9 bytes per second from the sender's start to both ends' exit; direct: no"
echo "  forwarder (the ceiling); cpu s/GiB: user + system seconds the forwarder's processes"
echo "  used per 2^30 bytes (socat: its per-connection children included); vs-peer: over"
echo "  the best peer's median (${PEERS[*]})."
# shellcheck disable=SC2086
GBS_RATIO=$(ratio "$(median ${GBS[sockctl]})" "$BEST_GBS")
# shellcheck disable=SC2086
CPG_RATIO=$(ratio "$(median ${CPG[sockctl]})" "$BEST_CPG")
echo "sockctl vs best peer, GB/s: ${GBS_RATIO}x   (best peer: $BEST_GBS_NAME; target >= 1x)"
echo "sockctl vs best peer, CPU per GiB: ${CPG_RATIO}x   (best peer: $BEST_CPG_NAME; target <= 1x)"
result "forward: GB/s vs best peer" "$GBS_RATIO" ">=1"
result "forward: CPU per GiB vs best peer" "$CPG_RATIO" "<=1"

# --- (b) short connections --------------------------------------------------
echo
echo "== short connections: wrk -t1 -c$CONNS -d${WRK_SECONDS}s -H 'Connection: close' -> forwarder -> lighttpd (1 KiB file)"
WWW=$TMP/www
mkdir -p "$WWW"
head -c 1024 /dev/urandom >"$WWW/1k.bin"
LPORT=$(free_port)
cat >"$TMP/lighttpd.conf" <<-EOF
	server.document-root = "$WWW"
	server.bind = "127.0.0.1"
	server.port = $LPORT
	server.upload-dirs = ( "$TMP" )
EOF
LIFETIME=$((ROUNDS * (${#FWDS[@]} + 1) * (WRK_SECONDS + 35) + 300))
timeout "$LIFETIME" lighttpd -D -f "$TMP/lighttpd.conf" </dev/null >/dev/null 2>"$TMP/lighttpd.err" &
LPID=$!
PIDS+=("$LPID")
wait_port lighttpd "$LPORT" "$LPID" "$TMP/lighttpd.err"
check_http direct "$LPORT"
for t in "${FWDS[@]}"; do
	start_fwd "$t" "$LPORT"
	check_http "$t" "${FPORT[$t]}"
done
echo "check: GET /1k.bin intact (status 200, bytes compared) straight and through ${FWDS[*]}"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in direct "${FWDS[@]}"; do rate "$t" "$r"; done
done
stop_fwd "${FWDS[@]}"
kill "$LPID" 2>/dev/null || true
wait "$LPID" 2>/dev/null || true
forget "$LPID"

echo
printf '%-9s %8s %-15s %8s %11s %8s %8s %8s %8s %9s\n' forwarder conn/s "[min-max]" vs-peer \
	"us-cpu/conn" "wrk cpu" "p50 ms" "p99 ms" non-2xx sock-err
best RPS 1
BEST_RPS=$BEST BEST_RPS_NAME=$BESTNAME
for t in direct "${FWDS[@]}"; do
	vs=- cpu=-
	# shellcheck disable=SC2086
	if [[ $t != direct ]]; then
		vs=$(ratio "$(median ${RPS[$t]})" "$BEST_RPS")x
		cpu=$(median ${UCPU[$t]})
	fi
	# shellcheck disable=SC2086
	printf '%-9s %8.0f %-15s %8s %11s %7s%% %8s %8s %8d %9d\n' "$t" "$(median ${RPS[$t]})" \
		"[$(lo ${RPS[$t]})-$(hi ${RPS[$t]})]" "$vs" \
		"$cpu" "$(median ${WCPU[$t]})" \
		"$(ms "$(median ${P50[$t]})")" "$(ms "$(median ${P99[$t]})")" "${NON2XX[$t]}" "${SOCKERR[$t]}"
done
echo
echo "conn/s: requests per second, each on its own connection (wrk reconnects after every"
echo "  response); direct: wrk straight to lighttpd; us-cpu/conn: microseconds of CPU (user +"
echo "  system) the forwarder's processes used per connection pair; wrk cpu: the load"
echo "  generator's own CPU (near 100%: it is the bottleneck, and us-cpu/conn is what still"
echo "  tells the forwarders apart); non-2xx, sock-err: wrk's counts, totals over the rounds."
# shellcheck disable=SC2086
RPS_RATIO=$(ratio "$(median ${RPS[sockctl]})" "$BEST_RPS")
echo "sockctl vs best peer, conn/s: ${RPS_RATIO}x   (best peer: $BEST_RPS_NAME; target >= 1x)"
result "forward: conn/s vs best peer" "$RPS_RATIO" ">=1"
broken=
for t in direct "${FWDS[@]}"; do
	((${NON2XX[$t]} == 0)) || broken+=" $t (${NON2XX[$t]})"
done
[[ -z $broken ]] || die "non-2xx responses under load through:$broken"

# --- (c) idle pairs ---------------------------------------------------------
echo
echo "== memory with $IDLE_N idle connection pairs (a byte echoed through each, then held)"
LIFETIME=900
for t in "${IDLE_FWDS[@]}"; do idle "$t"; done
echo
printf '%-9s %9s %14s %10s %11s %9s %9s\n' forwarder "RSS KiB" "RSS KiB idle" "vs haproxy" "bytes/pair" \
	"PSS KiB" processes
ha=
[[ -z ${IDLE[haproxy]:-} ]] || read -r _ ha _ _ <<<"${IDLE[haproxy]}"
for t in "${IDLE_FWDS[@]}"; do
	read -r b a p n <<<"${IDLE[$t]}"
	vs=-
	[[ -z $ha ]] || vs=$(ratio "$a" "$ha")x
	printf '%-9s %9s %14s %10s %11s %9s %9s\n' "$t" "$b" "$a" "$vs" \
		"$(awk -v a="$a" -v b="$b" -v n="$IDLE_N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')" "$p" "$n"
done
echo
echo "RSS KiB: the forwarder's before the pairs and with them held idle (summed over its"
echo "  processes; nginx: a master and one worker); bytes/pair: the growth per pair; PSS KiB:"
echo "  with them, pages shared between processes counted once. socat (a process per"
echo "  connection) and rinetd (select(2)) cannot hold them and are not measured."
for n in "${NOTES[@]}"; do echo "note: $n"; done
if [[ -n $ha ]]; then
	read -r _ sa _ _ <<<"${IDLE[sockctl]}"
	echo "sockctl vs haproxy, RSS with $IDLE_N idle pairs: $(ratio "$sa" "$ha")x   (target <= 0.5x)"
	result "forward: RSS at $IDLE_LABEL idle pairs vs haproxy" "$(ratio "$sa" "$ha")" "<=0.5"
fi
