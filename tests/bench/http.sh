#!/usr/bin/env bash
# HTTP benchmark over 127.0.0.1: wrk (one thread, BENCH_CONNS keep-alive
# connections) against sockctl serve-http, lighttpd, nginx and, where it is
# packaged, darkhttpd, for a 1 KiB and a 1 MiB file. Every server runs as
# one process with no access log; the peers are set to use sendfile. The
# figure the issue asks for: sockctl's requests/s over the best peer's, per
# file size. Then the same over HTTPS (sockctl serve-http --tls, lighttpd
# with mod_openssl, nginx with ssl; one ECDSA P-256 certificate made here,
# each server's default cipher), and the memory each holds for
# BENCH_IDLE_CONNS idle keep-alive TLS connections: the sum of the RSS of
# its processes (nginx as usually run: a master and one worker). Targets:
# req/s at or above the best peer's, idle RSS no more than nginx's. The
# script only prints figures: it exits non-zero when a server breaks (wrong
# status, wrong or short body, a crash, a dropped idle connection), never
# because of timing.
#
# Knobs: SOCKCTL (binary), BENCH_SECONDS (wrk duration per run, default 10),
# BENCH_ROUNDS (default 3; each round runs every server on every file once,
# so servers interleave), BENCH_CONNS (wrk connections, default 50),
# BENCH_TLS_SECONDS (wrk duration per HTTPS run, default 3),
# BENCH_IDLE_CONNS (idle TLS connections, default 1000).
set -euo pipefail
export LC_ALL=C        # '.' decimal point in awk and sort
PATH=$PATH:/usr/sbin   # nginx and lighttpd live there

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/common.bash
. "$HERE/common.bash"
SOCKCTL=${SOCKCTL:-$HERE/../../sockctl}
DURATION=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-50}
TLS_DURATION=${BENCH_TLS_SECONDS:-3}
IDLE_CONNS=${BENCH_IDLE_CONNS:-1000}
FILES=(1k 1m)
declare -A SIZE=([1k]=1024 [1m]=1048576) LABEL=([1k]="1 KiB" [1m]="1 MiB")


for v in "BENCH_SECONDS=$DURATION" "BENCH_ROUNDS=$ROUNDS" "BENCH_CONNS=$CONNS" \
	"BENCH_TLS_SECONDS=$TLS_DURATION" "BENCH_IDLE_CONNS=$IDLE_CONNS"; do
	[[ ${v#*=} =~ ^[1-9][0-9]{0,5}$ ]] || die "${v%%=*} must be a positive integer, not '${v#*=}'"
done


# has_candidate PKG: apt knows a version of PKG to install.
has_candidate() {
	apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
}

# Install wrk and the peers only when they are missing. nginx is 'nginx' on
# current Debian ('nginx-light' there is nginx plus a module); darkhttpd is
# not packaged everywhere: without it the run goes on with a note.
need_tools() {
	local -a pkgs=()
	command -v wrk >/dev/null || pkgs+=(wrk)
	command -v lighttpd >/dev/null || pkgs+=(lighttpd)
	command -v nginx >/dev/null || pkgs+=(nginx)
	command -v curl >/dev/null || pkgs+=(curl)
	command -v openssl >/dev/null || pkgs+=(openssl)
	# lighttpd's TLS is a module in its own package.
	[[ -e /usr/lib/lighttpd/mod_openssl.so ]] || pkgs+=(lighttpd-mod-openssl)
	[[ -x /usr/bin/time ]] || pkgs+=(time)
	local sudo=; ((EUID == 0)) || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	if ((${#pkgs[@]})); then
		$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
		if [[ " ${pkgs[*]} " == *" nginx "* ]] && ! has_candidate nginx; then
			pkgs=("${pkgs[@]/#nginx/nginx-light}")
		fi
	fi
	# darkhttpd alone is no reason for an apt-get update on every run.
	if ! command -v darkhttpd >/dev/null && has_candidate darkhttpd; then
		pkgs+=(darkhttpd)
	fi
	((${#pkgs[@]})) || return 0
	echo "installing ${pkgs[*]}" >&2
	$sudo apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${pkgs[@]}" >/dev/null ||
		die "could not install ${pkgs[*]}"
}

# free_port: a port the kernel just handed out for port 0 (a tiny race we
# accept). sockctl gets one too: with -q it does not print the port.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_nginx_conf NAME PORT: the configuration in $TMP/NAME/ for NAME
# (nginx, tls-nginx or idle-nginx). nginx and tls-nginx are one process
# like the other servers; idle-nginx, whose memory is measured, runs as
# nginx usually does: a master and one worker (as root, the worker would be
# 'nobody', who cannot read $TMP: it stays root).
write_nginx_conf() {
	local d=$TMP/$1 port=$2
	mkdir -p "$d"
	{
		if [[ $1 == idle-* ]]; then
			((EUID != 0)) || echo "user root;"
			echo "worker_rlimit_nofile $((4 * IDLE_CONNS + 1024));"
			echo "events { worker_connections $((2 * IDLE_CONNS + 1024)); }"
		else
			echo "master_process off;"
			echo "events { worker_connections 1024; }"
		fi
	} >"$d/nginx.conf"
	cat >>"$d/nginx.conf" <<-EOF
		daemon off;
		worker_processes 1;
		error_log stderr;
		pid $d/nginx.pid;
		http {
		    access_log off;
		    sendfile on;
		    tcp_nopush on;
		    keepalive_requests 1000000;
		    default_type application/octet-stream;
		    client_body_temp_path $d/client_body;
		    proxy_temp_path $d/proxy;
		    fastcgi_temp_path $d/fastcgi;
		    uwsgi_temp_path $d/uwsgi;
		    scgi_temp_path $d/scgi;
		    keepalive_timeout 300s;
		    server {
		        listen 127.0.0.1:$port${TLS:+ ssl};
		        root $WWW;
		        ${TLS:+ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.2 TLSv1.3;}
		    }
		}
	EOF
}

# write_lighttpd_conf NAME PORT: $TMP/NAME.conf. lighttpd is one process by
# default (server.max-worker 0) and has no access log unless mod_accesslog
# is loaded. With TLS set: mod_openssl on the port; idle-lighttpd keeps
# idle connections open for 300 s (the default is 5) and has the fds for
# IDLE_CONNS of them.
write_lighttpd_conf() {
	local conf=$TMP/$1.conf
	cat >"$conf" <<-EOF
		server.document-root = "$WWW"
		server.bind = "127.0.0.1"
		server.port = $2
		server.upload-dirs = ( "$TMP" )
		server.max-keep-alive-requests = 100000
	EOF
	[[ -z $LIGHTTPD_BACKEND ]] ||
		echo "server.network-backend = \"$LIGHTTPD_BACKEND\"" >>"$conf"
	if [[ -n $TLS ]]; then
		cat >>"$conf" <<-EOF
			server.modules += ( "mod_openssl" )
			ssl.engine = "enable"
			ssl.pemfile = "$CERT"
			ssl.privkey = "$KEY"
		EOF
	fi
	if [[ $1 == idle-* ]]; then
		cat >>"$conf" <<-EOF
			server.max-keep-alive-idle = 300
			server.max-fds = $((4 * IDLE_CONNS + 1024))
			server.max-connections = $((2 * IDLE_CONNS + 1024))
		EOF
	fi
}

# start_server NAME: starts NAME on a free port of 127.0.0.1 serving WWW and
# waits (5 s at most) until it listens; sets PORT[NAME], SPID[NAME] and
# URL[NAME]. NAME is a server (sockctl, lighttpd, nginx, darkhttpd), or
# tls-SERVER for HTTPS, or idle-SERVER for HTTPS with room for IDLE_CONNS
# idle connections.
declare -A PORT=() SPID=() URL=()
start_server() {
	local name=$1 port out=$TMP/$1.out i TLS=
	local -a cmd
	[[ $name == *-* ]] && TLS=1
	port=$(free_port)
	case ${name#*-} in
	sockctl)
		cmd=("$SOCKCTL" serve-http -q -p "$port" -b 127.0.0.1)
		[[ -z $TLS ]] || cmd+=(--tls --tls-cert "$CERT" --tls-key "$KEY")
		[[ $name != idle-* ]] || cmd+=(-w 300 --max-conns $((2 * IDLE_CONNS + 1024)))
		cmd+=("$WWW")
		;;
	lighttpd) write_lighttpd_conf "$name" "$port"; cmd=(lighttpd -D -f "$TMP/$name.conf") ;;
	nginx) write_nginx_conf "$name" "$port"; cmd=(nginx -e stderr -p "$TMP/$name/" -c "$TMP/$name/nginx.conf") ;;
	# darkhttpd writes its request log to stdout and has no switch to turn
	# it off: the lines go to /dev/null.
	darkhttpd) cmd=(darkhttpd "$WWW" --addr 127.0.0.1 --port "$port" --no-listing); out=/dev/null ;;
	esac
	# timeout outermost, as a bound should this script be killed outright.
	timeout "$LIFETIME" "${cmd[@]}" </dev/null >"$out" 2>"$TMP/$name.err" &
	SPID[$name]=$!
	PIDS+=("$!")
	PORT[$name]=$port
	URL[$name]=http${TLS:+s}://127.0.0.1:$port
	for ((i = 0; i < 250; i++)); do
		[[ -n $(ss -Hltn "sport = :$port") ]] && return 0
		kill -0 "${SPID[$name]}" 2>/dev/null || break
		sleep 0.02
	done
	die "$name did not listen on 127.0.0.1:$port: $(cat "$TMP/$name.err")"
}

alive() {
	kill -0 "${SPID[$1]}" 2>/dev/null || die "$1 died during the benchmark: $(cat "$TMP/$1.err")"
}

# cpu_ticks NAME: user + system clock ticks the server has used so far.
# SPID is timeout's PID; the server is its only child. wrk -t1 is one
# thread on one CPU: where it is the bottleneck, every server reaches the
# same req/s and CPU per request is what still tells them apart.
cpu_ticks() {
	local kid='' t=''
	alive "$1"
	if [[ -r /proc/${SPID[$1]}/task/${SPID[$1]}/children ]]; then
		kid=$(cat "/proc/${SPID[$1]}/task/${SPID[$1]}/children")
	else   # a kernel without CONFIG_PROC_CHILDREN
		kid=$(ps -o pid= --ppid "${SPID[$1]}" || true)
	fi
	kid=${kid#"${kid%%[! ]*}"}
	kid=${kid%% *}
	# Fields 14 and 15, counted after the ')' that ends the command name.
	if [[ -n $kid ]]; then
		t=$(sed 's/.*) //' "/proc/$kid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=''
	fi
	[[ -n $t ]] || die "$1 exited: $(cat "$TMP/$1.err")"
	echo "$t"
}

# check_server NAME: one curl fetches both files over one connection; each
# must come back 200 with the file's exact bytes. A second connection for
# the second file means the server did not keep the first alive: a note.
check_server() {
	local name=$1 base=${URL[$1]} f code n conns i=0
	local -a reply
	# HTTP/1.1 (lighttpd offers h2 over TLS), the certificate verified.
	mapfile -t reply < <(curl -sS --max-time 30 --http1.1 --cacert "$CERT" \
		-w '%{http_code} %{size_download} %{num_connects}\n' \
		-o "$TMP/got.1k" "$base/1k.bin" -o "$TMP/got.1m" "$base/1m.bin" 2>"$TMP/curl.err" || true)
	for f in "${FILES[@]}"; do
		read -r code n conns <<<"${reply[i]:-000 0 0}"
		[[ $code == 200 ]] || die "$name: GET /$f.bin answered status $code: $(cat "$TMP/curl.err")"
		cmp -s "$WWW/$f.bin" "$TMP/got.$f" ||
			die "$name: GET /$f.bin sent $n bytes that are not the file's ${SIZE[$f]}"
		if ((i > 0 && conns > 0)); then
			NOTES+=("$name closed the connection after a response: curl opened a new one")
		fi
		i=$((i + 1))
	done
	rm -f "$TMP"/got.*
	alive "$name"
}

# The wrk script: a machine-readable summary once the run is done. With
# neither request() nor response() defined, wrk runs its usual C loop.
cat >"$TMP/report.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n",
		summary.duration, summary.requests, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(99), latency.max))
end
EOF

# bench NAME FILE ROUND: one wrk run of WRK_SECONDS against NAME for FILE; appends the
# figures to the per-server lists and dies if the server broke.
HZ=$(getconf CLK_TCK)
declare -A RPS=() CPU=() WCPU=() MBS=() P50=() P99=() NON2XX=() SOCKERR=()
bench() {
	local name=$1 f=$2 r=$3 k=$1/$2 rc=0 us reqs bytes ec er ew et es p50 p99 pmax rps mbs err=
	local t0 t1 cpu wcpu
	t0=$(cpu_ticks "$name")
	timeout $((WRK_SECONDS + 30)) /usr/bin/time -f '%e %U %S' -o "$TMP/wrk.time" \
		wrk -t1 -c"$CONNS" -d"${WRK_SECONDS}s" -s "$TMP/report.lua" \
		"${URL[$name]}/$f.bin" </dev/null >"$TMP/wrk.out" 2>"$TMP/wrk.err" &
	CURRENT_PID=$!
	wait "$CURRENT_PID" || rc=$?
	CURRENT_PID=
	((rc == 0)) || die "wrk against $name ($f) exited $rc: $(cat "$TMP/wrk.out" "$TMP/wrk.err")"
	alive "$name"
	t1=$(cpu_ticks "$name")
	# wrk's own CPU, as a share of the one CPU its one thread can use.
	wcpu=$(awk '{ printf "%.0f", ($2 + $3) / $1 * 100 }' "$TMP/wrk.time")
	read -r us reqs bytes ec er ew et es p50 p99 pmax < <(sed -n 's/^RESULT //p' "$TMP/wrk.out") ||
		die "wrk against $name ($f) printed no summary: $(cat "$TMP/wrk.out" "$TMP/wrk.err")"
	((reqs > 0)) || die "$name ($f): no complete response in ${WRK_SECONDS}s: $(cat "$TMP/wrk.out")"
	# Every complete 2xx response carries the whole body, so wrk must have
	# read at least the file's size per such response (partial ones only
	# add to it). The others are counted as non-2xx and fail the run at the end.
	((bytes >= (reqs - es) * ${SIZE[$f]})) ||
		die "$name ($f): $bytes bytes for $((reqs - es)) 2xx responses, less than ${SIZE[$f]} each"
	rps=$(awk -v n="$reqs" -v t="$us" 'BEGIN { printf "%.0f", n / (t / 1e6) }')
	mbs=$(awk -v n="$bytes" -v t="$us" 'BEGIN { printf "%.1f", n / t }')
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
	RPS[$k]+=" $rps"
	CPU[$k]+=" $cpu"
	WCPU[$k]+=" $wcpu"
	MBS[$k]+=" $mbs"
	P50[$k]+=" $p50"
	P99[$k]+=" $p99"
	NON2XX[$k]=$((${NON2XX[$k]:-0} + es))
	SOCKERR[$k]=$((${SOCKERR[$k]:-0} + ec + er + ew + et))
	if ((es + ec + er + ew + et)); then
		err="  errors: non-2xx $es, connect $ec, read $er, write $ew, timeout $et"
		ERRLOG+=("round $r $name ${LABEL[$f]}: ${err#  errors: }; latency max $(ms "$pmax") ms")
	fi
	printf '  round %d  %-5s %-12s %8d req/s %7.1f MB/s %6s us-cpu/req  wrk %3s%%  p50 %6s ms  p99 %6s ms%s\n' \
		"$r" "${LABEL[$f]}" "$name" "$rps" "$mbs" "$cpu" "$wcpu" "$(ms "$p50")" "$(ms "$p99")" "$err" >&2
}

# report TITLE SERVERS PEERS: the table of medians for the servers named
# in the array SERVERS (sockctl first) against the best of the array PEERS,
# and one result line per file. TITLE prefixes the result lines.
declare -A BEST=() BESTNAME=() MED=()
report() {
	local title=$1 f k name n
	local -n _srv=$2 _peers=$3
	echo
	printf '%-12s %-6s %9s %-15s %9s %8s %10s %8s %8s %8s %8s %9s\n' server file req/s "[min-max]" MB/s \
		vs-peer "us-cpu/req" "wrk cpu" "p50 ms" "p99 ms" non-2xx sock-err
	for f in "${FILES[@]}"; do
		BEST[$title/$f]=0
		for name in "${_srv[@]}"; do
			# shellcheck disable=SC2086 # word splitting of the per-round lists is wanted
			MED[$name/$f]=$(median ${RPS[$name/$f]})
		done
		for name in "${_peers[@]}"; do
			if [[ $(max "${BEST[$title/$f]}" "${MED[$name/$f]}") != "${BEST[$title/$f]}" ]]; then
				BEST[$title/$f]=${MED[$name/$f]}
				BESTNAME[$title/$f]=${name#*-}
			fi
		done
		for name in "${_srv[@]}"; do
			k=$name/$f
			# shellcheck disable=SC2086
			printf '%-12s %-6s %9.0f %-15s %9.1f %7sx %10s %7s%% %8s %8s %8d %9d\n' "$name" "${LABEL[$f]}" \
				"${MED[$k]}" "[$(lo ${RPS[$k]})-$(hi ${RPS[$k]})]" "$(median ${MBS[$k]})" \
				"$(ratio "${MED[$k]}" "${BEST[$title/$f]}")" "$(median ${CPU[$k]})" "$(median ${WCPU[$k]})" \
				"$(ms "$(median ${P50[$k]})")" "$(ms "$(median ${P99[$k]})")" "${NON2XX[$k]}" "${SOCKERR[$k]}"
		done
	done
	echo
	echo "req/s, MB/s (bytes wrk read, headers included, 10^6 per MB) and latency percentiles:"
	echo "  median of $ROUNDS rounds of ${WRK_SECONDS}s, [min-max]: req/s over the rounds;"
	echo "  vs-peer: req/s over the best of ${_peers[*]#*-} for that file;"
	echo "  us-cpu/req: microseconds of CPU (user + system) the server used per request;"
	echo "  wrk cpu: the load generator's own CPU over the run; near 100% it is the bottleneck,"
	echo "  and servers that reach the same req/s differ in what they cost (us-cpu/req; on"
	echo "  loopback that includes part of the client's receive work, done on the sender's CPU);"
	echo "  non-2xx, sock-err (connect, read, write, timeout): wrk's counts, totals over the rounds."
	for n in "${NOTES[@]}"; do echo "note: $n"; done
	NOTES=()
	if ((${#ERRLOG[@]})); then
		echo "wrk reported errors (something is wrong):"
		for n in "${ERRLOG[@]}"; do echo "  $n"; done
	fi
	ERRLOG=()
	echo
	for f in "${FILES[@]}"; do
		echo "sockctl vs best peer, $title (${LABEL[$f]}): $(ratio "${MED[${_srv[0]}/$f]}" "${BEST[$title/$f]}")x" \
			"  (best peer: ${BESTNAME[$title/$f]}, req/s)"
		result "$title: req/s, ${LABEL[$f]} file, vs ${BESTNAME[$title/$f]}" \
			"$(ratio "${MED[${_srv[0]}/$f]}" "${BEST[$title/$f]}")" ">=1"
	done
}

# rounds SERVERS...: ROUNDS interleaved rounds of wrk runs, every server on
# every file once per round.
rounds() {
	local r f name
	for ((r = 1; r <= ROUNDS; r++)); do
		for f in "${FILES[@]}"; do
			for name in "$@"; do bench "$name" "$f" "$r"; done
		done
	done
}

# stop_servers NAMES...: SIGTERM, a bounded wait, then SIGKILL, by PID.
stop_servers() {
	local name p i
	for name in "$@"; do
		p=${SPID[$name]}
		kill "$p" 2>/dev/null || true
		for ((i = 0; i < 250; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		for i in "${!PIDS[@]}"; do [[ ${PIDS[i]} != "$p" ]] || unset 'PIDS[i]'; done
	done
	PIDS=("${PIDS[@]}")
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

# memory NAME: "RSS PSS N": the sums of VmRSS and of Pss (KiB) over the N
# processes of server NAME (those under its timeout, which is not counted).
memory() {
	local rss=0 pss=0 n=0 p v w
	alive "$1"
	for p in $(descendants "${SPID[$1]}"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
		[[ -n $v ]] || continue
		w=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || w=0
		rss=$((rss + v)) pss=$((pss + ${w:-0})) n=$((n + 1))
	done
	((n > 0)) || die "$1: no server process found under PID ${SPID[$1]}"
	echo "$rss $pss $n"
}

# tls_cipher NAME: the protocol and cipher curl negotiates with NAME.
tls_cipher() {
	curl -sS -v --max-time 10 --http1.1 --cacert "$CERT" -o /dev/null "${URL[$1]}/1k.bin" 2>&1 |
		sed -n 's/^\* SSL connection using //p' | head -n 1
}

# The idle-connection client: opens N TLS connections to PORT, verifies the
# certificate, sends one keep-alive request on each and reads the whole
# response, then holds them all. It prints "ready", waits (120 s at most)
# for the file GO to appear, and prints how many connections are still open.
cat >"$TMP/idle.py" <<'PY'
import os, resource, socket, ssl, sys, time

port, n, cafile, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
ctx = ssl.create_default_context(cafile=cafile)
request = b"GET /1k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                        server_hostname="127.0.0.1")
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"connection {i}: closed before a response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if lines[0].split()[1:2] != ["200"]:
        sys.exit(f"connection {i}: {lines[0]}")
    length = [int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:")]
    if not length:
        sys.exit(f"connection {i}: no Content-Length")
    while len(body) < length[0]:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"connection {i}: closed in the body")
        body += chunk
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
    except ssl.SSLWantReadError:
        alive += 1                         # nothing to read: open and idle
    except OSError:
        pass                               # reset, or a TLS alert
print("alive", alive, flush=True)
PY

# idle NAME: starts NAME, holds IDLE_CONNS idle TLS connections to it and
# sets IDLE[NAME] to "RSS-before RSS-with PSS-with processes".
declare -A IDLE=()
idle() {
	local name=$1 before after i rc=0 open
	start_server "$name"
	check_server "$name"
	before=$(memory "$name")
	rm -f "$TMP/idle.go"
	timeout 300 python3 "$TMP/idle.py" "${PORT[$name]}" "$IDLE_CONNS" "$CERT" "$TMP/idle.go" \
		</dev/null >"$TMP/idle.out" 2>"$TMP/idle.err" &
	CURRENT_PID=$!
	for ((i = 0; i < 2400; i++)); do   # 120 s at most
		grep -q '^ready' "$TMP/idle.out" && break
		kill -0 "$CURRENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^ready' "$TMP/idle.out" ||
		die "$name: could not open $IDLE_CONNS TLS connections: $(cat "$TMP/idle.err")"
	sleep 1   # let the server settle (a lazy free, a timer)
	after=$(memory "$name")
	touch "$TMP/idle.go"
	wait "$CURRENT_PID" || rc=$?
	CURRENT_PID=
	((rc == 0)) || die "$name: the idle client exited $rc: $(cat "$TMP/idle.err")"
	open=$(sed -n 's/^alive //p' "$TMP/idle.out")
	((open == IDLE_CONNS)) ||
		die "$name closed $((IDLE_CONNS - open)) of $IDLE_CONNS idle keep-alive connections"
	alive "$name"
	stop_servers "$name"
	IDLE[$name]="${before%% *} $after"
	printf '  %-14s RSS %6s KiB before, %6s KiB with %d idle TLS connections\n' \
		"$name" "${before%% *}" "${after%% *}" "$IDLE_CONNS" >&2
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lo() { printf '%s\n' "$@" | sort -g | head -n 1; }
hi() { printf '%s\n' "$@" | sort -g | tail -n 1; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# --- set-up ---------------------------------------------------------------
need_tools
[[ -x $SOCKCTL ]] || die "no sockctl binary at $SOCKCTL (run make)"
for c in wrk lighttpd nginx curl openssl python3 ss; do command -v "$c" >/dev/null || die "$c is required"; done

SERVERS=(sockctl lighttpd nginx)
TLS_SERVERS=(tls-sockctl tls-lighttpd tls-nginx)
# shellcheck disable=SC2034 # PEERS and TLS_PEERS: read by report, by name
TLS_PEERS=("${TLS_SERVERS[@]:1}")
IDLE_SERVERS=(idle-sockctl idle-nginx idle-lighttpd)
NOTES=()
ERRLOG=()
if command -v darkhttpd >/dev/null; then
	SERVERS+=(darkhttpd)
else
	NOTES+=("darkhttpd skipped: not installed, and apt has no candidate for it")
fi
# shellcheck disable=SC2034
PEERS=("${SERVERS[@]:1}")

# sendfile is lighttpd's default on Linux; name it where this version
# accepts the name.
TLS=
LIGHTTPD_BACKEND=sendfile
WWW=$TMP/www
mkdir -p "$WWW"
write_lighttpd_conf lighttpd 80
if ! lighttpd -tt -f "$TMP/lighttpd.conf" >/dev/null 2>&1; then
	LIGHTTPD_BACKEND=
	NOTES+=("lighttpd: this version rejects server.network-backend = \"sendfile\"; its default backend is used")
fi

# Random bodies, so that a server sending the wrong bytes cannot pass; read
# once, so that every server finds them in the page cache.
for f in "${FILES[@]}"; do head -c "${SIZE[$f]}" /dev/urandom >"$WWW/$f.bin"; done
cat "$WWW"/*.bin >/dev/null

# One certificate for every HTTPS server: ECDSA P-256, valid for 127.0.0.1.
CERT=$TMP/cert.pem KEY=$TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-keyout "$KEY" -out "$CERT" 2>"$TMP/openssl.err" ||
	die "openssl could not make a certificate: $(cat "$TMP/openssl.err")"

# Each run takes its duration plus wrk's 30 s bound at most; the servers
# live through all of them.
LIFETIME=$((ROUNDS * ${#FILES[@]} * (${#SERVERS[@]} * (DURATION + 35) + ${#TLS_SERVERS[@]} * (TLS_DURATION + 35)) + 300))

echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
# ver CMD...: the first line CMD prints, whatever its exit status.
ver() { { "$@" 2>&1 || true; } | head -n 1; }
versions="$(ver "$SOCKCTL" --version), $(ver wrk -v | cut -d' ' -f1-2)"
versions+=", $(ver lighttpd -v | cut -d' ' -f1), $(ver nginx -v | sed 's/^nginx version: //')"
if [[ " ${SERVERS[*]} " == *" darkhttpd "* ]]; then
	versions+=", $(ver darkhttpd --version)"
fi
versions+=", $(ver openssl version | cut -d' ' -f1-2)"
echo "versions: $versions"

# --- HTTP -------------------------------------------------------------------
echo "== HTTP: wrk -t1 -c$CONNS -d${DURATION}s, rounds: $ROUNDS (each figure is the median of the rounds)"
for name in "${SERVERS[@]}"; do start_server "$name"; done
for name in "${SERVERS[@]}"; do check_server "$name"; done
echo "check: ${SERVERS[*]} serve both files intact (status 200, bytes compared)"
WRK_SECONDS=$DURATION
rounds "${SERVERS[@]}"
report http SERVERS PEERS
stop_servers "${SERVERS[@]}"

# --- HTTPS ------------------------------------------------------------------
echo
echo "== HTTPS: wrk -t1 -c$CONNS -d${TLS_DURATION}s, rounds: $ROUNDS (each figure is the median of the rounds)"
for name in "${TLS_SERVERS[@]}"; do start_server "$name"; done
for name in "${TLS_SERVERS[@]}"; do check_server "$name"; done
echo "check: ${TLS_SERVERS[*]} serve both files intact over TLS (status 200, bytes compared)"
for name in "${TLS_SERVERS[@]}"; do echo "cipher: $name: $(tls_cipher "$name")"; done
WRK_SECONDS=$TLS_DURATION
rounds "${TLS_SERVERS[@]}"
report https TLS_SERVERS TLS_PEERS
stop_servers "${TLS_SERVERS[@]}"

# --- idle TLS connections ---------------------------------------------------
echo
echo "== HTTPS: memory with $IDLE_CONNS idle keep-alive TLS connections (one request each, then held)"
for name in "${IDLE_SERVERS[@]}"; do idle "$name"; done
echo
printf '%-14s %9s %14s %9s %11s %9s %9s\n' server "RSS KiB" "RSS KiB idle" "vs nginx" "bytes/conn" \
	"PSS KiB" processes
read -r _ na _ _ <<<"${IDLE[idle-nginx]}"
for name in "${IDLE_SERVERS[@]}"; do
	read -r b a p n <<<"${IDLE[$name]}"
	printf '%-14s %9s %14s %8sx %11s %9s %9s\n' "$name" "$b" "$a" "$(ratio "$a" "$na")" \
		"$(awk -v a="$a" -v b="$b" -v n="$IDLE_CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')" "$p" "$n"
done
echo
echo "RSS KiB: the server's before the connections, and with them held idle (summed over"
echo "  its processes; nginx: a master and one worker); bytes/conn: the growth per connection;"
echo "  PSS KiB: with them, pages shared between processes counted once."
read -r _ sa _ _ <<<"${IDLE[idle-sockctl]}"
echo "sockctl vs nginx, RSS with $IDLE_CONNS idle TLS connections: $(ratio "$sa" "$na")x   (target <= 1x)"
result "https: RSS, $IDLE_CONNS idle TLS conns, vs nginx" "$(ratio "$sa" "$na")" "<=1"

# Statuses other than 2xx or 3xx mean a server broke under load.
broken=
for name in "${SERVERS[@]}" "${TLS_SERVERS[@]}"; do
	for f in "${FILES[@]}"; do
		((${NON2XX[$name/$f]} == 0)) || broken+=" $name (${LABEL[$f]}: ${NON2XX[$name/$f]})"
	done
done
[[ -z $broken ]] || die "non-2xx responses under load from:$broken"
