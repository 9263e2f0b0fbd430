# Helpers for forward.bats: a python3 peer that plays the target or the
# client (forward's both ends, scripted), forward itself in the background,
# haproxy as a PROXY-protocol-reading target, and a network namespace whose
# far address never answers. Loaded after helpers.bash (and tls_helpers.bash).

# fwd NAME ARGS...: sockctl forward ARGS in the background (bg NAME), in
# the environment plus $FWD_ENV (env(1) arguments); sets fport to the port
# of its 'listening on' line (unix LISTEN: fport empty).
fwd() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # FWD_ENV is a list of words
	bg "$name" env ${FWD_ENV:-} "$SK" forward "$@"
	wait_for "$TMP/$name.err" 'listening on ' || return 1
	fport=$(sed -n 's/.*listening on .*:\([0-9]\{1,5\}\)$/\1/p' "$TMP/$name.err" | head -n 1)
}

# target NAME ARGS...: the python peer as a server (ARGS: fpeer's server
# options and mode); sets tport to its port (unix: empty).
target() {
	local name=$1
	shift
	bg "$name" python3 "$FPEER" server "$@"
	wait_for "$TMP/$name.err" 'listening on ' || return 1
	tport=$(sed -n 's/.*listening on .*:\([0-9]\{1,5\}\)$/\1/p' "$TMP/$name.err" | head -n 1)
}

# peer ARGS...: the python peer as a client, in the foreground, bounded.
peer() {
	timeout 30 python3 "$FPEER" client "$@"
}

# log_lines FILE: forward's per-connection log lines in FILE.
log_lines() {
	grep -E '^sockctl forward: .* -> .*: [0-9]+ up, [0-9]+ down, [0-9]+\.[0-9]{3} s, ' "$1"
}

# pipe_fds PID: how many pipe fds PID holds (forward's splice pool).
pipe_fds() {
	local f n=0
	for f in /proc/"$1"/fd/*; do
		[[ "$(readlink "$f" 2>/dev/null)" == pipe:* ]] && n=$((n + 1))
	done
	echo "$n"
}

# other_fds_at_most PID N: PID holds at most N fds that are not pipes.
other_fds_at_most() {
	[ $(($(fd_count "$1") - $(pipe_fds "$1"))) -le "$2" ]
}

# backlog_of PORT: the accept queue length (Recv-Q) of the TCP listener on
# 127.0.0.1:PORT.
backlog_of() {
	ss -Hltn "sport = :$1" | awk '{print $2; exit}'
}

# backlog_is PORT N: predicate for wait_until.
backlog_is() { [ "$(backlog_of "$1")" = "$2" ]; }

# stdout_has NAME PATTERN: $TMP/NAME.out has a line matching PATTERN.
out_has() { grep -qE -- "$2" "$TMP/$1.out"; }

have_ipv6() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# haproxy_cfg FILE BIND: a haproxy config that reads a PROXY header on BIND
# (accept-proxy) and answers every HTTP request with what the header said
# (src, src_port, dst, dst_port), logging each connection on stdout.
haproxy_cfg() {
	cat >"$1" <<EOF
global
	log stdout format raw local0
defaults
	mode http
	log global
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend fe
	bind $2 accept-proxy
	http-request return status 200 content-type text/plain lf-string "src=%[src] src_port=%[src_port] dst=%[dst] dst_port=%[dst_port]\n"
EOF
}

# start_haproxy tcp|unix: haproxy in the foreground (-db) as bg 'hap'. tcp:
# on a free port of 127.0.0.1 (haproxy cannot bind port 0; a port another
# process takes in between makes haproxy exit, and another is tried), sets
# hport; unix: on $TMP/hap.sock.
start_haproxy() {
	local try
	if [ "$1" = unix ]; then
		haproxy_cfg "$TMP/hap.cfg" "unix@$TMP/hap.sock"
		bg hap haproxy -db -f "$TMP/hap.cfg"
		wait_until 10 test -S "$TMP/hap.sock"
		return
	fi
	for try in 1 2 3 4 5; do
		hport=$(free_port)
		haproxy_cfg "$TMP/hap.cfg" "127.0.0.1:$hport"
		bg hap haproxy -db -f "$TMP/hap.cfg"
		if wait_until 10 haproxy_up "$hap_pid" "$hport"; then
			kill -0 "$hap_pid" 2>/dev/null && return 0
		fi
	done
	echo "haproxy did not start:" >&2
	cat "$TMP/hap.err" >&2
	return 1
}

# haproxy_up PID PORT: PID listens on PORT, or has exited (bind failed).
haproxy_up() {
	kill -0 "$1" 2>/dev/null || return 0
	[ "$(tcp_listen_port "$1")" = "$2" ]
}

# make_netns: a network namespace of the test's own ($NS) with a veth pair
# to a second one ($NS2), 10.215.0.1/24 here and 10.215.0.2 there; frames
# for 10.215.0.3 go to a MAC nobody has, so a SYN to it is never answered.
# Skips without root or ip(8). teardown_netns removes them.
make_netns() {
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null || skip "needs root and ip(8) for network namespaces"
	NS="sockctl-fa-$$-$BATS_TEST_NUMBER"
	NS2="sockctl-fb-$$-$BATS_TEST_NUMBER"
	ip netns add "$NS" || skip "cannot create a network namespace here"
	ip netns add "$NS2"
	ip -n "$NS" link add f0 type veth peer name g0 netns "$NS2"
	ip -n "$NS" addr add 10.215.0.1/24 dev f0
	ip -n "$NS2" addr add 10.215.0.2/24 dev g0
	ip -n "$NS" link set lo up
	ip -n "$NS2" link set lo up
	ip -n "$NS" link set f0 up
	ip -n "$NS2" link set g0 up
	ip -n "$NS" neigh add 10.215.0.3 lladdr 02:00:00:00:00:99 dev f0 nud permanent
}

teardown_netns() {
	[ -n "${NS:-}" ] && ip netns delete "$NS" 2>/dev/null
	[ -n "${NS2:-}" ] && ip netns delete "$NS2" 2>/dev/null
	return 0
}

# write_fpeer FILE: writes the python3 peer.
write_fpeer() {
	cat >"$1" <<'EOF'
"""Peers for forward.bats: each end of forward, scripted.

    fpeer.py server [--unix PATH] [--host H] [--count N] [--listen-when FILE] MODE [ARG]
        listens on H (default 127.0.0.1) port 0, or on the unix socket PATH
        ('@NAME': abstract); prints 'listening on ADDR:PORT' ('listening on
        unix:PATH') on stderr; serves N connections (default 1), each in its
        own thread; prints one line per connection on stdout. --listen-when
        FILE: bind at once, listen() only once FILE exists (until then a
        connect is refused), then print 'accepting' on stderr.
    fpeer.py client HOST PORT MODE [ARG]   (HOST unix:PATH: PORT is ignored)

Server modes:
    sink          read to the end: 'N SHA' (or 'reset after N')
    source FILE   send FILE, half-close, read to the end: 'N SHA'
    both FILE     send FILE while reading: 'N SHA' of what was read
    echo          send everything back, half-close at EOF: 'echoed N'
    late FILE     read to the end ('N SHA'), only then send FILE and close
    first TEXT    send TEXT and half-close at once, then read to the end: 'N SHA'
    reset         read a line, then close with a reset (SO_LINGER 0): 'reset sent'
    greet         send 'hi K' (K: the connection's number, from 1), then read
                  to the end: 'K eof after N' or 'K reset after N'

Client modes (they print on stdout):
    send FILE     send FILE, half-close, read to the end: 'N SHA' of what came
                  back, or 'reset after N'
    ask TEXT      send TEXT, half-close, read to the end: repr of what came
    after-eof FILE  read to the end first and print repr of it, then send FILE,
                  half-close, and read to the end: 'sent N, then eof'
    wait-end TEXT send TEXT, read to the end: 'eof after N' or 'reset after N'
    reset-after-greet  read a line, then close with a reset: 'reset sent'
    hold-greet FILE  read a line and print it; then hold the connection until
                  FILE exists ('left') or the far end closes it ('eof' or 'reset')
    slow FILE KIBPS  send FILE at about KIBPS KiB/s in 8 KiB pieces (printing
                  'started' after the first), half-close, read to the end:
                  'sent N, got M'
    crowd N FILE  N connections from one process, each waiting for its greeting
                  line (a 'greet' target); prints 'greeted G waiting W reset R'
                  whenever that changes (W: not greeted yet, R: ended before
                  their greeting); once FILE exists, closes every greeted one;
                  ends when all N are greeted and closed, or R > 0
    swarm N KIB   N clients at once (all connected before any sends) each send
                  KIB KiB of its own random bytes to an echo target and check
                  the sha256 of what comes back: 'ok N', or the failures
    http          'GET / HTTP/1.0', then print the body and 'local PORT'
Every blocking step has a timeout, so a broken forward cannot hang a test.
"""
import hashlib
import os
import select
import socket
import struct
import sys
import threading
import time

TIMEOUT = 20
lock = threading.Lock()


def out(*a):
    with lock:
        print(*a, flush=True)


def read_all(s):
    h, n = hashlib.sha256(), 0
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                return n, h.hexdigest(), None
            n += len(b)
            h.update(b)
    except ConnectionResetError:
        return n, h.hexdigest(), "reset"


def read_bytes(s):
    got = b""
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                return got, None
            got += b
    except ConnectionResetError:
        return got, "reset"


def read_line(s):
    got = b""
    while not got.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            break
        got += b
    return got


def send_file(s, path):
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                return
            s.sendall(b)


def report(n, digest, how):
    out("reset after %d" % n if how else "%d %s" % (n, digest))


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def serve(conn, k, mode, arg):
    if mode == "sink":
        report(*read_all(conn))
    elif mode == "source":
        send_file(conn, arg)
        conn.shutdown(socket.SHUT_WR)
        report(*read_all(conn))
    elif mode == "both":
        t = threading.Thread(target=lambda: (send_file(conn, arg), conn.shutdown(socket.SHUT_WR)))
        t.start()
        res = read_all(conn)
        t.join()
        report(*res)
    elif mode == "echo":
        n = 0
        while True:
            b = conn.recv(1 << 16)
            if not b:
                break
            n += len(b)
            conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
        out("echoed %d" % n)
    elif mode == "late":
        report(*read_all(conn))
        send_file(conn, arg)
    elif mode == "first":
        conn.sendall(arg.encode())
        conn.shutdown(socket.SHUT_WR)
        report(*read_all(conn))
    elif mode == "reset":
        read_line(conn)
        reset(conn)
        out("reset sent")
        return
    elif mode == "greet":
        conn.sendall(b"hi %d\n" % k)
        n, _, how = read_all(conn)
        out("%d %s after %d" % (k, how or "eof", n))
    else:
        raise SystemExit("unknown mode " + mode)
    conn.close()


def server(opts, mode, arg):
    unix = opts.get("unix")
    if unix:
        s = socket.socket(socket.AF_UNIX)
        s.bind("\0" + unix[1:] if unix.startswith("@") else unix)
        where = "unix:" + unix
    else:
        host = opts.get("host", "127.0.0.1")
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.bind((host, 0))
        where = "%s:%d" % ("[%s]" % host if ":" in host else host, s.getsockname()[1])
    print("listening on " + where, file=sys.stderr, flush=True)
    when = opts.get("listen-when")
    if when:
        deadline = time.time() + TIMEOUT
        while not os.path.exists(when) and time.time() < deadline:
            time.sleep(0.02)
    s.listen(512)
    if when:
        print("accepting", file=sys.stderr, flush=True)
    s.settimeout(TIMEOUT)
    threads = []
    for k in range(1, int(opts.get("count", "1")) + 1):
        conn, _ = s.accept()
        conn.settimeout(TIMEOUT)
        t = threading.Thread(target=serve, args=(conn, k, mode, arg))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def connect(host, port):
    if host.startswith("unix:"):
        path = host[5:]
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(TIMEOUT)
        s.connect("\0" + path[1:] if path.startswith("@") else path)
        return s
    return socket.create_connection((host, int(port)), timeout=TIMEOUT)


def swarm(host, port, n, kib):
    conns, errors = [], []
    for _ in range(n):
        conns.append(connect(host, port))
    barrier = threading.Barrier(n)

    def one(c):
        try:
            data = os.urandom(kib * 1024)
            barrier.wait(TIMEOUT)
            t = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
            t.start()
            got, how = read_bytes(c)
            t.join()
            if how or hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
                raise RuntimeError("%d of %d bytes back%s" % (len(got), len(data),
                                                              ", then a reset" if how else ""))
        except Exception as e:  # counted below
            with lock:
                errors.append(str(e))
        finally:
            c.close()

    threads = [threading.Thread(target=one, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        out("%d failed, first: %s" % (len(errors), errors[0]))
        sys.exit(1)
    out("ok %d" % n)


def crowd(host, port, n, leave):
    socks, reset_n = [], 0
    for _ in range(n):
        try:
            socks.append(connect(host, port))
        except ConnectionResetError:  # reset before connect() returned
            reset_n += 1
    for c in socks:
        c.setblocking(False)
    got = {c: b"" for c in socks}
    greeted, open_ = set(), set(socks)
    last, deadline = None, time.time() + TIMEOUT
    while open_ and time.time() < deadline:
        state = "greeted %d waiting %d reset %d" % (len(greeted), n - len(greeted) - reset_n, reset_n)
        if state != last:
            out(state)
            last = state
        if reset_n:
            break
        if os.path.exists(leave):
            for c in list(open_ & greeted):
                c.close()
                open_.discard(c)
        r, _, _ = select.select(list(open_ - greeted), [], [], 0.02)
        for c in r:
            try:
                b = c.recv(100)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                b = b""
            if not b:  # ended, by EOF or a reset, before its greeting
                reset_n += 1
                open_.discard(c)
                c.close()
                continue
            got[c] += b
            if got[c].endswith(b"\n"):
                greeted.add(c)
    out("done greeted %d reset %d" % (len(greeted), reset_n))


def client(host, port, mode, args):
    if mode == "swarm":
        return swarm(host, port, int(args[0]), int(args[1]))
    if mode == "crowd":
        return crowd(host, port, int(args[0]), args[1])
    try:
        s = connect(host, port)
    except ConnectionResetError:
        if mode != "wait-end":
            raise
        out("reset after 0")  # the reset came before connect() returned
        return
    arg = args[0] if args else None
    if mode == "send":
        send_file(s, arg)
        s.shutdown(socket.SHUT_WR)
        report(*read_all(s))
    elif mode == "ask":
        s.sendall(arg.encode())
        s.shutdown(socket.SHUT_WR)
        got, how = read_bytes(s)
        out(repr(got) + (" then reset" if how else ""))
    elif mode == "after-eof":
        got, how = read_bytes(s)
        out(repr(got) + (" then reset" if how else ""))
        n = os.path.getsize(arg)
        send_file(s, arg)
        s.shutdown(socket.SHUT_WR)
        more, how = read_bytes(s)
        out("sent %d, then %s" % (n, how or ("eof" if not more else "more: %r" % more[:40])))
    elif mode == "wait-end":
        s.sendall(arg.encode())
        n, _, how = read_all(s)
        out("%s after %d" % (how or "eof", n))
    elif mode == "reset-after-greet":
        read_line(s)
        reset(s)
        out("reset sent")
        return
    elif mode == "hold-greet":
        out(read_line(s).decode().strip())
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if os.path.exists(arg):
                out("left")
                break
            r, _, _ = select.select([s], [], [], 0.02)
            if r:
                try:
                    b = s.recv(1 << 16)
                except ConnectionResetError:
                    out("reset")
                    break
                if not b:
                    out("eof")
                    break
                out("data %r" % b)
        else:
            out("timed out")
    elif mode == "slow":
        rate = int(args[1]) * 1024
        sent, start = 0, time.time()
        with open(arg, "rb") as f:
            while True:
                b = f.read(8192)
                if not b:
                    break
                s.sendall(b)
                if not sent:
                    print("started", file=sys.stderr, flush=True)
                sent += len(b)
                ahead = sent / rate - (time.time() - start)
                if ahead > 0:
                    time.sleep(ahead)
        s.shutdown(socket.SHUT_WR)
        got, how = read_bytes(s)
        out("sent %d, got %d%s" % (sent, len(got), " then reset" if how else ""))
    elif mode == "http":
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        local = s.getsockname()[1]
        got, _ = read_bytes(s)
        out(got.partition(b"\r\n\r\n")[2].decode().strip())
        out("local %d" % local)
    else:
        raise SystemExit("unknown mode " + mode)
    s.close()


def main(argv):
    if argv[1] == "server":
        opts, rest, i = {}, [], 2
        while i < len(argv):
            if argv[i].startswith("--"):
                opts[argv[i][2:]] = argv[i + 1]
                i += 2
            else:
                rest.append(argv[i])
                i += 1
        server(opts, rest[0], rest[1] if len(rest) > 1 else None)
    else:
        client(argv[2], argv[3], argv[4], argv[5:])


if __name__ == "__main__":
    main(sys.argv)
EOF
}

# crowd_settled PORT: a 'crowd' client ($TMP/crowd.out) has as many
# connections waiting as forward's listener on PORT has in its backlog (all
# that forward took were greeted), or has seen a reset, or is done.
crowd_settled() {
	local last w
	last=$(tail -n 1 "$TMP/crowd.out" 2>/dev/null)
	[[ $last == done* ]] && return 0
	kill -0 "$crowd_pid" 2>/dev/null || return 0
	[[ $last =~ ^greeted\ [0-9]+\ waiting\ ([0-9]+)\ reset\ ([0-9]+)$ ]] || return 1
	w=${BASH_REMATCH[1]}
	[ "${BASH_REMATCH[2]}" -gt 0 ] || [ "$(backlog_of "$1")" = "$w" ]
}

# cpu_ticks PID: user plus system time of PID, in clock ticks.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}
