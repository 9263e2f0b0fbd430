#!/usr/bin/env bats
# whois-port review fixes (issue 17): --close on fixed ports, UDP,
# SO_REUSEPORT groups and bound-only TCP; -a --close; --close --dry-run
# without CAP_NET_ADMIN; forged /proc/net/unix lines; socket files whose
# stat() device is not the kernel's; datagram servers; relative names;
# 108-byte paths; --wait-free over a list. Each test failed before
# 9c7277b. Holders are tests/peers/whois_holder.py processes.

load helpers
load whois_helpers

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (${1:-CAP_NET_ADMIN})"
}

# sock_inode PID: the inode of the one socket PID has open.
sock_inode() {
	local f l
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f") || continue
		[[ "$l" == socket:\[*\] ]] || continue
		l=${l#socket:[}
		echo "${l%]}"
		return 0
	done
	return 1
}

# forged VAR INODE PATH: sets VAR to an abstract name ('@' first, for
# whois_holder.py) whose /proc/net/unix line reads as two: its own, ending
# in '@x', and a listening stream socket of inode INODE bound to PATH.
# Skips when it does not fit in sun_path.
forged() {
	local n
	printf -v n '@x\n0000000000000000: 00000002 00000000 00010000 0001 01 %s %s' "$2" "$3"
	[ "${#n}" -le 108 ] || skip "the forged name is too long for sun_path (TMP is $TMP)"
	printf -v "$1" '%s' "$n"
}

# bind_reuseaddr PORT: a listener with SO_REUSEADDR binds 127.0.0.1:PORT.
bind_reuseaddr() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
s.close()
PY
}

# sleeping PID: PID sleeps between two looks at the tables.
sleeping() {
	grep -q nanosleep "/proc/$1/wchan" 2>/dev/null
}

# --- --close ---------------------------------------------------------------

@test "fixes: --close on a listener bound by port number: it no longer listens, its process keeps the port bound" {
	need_root
	hold h tcp 127.0.0.1 --fixed --reuseaddr --accept
	run --separate-stderr "$SK" whois-port --close -y "$h_port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: closed tcp 127.0.0.1:$h_port LISTEN (PID $h_pid python3): it no longer listens, but its process keeps the port bound"* ]]
	[[ "${stderr##*$'\n'}" == "sockctl whois-port: port $h_port is still bound" ]]
	[[ "$stderr" != *"cannot close"* ]]
	kill -0 "$h_pid"
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=tcp LOCAL="127.0.0.1:$h_port" STATE=BOUND PID="$h_pid"
	# what the hint says: a server with SO_REUSEADDR binds it
	bind_reuseaddr "$h_port"
	kill -0 "$h_pid"
}

@test "fixes: --close on a UDP socket bound by port number is exit 3: it stays bound, use --kill" {
	need_root
	hold u udp 127.0.0.1 --fixed
	run --separate-stderr "$SK" whois-port --close -y "$u_port/udp" </dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"sockctl whois-port: cannot close udp 127.0.0.1:$u_port BOUND (PID $u_pid python3): "*"leaves it bound: use --kill"* ]]
	[[ "$stderr" != *"closed udp"* ]]
	kill -0 "$u_pid"
	run --separate-stderr "$SK" whois-port "$u_port/udp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=udp LOCAL="127.0.0.1:$u_port" STATE=BOUND PID="$u_pid"
}

@test "fixes: --close closes every listener of an SO_REUSEPORT group" {
	need_root
	hold g tcp 127.0.0.1 --fixed --reuseport --count 4
	run --separate-stderr "$SK" whois-port "$g_port"
	[ "$status" -eq 0 ]
	has_rows 4 STATE=LISTEN PID="$g_pid"
	run --separate-stderr "$SK" whois-port --close -y "$g_port" </dev/null
	[ "$status" -eq 0 ]
	n=$(grep -c "^sockctl whois-port: closed tcp 127.0.0.1:$g_port LISTEN (PID $g_pid python3)" <<<"$stderr") || true
	[ "$n" -eq 4 ] || { echo "$n closed:"; echo "$stderr"; false; }
	[[ "$stderr" != *"gone"* ]]
	[[ "$stderr" != *"cannot close"* ]]
	kill -0 "$g_pid"
	run --separate-stderr "$SK" whois-port "$g_port"
	has_rows 0 STATE=LISTEN
}

@test "fixes: --close on a bound TCP socket that does not listen is exit 3: neither listens nor is connected" {
	need_root
	hold n tcp 127.0.0.1 --no-listen
	run --separate-stderr "$SK" whois-port "$n_port"
	[ "$status" -ne 1 ] || skip "whois-port does not see bound-only TCP sockets on this kernel"
	has_rows 1 STATE=BOUND PID="$n_pid"
	run --separate-stderr "$SK" whois-port --close -y "$n_port" </dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"sockctl whois-port: cannot close tcp 127.0.0.1:$n_port BOUND (PID $n_pid python3): it is bound but neither listens nor is connected"*"use --kill"* ]]
	kill -0 "$n_pid"
	run --separate-stderr "$SK" whois-port "$n_port"
	[ "$status" -eq 0 ]
	has_rows 1 STATE=BOUND PID="$n_pid"
}

@test "fixes: --close -a on a local connection: the end gone with its peer is no error" {
	need_root
	hold s tcp 127.0.0.1 --accept
	hold c tcp-client "$s_port"
	wait_for "$TMP/s.err" '^accepted'
	run --separate-stderr "$SK" whois-port -a --close -y "$s_port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"closed tcp 127.0.0.1:$s_port LISTEN (PID $s_pid python3)"* ]]
	[[ "$stderr" != *"cannot close"* ]]
	# one end goes with the other: said so, or closed
	n=$(grep -cE "^sockctl whois-port: (closed tcp .* ESTABLISHED \(PID [0-9]+ python3\)|tcp .* ESTABLISHED \(PID [0-9]+ python3\): gone already)$" <<<"$stderr") || true
	[ "$n" -eq 2 ] || { echo "$stderr"; false; }
	[[ "${stderr##*$'\n'}" == "sockctl whois-port: port $s_port is free" ]]
	kill -0 "$s_pid"
	kill -0 "$c_pid"
}

@test "fixes: unprivileged --close --dry-run on root's listener predicts the CAP_NET_ADMIN refusal" {
	need_root "a root-owned listener"
	nobody_init other
	hold h tcp 127.0.0.1 --accept --record "$TMP/h.sig"
	run --separate-stderr as_nobody "$NB_SK" whois-port --close --dry-run "$h_port"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"sockctl whois-port: would not close tcp 127.0.0.1:$h_port LISTEN"*"closing a socket needs CAP_NET_ADMIN: run it with sudo"* ]]
	[[ "$stderr" != *"would close"* ]]
	[[ "$stderr" != *"closed tcp"* ]]
	# nothing was closed: the listener still accepts
	hold c tcp-client "$h_port"
	wait_for "$TMP/h.err" '^accepted'
	run ! grep -q 'accept failed' "$TMP/h.err"
	only_sentinel "$h_pid" "$TMP/h.sig"
}

# --- forged /proc/net/unix lines ----------------------------------------------

@test "fixes: a forged /proc/net/unix line naming a TCP listener's inode names no process" {
	hold v tcp 127.0.0.1 --record "$TMP/v.sig"
	ino=$(sock_inode "$v_pid")
	forged name "$ino" "$TMP/f.sock"
	hold f unix "$name"
	grep -qF "$ino $TMP/f.sock" /proc/net/unix
	SOCKCTL_NO_NETLINK=1 run --separate-stderr "$SK" whois-port -k --dry-run "$TMP/f.sock"
	# (not exit 0: no process is shown holding it)
	[ "$status" -ne 0 ]
	has_rows 0 PID="$v_pid"
	[[ "$stderr" != *"PID $v_pid "* ]]
	[[ "$stderr" != *"would send"* ]]
	run --separate-stderr "$SK" whois-port -k --dry-run "$TMP/f.sock"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"nothing holds unix socket $TMP/f.sock"* ]]
	[[ "$stderr" != *"PID $v_pid "* ]]
	only_sentinel "$v_pid" "$TMP/v.sig"
}

@test "fixes: a forged /proc/net/unix line naming another unix socket's inode names no process" {
	hold v unix "$TMP/v.sock" --record "$TMP/v.sig"
	ino=$(sock_inode "$v_pid")
	forged name "$ino" "$TMP/f.sock"
	hold f unix "$name"
	grep -qF "$ino $TMP/f.sock" /proc/net/unix
	for nl in proc netlink; do
		if [ "$nl" = proc ]; then
			SOCKCTL_NO_NETLINK=1 run --separate-stderr "$SK" whois-port -k --dry-run "$TMP/f.sock"
		else
			run --separate-stderr "$SK" whois-port -k --dry-run "$TMP/f.sock"
		fi
		[ "$status" -eq 1 ] || { echo "$nl: $status $output $stderr"; false; }
		[ -z "$output" ]
		[[ "$stderr" == *"nothing holds unix socket $TMP/f.sock"* ]]
		[[ "$stderr" != *"PID $v_pid "* ]]
	done
	only_sentinel "$v_pid" "$TMP/v.sig"
}

@test "fixes: a forged line in another network namespace's /proc/net/unix names no process (--all-netns)" {
	need_root "unshare -n"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace"
	hold vt tcp 127.0.0.1 --record "$TMP/vt.sig"
	hold vu unix "$TMP/v.sock" --record "$TMP/vu.sig"
	it=$(sock_inode "$vt_pid")
	iu=$(sock_inode "$vu_pid")
	forged nt "$it" "$TMP/nt.sock"
	forged nu "$iu" "$TMP/nu.sock"
	bg ft unshare -n python3 "$WH" unix "$nt"
	bg fu unshare -n python3 "$WH" unix "$nu"
	wait_for "$TMP/ft.err" '^listening on'
	wait_for "$TMP/fu.err" '^listening on'
	grep -qF "$it $TMP/nt.sock" "/proc/$ft_pid/net/unix"
	grep -qF "$iu $TMP/nu.sock" "/proc/$fu_pid/net/unix"
	for p in nt nu; do
		run --separate-stderr "$SK" whois-port --all-netns -k --dry-run "$TMP/$p.sock"
		[ "$status" -eq 1 ] || { echo "$p: $status $output $stderr"; false; }
		[ -z "$output" ]
		[[ "$stderr" == *"nothing holds unix socket $TMP/$p.sock"* ]]
		[[ "$stderr" != *"PID $vt_pid "* && "$stderr" != *"PID $vu_pid "* ]]
	done
	# from /proc/PID/net/unix: the TCP inode is not taken as a unix socket
	SOCKCTL_NO_NETLINK=1 run --separate-stderr "$SK" whois-port --all-netns -k --dry-run "$TMP/nt.sock"
	[ "$status" -ne 0 ]
	has_rows 0 PID="$vt_pid"
	[[ "$stderr" != *"would send"* ]]
	only_sentinel "$vt_pid" "$TMP/vt.sig"
	only_sentinel "$vu_pid" "$TMP/vu.sig"
}

# --- socket files ---------------------------------------------------------------

@test "fixes: a socket file on overlayfs, whose stat() device is not the kernel's, is found" {
	need_root "mounts"
	unshare -m true 2>/dev/null || skip "cannot create a mount namespace"
	grep -qw overlay /proc/filesystems || skip "no overlayfs"
	mkdir "$TMP/lower" "$TMP/upper" "$TMP/work" "$TMP/m"
	# everything mounted dies with the namespace; the script unmounts anyway
	# shellcheck disable=SC2016 # expanded by the inner bash
	run unshare -m bash -c '
		TMP=$1 SK=$2 WH=$3
		mount -t tmpfs sk-lower "$TMP/lower" || exit 10
		trap "umount \"\$TMP/lower\"" EXIT
		mount -t overlay sk-ovl -o "lowerdir=$TMP/lower,upperdir=$TMP/upper,workdir=$TMP/work" "$TMP/m" || exit 11
		trap "umount \"\$TMP/m\"; umount \"\$TMP/lower\"" EXIT
		python3 "$WH" unix "$TMP/m/x.sock" 2>"$TMP/ov.err" &
		h=$!
		echo "$h" >"$TMP/ov.pid"
		trap "kill $h; wait $h; umount \"\$TMP/m\"; umount \"\$TMP/lower\"" EXIT
		for ((i = 0; i < 500; i++)); do
			grep -qE "^(listening on|bind failed)" "$TMP/ov.err" && break
			sleep 0.02
		done
		grep -q "^listening on" "$TMP/ov.err" || exit 13
		sdev=$(stat -c "%Hd:%Ld" "$TMP/m/x.sock")
		mdev=$(awk -v m="$TMP/m" "\$5 == m { print \$3 }" /proc/self/mountinfo)
		echo "stat $sdev mountinfo $mdev" >"$TMP/ov.dev"
		[ "$sdev" != "$mdev" ] || exit 12
		"$SK" whois-port "$TMP/m/x.sock" >"$TMP/ov.out" 2>"$TMP/ov.sk"
		echo $? >"$TMP/ov.rc"
	' _ "$TMP" "$(readlink -f "$SK")" "$WH"
	case $status in
	10 | 11) skip "cannot mount a tmpfs or an overlay here: $output" ;;
	12) skip "stat() and mountinfo agree on the overlay's device ($(cat "$TMP/ov.dev"))" ;;
	esac
	[ "$status" -eq 0 ] || { echo "$output"; cat "$TMP/ov.err"; false; }
	# nothing of it is left mounted here
	run ! grep -qF "$TMP/" /proc/self/mountinfo
	output=$(cat "$TMP/ov.out")
	h_pid=$(cat "$TMP/ov.pid")
	[ "$(cat "$TMP/ov.rc")" -eq 0 ] || { cat "$TMP/ov.dev" "$TMP/ov.sk"; false; }
	has_rows 1 PROTO=unix LOCAL="$TMP/m/x.sock" STATE=LISTEN PID="$h_pid"
}

@test "fixes: a unix datagram server with a connected client is BOUND" {
	hold g unix-dgram "$TMP/g.sock"
	hold c unix-dgram-client "$TMP/g.sock"
	for nl in netlink proc; do
		if [ "$nl" = proc ]; then
			SOCKCTL_NO_NETLINK=1 run --separate-stderr "$SK" whois-port "$TMP/g.sock"
		else
			run --separate-stderr "$SK" whois-port "$TMP/g.sock"
		fi
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -eq 2 ] || { echo "$nl: $output"; false; }
		has_rows 1 PROTO=unix-dgram LOCAL="$TMP/g.sock" STATE=BOUND PID="$g_pid"
	done
}

@test "fixes: a relative bound name does not match the socket file of another directory" {
	mkdir "$TMP/d1" "$TMP/d2"
	hold a unix s.sock --chdir "$TMP/d1" --record "$TMP/a.sig"
	hold b unix s.sock --chdir "$TMP/d2" --record "$TMP/b.sig"
	cd "$TMP/d1"
	for arg in s.sock ./s.sock unix:s.sock "$TMP/d1/s.sock"; do
		# /proc/net/unix: d1's holder or nothing, never d2's
		SOCKCTL_NO_NETLINK=1 run --separate-stderr "$SK" whois-port -k --dry-run "$arg"
		has_rows 0 PID="$b_pid"
		[[ "$stderr" != *"PID $b_pid "* ]] || { echo "$arg: $stderr"; false; }
		# netlink: d1's holder, by its file
		run --separate-stderr "$SK" whois-port "$arg"
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -eq 2 ] || { echo "$arg: $output"; false; }
		has_rows 1 PROTO=unix LOCAL=s.sock STATE=LISTEN PID="$a_pid"
	done
	cd "$TMP/d2"
	run --separate-stderr "$SK" whois-port s.sock
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PID="$b_pid"
	only_sentinel "$a_pid" "$TMP/a.sig"
	only_sentinel "$b_pid" "$TMP/b.sig"
}

@test "fixes: a 108-byte socket path (all of sun_path, no NUL) is found" {
	pad=$((108 - ${#TMP} - 1 - 7))
	[ "$pad" -ge 1 ] && [ "$pad" -le 255 ] || skip "TMP ($TMP) leaves no room for a 108-byte path"
	d=$TMP/$(printf '%*s' "$pad" '' | tr ' ' p)
	mkdir "$d"
	p=$d/s.sock
	[ "${#p}" -eq 108 ]
	hold l unix "$p"
	[ -S "$p" ]
	for arg in "$p" "unix:$p"; do
		run --separate-stderr "$SK" whois-port "$arg"
		[ "$status" -eq 0 ] || { echo "$arg: $status $stderr"; false; }
		[ "${#lines[@]}" -eq 2 ]
		has_rows 1 PROTO=unix LOCAL="$p" STATE=LISTEN PID="$l_pid"
	done
	SOCKCTL_NO_NETLINK=1 run --separate-stderr "$SK" whois-port "$p"
	[ "$status" -eq 0 ]
	has_rows 1 PROTO=unix LOCAL="$p" STATE=LISTEN PID="$l_pid"
}

# --- --wait-free ---------------------------------------------------------------

@test "fixes: --wait-free over two ports returns only once both are free at the same time" {
	f=$(free_port)
	hold b tcp 127.0.0.1 --close-when "$TMP/go-b"
	start=$(date +%s%N)
	bg w "$SK" whois-port --wait-free 10 "$f" "$b_port"
	# the first is free at once; it waits on the second
	wait_until 5 runs_sockctl "$w_pid"
	wait_until 5 sleeping "$w_pid"
	# the first is taken again, then the second lets go
	hold a tcp 127.0.0.1 --port "$f" --close-when "$TMP/go-a"
	touch "$TMP/go-b"
	wait_for "$TMP/b.err" '^closed' 5
	run --separate-stderr "$SK" whois-port "$b_port"
	[ "$status" -eq 1 ]
	# the first is held: it still waits (for at least 1 s, while it is)
	st=0
	wait_exit "$w_pid" 1 || st=$?
	[ "$st" -eq 124 ] || { echo "exited $st while port $f is held"; false; }
	touch "$TMP/go-a"
	wait_for "$TMP/a.err" '^closed' 5
	st=0
	wait_exit "$w_pid" 5 || st=$?
	[ "$st" -eq 0 ]
	[ "$(ms_since "$start")" -lt 10000 ]
	[ ! -s "$TMP/w.out" ]
	[ ! -s "$TMP/w.err" ]
}

# --- second review (commit after 7f773de) ----------------------------------

# conn_pair: a python3 process with a listener on A and a client connected
# to it from B, where B < A (so the client's row comes first); with
# --fixed, B is bound by number. Sets pair_pid, pair_a, pair_b.
conn_pair() {
	python3 - "$@" <<'PY' 2>"$TMP/pair.err" &
import socket, sys, time
fixed = "--fixed" in sys.argv
lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(4)
a = lst.getsockname()[1]
for _ in range(200):
    c = socket.socket()
    c.bind(("127.0.0.1", 0))
    b = c.getsockname()[1]
    if b < a:
        break
    c.close()
else:
    sys.exit("no port below %d" % a)
if fixed:
    c.close()
    c = socket.socket()
    c.bind(("127.0.0.1", b))
c.connect(("127.0.0.1", a))
acc = lst.accept()[0]
print("ports %d %d" % (a, b), file=sys.stderr, flush=True)
time.sleep(60)
PY
	pair_pid=$!
	BG_PIDS+=("$pair_pid")
	wait_for "$TMP/pair.err" '^ports '
	read -r _ pair_a pair_b <"$TMP/pair.err"
}

@test "fixes: -a --close read without cookies never reaches the listener behind a connection gone" {
	need_root
	conn_pair
	run --separate-stderr env SOCKCTL_NO_NETLINK=1 "$SK" whois-port -a --close -y "$pair_b" </dev/null
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	# the listener on A was never a row: it still listens
	[ "$(ss -Htln "sport = :$pair_a" | wc -l)" -eq 1 ]
	kill -0 "$pair_pid"
}

@test "fixes: -a --close of a connection from a port bound by number is no error" {
	need_root
	conn_pair --fixed
	run --separate-stderr "$SK" whois-port -a --close -y "$pair_b" </dev/null
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$stderr" != *"cannot close"* ]]
	[ "$(ss -Htln "sport = :$pair_a" | wc -l)" -eq 1 ]
}

@test "fixes: --close --dry-run says a bound-only TCP socket would not be closed" {
	need_root
	hold b tcp 127.0.0.1 --no-listen
	run --separate-stderr "$SK" whois-port "$b_port"
	[ "$status" -eq 0 ] || skip "bound-only TCP sockets are not seen on this kernel"
	run --separate-stderr "$SK" whois-port --close --dry-run "$b_port"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"would not close tcp 127.0.0.1:$b_port BOUND"*"neither listens nor is connected"* ]]
}

@test "fixes: --all-netns --close in another namespace reports a fixed-port listener as still bound" {
	need_root
	command -v unshare >/dev/null || skip "no unshare"
	unshare -n python3 - <<'PY' 2>"$TMP/ns.err" &
import socket, sys, time
socket.socket().bind(("127.0.0.1", 0))  # lo is down: bind works, nothing connects
s = socket.socket()
s.bind(("127.0.0.1", 0))
p = s.getsockname()[1]
s.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", p))
s.listen(1)
print("port %d" % p, file=sys.stderr, flush=True)
time.sleep(60)
PY
	BG_PIDS+=("$!")
	wait_for "$TMP/ns.err" '^port '
	read -r _ p <"$TMP/ns.err"
	run --separate-stderr "$SK" whois-port --all-netns --close -y "$p" </dev/null
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[[ "$stderr" == *"it no longer listens, but its process keeps the port bound"* ]]
	[[ "$stderr" == *"port $p is still bound"* ]]
}
