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

@test "forward: plain pairs move bulk by splice (the first reads by recv/send), SOCKCTL_NO_SPLICE=1 all by read/write" {
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
			# Bulk by splice; the first reads (until one fills the 64 KiB buffer) copied.
			grep -qE ': [0-9]+ bytes by splice, [0-9]+ by read/write$' "$TMP/fwd.err"
			copied=$(sed -nE 's/.*: [0-9]+ bytes by splice, ([0-9]+) by read\/write$/\1/p' "$TMP/fwd.err")
			[ "$copied" -le 1048576 ]
		fi
		kill "$fwd_pid"
		wait_exit "$fwd_pid"
	done
}

# read_to_end PORT RCVBUF DELAY: a client that connects (receive buffer
# RCVBUF, 0: the default), says 'connected', sleeps DELAY seconds without
# reading, then reads to the end: 'eof after N' or 'reset after N'.
read_to_end() {
	python3 -c '
import socket, sys, time
c = socket.socket()
if int(sys.argv[2]):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[2]))
c.connect(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
time.sleep(float(sys.argv[3]))
c.settimeout(20)
n = 0
try:
    while True:
        b = c.recv(65536)
        if not b:
            print("eof after", n, flush=True)
            break
        n += len(b)
except ConnectionResetError:
    print("reset after", n, flush=True)' "$@"
}

# stalled_target: a target whose first connection gets 20 MB of 'A' and
# whose second gets 'hello from target 2' and a FIN; sets tport.
stalled_target() {
	bg target python3 -c '
import socket, sys, threading, time
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(5)
print("listening on 127.0.0.1:%d" % ls.getsockname()[1], file=sys.stderr, flush=True)
ls.settimeout(30)
def flood(c):
    try:
        c.sendall(b"A" * 20000000)
    except OSError:
        pass
c1, _ = ls.accept()
threading.Thread(target=flood, args=(c1,), daemon=True).start()
c2, _ = ls.accept()
c2.sendall(b"hello from target 2")
c2.shutdown(socket.SHUT_WR)
time.sleep(2)'
	tport=$(port_of "$TMP/target.err")
}

@test "forward: a reader that stalls costs no CPU, and a reset pair's pipe never reaches the next client" {
	stalled_target
	bg fwd "$SK" forward 127.0.0.1:0 127.0.0.1:"$tport"
	fport=$(port_of "$TMP/fwd.err")
	bg stall python3 -c '
import socket, struct, sys, time
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
c.connect(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
time.sleep(2.5)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
print("reset", flush=True)' "$fport"
	wait_for "$TMP/stall.out" connected
	sleep 0.5 # the pipe fills; then a window to measure CPU in
	t0=$(cpu_ticks "$fwd_pid")
	sleep 1
	t1=$(cpu_ticks "$fwd_pid")
	echo "CPU ticks with a stalled reader: $((t1 - t0))" >&2
	[ $((t1 - t0)) -lt 20 ]
	wait_for "$TMP/stall.out" reset
	wait_until 10 lines_at_least "$TMP/fwd.err" 1 ' -> '
	run timeout 10 "$SK" connect 127.0.0.1 "$fport" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "hello from target 2" ]
}

@test "forward --idle: a pair idle with bytes still owed to the client resets it (a FIN would say complete)" {
	stalled_target
	bg fwd "$SK" forward --idle 1 127.0.0.1:0 127.0.0.1:"$tport"
	fport=$(port_of "$TMP/fwd.err")
	run read_to_end "$fport" 4096 3
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "reset after "* ]]
	wait_for "$TMP/fwd.err" ', idle$'
}

@test "forward --tls-out: a target that closes without close_notify: every byte arrives, then an EOF; the log says why" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
		-keyout "$TMP/k.pem" -out "$TMP/c.pem" 2>/dev/null
	bg target python3 -c '
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
print("listening on 127.0.0.1:%d" % ls.getsockname()[1], file=sys.stderr, flush=True)
ls.settimeout(30)
c, _ = ls.accept()
t = ctx.wrap_socket(c, server_side=True)
t.sendall(b"B" * 8000000)
c.shutdown(socket.SHUT_RDWR)  # the TCP connection only: no close_notify
c.close()' "$TMP/c.pem" "$TMP/k.pem"
	tport=$(port_of "$TMP/target.err")
	bg fwd "$SK" forward --tls-out --tls-insecure 127.0.0.1:0 127.0.0.1:"$tport"
	fport=$(port_of "$TMP/fwd.err")
	# A client that only reads (a half-close of its own would reach the
	# target as a close_notify it never reads, and its close would reset).
	run read_to_end "$fport" 0 0
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "eof after 8000000" ]
	wait_for "$TMP/fwd.err" ' -> '
	grep -q '0 up, 8000000 down, .*, closed (read from target: TLS: connection closed without close_notify' "$TMP/fwd.err"
}

@test "forward --workers: a second SIGTERM reaches the workers, which reset their pairs and log them (no silent SIGKILL)" {
	stalled_target
	bg fwd "$SK" forward --workers 2 --grace 20 127.0.0.1:0 127.0.0.1:"$tport"
	fport=$(port_of "$TMP/fwd.err")
	bg client read_to_end "$fport" 4096 2
	wait_for "$TMP/client.out" connected
	wait_until 10 [ -n "$(children_of "$fwd_pid")" ]
	kill -TERM "$fwd_pid"
	sleep 0.3 # the second signal must come during the grace, not with the first
	kill -TERM "$fwd_pid"
	wait_exit "$fwd_pid" 10
	wait_for "$TMP/client.out" 'after' 15
	grep -q '^reset after' "$TMP/client.out"
	grep -q ', stopped$' "$TMP/fwd.err"
}
