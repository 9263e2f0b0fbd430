#!/usr/bin/env bash
# HTTP benchmark over 127.0.0.1: wrk (one thread, BENCH_CONNS keep-alive
# connections) against sockctl serve-http, lighttpd, nginx and, where it is
# packaged, darkhttpd, for a 1 KiB and a 1 MiB file. Every server runs as
# one process with no access log; the peers are set to use sendfile. The
# figure the issue asks for: sockctl's requests/s over the best peer's, per
# file size. The script only prints figures: it exits non-zero when a
# server breaks (wrong status, wrong or short body, a crash), never because
# of timing.
#
# Knobs: SOCKCTL (binary), BENCH_SECONDS (wrk duration per run, default 10),
# BENCH_ROUNDS (default 3; each round runs every server on every file once,
# so servers interleave), BENCH_CONNS (wrk connections, default 50).
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
FILES=(1k 1m)
declare -A SIZE=([1k]=1024 [1m]=1048576) LABEL=([1k]="1 KiB" [1m]="1 MiB")


for v in "BENCH_SECONDS=$DURATION" "BENCH_ROUNDS=$ROUNDS" "BENCH_CONNS=$CONNS"; do
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

write_nginx_conf() {
	local d=$TMP/nginx
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		error_log stderr;
		pid $d/nginx.pid;
		events { worker_connections 1024; }
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
		    server {
		        listen 127.0.0.1:$1;
		        root $WWW;
		    }
		}
	EOF
}

# lighttpd is one process by default (server.max-worker 0) and has no access
# log unless mod_accesslog is loaded.
write_lighttpd_conf() {
	cat >"$TMP/lighttpd.conf" <<-EOF
		server.document-root = "$WWW"
		server.bind = "127.0.0.1"
		server.port = $1
		server.upload-dirs = ( "$TMP" )
		server.max-keep-alive-requests = 100000
	EOF
	[[ -z $LIGHTTPD_BACKEND ]] ||
		echo "server.network-backend = \"$LIGHTTPD_BACKEND\"" >>"$TMP/lighttpd.conf"
}

# start_server NAME: starts NAME on a free port of 127.0.0.1 serving WWW and
# waits (5 s at most) until it listens; sets PORT[NAME] and SPID[NAME].
declare -A PORT=() SPID=()
start_server() {
	local name=$1 port out=$TMP/$1.out i
	local -a cmd
	port=$(free_port)
	case $name in
	sockctl) cmd=("$SOCKCTL" serve-http -q -p "$port" -b 127.0.0.1 "$WWW") ;;
	lighttpd) write_lighttpd_conf "$port"; cmd=(lighttpd -D -f "$TMP/lighttpd.conf") ;;
	nginx) write_nginx_conf "$port"; cmd=(nginx -e stderr -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf") ;;
	# darkhttpd writes its request log to stdout and has no switch to turn
	# it off: the lines go to /dev/null.
	darkhttpd) cmd=(darkhttpd "$WWW" --addr 127.0.0.1 --port "$port" --no-listing); out=/dev/null ;;
	esac
	# timeout outermost, as a bound should this script be killed outright.
	timeout "$LIFETIME" "${cmd[@]}" </dev/null >"$out" 2>"$TMP/$name.err" &
	SPID[$name]=$!
	PIDS+=("$!")
	PORT[$name]=$port
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
	local name=$1 base=http://127.0.0.1:${PORT[$1]} f code n conns i=0
	local -a reply
	mapfile -t reply < <(curl -sS --max-time 30 -w '%{http_code} %{size_download} %{num_connects}\n' \
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

# bench NAME FILE ROUND: one wrk run against NAME for FILE; appends the
# figures to the per-server lists and dies if the server broke.
HZ=$(getconf CLK_TCK)
declare -A RPS=() CPU=() WCPU=() MBS=() P50=() P99=() NON2XX=() SOCKERR=()
bench() {
	local name=$1 f=$2 r=$3 k=$1/$2 rc=0 us reqs bytes ec er ew et es p50 p99 pmax rps mbs err=
	local t0 t1 cpu wcpu
	t0=$(cpu_ticks "$name")
	timeout $((DURATION + 30)) /usr/bin/time -f '%e %U %S' -o "$TMP/wrk.time" \
		wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$TMP/report.lua" \
		"http://127.0.0.1:${PORT[$name]}/$f.bin" </dev/null >"$TMP/wrk.out" 2>"$TMP/wrk.err" &
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
	((reqs > 0)) || die "$name ($f): no complete response in ${DURATION}s: $(cat "$TMP/wrk.out")"
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
	printf '  round %d  %-5s %-9s %8d req/s %7.1f MB/s %6s us-cpu/req  wrk %3s%%  p50 %6s ms  p99 %6s ms%s\n' \
		"$r" "${LABEL[$f]}" "$name" "$rps" "$mbs" "$cpu" "$wcpu" "$(ms "$p50")" "$(ms "$p99")" "$err" >&2
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# --- set-up ---------------------------------------------------------------
need_tools
[[ -x $SOCKCTL ]] || die "no sockctl binary at $SOCKCTL (run make)"
for c in wrk lighttpd nginx curl python3 ss; do command -v "$c" >/dev/null || die "$c is required"; done

SERVERS=(sockctl lighttpd nginx)
NOTES=()
ERRLOG=()
if command -v darkhttpd >/dev/null; then
	SERVERS+=(darkhttpd)
else
	NOTES+=("darkhttpd skipped: not installed, and apt has no candidate for it")
fi
PEERS=("${SERVERS[@]:1}")

# sendfile is lighttpd's default on Linux; name it where this version
# accepts the name.
LIGHTTPD_BACKEND=sendfile
WWW=$TMP/www
mkdir -p "$WWW"
write_lighttpd_conf 80
if ! lighttpd -tt -f "$TMP/lighttpd.conf" >/dev/null 2>&1; then
	LIGHTTPD_BACKEND=
	NOTES+=("lighttpd: this version rejects server.network-backend = \"sendfile\"; its default backend is used")
fi

# Random bodies, so that a server sending the wrong bytes cannot pass; read
# once, so that every server finds them in the page cache.
for f in "${FILES[@]}"; do head -c "${SIZE[$f]}" /dev/urandom >"$WWW/$f.bin"; done
cat "$WWW"/*.bin >/dev/null

# Each run takes DURATION s plus wrk's 30 s bound at most; the servers live
# through all of them.
LIFETIME=$((ROUNDS * ${#FILES[@]} * ${#SERVERS[@]} * (DURATION + 35) + 300))

echo "machine: $(nproc) CPUs, kernel $(uname -r)," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
# ver CMD...: the first line CMD prints, whatever its exit status.
ver() { { "$@" 2>&1 || true; } | head -n 1; }
versions="$(ver "$SOCKCTL" --version), $(ver wrk -v | cut -d' ' -f1-2)"
versions+=", $(ver lighttpd -v | cut -d' ' -f1), $(ver nginx -v | sed 's/^nginx version: //')"
if [[ " ${SERVERS[*]} " == *" darkhttpd "* ]]; then
	versions+=", $(ver darkhttpd --version)"
fi
echo "versions: $versions"
echo "wrk -t1 -c$CONNS -d${DURATION}s, rounds: $ROUNDS (each figure is the median of the rounds)"

for name in "${SERVERS[@]}"; do start_server "$name"; done
for name in "${SERVERS[@]}"; do check_server "$name"; done
echo "check: ${SERVERS[*]} serve both files intact (status 200, bytes compared)"

# --- timed rounds -----------------------------------------------------------
for ((r = 1; r <= ROUNDS; r++)); do
	for f in "${FILES[@]}"; do
		for name in "${SERVERS[@]}"; do bench "$name" "$f" "$r"; done
	done
done

# --- report -----------------------------------------------------------------
echo
printf '%-10s %-6s %9s %9s %8s %10s %8s %8s %8s %8s %9s\n' server file req/s MB/s vs-peer \
	"us-cpu/req" "wrk cpu" "p50 ms" "p99 ms" non-2xx sock-err
declare -A BEST=() BESTNAME=() MED=()
for f in "${FILES[@]}"; do
	BEST[$f]=0
	for name in "${SERVERS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the per-round lists is wanted
		MED[$name/$f]=$(median ${RPS[$name/$f]})
	done
	for name in "${PEERS[@]}"; do
		if [[ $(max "${BEST[$f]}" "${MED[$name/$f]}") != "${BEST[$f]}" ]]; then
			BEST[$f]=${MED[$name/$f]}
			BESTNAME[$f]=$name
		fi
	done
	for name in "${SERVERS[@]}"; do
		k=$name/$f
		# shellcheck disable=SC2086
		printf '%-10s %-6s %9.0f %9.1f %7sx %10s %7s%% %8s %8s %8d %9d\n' "$name" "${LABEL[$f]}" \
			"${MED[$k]}" "$(median ${MBS[$k]})" "$(ratio "${MED[$k]}" "${BEST[$f]}")" "$(median ${CPU[$k]})" \
			"$(median ${WCPU[$k]})" \
			"$(ms "$(median ${P50[$k]})")" "$(ms "$(median ${P99[$k]})")" "${NON2XX[$k]}" "${SOCKERR[$k]}"
	done
done
echo
echo "req/s, MB/s (bytes wrk read, headers included, 10^6 per MB) and latency percentiles:"
echo "  median of $ROUNDS rounds; vs-peer: req/s over the best of ${PEERS[*]} for that file;"
echo "  us-cpu/req: microseconds of CPU (user + system) the server used per request;"
echo "  wrk cpu: the load generator's own CPU over the run; near 100% it is the bottleneck,"
echo "  and servers that reach the same req/s differ in what they cost (us-cpu/req; on"
echo "  loopback that includes part of the client's receive work, done on the sender's CPU);"
echo "  non-2xx, sock-err (connect, read, write, timeout): wrk's counts, totals over the rounds."
for n in "${NOTES[@]}"; do echo "note: $n"; done
if ((${#ERRLOG[@]})); then
	echo "wrk reported errors (something is wrong):"
	for n in "${ERRLOG[@]}"; do echo "  $n"; done
fi
echo
for f in "${FILES[@]}"; do
	echo "sockctl vs best peer (${LABEL[$f]}): $(ratio "${MED[sockctl/$f]}" "${BEST[$f]}")x" \
		"  (best peer: ${BESTNAME[$f]}, req/s)"
	result "http: req/s, ${LABEL[$f]} file, vs ${BESTNAME[$f]}" "$(ratio "${MED[sockctl/$f]}" "${BEST[$f]}")" ">=1"
done

# Statuses other than 2xx or 3xx mean a server broke under load.
broken=
for name in "${SERVERS[@]}"; do
	for f in "${FILES[@]}"; do
		((${NON2XX[$name/$f]} == 0)) || broken+=" $name (${LABEL[$f]}: ${NON2XX[$name/$f]})"
	done
done
[[ -z $broken ]] || die "non-2xx responses under load from:$broken"
