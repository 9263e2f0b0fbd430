#!/usr/bin/env bats
# forward against the fd limit: a full fd table pauses accepting instead
# of spinning, and accepting resumes once pairs have closed.

load helpers

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "forward: a full fd table pauses accepting (no spinning), and it resumes when pairs close" {
	bg target "$SK" listen -v -k -e cat 127.0.0.1 0
	tport=$(port_of "$TMP/target.err")
	# 40 fds: the pairs run out of them long before --max-conns.
	bg fwd bash -c "ulimit -n 40 && exec \"\$0\" \"\$@\"" "$SK" forward --max-conns 1000 \
		127.0.0.1:0 127.0.0.1:"$tport"
	fport=$(port_of "$TMP/fwd.err")
	# 40 clients that connect, hold for 3 s, then close.
	bg clients python3 -c '
import socket, sys, time
cs = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(40)]
print("connected", flush=True)
time.sleep(3)
for c in cs:
    c.close()
print("closed", flush=True)' "$fport"
	wait_for "$TMP/clients.out" connected
	wait_until 10 lines_at_least "$TMP/target.err" 10 'connection from'
	# Starved, it sleeps: under a fifth of a second of CPU in one second.
	t0=$(cpu_ticks "$fwd_pid")
	sleep 1
	t1=$(cpu_ticks "$fwd_pid")
	echo "CPU ticks while starved: $((t1 - t0))" >&2
	[ $((t1 - t0)) -lt 20 ]
	# Not all 40 could be paired.
	[ "$(grep -c 'connection from' "$TMP/target.err")" -lt 40 ]
	wait_for "$TMP/clients.out" closed 15
	# Once the pairs have closed, a new client is served end to end.
	run timeout 15 "$SK" connect -w 10 127.0.0.1 "$fport" <<<"after the storm"
	[ "$status" -eq 0 ]
	[ "$output" = "after the storm" ]
	kill -0 "$fwd_pid"
}

@test "forward: plain pairs move bulk by splice (the first buffer-full by recv/send), SOCKCTL_NO_SPLICE=1 all by read/write" {
	make_data "$TMP/in" 4
	for path in splice copy; do
		bg target "$SK" listen -v 127.0.0.1 0
		tport=$(port_of "$TMP/target.err")
		if [ "$path" = copy ]; then
			bg fwd env SOCKCTL_DEBUG=forward SOCKCTL_NO_SPLICE=1 "$SK" forward 127.0.0.1:0 127.0.0.1:"$tport"
		else
			bg fwd env SOCKCTL_DEBUG=forward "$SK" forward 127.0.0.1:0 127.0.0.1:"$tport"
		fi
		fport=$(port_of "$TMP/fwd.err")
		run timeout 20 "$SK" connect 127.0.0.1 "$fport" <"$TMP/in"
		[ "$status" -eq 0 ]
		wait_exit "$target_pid"
		cmp "$TMP/in" "$TMP/target.out"
		wait_for "$TMP/fwd.err" 'bytes by splice'
		if [ "$path" = copy ]; then
			grep -q ': 0 bytes by splice, 4194304 by read/write$' "$TMP/fwd.err"
		else
			grep -qE ': [0-9]+ bytes by splice, (0|65536) by read/write$' "$TMP/fwd.err"
			! grep -q ': 0 bytes by splice' "$TMP/fwd.err"
		fi
		kill "$fwd_pid"
		wait_exit "$fwd_pid"
	done
}
