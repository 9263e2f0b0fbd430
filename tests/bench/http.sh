#!/usr/bin/env bash
# HTTP benchmark over 127.0.0.1: wrk (one thread, BENCH_CONNS keep-alive
# connections) against sockctl serve-http, lighttpd, nginx and, where it is
# packaged, darkhttpd, for a 1 KiB and a 1 MiB file. Every server runs as
# one process with no access log; the peers are set to use sendfile. The
# figure the issue asks for: sockctl's requests/s over the best peer's, per
# file size. Then precompressed files: a 1 KiB and a 1 MiB text file X
# with X.gz beside it, requested with Accept-Encoding: gzip from sockctl
# serve-http --precompressed, nginx with gzip_static and lighttpd (which has
# no such switch: mod_rewrite sends X.gz for X when the request header
# names gzip, mod_setenv adds Content-Encoding), all sending the same .gz
# bytes. Then uploads: one file of BENCH_UPLOAD_MB MiB (default 1 GiB) sent
# with curl -T (HTTP/1.1 PUT) to sockctl serve-http --upload, nginx with
# dav_methods PUT and lighttpd with mod_webdav, each storing it in its own
# directory of the same file system as the file came from: MB/s and the
# server's CPU per GiB stored. Then the same over HTTPS (sockctl
# serve-http --tls, lighttpd with mod_openssl, nginx with ssl; one ECDSA
# P-256 certificate made here, each server's default cipher), and the
# memory each holds for BENCH_IDLE_CONNS idle keep-alive TLS connections:
# the sum of the RSS of its processes (nginx as usually run: a master and
# one worker). Targets: req/s and upload MB/s at or above the best peer's,
# idle RSS no more than nginx's. The script only prints figures: it exits
# non-zero when a server breaks (wrong status, wrong or short body, a
# crash, a dropped idle connection, a stored upload of the wrong size or
# SHA-256), never because of timing.
#
# Knobs: SOCKCTL (binary), BENCH_SECONDS (wrk duration per run, default 10),
# BENCH_ROUNDS (default 3; each round runs every server on every file once,
# so servers interleave), BENCH_CONNS (wrk connections, default 50),
# BENCH_TLS_SECONDS (wrk duration per HTTPS run, default 3),
# BENCH_IDLE_CONNS (idle TLS connections, default 1000), BENCH_GZ_SECONDS
# (wrk duration per precompressed run, default 5), BENCH_UPLOAD_MB (the
# upload's size in MiB, default 1024), BENCH_UPLOAD_ROUNDS (counted
# uploads per server after one to check, default BENCH_ROUNDS).
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
GZ_DURATION=${BENCH_GZ_SECONDS:-5}
UPLOAD_MB=${BENCH_UPLOAD_MB:-1024}
UPLOAD_ROUNDS=${BENCH_UPLOAD_ROUNDS:-$ROUNDS}
FILES=(1k 1m)
declare -A SIZE=([1k]=1024 [1m]=1048576) LABEL=([1k]="1 KiB" [1m]="1 MiB")


for v in "BENCH_SECONDS=$DURATION" "BENCH_ROUNDS=$ROUNDS" "BENCH_CONNS=$CONNS" \
	"BENCH_TLS_SECONDS=$TLS_DURATION" "BENCH_IDLE_CONNS=$IDLE_CONNS" \
	"BENCH_GZ_SECONDS=$GZ_DURATION" "BENCH_UPLOAD_MB=$UPLOAD_MB" "BENCH_UPLOAD_ROUNDS=$UPLOAD_ROUNDS"; do
	[[ ${v#*=} =~ ^[1-9][0-9]{0,5}$ ]] || die "${v%%=*} must be a positive integer, not '${v#*=}'"
done


# has_candidate PKG: apt knows a version of PKG to install.
has_candidate() {
	apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
}

# Install wrk and the peers only when they are missing. nginx is 'nginx' on
# current Debian ('nginx-light' there is nginx plus a module); darkhttpd is
# not packaged everywhere, and neither is lighttpd's WebDAV module: without
# them the run goes on with a note.
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
	if ((${#pkgs[@]})) || [[ ! -e /usr/lib/lighttpd/mod_webdav.so ]]; then
		$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
		if [[ " ${pkgs[*]} " == *" nginx "* ]] && ! has_candidate nginx; then
			pkgs=("${pkgs[@]/#nginx/nginx-light}")
		fi
		# For the upload figures (PUT); lighttpd-mod-webdav on Debian.
		if [[ ! -e /usr/lib/lighttpd/mod_webdav.so ]] && has_candidate lighttpd-mod-webdav; then
			pkgs+=(lighttpd-mod-webdav)
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

# root_of NAME: the directory server NAME serves: WWW, GZWWW for the
# precompressed files (gz-SERVER), or its own directory under $TMP/up for
# uploads (up-SERVER), on the file system of TMP, like the uploaded file.
root_of() {
	case $1 in
	gz-*) echo "$GZWWW" ;;
	up-*) echo "$TMP/up/${1#up-}" ;;
	*) echo "$WWW" ;;
	esac
}

# write_nginx_conf NAME PORT: the configuration in $TMP/NAME/ for NAME
# (nginx, tls-nginx, idle-nginx, gz-nginx or up-nginx). All but idle-nginx
# are one process like the other servers; idle-nginx, whose memory is
# measured, runs as nginx usually does: a master and one worker (as root,
# the worker would be 'nobody', who cannot read $TMP: it stays root).
# gz-nginx: gzip_static (with Vary, as sockctl sends it); up-nginx: PUT
# (the body goes to client_body_temp_path, in TMP, then is renamed), read
# and written 256 KiB at a time rather than its default 8 KiB, which costs
# it about twice the CPU per GiB: the peer at its best, as lighttpd (128
# KiB reads, 256 KiB writes).
write_nginx_conf() {
	local d=$TMP/$1 port=$2 extra=
	mkdir -p "$d"
	case $1 in
	gz-*) extra="gzip_static on; gzip_vary on;" ;;
	up-*) extra="dav_methods PUT; create_full_put_path on; client_max_body_size 0; client_body_buffer_size 256k;" ;;
	esac
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
		        root $(root_of "$1");
		        ${TLS:+ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.2 TLSv1.3;}
		        $extra
		    }
		}
	EOF
}

# write_lighttpd_conf NAME PORT: $TMP/NAME.conf. lighttpd is one process by
# default (server.max-worker 0) and has no access log unless mod_accesslog
# is loaded. With TLS set: mod_openssl on the port; idle-lighttpd keeps
# idle connections open for 300 s (the default is 5) and has the fds for
# IDLE_CONNS of them. gz-lighttpd: lighttpd has no switch for precompressed
# files, so mod_rewrite maps X.bin to X.bin.gz when Accept-Encoding names
# gzip (a plain match, q-values ignored: enough for wrk's header) and
# mod_setenv adds Content-Encoding and Vary. up-lighttpd: mod_webdav, which
# (1.4.69) writes the body as it comes into a temporary file beside the
# target, linked in at the end: 128 KiB reads, 256 KiB writes.
write_lighttpd_conf() {
	local conf=$TMP/$1.conf
	cat >"$conf" <<-EOF
		server.document-root = "$(root_of "$1")"
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
	if [[ $1 == gz-* ]]; then
		cat >>"$conf" <<-'EOF'
			server.modules += ( "mod_rewrite", "mod_setenv" )
			$REQUEST_HEADER["Accept-Encoding"] =~ "gzip" {
			    url.rewrite-once = ( "^(/[^?]*\.bin)(\?.*)?$" => "$1.gz$2" )
			}
			$HTTP["url"] =~ "\.bin\.gz$" {
			    setenv.set-response-header = ( "Content-Encoding" => "gzip", "Vary" => "Accept-Encoding" )
			}
		EOF
	fi
	if [[ $1 == up-* ]]; then
		cat >>"$conf" <<-EOF
			server.modules += ( "mod_webdav" )
			webdav.activate = "enable"
			webdav.is-readonly = "disable"
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

# start_server NAME: starts NAME on a free port of 127.0.0.1 serving the
# directory root_of NAME names, and waits (5 s at most) until it listens;
# sets PORT[NAME], SPID[NAME] and URL[NAME]. NAME is a server (sockctl, lighttpd, nginx, darkhttpd), or
# tls-SERVER for HTTPS, or idle-SERVER for HTTPS with room for IDLE_CONNS
# idle connections, or gz-SERVER for precompressed files, or up-SERVER for
# uploads (PUT).
declare -A PORT=() SPID=() URL=()
start_server() {
	local name=$1 port out=$TMP/$1.out i TLS=
	local -a cmd
	[[ $name == tls-* || $name == idle-* ]] && TLS=1
	[[ $name != up-* ]] || mkdir -p "$(root_of "$name")"
	port=$(free_port)
	case ${name#*-} in
	sockctl)
		cmd=("$SOCKCTL" serve-http -q -p "$port" -b 127.0.0.1)
		[[ -z $TLS ]] || cmd+=(--tls --tls-cert "$CERT" --tls-key "$KEY")
		[[ $name != idle-* ]] || cmd+=(-w 300 --max-conns $((2 * IDLE_CONNS + 1024)))
		[[ $name != gz-* ]] || cmd+=(--precompressed)
		[[ $name != up-* ]] || cmd+=(--upload --overwrite --max-upload 2G)
		cmd+=("$(root_of "$name")")
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

# check_gz NAME: with Accept-Encoding: gzip, each file must come back 200
# with Content-Encoding: gzip and exactly the bytes of its .gz; without
# it, 200 with the file itself and no Content-Encoding (so that the peers'
# set-ups negotiate, as sockctl does).
check_gz() {
	local name=$1 f code enc hdr=$TMP/gz.hdr
	for f in "${FILES[@]}"; do
		code=$(curl -sS --max-time 30 --http1.1 -H 'Accept-Encoding: gzip' -D "$hdr" -o "$TMP/got.gz" \
			-w '%{http_code}' "${URL[$name]}/$f.bin" 2>"$TMP/curl.err") || code=000
		[[ $code == 200 ]] || die "$name: GET /$f.bin (gzip) answered status $code: $(cat "$TMP/curl.err")"
		enc=$(sed -n 's/^[Cc]ontent-[Ee]ncoding:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$hdr")
		[[ $enc == gzip ]] || die "$name: GET /$f.bin with Accept-Encoding: gzip came back with Content-Encoding '$enc'"
		cmp -s "$GZWWW/$f.bin.gz" "$TMP/got.gz" ||
			die "$name: GET /$f.bin (gzip) sent $(stat -c %s "$TMP/got.gz") bytes that are not $f.bin.gz's ${BODY[$f]}"
		code=$(curl -sS --max-time 30 --http1.1 -D "$hdr" -o "$TMP/got.gz" \
			-w '%{http_code}' "${URL[$name]}/$f.bin" 2>"$TMP/curl.err") || code=000
		[[ $code == 200 ]] || die "$name: GET /$f.bin answered status $code: $(cat "$TMP/curl.err")"
		! grep -qi '^content-encoding:' "$hdr" || die "$name: GET /$f.bin without Accept-Encoding came back encoded"
		cmp -s "$GZWWW/$f.bin" "$TMP/got.gz" || die "$name: GET /$f.bin sent bytes that are not the file's"
	done
	rm -f "$TMP/got.gz" "$hdr"
	alive "$name"
}

# put NAME ROUND: one upload of UPFILE (UPBYTES) to NAME with curl -T
# (HTTP/1.1 PUT; curl sends Expect: 100-continue), as upload.bin in
# NAME's own directory, removed first. The round counts once the file is
# there with the right size; then it is removed again, so that every
# upload creates a new file and no server pays for the removal of the
# last one. Round 0 is each server's check, not counted: the stored file's
# SHA-256 is compared, and it takes the first write after the big file was
# made (which ran at about half speed, whoever came first). Appends MB/s
# (of the body, 10^6 bytes per MB, over curl's whole transfer time, which
# ends with the server's answer, once the file is stored), the server's
# CPU seconds per GiB, and curl's CPU share. The round's line also has the machine's steal
# time over the upload (ticks of this VM's CPUs that ran someone else's):
# on a shared host, an upload with steal costs every server more CPU.
declare -A UPMBS=() UPCPU=() UPCCPU=()
steal_ticks() { awk '$1 == "cpu" { print $9 + 0 }' /proc/stat; }
put() {
	local name=$1 r=$2 dest rc=0 t0 t1 s0 s1 code sent secs size mbs cpu ccpu sum
	dest=$(root_of "$name")/upload.bin
	rm -f "$dest"
	s0=$(steal_ticks)
	t0=$(cpu_ticks "$name")
	timeout $((300 + UPLOAD_MB / 2)) /usr/bin/time -f '%e %U %S' -o "$TMP/curl.time" \
		curl -sS --http1.1 -T "$UPFILE" -o "$TMP/put.out" -w '%{http_code} %{size_upload} %{time_total}\n' \
		"${URL[$name]}/upload.bin" </dev/null >"$TMP/put.w" 2>"$TMP/curl.err" &
	CURRENT_PID=$!
	wait "$CURRENT_PID" || rc=$?
	CURRENT_PID=
	((rc == 0)) || die "curl -T to $name exited $rc: $(cat "$TMP/curl.err")"
	t1=$(cpu_ticks "$name")
	s1=$(steal_ticks)
	read -r code sent secs <"$TMP/put.w" || die "curl -T to $name printed nothing"
	[[ $code == 2?? ]] || die "$name: PUT answered status $code: $(head -c 300 "$TMP/put.out")"
	((sent == UPBYTES)) || die "curl sent $sent bytes to $name, not $UPBYTES"
	size=$(stat -c %s "$dest" 2>/dev/null) || die "$name answered $code to the PUT but stored no $dest"
	((size == UPBYTES)) || die "$name stored $size bytes, not $UPBYTES"
	if ((r == 0)); then
		sum=$(sha256sum <"$dest") || die "could not read $dest"
		[[ ${sum%% *} == "$UPSUM" ]] || die "$name stored $size bytes that are not the file sent (SHA-256)"
	fi
	rm -f "$dest"
	mbs=$(awk -v n="$sent" -v t="$secs" 'BEGIN { printf "%.1f", n / t / 1e6 }')
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$sent" 'BEGIN { printf "%.2f", d / hz * 1073741824 / n }')
	ccpu=$(awk '{ printf "%.0f", ($2 + $3) / $1 * 100 }' "$TMP/curl.time")
	if ((r == 0)); then
		printf '  check    %-12s %8.1f MB/s  %5.2f s  (not counted)\n' "$name" "$mbs" "$secs" >&2
		return 0
	fi
	UPMBS[$name]+=" $mbs"
	UPCPU[$name]+=" $cpu"
	UPCCPU[$name]+=" $ccpu"
	printf '  round %d  %-12s %8.1f MB/s  %5.2f s  server %5s cpu-s/GiB  curl %3s%%  steal %d ticks\n' \
		"$r" "$name" "$mbs" "$secs" "$cpu" "$ccpu" "$((s1 - s0))" >&2
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

# bench NAME FILE ROUND: one wrk run of WRK_SECONDS against NAME for FILE,
# with the request headers in WRK_ARGS (-H ...); BODY[FILE] is the size of
# the body each response must carry. Appends the figures to the per-server
# lists and dies if the server broke.
HZ=$(getconf CLK_TCK)
declare -A RPS=() CPU=() WCPU=() MBS=() P50=() P99=() NON2XX=() SOCKERR=() BODY=()
WRK_ARGS=()
bench() {
	local name=$1 f=$2 r=$3 k=$1/$2 rc=0 us reqs bytes ec er ew et es p50 p99 pmax rps mbs err=
	local t0 t1 cpu wcpu
	t0=$(cpu_ticks "$name")
	timeout $((WRK_SECONDS + 30)) /usr/bin/time -f '%e %U %S' -o "$TMP/wrk.time" \
		wrk -t1 -c"$CONNS" -d"${WRK_SECONDS}s" -s "$TMP/report.lua" "${WRK_ARGS[@]}" \
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
	# read at least the body's size per such response (partial ones only
	# add to it). The others are counted as non-2xx and fail the run at the end.
	((bytes >= (reqs - es) * ${BODY[$f]})) ||
		die "$name ($f): $bytes bytes for $((reqs - es)) 2xx responses, less than ${BODY[$f]} each"
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
	# idle.out goes too: the redirection below truncates it only once the
	# background job runs, and a 'ready' left by the last server, read
	# before that, ended the wait at once.
	rm -f "$TMP/idle.go" "$TMP/idle.out"
	timeout 300 python3 "$TMP/idle.py" "${PORT[$name]}" "$IDLE_CONNS" "$CERT" "$TMP/idle.go" \
		</dev/null >"$TMP/idle.out" 2>"$TMP/idle.err" &
	CURRENT_PID=$!
	for ((i = 0; i < 2400; i++)); do   # 120 s at most
		grep -qs '^ready' "$TMP/idle.out" && break
		kill -0 "$CURRENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -qs '^ready' "$TMP/idle.out"; then
		# Still running (after 120 s), or gone: then with which status (a
		# signal shows as 128 + its number and leaves idle.err empty).
		if kill -0 "$CURRENT_PID" 2>/dev/null; then
			rc="still running after $((i / 20)) s"
		else
			wait "$CURRENT_PID" || rc=$?
			rc="exited $rc after $((i / 20)) s"
		fi
		die "$name: could not open $IDLE_CONNS TLS connections (the client $rc," \
			"$(ss -Htn state established "dport = :${PORT[$name]}" | wc -l) open): $(cat "$TMP/idle.err")"
	fi
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
for c in wrk lighttpd nginx curl openssl python3 ss gzip sha256sum; do command -v "$c" >/dev/null || die "$c is required"; done

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

# Precompressed files: nginx where it was built with gzip_static; lighttpd
# through mod_rewrite and mod_setenv (built in).
GZ_SERVERS=(gz-sockctl gz-lighttpd)
if nginx -V 2>&1 | grep -q -- --with-http_gzip_static_module; then
	GZ_SERVERS+=(gz-nginx)
else
	NOTES+=("precompressed: nginx skipped: this nginx has no gzip_static module")
fi
# shellcheck disable=SC2034
GZ_PEERS=("${GZ_SERVERS[@]:1}")
# Uploads: nginx where it has the dav module, lighttpd with mod_webdav.
UP_SERVERS=(up-sockctl)
UP_NOTES=()
if nginx -V 2>&1 | grep -q -- --with-http_dav_module; then
	UP_SERVERS+=(up-nginx)
else
	UP_NOTES+=("upload: nginx skipped: this nginx has no dav module (dav_methods PUT)")
fi
if [[ -e /usr/lib/lighttpd/mod_webdav.so ]]; then
	UP_SERVERS+=(up-lighttpd)
else
	UP_NOTES+=("upload: lighttpd skipped: no mod_webdav (lighttpd-mod-webdav not installed, and apt has no candidate)")
fi
UPBYTES=$((UPLOAD_MB * 1048576))
if ((UPLOAD_MB % 1024 == 0)); then UPLABEL="$((UPLOAD_MB / 1024)) GiB"; else UPLABEL="$UPLOAD_MB MiB"; fi

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

# Text for the precompressed files (random bodies would not compress):
# words drawn from a made-up vocabulary with a fixed seed, so that every
# run serves the same bytes; X.bin.gz from gzip -9, as one would deploy it.
GZWWW=$TMP/gzwww
mkdir -p "$GZWWW"
python3 - "$GZWWW" "${SIZE[1k]}" "${SIZE[1m]}" <<'PY'
import random, sys
d, sizes = sys.argv[1], {"1k": int(sys.argv[2]), "1m": int(sys.argv[3])}
r = random.Random(16)
words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 9))) for _ in range(2000)]
for name, size in sizes.items():
    out, n = [], 0
    while n < size:
        w = r.choice(words) + (" " if r.random() > 0.08 else ".\n")
        out.append(w)
        n += len(w)
    with open(f"{d}/{name}.bin", "w") as f:
        f.write("".join(out)[:size])
PY
gzip -9 -n -k "$GZWWW"/*.bin
touch -r "$GZWWW/1k.bin" "$GZWWW/1k.bin.gz"
touch -r "$GZWWW/1m.bin" "$GZWWW/1m.bin.gz"
cat "$GZWWW"/* >/dev/null

# One certificate for every HTTPS server: ECDSA P-256, valid for 127.0.0.1.
CERT=$TMP/cert.pem KEY=$TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	-keyout "$KEY" -out "$CERT" 2>"$TMP/openssl.err" ||
	die "openssl could not make a certificate: $(cat "$TMP/openssl.err")"

# Each run takes its duration plus wrk's 30 s bound at most; the servers
# live through all of them.
# Each upload takes curl's bound at most, and its checks.
LIFETIME=$((ROUNDS * ${#FILES[@]} * (${#SERVERS[@]} * (DURATION + 35) + ${#TLS_SERVERS[@]} * (TLS_DURATION + 35) +
	${#GZ_SERVERS[@]} * (GZ_DURATION + 35)) + (UPLOAD_ROUNDS + 1) * ${#UP_SERVERS[@]} * (360 + UPLOAD_MB / 2) + 300))

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
for f in "${FILES[@]}"; do BODY[$f]=${SIZE[$f]}; done
rounds "${SERVERS[@]}"
report http SERVERS PEERS
stop_servers "${SERVERS[@]}"

# --- HTTP, precompressed files ----------------------------------------------
echo
echo "== HTTP, precompressed: wrk -t1 -c$CONNS -d${GZ_DURATION}s -H 'Accept-Encoding: gzip'," \
	"rounds: $ROUNDS (each figure is the median of the rounds)"
for f in "${FILES[@]}"; do BODY[$f]=$(stat -c %s "$GZWWW/$f.bin.gz"); done
echo "files: text of ${LABEL[1k]} and ${LABEL[1m]}; what is sent, X.gz (gzip -9):" \
	"${BODY[1k]} and ${BODY[1m]} bytes"
echo "servers: sockctl --precompressed, nginx gzip_static on, lighttpd mod_rewrite to X.gz" \
	"when Accept-Encoding names gzip, with mod_setenv's Content-Encoding (it has no such switch)"
for name in "${GZ_SERVERS[@]}"; do start_server "$name"; done
for name in "${GZ_SERVERS[@]}"; do check_gz "$name"; done
echo "check: ${GZ_SERVERS[*]} send X.gz's bytes with Content-Encoding: gzip when asked, X without"
WRK_SECONDS=$GZ_DURATION
WRK_ARGS=(-H 'Accept-Encoding: gzip')
rounds "${GZ_SERVERS[@]}"
WRK_ARGS=()
report precompressed GZ_SERVERS GZ_PEERS
stop_servers "${GZ_SERVERS[@]}"

# --- HTTP, uploads ----------------------------------------------------------
echo
echo "== HTTP, upload: curl -T of one $UPLABEL file (PUT, HTTP/1.1), rounds: $UPLOAD_ROUNDS" \
	"(each figure is the median of the rounds)"
# The sent file and one stored copy at a time (each removed once checked).
free_kib=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
if ((free_kib < 2 * UPLOAD_MB * 1024 + 512 * 1024)); then
	echo "note: upload skipped: $((free_kib / 1024)) MiB free in $TMP, $((2 * UPLOAD_MB + 512)) MiB needed"
elif ((${#UP_SERVERS[@]} < 2)); then
	for n in "${UP_NOTES[@]}"; do echo "note: $n"; done
	echo "note: upload skipped: no peer to compare with"
else
	# Random, so that a server storing the wrong bytes cannot pass; written
	# out (sync) before the first round, and read once: in the page cache.
	UPFILE=$TMP/upload.src
	head -c "$UPBYTES" /dev/urandom >"$UPFILE"
	sync "$UPFILE"
	UPSUM=$(sha256sum <"$UPFILE")
	UPSUM=${UPSUM%% *}
	echo "servers: sockctl --upload --overwrite --max-upload 2G, nginx dav_methods PUT" \
		"(client_max_body_size 0, client_body_buffer_size 256k), lighttpd mod_webdav;" \
		"each stores into a directory of $TMP"
	for name in "${UP_SERVERS[@]}"; do start_server "$name"; done
	for name in "${UP_SERVERS[@]}"; do put "$name" 0; done
	echo "check: ${UP_SERVERS[*]} stored the $UPLABEL file intact (size, SHA-256)"
	# Each round starts with the next server, so none is always first.
	for ((r = 1; r <= UPLOAD_ROUNDS; r++)); do
		for ((i = 0; i < ${#UP_SERVERS[@]}; i++)); do
			put "${UP_SERVERS[(i + r - 1) % ${#UP_SERVERS[@]}]}" "$r"
		done
	done
	stop_servers "${UP_SERVERS[@]}"
	rm -f "$UPFILE"
	echo
	printf '%-12s %9s %-15s %8s %10s %9s\n' server MB/s "[min-max]" vs-peer cpu-s/GiB "curl cpu"
	best=0 bestname=
	for name in "${UP_SERVERS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the per-round lists is wanted
		MED[$name]=$(median ${UPMBS[$name]})
		if [[ $name != up-sockctl && $(max "$best" "${MED[$name]}") != "$best" ]]; then
			best=${MED[$name]} bestname=${name#up-}
		fi
	done
	for name in "${UP_SERVERS[@]}"; do
		# shellcheck disable=SC2086
		printf '%-12s %9.1f %-15s %7sx %10s %8s%%\n' "$name" "${MED[$name]}" \
			"[$(lo ${UPMBS[$name]})-$(hi ${UPMBS[$name]})]" "$(ratio "${MED[$name]}" "$best")" \
			"$(median ${UPCPU[$name]})" "$(median ${UPCCPU[$name]})"
	done
	echo
	echo "MB/s: the body's bytes (10^6 per MB) over curl's transfer time, which ends with the"
	echo "  server's answer once the file is stored; median of $UPLOAD_ROUNDS rounds, [min-max] over them;"
	echo "  vs-peer: over the best of ${UP_SERVERS[*]:1}; cpu-s/GiB: the server's CPU (user + system)"
	echo "  per GiB stored; curl cpu: the client's own CPU over the transfer (near 100%: the bottleneck)."
	for n in "${UP_NOTES[@]}"; do echo "note: $n"; done
	echo
	echo "sockctl vs best peer, upload ($UPLABEL PUT): $(ratio "${MED[up-sockctl]}" "$best")x" \
		"  (best peer: $bestname, MB/s)"
	result "upload: MB/s, $UPLABEL PUT, vs $bestname" "$(ratio "${MED[up-sockctl]}" "$best")" ">=1"
fi

# --- HTTPS ------------------------------------------------------------------
echo
echo "== HTTPS: wrk -t1 -c$CONNS -d${TLS_DURATION}s, rounds: $ROUNDS (each figure is the median of the rounds)"
for name in "${TLS_SERVERS[@]}"; do start_server "$name"; done
for name in "${TLS_SERVERS[@]}"; do check_server "$name"; done
echo "check: ${TLS_SERVERS[*]} serve both files intact over TLS (status 200, bytes compared)"
for name in "${TLS_SERVERS[@]}"; do echo "cipher: $name: $(tls_cipher "$name")"; done
WRK_SECONDS=$TLS_DURATION
for f in "${FILES[@]}"; do BODY[$f]=${SIZE[$f]}; done
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
for name in "${SERVERS[@]}" "${GZ_SERVERS[@]}" "${TLS_SERVERS[@]}"; do
	for f in "${FILES[@]}"; do
		((${NON2XX[$name/$f]} == 0)) || broken+=" $name (${LABEL[$f]}: ${NON2XX[$name/$f]})"
	done
done
[[ -z $broken ]] || die "non-2xx responses under load from:$broken"
