#!/usr/bin/env bats
# forward: every client of a local port relayed to a target. The targets and
# clients are a scripted python3 peer (forward_helpers.bash), sockctl
# connect, haproxy reading the PROXY header, openssl s_client and s_server;
# a target that never answers lives in a network namespace the test makes.
# Every forward binds port 0 and is found through its 'listening on' line.

load helpers
load tls_helpers
load forward_helpers

setup_file() {
	export FPEER="$BATS_FILE_TMPDIR/fpeer.py" C="$BATS_FILE_TMPDIR/certs" TLS_OFF=
	write_fpeer "$FPEER"
	if tls_built_in; then
		make_certs "$C"
	else
		TLS_OFF=1
	fi
}

eval "helpers_$(declare -f teardown)"
teardown() {
	helpers_teardown
	teardown_netns
}

need_tls() {
	[ -z "$TLS_OFF" ] || skip "sockctl is built without TLS"
}

# path_env fast|copy: the environment for the splice path or the read/write
# path, with forward saying how each connection's bytes went
# (SOCKCTL_DEBUG=forward).
path_env() {
	if [ "$1" = copy ]; then
		echo SOCKCTL_DEBUG=forward SOCKCTL_NO_SPLICE=1
	else
		echo -u SOCKCTL_NO_SPLICE SOCKCTL_DEBUG=forward
	fi
}

# expect_path FILE fast|copy BYTES: forward's log FILE says its connection
# moved its BYTES the way it was asked to: all by read/write (copy), or
# by splice but for the first reads of each direction (fast: a flow starts
# with recv/send and splices once a read brings 16 KiB or more).
expect_path() {
	local line spliced copied
	wait_for "$1" ' bytes by splice, ' || return 1
	line=$(grep -E ' bytes by splice, [0-9]+ by read/write$' "$1" | tail -n 1)
	spliced=$(sed -E 's/.*: ([0-9]+) bytes by splice, ([0-9]+) by read\/write$/\1/' <<<"$line")
	copied=$(sed -E 's/.*: ([0-9]+) bytes by splice, ([0-9]+) by read\/write$/\2/' <<<"$line")
	echo "path $2: $spliced spliced, $copied copied of $3" >&2
	[ $((spliced + copied)) -eq "$3" ] || return 1
	if [ "$2" = copy ]; then
		[ "$spliced" -eq 0 ]
	else
		# A flow copies until a read fills its buffer: the first few reads.
		[ "$copied" -le 1048576 ] && [ "$spliced" -ge $(($3 * 9 / 10)) ]
	fi
}

# up PATH: 20 MiB from the client to the target.
up() {
	make_data "$TMP/up" 20
	target tgt sink
	FWD_ENV=$(path_env "$1") fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	run --separate-stderr "$SK" connect 127.0.0.1 "$fport" <"$TMP/up"
	[ "$status" -eq 0 ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "20971520 $(sha "$TMP/up")" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE "^sockctl forward: 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$tport: 20971520 up, 0 down, [0-9.]+ s, closed$"
	expect_path "$TMP/fwd.err" "$1" 20971520
}

# down PATH: 20 MiB from the target to the client.
down() {
	make_data "$TMP/down" 20
	target tgt source "$TMP/down"
	FWD_ENV=$(path_env "$1") fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	"$SK" connect 127.0.0.1 "$fport" </dev/null >"$TMP/got"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "0 $(sha /dev/null)" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " -> 127\.0\.0\.1:$tport: 0 up, 20971520 down, [0-9.]+ s, closed$"
	expect_path "$TMP/fwd.err" "$1" 20971520
}

# both PATH: 20 MiB each way at once.
both() {
	make_data "$TMP/up" 20
	make_data "$TMP/down" 20
	target tgt both "$TMP/down"
	FWD_ENV=$(path_env "$1") fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	"$SK" connect 127.0.0.1 "$fport" <"$TMP/up" >"$TMP/got"
	[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "20971520 $(sha "$TMP/up")" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " -> 127\.0\.0\.1:$tport: 20971520 up, 20971520 down, [0-9.]+ s, closed$"
	expect_path "$TMP/fwd.err" "$1" 41943040
}

@test "20 MiB client to target, splice path, sha256 intact and logged" {
	up fast
}

@test "20 MiB target to client, splice path" {
	down fast
}

@test "20 MiB each way at once, splice path" {
	both fast
}

@test "20 MiB client to target, read/write path (SOCKCTL_NO_SPLICE=1)" {
	up copy
}

@test "20 MiB target to client, read/write path" {
	down copy
}

@test "20 MiB each way at once, read/write path" {
	both copy
}

@test "half-close: the client's EOF reaches the target, whose late reply (1 MiB) still arrives, both paths" {
	make_data "$TMP/reply" 1
	for path in fast copy; do
		target tgt late "$TMP/reply"
		FWD_ENV=$(path_env "$path") fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
		printf 'question\n' >"$TMP/q"
		run peer 127.0.0.1 "$fport" send "$TMP/q"
		[ "$status" -eq 0 ]
		[ "$output" = "1048576 $(sha "$TMP/reply")" ]
		wait_exit "$tgt_pid"
		[ "$(cat "$TMP/tgt.out")" = "9 $(sha "$TMP/q")" ]
		wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' 9 up, 1048576 down, .*, closed$'
		expect_path "$TMP/fwd.err" "$path" 1048585
		kill "$fwd_pid"
		wait_exit "$fwd_pid"
	done
}

@test "half-close: sockctl listen -e reads to EOF, then answers 'late'" {
	bg tgt "$SK" listen -v -e 'cat >/dev/null; echo late' 127.0.0.1 0
	tport=$(port_of "$TMP/tgt.err")
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	run --separate-stderr "$SK" connect 127.0.0.1 "$fport" <<<"some words"
	[ "$status" -eq 0 ]
	[ "$output" = late ]
}

@test "half-close: the target half-closes first, the client keeps sending 1 MiB after it, both paths" {
	make_data "$TMP/more" 1
	for path in fast copy; do
		target tgt first 'bye now'
		FWD_ENV=$(path_env "$path") fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
		run peer 127.0.0.1 "$fport" after-eof "$TMP/more"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "b'bye now'" ]
		[ "${lines[1]}" = "sent 1048576, then eof" ]
		wait_exit "$tgt_pid"
		[ "$(cat "$TMP/tgt.out")" = "1048576 $(sha "$TMP/more")" ]
		wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' 1048576 up, 7 down, .*, closed$'
		expect_path "$TMP/fwd.err" "$path" 1048583
		kill "$fwd_pid"
		wait_exit "$fwd_pid"
	done
}

@test "a target's reset resets the client, and is logged as reset" {
	target tgt reset
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	run peer 127.0.0.1 "$fport" wait-end $'hello\n'
	[ "$status" -eq 0 ]
	[ "$output" = "reset after 0" ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "reset sent" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " -> 127\.0\.0\.1:$tport: 6 up, 0 down, [0-9.]+ s, reset( \(.*\))?$"
}

@test "a client's reset resets the target" {
	target tgt greet
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	run peer 127.0.0.1 "$fport" reset-after-greet
	[ "$output" = "reset sent" ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "1 reset after 0" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " 0 up, 5 down, [0-9.]+ s, reset( \(.*\))?$"
}

@test "unix targets: a path and an abstract name, 4 MiB each way" {
	make_data "$TMP/up" 4
	make_data "$TMP/down" 4
	for t in "$TMP/t.sock" "@sockctl-fwd-$$-$BATS_TEST_NUMBER"; do
		target tgt --unix "$t" both "$TMP/down"
		fwd fwd 127.0.0.1:0 "unix:$t"
		"$SK" connect 127.0.0.1 "$fport" <"$TMP/up" >"$TMP/got"
		[ "$(sha "$TMP/got")" = "$(sha "$TMP/down")" ]
		wait_exit "$tgt_pid"
		[ "$(cat "$TMP/tgt.out")" = "4194304 $(sha "$TMP/up")" ]
		wait_until 5 lines_at_least "$TMP/fwd.err" 1 " -> $t: 4194304 up, 4194304 down, .*, closed$"
		kill "$fwd_pid"
		wait_exit "$fwd_pid"
	done
}

@test "unix LISTEN: a path (removed at exit) and an abstract name" {
	make_data "$TMP/up" 2
	for l in "$TMP/f.sock" "@sockctl-fwdl-$$-$BATS_TEST_NUMBER"; do
		target tgt echo
		fwd fwd "unix:$l" "127.0.0.1:$tport"
		grep -qxF "sockctl forward: listening on $l" "$TMP/fwd.err"
		run peer "unix:$l" - send "$TMP/up"
		[ "$status" -eq 0 ]
		[ "$output" = "2097152 $(sha "$TMP/up")" ]
		wait_until 5 lines_at_least "$TMP/fwd.err" 1 " -> 127\.0\.0\.1:$tport: 2097152 up, 2097152 down, .*, closed$"
		kill "$fwd_pid"
		st=0
		wait_exit "$fwd_pid" || st=$?
		[ "$st" -eq 0 ]
	done
	[ ! -e "$TMP/f.sock" ]
}

@test "IPv6: [::1] on both sides" {
	have_ipv6 || skip "no IPv6 loopback"
	make_data "$TMP/up" 2
	target tgt --host ::1 echo
	fwd fwd '[::1]:0' "[::1]:$tport"
	grep -qE '^sockctl forward: listening on \[::1\]:[0-9]+$' "$TMP/fwd.err"
	run peer ::1 "$fport" send "$TMP/up"
	[ "$status" -eq 0 ]
	[ "$output" = "2097152 $(sha "$TMP/up")" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE "^sockctl forward: \[::1\]:[0-9]+ -> \[::1\]:$tport: 2097152 up, 2097152 down, [0-9.]+ s, closed$"
}

@test "200 clients at once, each sha-checked; then no fd growth and no child" {
	target tgt --count 200 echo
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	base=$(fd_count "$fwd_pid")
	run peer 127.0.0.1 "$fport" swarm 200 64
	[ "$status" -eq 0 ]
	[ "$output" = "ok 200" ]
	wait_exit "$tgt_pid" 20
	[ "$(grep -c '^echoed 65536$' "$TMP/tgt.out")" -eq 200 ]
	wait_until 10 lines_at_least "$TMP/fwd.err" 200 ' 65536 up, 65536 down, .*, closed$'
	# Sockets back to the baseline; the splice pool keeps at most 32 pipes.
	wait_until 5 other_fds_at_most "$fwd_pid" "$base"
	wait_until 5 fds_at_most "$fwd_pid" $((base + 64))
	no_children "$fwd_pid"
	kill -0 "$fwd_pid"
}

@test "--max-conns 2: a third client waits in the backlog until one leaves" {
	target tgt --count 3 greet
	fwd fwd --max-conns 2 127.0.0.1:0 "127.0.0.1:$tport"
	bg c1 python3 "$FPEER" client 127.0.0.1 "$fport" hold-greet "$TMP/c1.leave"
	wait_until 10 out_has c1 '^hi '
	bg c2 python3 "$FPEER" client 127.0.0.1 "$fport" hold-greet "$TMP/c2.leave"
	wait_until 10 out_has c2 '^hi '
	bg c3 python3 "$FPEER" client 127.0.0.1 "$fport" hold-greet "$TMP/c3.leave"
	# Connected by the kernel, not taken by forward: it sits in the backlog.
	wait_until 10 backlog_is "$fport" 1
	[ ! -s "$TMP/c3.out" ]
	[ ! -s "$TMP/tgt.out" ]
	touch "$TMP/c1.leave"
	wait_until 10 out_has c3 '^hi 3$'
	wait_until 5 out_has tgt '^[12] eof after 0$'
	backlog_is "$fport" 0
	touch "$TMP/c2.leave" "$TMP/c3.leave"
	wait_exit "$tgt_pid"
	wait_until 5 lines_at_least "$TMP/fwd.err" 3 ', closed$'
}

@test "--idle 1: a pair that moves nothing is closed after about 1 s, logged idle" {
	target tgt greet
	fwd fwd --idle 1 127.0.0.1:0 "127.0.0.1:$tport"
	start=$(date +%s%N)
	run peer 127.0.0.1 "$fport" hold-greet "$TMP/never"
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "${lines[0]}" = "hi 1" ]
	[ "${lines[1]}" = eof ]
	[ "$ms" -ge 900 ] && [ "$ms" -lt 4000 ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "1 eof after 0" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " -> 127\.0\.0\.1:$tport: 0 up, 5 down, [0-9.]+ s, idle$"
	kill -0 "$fwd_pid"
}

# crowd_check N: the settled crowd has some connections served and the rest
# waiting in the backlog, none reset; once the served ones leave, all N are
# served, none reset.
crowd_check() {
	local last
	last=$(tail -n 1 "$TMP/crowd.out")
	echo "crowd: $last; forward: $(grep -v ', closed$' "$TMP/fwd.err" | tail -n 3)" >&2
	[[ $last =~ ^greeted\ ([0-9]+)\ waiting\ ([0-9]+)\ reset\ 0$ ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[2]}" -gt 0 ]
	touch "$TMP/leave"
	wait_for "$TMP/crowd.out" '^done ' 20
	[ "$(tail -n 1 "$TMP/crowd.out")" = "done greeted $1 reset 0" ]
	! grep -q 'Too many open files' "$TMP/fwd.err"
}

@test "the default --max-conns fits the fd limit: 150 clients at once with 256 fds, the excess waits in the backlog" {
	target tgt --count 150 greet
	bg fwd bash -c 'ulimit -n 256 && exec "$0" forward 127.0.0.1:0 "$1"' "$SK" "127.0.0.1:$tport"
	fport=$(port_of "$TMP/fwd.err")
	bg crowd python3 "$FPEER" client 127.0.0.1 "$fport" crowd 150 "$TMP/leave"
	wait_until 15 crowd_settled "$fport"
	crowd_check 150
}

@test "a full fd table: 60 clients, 64 fds, --max-conns 1000: the excess waits in the backlog (none reset as unreachable), no spinning" {
	target tgt --count 60 greet
	bg fwd bash -c 'ulimit -n 64 && exec "$0" forward --max-conns 1000 127.0.0.1:0 "$1"' "$SK" "127.0.0.1:$tport"
	fport=$(port_of "$TMP/fwd.err")
	bg crowd python3 "$FPEER" client 127.0.0.1 "$fport" crowd 60 "$TMP/leave"
	wait_until 15 crowd_settled "$fport"
	ticks=$(cpu_ticks "$fwd_pid")
	sleep 1 # a window to measure forward's CPU time in, not a synchronisation
	[ $(($(cpu_ticks "$fwd_pid") - ticks)) -lt 30 ]
	crowd_check 60
}

@test "SIGTERM: new clients are refused, the transfer in flight finishes intact, exit 0" {
	make_data "$TMP/up" 1
	target tgt sink
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	# 1 MiB at 512 KiB/s: about 2 s.
	bg cli python3 "$FPEER" client 127.0.0.1 "$fport" slow "$TMP/up" 512
	wait_for "$TMP/cli.err" '^started$'
	kill -TERM "$fwd_pid"
	# The listening socket is closed: refused at once, not left in a backlog.
	wait_until 5 not_connectable "$fport"
	run -1 "$SK" connect -w 2 127.0.0.1 "$fport" </dev/null
	[[ "$output" == *"Connection refused"* ]]
	wait_exit "$cli_pid" 20
	[ "$(cat "$TMP/cli.out")" = "sent 1048576, got 0" ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "1048576 $(sha "$TMP/up")" ]
	st=0
	wait_exit "$fwd_pid" 10 || st=$?
	[ "$st" -eq 0 ]
	log_lines "$TMP/fwd.err" | grep -qE " 1048576 up, 0 down, [0-9.]+ s, closed$"
}

# not_connectable PORT: a connect to 127.0.0.1:PORT is refused.
not_connectable() {
	! python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)' "$1" 2>/dev/null
}

@test "a second SIGTERM closes everything at once, logged stopped" {
	make_data "$TMP/up" 1
	target tgt sink
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	# 1 MiB at 32 KiB/s: 32 s, far longer than the test waits.
	bg cli python3 "$FPEER" client 127.0.0.1 "$fport" slow "$TMP/up" 32
	wait_for "$TMP/cli.err" '^started$'
	kill -TERM "$fwd_pid"
	wait_until 5 not_connectable "$fport"
	kill -0 "$fwd_pid"
	kill -TERM "$fwd_pid"
	st=0
	wait_exit "$fwd_pid" 3 || st=$?
	[ "$st" -eq 0 ]
	grep -qE ' -> .*: [0-9]+ up, 0 down, [0-9.]+ s, stopped$' "$TMP/fwd.err"
	# Both ends are told: the target sees the connection end at once, and the
	# client's sending fails.
	wait_exit "$tgt_pid" 3
	grep -qE '^(reset after|[0-9]+ )' "$TMP/tgt.out"
	wait_exit "$cli_pid" 3 || [ $? -ne 124 ]
}

@test "--grace 1: a transfer still going 1 s after SIGTERM is cut, logged stopped, exit 0" {
	make_data "$TMP/up" 1
	target tgt sink
	fwd fwd --grace 1 127.0.0.1:0 "127.0.0.1:$tport"
	bg cli python3 "$FPEER" client 127.0.0.1 "$fport" slow "$TMP/up" 32
	wait_for "$TMP/cli.err" '^started$'
	start=$(date +%s%N)
	kill -TERM "$fwd_pid"
	st=0
	wait_exit "$fwd_pid" 5 || st=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$st" -eq 0 ]
	[ "$ms" -ge 900 ] && [ "$ms" -lt 3500 ]
	grep -qE ' -> 127\.0\.0\.1:[0-9]+: [0-9]+ up, 0 down, [0-9.]+ s, stopped$' "$TMP/fwd.err"
	wait_exit "$tgt_pid" 3
	grep -qE '^(reset after|[0-9]+ )' "$TMP/tgt.out"
}

@test "a target that refuses: the client is reset, logged unreachable, and the next client is served" {
	target tgt --listen-when "$TMP/go" echo
	fwd fwd 127.0.0.1:0 "127.0.0.1:$tport"
	run peer 127.0.0.1 "$fport" wait-end $'hello\n'
	[ "$status" -eq 0 ]
	[ "$output" = "reset after 0" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE "^sockctl forward: 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1(:$tport)?: 0 up, 0 down, [0-9.]+ s, unreachable \(.*Connection refused\)$"
	touch "$TMP/go"
	wait_for "$TMP/tgt.err" '^accepting$'
	printf 'again\n' >"$TMP/q"
	run peer 127.0.0.1 "$fport" send "$TMP/q"
	[ "$output" = "6 $(sha "$TMP/q")" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' 6 up, 6 down, .*, closed$'
	# The target as ADDR:PORT (CLI.md's log line), though it was never reached.
	log_lines "$TMP/fwd.err" | grep -qE " -> 127\.0\.0\.1:$tport: 0 up, 0 down, [0-9.]+ s, unreachable "
}

@test "a target that never answers (network namespace): with -w 1 the clients are reset after about 1 s, and forward keeps serving" {
	make_netns
	bg fwd ip netns exec "$NS" "$SK" forward -w 1 127.0.0.1:0 10.215.0.3:80
	fport=$(port_of "$TMP/fwd.err")
	start=$(date +%s%N)
	bg c1 ip netns exec "$NS" python3 "$FPEER" client 127.0.0.1 "$fport" wait-end $'hello\n'
	run ip netns exec "$NS" timeout 30 python3 "$FPEER" client 127.0.0.1 "$fport" wait-end $'hello\n'
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$output" = "reset after 0" ]
	[ "$ms" -ge 900 ] && [ "$ms" -lt 4000 ]
	wait_exit "$c1_pid" 5
	[ "$(cat "$TMP/c1.out")" = "reset after 0" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 2 ' -> '
	[ "$(log_lines "$TMP/fwd.err" | grep -cE ' -> 10\.215\.0\.3(:80)?: 0 up, 0 down, [0-9.]+ s, unreachable \(.*timed out\)$')" -eq 2 ]
	# Still serving: a third client is also answered in about 1 s.
	start=$(date +%s%N)
	run ip netns exec "$NS" timeout 30 python3 "$FPEER" client 127.0.0.1 "$fport" wait-end $'hello\n'
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$output" = "reset after 0" ]
	[ "$ms" -lt 4000 ]
	kill -0 "$fwd_pid"
	# The target as ADDR:PORT (CLI.md's log line), though it was never reached.
	[ "$(log_lines "$TMP/fwd.err" | grep -cE ' -> 10\.215\.0\.3:80: 0 up, 0 down, [0-9.]+ s, unreachable ')" -eq 3 ]
}

# proxied VERSION HOST LISTEN: a forward with --proxy-protocol VERSION from
# LISTEN to haproxy ($htarget); a client of HOST asks it over HTTP; haproxy
# must have seen the client's own address and port, and forward's as dst.
proxied() {
	local v=$1 host=$2 listen=$3 shown
	fwd fwd --proxy-protocol "$v" "$listen" "$htarget"
	run peer "$host" "$fport" http
	[ "$status" -eq 0 ]
	local cport=${lines[1]#local }
	[ "${lines[1]}" = "local $cport" ]
	[ "${lines[0]}" = "src=$host src_port=$cport dst=$host dst_port=$fport" ]
	shown=$host
	[[ $host == *:* ]] && shown="\\[$host\\]"
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 "^sockctl forward: $shown:$cport -> .*, closed$"
}

@test "--proxy-protocol v1: haproxy (accept-proxy) sees the client's address and port" {
	command -v haproxy >/dev/null || skip "no haproxy"
	start_haproxy tcp
	htarget="127.0.0.1:$hport"
	proxied v1 127.0.0.1 127.0.0.1:0
}

@test "--proxy-protocol v2: haproxy (accept-proxy) sees the client's address and port" {
	command -v haproxy >/dev/null || skip "no haproxy"
	start_haproxy tcp
	htarget="127.0.0.1:$hport"
	proxied v2 127.0.0.1 127.0.0.1:0
}

@test "--proxy-protocol v1 and v2 for an IPv6 client, to haproxy on a unix socket" {
	command -v haproxy >/dev/null || skip "no haproxy"
	have_ipv6 || skip "no IPv6 loopback"
	start_haproxy unix
	htarget="unix:$TMP/hap.sock"
	proxied v1 ::1 '[::1]:0'
	kill "$fwd_pid"
	wait_exit "$fwd_pid"
	proxied v2 ::1 '[::1]:0'
}

# tls_fp_of FILE: the fingerprint of forward's 'tls certificate' line in FILE.
tls_fp_of() {
	wait_for "$1" '^sockctl forward: tls certificate sha256:[0-9a-f]{64}$' &&
		sed -n 's/^sockctl forward: tls certificate \(sha256:[0-9a-f]*\)$/\1/p' "$1" | head -n 1
}

@test "--tls-in, ephemeral certificate: openssl s_client gets the printed fingerprint and the data passes" {
	need_tls
	target tgt late /dev/null
	fwd fwd --tls-in 127.0.0.1:0 "127.0.0.1:$tport"
	fpr=$(tls_fp_of "$TMP/fwd.err")
	sed -n 1p "$TMP/fwd.err" | grep -qE '^sockctl forward: listening on 127\.0\.0\.1:[0-9]+$'
	printf 'through tls\n' >"$TMP/q"
	timeout 20 openssl s_client -connect "127.0.0.1:$fport" -servername localhost \
		<"$TMP/q" >"$TMP/sc.out" 2>"$TMP/sc.err" || true
	[ "$(openssl x509 -in "$TMP/sc.out" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)" = "${fpr#sha256:}" ]
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "12 $(sha "$TMP/q")" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' 12 up, 0 down, .*, closed$'
}

@test "--tls-in --tls-cert: openssl s_client verifies it against the test CA" {
	need_tls
	target tgt --count 1 first $'hello over tls\n'
	fwd fwd --tls-in --tls-cert "$C/good.pem" --tls-key "$C/good.key" 127.0.0.1:0 "127.0.0.1:$tport"
	[ "$(tls_fp_of "$TMP/fwd.err")" = "$(fp "$C/good.pem")" ]
	timeout 20 openssl s_client -connect "127.0.0.1:$fport" -CAfile "$C/ca.pem" \
		-verify_return_error -verify_hostname localhost -ign_eof </dev/null \
		>"$TMP/sc.out" 2>"$TMP/sc.err"
	grep -q 'Verify return code: 0 (ok)' "$TMP/sc.out"
	grep -qx 'hello over tls' "$TMP/sc.out"
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "0 $(sha /dev/null)" ]
}

@test "--tls-out to openssl s_server, verified with --tls-ca" {
	need_tls
	s_server srv -cert "$C/good.pem" -key "$C/good.key" -naccept 1 -rev -quiet
	fwd fwd --tls-out --tls-ca "$C/ca.pem" 127.0.0.1:0 "127.0.0.1:$port"
	run --separate-stderr "$SK" connect 127.0.0.1 "$fport" <<<"hello tls"
	[ "$status" -eq 0 ]
	[ "$output" = "slt olleh" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 " -> 127\.0\.0\.1:$port: 10 up, 10 down, .*, closed$"
}

@test "--tls-out: a certificate for the wrong name fails as tls-failed and the client is reset" {
	need_tls
	s_server srv -cert "$C/wrongname.pem" -key "$C/wrongname.key" -naccept 1 -rev -quiet
	fwd fwd --tls-out --tls-ca "$C/ca.pem" 127.0.0.1:0 "127.0.0.1:$port"
	run peer 127.0.0.1 "$fport" wait-end $'hello\n'
	[ "$status" -eq 0 ]
	[ "$output" = "reset after 0" ]
	wait_until 5 lines_at_least "$TMP/fwd.err" 1 ' -> '
	log_lines "$TMP/fwd.err" | grep -qE " -> 127\.0\.0\.1:$port: 0 up, 0 down, [0-9.]+ s, tls-failed \(.*\)$"
	kill -0 "$fwd_pid"
}

@test "--allow/--deny: a refused client never reaches the target; -v logs it" {
	target tgt --count 1 echo
	fwd fwd -v --allow 127.0.0.0/8 --deny 127.0.0.1 127.0.0.1:0 "127.0.0.1:$tport"
	run peer 127.0.0.1 "$fport" wait-end $'hello\n'
	[[ "$output" == "eof after 0" || "$output" == "reset after 0" ]]
	wait_for "$TMP/fwd.err" '^sockctl forward: 127\.0\.0\.1:[0-9]+: refused by the access list$'
	kill "$fwd_pid"
	wait_exit "$fwd_pid"
	fwd fwd --allow 127.0.0.0/8 127.0.0.1:0 "127.0.0.1:$tport"
	printf 'ok\n' >"$TMP/q"
	run peer 127.0.0.1 "$fport" send "$TMP/q"
	[ "$output" = "3 $(sha "$TMP/q")" ]
	# The refused client never reached the target: its only client is this one.
	wait_exit "$tgt_pid"
	[ "$(cat "$TMP/tgt.out")" = "echoed 3" ]
}

@test "--deny 127.0.0.1 also refuses the v4-mapped ::ffff:127.0.0.1 of a dual-stack [::] LISTEN" {
	have_ipv6 || skip "no IPv6"
	target tgt echo
	fwd fwd -v --deny 127.0.0.1 '[::]:0' "127.0.0.1:$tport"
	run peer 127.0.0.1 "$fport" wait-end $'hello\n'
	[[ "$output" == "eof after 0" || "$output" == "reset after 0" ]]
	wait_for "$TMP/fwd.err" 'refused by the access list$'
	# ::1 is not denied: served.
	printf 'six\n' >"$TMP/q"
	run peer ::1 "$fport" send "$TMP/q"
	[ "$output" = "4 $(sha "$TMP/q")" ]
}

@test "bad LISTEN and TARGET syntax are usage errors (exit 2), nothing listens" {
	for args in "8080" "8080 host" "abc example:80" "8080 ::1:80" "8080 host:0" \
		"8080 unix:" "unix: host:80" "--proxy-protocol v3 8080 host:80" \
		"--idle x 8080 host:80" "8080 [::1:80" "8080 host:99999" "1 2 3"; do
		run --separate-stderr "$SK" forward $args
		echo "forward $args: $status: $stderr" >&2
		[ "$status" -eq 2 ]
		[[ "$stderr" == "sockctl forward: "* ]]
		[[ "$stderr" != *"listening on"* ]]
	done
	run --separate-stderr "$SK" forward 8080 ::1:80
	[[ "$stderr" == *"[::1]:PORT"* ]]
}

@test "forward --help prints the usage on stdout, exits 0, and listens nowhere" {
	run --separate-stderr timeout 5 "$SK" forward --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: sockctl forward [OPTIONS] LISTEN TARGET"* ]]
	[ -z "$stderr" ]
}

@test "-q: no 'listening on' line and no log" {
	target tgt echo
	bg fwd "$SK" forward -q 127.0.0.1:0 "127.0.0.1:$tport"
	port_of_pid "$fwd_pid" >"$TMP/port"
	fport=$(cat "$TMP/port")
	printf 'quiet\n' >"$TMP/q"
	run peer 127.0.0.1 "$fport" send "$TMP/q"
	[ "$output" = "6 $(sha "$TMP/q")" ]
	kill "$fwd_pid"
	st=0
	wait_exit "$fwd_pid" || st=$?
	[ "$st" -eq 0 ]
	[ ! -s "$TMP/fwd.err" ]
}

@test "--workers 2: both processes serve clients; they stop together, no child left" {
	target tgt --count 40 echo
	fwd fwd --workers 2 127.0.0.1:0 "127.0.0.1:$tport"
	wait_until 5 test "$(children_of "$fwd_pid" | wc -w)" -eq 2
	kids=$(children_of "$fwd_pid")
	for k in $kids; do
		wait_until 5 tcp_listen_port "$k" >/dev/null
		pipes[k]=$(pipe_fds "$k")
	done
	run peer 127.0.0.1 "$fport" swarm 40 512
	[ "$status" -eq 0 ]
	[ "$output" = "ok 40" ]
	wait_until 10 lines_at_least "$TMP/fwd.err" 40 ' 524288 up, 524288 down, .*, closed$'
	# Each worker spliced some of them (bulk flows splice): its pipe pool
	# grew (40 clients hashed over two SO_REUSEPORT sockets all land on one
	# 1 time in 2^39).
	for k in $kids; do
		[ "$(pipe_fds "$k")" -gt "${pipes[k]}" ]
	done
	kill -TERM "$fwd_pid"
	st=0
	wait_exit "$fwd_pid" 15 || st=$?
	[ "$st" -eq 0 ]
	all_gone $kids
	not_connectable "$fport"
}
