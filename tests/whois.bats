#!/usr/bin/env bats
# whois-port against real holders: python3 processes holding sockets.

load helpers

HOLDER="$BATS_TEST_DIRNAME/peers/holder.py"

# hold NAME ARGS...: starts a holder, waits for it, sets NAME_port.
hold() {
	local name=$1
	shift
	bg "$name" python3 "$HOLDER" "$@"
	printf -v "${name}_port" '%s' "$(port_of "$TMP/$name.err")"
}

@test "whois-port names the process listening on a TCP port" {
	hold h tcp 127.0.0.1
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" =~ ^PROTO\ +LOCAL\ +STATE\ +PID\ +USER\ +UNIT\ +COMMAND$ ]]
	[ "${#lines[@]}" -eq 2 ]
	read -r proto local state pid user unit cmd <<<"${lines[1]}"
	[ "$proto" = tcp ]
	[ "$local" = "127.0.0.1:$h_port" ]
	[ "$state" = LISTEN ]
	[ "$pid" = "$h_pid" ]
	[ "$user" = "$(id -un)" ]
	[[ "$cmd" == *"holder.py tcp 127.0.0.1" ]]
	run "$SK" whois-port "$h_port/tcp"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$h_pid"* ]]
}

@test "whois-port finds bound UDP sockets and keeps /tcp and /udp apart" {
	hold h udp 127.0.0.1
	run --separate-stderr "$SK" whois-port "$h_port/udp"
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == "udp "*"127.0.0.1:$h_port "*"BOUND "*" $h_pid "* ]]
	run --separate-stderr "$SK" whois-port "$h_port/tcp"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "sockctl whois-port: nothing holds port $h_port/tcp" ]
}

@test "whois-port sees IPv6, dual-stack and v4-mapped listeners" {
	hold a tcp ::1
	hold b tcp ::
	hold c tcp ::ffff:127.0.0.1
	run "$SK" whois-port "$a_port" "$b_port" "$c_port"
	[ "$status" -eq 0 ]
	[[ "$output" == *"[::1]:$a_port "*" $a_pid "* ]]
	[[ "$output" == *"[::]:$b_port "*" $b_pid "* ]]
	[[ "$output" == *"[::ffff:127.0.0.1]:$c_port "*" $c_pid "* ]]
	[ "${#lines[@]}" -eq 4 ]
}

@test "whois-port lists every process sharing a socket" {
	hold h tcp 127.0.0.1 --fork
	child=$(sed -n 's/^child //p' "$TMP/h.err")
	BG_PIDS+=("$child")
	run "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" == *" $h_pid "* ]]
	[[ "$output" == *" $child "* ]]
}

@test "a client connected to the port is not a holder: not listed, not killed" {
	hold srv tcp 127.0.0.1
	bg cli python3 "$HOLDER" tcp - --connect "$srv_port"
	wait_for "$TMP/cli.err" '^connected'
	run "$SK" whois-port "$srv_port"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "$output" != *" $cli_pid "* ]]
	run "$SK" whois-port -a "$srv_port"
	[[ "${lines[0]}" == *"REMOTE"* ]]
	[[ "$output" == *"127.0.0.1:$srv_port "*"ESTABLISHED"*" $cli_pid "* ]]
	run --separate-stderr "$SK" whois-port -k -y "$srv_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $srv_pid (python3"*"stopped by SIGTERM"* ]]
	[[ "$stderr" == *"port $srv_port is free"* ]]
	[[ "$stderr" != *"PID $cli_pid "* ]]
	wait_exit "$srv_pid" 5 || [ $? -ne 124 ]
	kill -0 "$cli_pid"
}

@test "-k stops the holder and checks the port is free" {
	hold h tcp 127.0.0.1
	run --separate-stderr "$SK" whois-port --kill --yes "$h_port/tcp"
	[ "$status" -eq 0 ]
	[[ "$output" == *" $h_pid "* ]]
	[[ "$stderr" == *"stopped by SIGTERM"* ]]
	[[ "${stderr##*$'\n'}" == "sockctl whois-port: port $h_port/tcp is free" ]]
	run wait_exit "$h_pid" 5
	[ "$status" -ne 124 ]
	run "$SK" whois-port "$h_port"
	[ "$status" -eq 1 ]
}

@test "-k escalates to SIGKILL after --grace for a holder that ignores SIGTERM" {
	hold h tcp 127.0.0.1 --ignore-term
	start=$(date +%s%N)
	run --separate-stderr "$SK" whois-port -k -y --grace 0.3 "$h_port"
	end=$(date +%s%N)
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $h_pid (python3"*"stopped by SIGKILL (still running 0.300 s after SIGTERM)"* ]]
	[ $(((end - start) / 1000000)) -ge 300 ]
	run wait_exit "$h_pid" 5
	[ "$status" -ne 124 ]
}

@test "-s sends one signal and nothing else" {
	hold h udp 127.0.0.1
	run --separate-stderr "$SK" whois-port -s HUP "$h_port/udp" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $h_pid (python3"*"sent SIGHUP"* ]]
	wait_for "$TMP/h.err" '^got SIGHUP$'
	kill -0 "$h_pid"
	run "$SK" whois-port --signal 10 "$h_port" </dev/null
	[ "$status" -eq 0 ]
	wait_for "$TMP/h.err" '^got SIGUSR1$'
	kill -0 "$h_pid"
}

@test "--json is an array of objects python3 can read" {
	hold h tcp 127.0.0.1
	hold u udp ::1
	run --separate-stderr "$SK" whois-port --json "$h_port" "$u_port"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$TMP/rows.json"
	python3 - "$TMP/rows.json" "$h_port" "$h_pid" "$u_port" "$u_pid" "$(id -u)" "$(id -un)" <<'PY'
import json, sys
path, hp, hpid, up, upid, uid, user = sys.argv[1:]
rows = json.load(open(path))
assert len(rows) == 2, rows
keys = ["proto", "local", "port", "state", "inode", "uid", "user", "pid", "command", "unit"]
for r in rows:
    assert list(r) == keys, r
    assert r["uid"] == int(uid) and r["user"] == user and isinstance(r["inode"], int) and r["inode"] > 0
t, u = rows
assert (t["proto"], t["local"], t["port"], t["state"], t["pid"]) == ("tcp", "127.0.0.1:" + hp, int(hp), "LISTEN", int(hpid)), t
assert (u["proto"], u["local"], u["port"], u["state"], u["pid"]) == ("udp", "[::1]:" + up, int(up), "BOUND", int(upid)), u
assert t["command"].endswith("holder.py tcp 127.0.0.1"), t
PY
	run --separate-stderr "$SK" whois-port --json "$(free_port)"
	[ "$status" -eq 1 ]
	[ "$output" = "[]" ]
}

@test "without PORT it lists every listening TCP and bound UDP port" {
	hold t tcp 127.0.0.1
	hold u udp 127.0.0.1
	bg cli python3 "$HOLDER" tcp - --connect "$t_port"
	wait_for "$TMP/cli.err" '^connected'
	run "$SK" whois-port
	# 3 when the machine has a listener whose holder even root cannot see
	# (one in another PID namespace)
	[ "$status" -eq 0 ] || [ "$status" -eq 3 ]
	[[ "$output" == *"tcp "*"127.0.0.1:$t_port "*"LISTEN "*" $t_pid "* ]]
	[[ "$output" == *"udp "*"127.0.0.1:$u_port "*"BOUND "*" $u_pid "* ]]
	[[ "$output" != *"ESTABLISHED"* ]]
	run "$SK" whois-port -a
	[[ "$output" == *"ESTABLISHED"*" $cli_pid "* ]]
}

@test "netlink and /proc/net give the same answer" {
	hold t tcp 127.0.0.1
	hold u udp ::
	bg cli python3 "$HOLDER" tcp - --connect "$t_port"
	wait_for "$TMP/cli.err" '^connected'
	# (no -a without a port: TIME_WAIT sockets of earlier tests come and go)
	for args in "$t_port" "-a $t_port" "--json $t_port $u_port" "$u_port/udp" ""; do
		# shellcheck disable=SC2086
		run "$SK" whois-port $args
		a="$status $output"
		# shellcheck disable=SC2086
		run env SOCKCTL_NO_NETLINK=1 "$SK" whois-port $args
		b="$status $output"
		[ ${#a} -gt 20 ]
		[ "$a" = "$b" ] || { echo "differ for '$args':"; diff <(echo "$a") <(echo "$b"); false; }
	done
}

@test "a free port is exit 1 with a message" {
	p=$(free_port)
	run --separate-stderr "$SK" whois-port "$p"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "sockctl whois-port: nothing holds port $p" ]
	run --separate-stderr "$SK" whois-port -k -y "$p"
	[ "$status" -eq 1 ]
}

@test "bad ports and options are usage errors" {
	for a in 0 65536 99999999 nosuchservice 80/sctp "" 80/; do
		run --separate-stderr "$SK" whois-port "$a"
		[ "$status" -eq 2 ] || { echo "'$a': $status"; false; }
		[[ "$stderr" == "sockctl whois-port: bad "* ]]
		[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	done
	run --separate-stderr "$SK" whois-port -k
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--kill needs a PORT"* ]]
	run --separate-stderr "$SK" whois-port --grace 1 80
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" whois-port -s NOSUCHSIG 80
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad signal 'NOSUCHSIG'"* ]]
	run --separate-stderr "$SK" whois-port -s HUP --grace 1 80
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" whois-port --grace soon -k 80
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" whois-port --bogus
	[ "$status" -eq 2 ]
}

@test "service names are ports" {
	grep -qE '^ssh[[:space:]]+22/tcp' /etc/services || skip "no ssh in /etc/services"
	run --separate-stderr "$SK" whois-port ssh/tcp
	[ "$status" -ne 2 ]
	[[ "$stderr" != *"bad port"* ]]
	[ "$status" -eq 0 ] || [ "$stderr" = "sockctl whois-port: nothing holds port 22/tcp" ]
}

@test "unprivileged: a root-owned listener is shown with its owner, exit 3 and a hint" {
	[ "$(id -u)" = 0 ] || skip "needs root to run a root-owned listener"
	command -v setpriv >/dev/null || skip "no setpriv"
	hold h tcp 127.0.0.1
	dir=$(mktemp -d)
	chmod 755 "$dir"
	cp "$SK" "$dir/sockctl"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -u ASAN_OPTIONS -u UBSAN_OPTIONS "$dir/sockctl" whois-port "$h_port"
	rm -rf "$dir"
	[ "$status" -eq 3 ]
	read -r proto local state pid user unit cmd <<<"${lines[1]}"
	[ "$local $state $pid $user $cmd" = "127.0.0.1:$h_port LISTEN - root -" ]
	[[ "$stderr" == *"1 socket is held by processes that cannot be seen: run it with sudo to see them"* ]]
}


@test "-k asks on a terminal; anything but y leaves the holder alone" {
	hold h tcp 127.0.0.1
	run on_tty n whois-port -k "$h_port"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stop 1 process with SIGTERM, then SIGKILL after 3.000 s? [y/N] "* ]]
	[[ "$output" == *"nothing stopped"* ]]
	[ "${lines[-1]}" = "exit 3" ]
	kill -0 "$h_pid"
	run on_tty y whois-port -k "$h_port"
	[[ "$output" == *"stopped by SIGTERM"* ]]
	[ "${lines[-1]}" = "exit 0" ]
	run wait_exit "$h_pid" 5
	[ "$status" -ne 124 ]
}

@test "-y does not ask, even on a terminal" {
	hold h tcp 127.0.0.1
	run on_tty n whois-port -k -y "$h_port"
	[[ "$output" != *"[y/N]"* ]]
	[ "${lines[-1]}" = "exit 0" ]
}

@test "--all-netns finds a listener inside another network namespace" {
	[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
	command -v ip >/dev/null || skip "no ip command"
	ns="sockctl-whois-$$"
	ip netns add "$ns" || skip "cannot create a network namespace here"
	ip netns exec "$ns" ip link set lo up
	bg h ip netns exec "$ns" python3 "$HOLDER" tcp 127.0.0.1
	port=$(port_of "$TMP/h.err") || { ip netns delete "$ns"; false; }
	run "$SK" whois-port "$port"
	[ "$status" -eq 1 ] || { ip netns delete "$ns"; false; }
	run "$SK" whois-port --all-netns "$port"
	[ "$status" -eq 0 ] || { ip netns delete "$ns"; false; }
	[[ "${lines[0]}" == "NETNS "* ]] || { ip netns delete "$ns"; false; }
	[[ "${lines[1]}" == "$ns "*"tcp "*"127.0.0.1:$port "*"LISTEN "*" $h_pid "* ]] || { ip netns delete "$ns"; false; }
	run "$SK" whois-port --all-netns --json "$port"
	[[ "$output" == *"\"netns\":\"$ns\""* ]] || { ip netns delete "$ns"; false; }
	run --separate-stderr "$SK" whois-port --all-netns -k -y "$port"
	ip netns delete "$ns"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"stopped by SIGTERM"* ]]
}

@test "a TCP socket bound but not listening holds the port too (netlink, Linux 6.5+)" {
	IFS=. read -r major minor _ <<<"$(uname -r)"
	((major > 6 || (major == 6 && minor >= 5))) || skip "the kernel reports bound-only sockets from 6.5"
	hold closed tcp 127.0.0.1 --no-listen
	port=$closed_port
	run --separate-stderr "$SK" whois-port "$port"
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == "tcp "*"127.0.0.1:$port "*"BOUND "*" $closed_pid "* ]]
	run --separate-stderr "$SK" whois-port -k -y "$port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"port $port is free"* ]]
}

@test "-a shows connections, but -a -s signals only the listener's holders, never a client" {
	hold srv tcp 127.0.0.1 --fork
	child=$(sed -n 's/^child //p' "$TMP/srv.err")
	BG_PIDS+=("$child")
	bg cli python3 "$HOLDER" tcp - --connect "$srv_port"
	wait_for "$TMP/cli.err" '^connected'
	# the parent and the child both hold the listener; only -a shows the connection
	run "$SK" whois-port -a "$srv_port"
	[[ "$output" == *"ESTABLISHED"* ]]
	run --separate-stderr "$SK" whois-port -a -s CONT "$srv_port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $srv_pid "*"sent SIGCONT"* ]]
	[[ "$stderr" == *"PID $child "*"sent SIGCONT"* ]]
	[[ "$stderr" != *"PID $cli_pid "* ]]
}

@test "-k warns that docker-proxy's container starts it again, and names the port to look for" {
	hold h tcp 127.0.0.1 --comm docker-proxy
	run --separate-stderr "$SK" whois-port -k --dry-run "$h_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"warning: PID $h_pid (docker-proxy) forwards port $h_port to a Docker container"*"docker ps --filter publish=$h_port"* ]]
	[[ "$stderr" == *"PID $h_pid (docker-proxy): would send SIGTERM"* ]]
	kill -0 "$h_pid"
}
