# Helpers for proxy.bats: real proxy servers (dante for SOCKS5, tinyproxy
# for HTTP CONNECT), a throwaway sshd, and the scripted fake proxy
# tests/peers/proxy_peer.py. Loaded after helpers.bash, tls_helpers.bash and
# forward_helpers.bash (fpeer targets, haproxy_up, log_lines).
#
# dante, tinyproxy and sshd take their port from their config: it comes from
# free_port, and each is waited for (bounded) until its own PID listens on
# it; one that lost the port to another process in between exits, and
# another port is tried. As root, dante and tinyproxy run in a private mount
# namespace (unshare -m) whose /etc/hosts also names $PROXY_ONLY_NAME (so a
# name only the proxy can resolve proves the name went to the proxy), and
# whose /etc/passwd and /etc/shadow hold the test user dante's username
# method checks: nothing is added to the machine.

PPEER="$BATS_TEST_DIRNAME/peers/proxy_peer.py"
PROXY_USER=sktest
# dante's user: a password with ':' and '@', percent-encoded in URLs.
PROXY_PASS='pw:with@odd'
PROXY_PASS_URL='pw%3Awith%40odd'
# tinyproxy's BasicAuth line takes no ':' or '@'.
HTTP_PASS='pw-with.odd_9'
PROXY_ONLY_NAME=proxy-only.sockctl.test

# can_ns: private mount namespaces work here (root and unshare -m).
can_ns() {
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null
}

need_ns() {
	can_ns || skip "needs root and unshare -m (a private mount namespace for /etc/hosts, /etc/passwd, /etc/shadow)"
}

# make_etc: $TMP/etc/{hosts,passwd,shadow}: the machine's, plus
# $PROXY_ONLY_NAME (127.0.0.1) and the user $PROXY_USER with $PROXY_PASS.
make_etc() {
	[ -d "$TMP/etc" ] && return 0
	mkdir -p "$TMP/etc"
	{
		cat /etc/hosts
		echo "127.0.0.1 $PROXY_ONLY_NAME"
	} >"$TMP/etc/hosts"
	{
		cat /etc/passwd
		echo "$PROXY_USER:x:4242:4242:sockctl proxy test:/nonexistent:/usr/sbin/nologin"
	} >"$TMP/etc/passwd"
	{
		cat /etc/shadow 2>/dev/null
		echo "$PROXY_USER:$(openssl passwd -6 "$PROXY_PASS"):19000:0:99999:7:::"
	} >"$TMP/etc/shadow"
	chmod 644 "$TMP/etc/hosts" "$TMP/etc/passwd"
	chmod 600 "$TMP/etc/shadow"
}

# The script of bg_ns: $1 the directory, then the command.
NS_SH='d=$1; shift
mount --bind "$d/hosts" /etc/hosts &&
	mount --bind "$d/passwd" /etc/passwd &&
	mount --bind "$d/shadow" /etc/shadow && exec "$@"'

# bg_ns NAME CMD...: bg NAME CMD, CMD in a private mount namespace with
# $TMP/etc's files over the machine's (unshare and sh exec: NAME_pid is
# CMD's PID).
bg_ns() {
	local name=$1
	shift
	make_etc
	bg "$name" unshare -m sh -c "$NS_SH" sh "$TMP/etc" "$@"
}

# pid_listens PID PORT: PID listens on PORT, or has exited (its bind failed).
pid_listens() {
	haproxy_up "$@"
}

# started NAME PORT: NAME (a bg name) came up on PORT, bounded; 1 if it
# exited (the port was taken, or its config is bad: its stderr is shown).
started() {
	local pidvar="${1}_pid"
	wait_until 20 pid_listens "${!pidvar}" "$2" || return 1
	kill -0 "${!pidvar}" 2>/dev/null && return 0
	echo "$1 exited:" >&2
	cat "$TMP/$1.err" "$TMP/$1.out" >&2
	return 1
}

# dante_conf FILE PORT none|username
dante_conf() {
	local from to
	{
		echo "logoutput: stderr"
		echo "internal: 127.0.0.1 port = $2"
		have_ipv6 && echo "internal: ::1 port = $2"
		echo "external: lo"
		echo "socksmethod: $3"
		echo "clientmethod: none"
		if [ "$(id -u)" = 0 ]; then
			echo "user.privileged: root"
			echo "user.unprivileged: nobody"
		fi
		for from in 127.0.0.0/8 ::1/128; do
			printf 'client pass {\n\tfrom: %s to: 0/0\n\tlog: error\n}\n' "$from"
		done
		for from in 127.0.0.0/8 ::1/128; do
			for to in 127.0.0.0/8 ::1/128; do
				printf 'socks pass {\n\tfrom: %s to: %s\n\tcommand: connect\n\tlog: error connect disconnect\n}\n' "$from" "$to"
			done
		done
	} >"$1"
}

# start_dante [auth]: danted in the foreground (bg 'dante'), SOCKS5 on
# 127.0.0.1 (and ::1) port $dport; with auth, the username method against
# $PROXY_USER/$PROXY_PASS (skips without a mount namespace). Logs each
# session on its stderr ($TMP/dante.err).
start_dante() {
	local method=none try
	if [ "${1:-}" = auth ]; then
		need_ns
		method=username
	fi
	for try in 1 2 3 4 5; do
		dport=$(free_port)
		dante_conf "$TMP/dante.conf" "$dport" "$method"
		if can_ns; then
			bg_ns dante env TMPDIR="$TMP" danted -f "$TMP/dante.conf" -p "$TMP/dante.pid"
		else
			bg dante env TMPDIR="$TMP" danted -f "$TMP/dante.conf" -p "$TMP/dante.pid"
		fi
		started dante "$dport" && return 0
	done
	return 1
}

# start_tinyproxy [auth]: tinyproxy -d (bg 'tiny') on 127.0.0.1 port
# $hport; with auth, BasicAuth $PROXY_USER $HTTP_PASS. Every CONNECT port
# is allowed (no ConnectPort line).
start_tinyproxy() {
	local try
	for try in 1 2 3 4 5; do
		hport=$(free_port)
		{
			echo "Port $hport"
			echo "Listen 127.0.0.1"
			echo "Allow 127.0.0.1"
			echo "Timeout 60"
			echo "LogLevel Info"
			echo "MaxClients 50"
			[ "${1:-}" = auth ] && echo "BasicAuth $PROXY_USER $HTTP_PASS"
		} >"$TMP/tiny.conf"
		if can_ns; then
			bg_ns tiny tinyproxy -d -c "$TMP/tiny.conf"
		else
			bg tiny tinyproxy -d -c "$TMP/tiny.conf"
		fi
		started tiny "$hport" && return 0
	done
	return 1
}

# start_sshd: a throwaway sshd -D on 127.0.0.1 port $sshport (bg 'sshd')
# with a host key made here, accepting the key $TMP/ssh/id for the user
# running the tests; sets SSH_OPTS for ssh(1). Skips unless root.
start_sshd() {
	local try sshd
	[ "$(id -u)" = 0 ] || skip "sshd needs root here"
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	mkdir -p /run/sshd "$TMP/ssh"
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/host" </dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/id" </dev/null
	cp "$TMP/ssh/id.pub" "$TMP/ssh/authorized_keys"
	for try in 1 2 3 4 5; do
		sshport=$(free_port)
		cat >"$TMP/ssh/sshd_config" <<-EOF
			Port $sshport
			ListenAddress 127.0.0.1
			HostKey $TMP/ssh/host
			PidFile none
			UsePAM no
			StrictModes no
			PermitRootLogin prohibit-password
			AuthorizedKeysFile $TMP/ssh/authorized_keys
			PasswordAuthentication no
			KbdInteractiveAuthentication no
		EOF
		bg sshd "$sshd" -D -e -f "$TMP/ssh/sshd_config"
		started sshd "$sshport" || continue
		SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
			-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=20
			-i "$TMP/ssh/id" -p "$sshport")
		return 0
	done
	return 1
}

# ppeer NAME ARGS...: the fake proxy (proxy_peer.py ARGS) as bg NAME; sets
# pport.
ppeer() {
	local name=$1
	shift
	bg "$name" python3 "$PPEER" "$@"
	pport=$(port_of "$TMP/$name.err")
	[ -n "$pport" ]
}

# xtarget NAME FILE N: proxy_peer.py's target: sends FILE while reading N
# bytes, then reads to EOF; prints 'N SHA' (bg NAME); sets tport.
xtarget() {
	bg "$1" python3 "$PPEER" target exchange "$2" "$3"
	tport=$(port_of "$TMP/$1.err")
	[ -n "$tport" ]
}

# rec NAME KEY: the hex a proxy_peer NAME recorded for KEY (greeting, auth,
# request, head), the first one.
rec() {
	sed -n "s/^$2 //p" "$TMP/$1.out" | head -n 1
}

# no_early NAME: proxy_peer NAME saw no client bytes before its answer.
no_early() {
	if grep -q '^early' "$TMP/$1.out"; then
		echo "bytes came before the grant:" >&2
		cat "$TMP/$1.out" >&2
		return 1
	fi
}

# only_sockctl_lines TEXT: every line of TEXT is connect's own.
only_sockctl_lines() {
	if grep -v '^sockctl connect: ' <<<"$1"; then
		echo "^ not sockctl's" >&2
		return 1
	fi
}

# hx PRINTF-FORMAT [ARGS...]: the bytes printf makes, in lowercase hex.
hx() {
	# shellcheck disable=SC2059 # the format is the point
	printf "$@" | od -An -v -tx1 | tr -d ' \n'
}

# port_hex PORT: PORT as two bytes of hex (network order).
port_hex() {
	printf '%04x' "$1"
}

# size_is FILE N: FILE holds N bytes (for wait_until).
size_is() {
	[ "$(stat -c %s "$1" 2>/dev/null || echo -1)" -eq "$2" ]
}

# held_stdin FILE OUT N: writes FILE, then holds the pipe open until OUT
# holds N bytes (at most 60 s): a client's stdin whose EOF comes only once
# everything the far end sends has arrived.
held_stdin() {
	cat "$1"
	wait_until 60 size_is "$2" "$3" >/dev/null 2>&1 || true
}

# peer_closed PORT: a TCP connection to port PORT has had the far end's
# FIN (it is in CLOSE-WAIT).
peer_closed() {
	[ -n "$(ss -Htn state close-wait "dport = :$1")" ]
}

# elapsed_ms START_NS: milliseconds since START_NS (date +%s%N).
elapsed_ms() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# no_secrets TEXT WORD...: none of the WORDs appears in TEXT.
no_secrets() {
	local text=$1 w
	shift
	for w in "$@"; do
		if [[ "$text" == *"$w"* ]]; then
			echo "secret '$w' shows in: $text" >&2
			return 1
		fi
	done
}
