#!/usr/bin/env bats
# The relay loses nothing: big transfers both ways, over the zero-copy
# paths (splice, sendfile) and the read/write path (SOCKCTL_NO_SPLICE=1),
# half-close, terminals. SOCKCTL_DEBUG=relay makes sockctl name the mode
# each direction took, so every test of a path checks that it really ran.

load helpers

# path_env PATH: the environment for the zero-copy path (fast) or the
# read/write path (copy), with the relay naming its modes on stderr.
path_env() {
	if [ "$1" = copy ]; then
		echo "SOCKCTL_DEBUG=relay SOCKCTL_NO_SPLICE=1"
	else
		echo "SOCKCTL_DEBUG=relay"
	fi
}

# modes_of FILE DIR: the modes the relay named in FILE for DIR (send or
# recv), space-separated: one word, unless the kernel refused zero-copy
# and the direction fell back to copy after its first choice.
modes_of() {
	sed -n "s/^sockctl [a-z-]*: relay $2: \([a-z]*\)\$/\1/p" "$1" | paste -sd ' '
}

# expect_mode FILE DIR PATH FAST_MODE: DIR took FAST_MODE on the fast path,
# copy on the copy path, and nothing else.
expect_mode() {
	local want=$4
	[ "$3" = copy ] && want=copy
	[ "$(modes_of "$1" "$2")" = "$want" ] || {
		echo "$1: relay $2 took '$(modes_of "$1" "$2")', expected '$want'" >&2
		return 1
	}
}

# client_to_server PATH STDIN_KIND: 24 MiB from connect's stdin to
# listen's stdout (a file), checked by sha256.
client_to_server() {
	local path=$1 kind=$2 env
	env=$(path_env "$path")
	make_data "$TMP/in" 24
	bg srv env $env "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	if [ "$kind" = pipe ]; then
		run --separate-stderr env $env bash -c "cat '$TMP/in' | '$SK' connect 127.0.0.1 $port"
	else
		run --separate-stderr env $env "$SK" connect 127.0.0.1 "$port" <"$TMP/in"
	fi
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_exit "$srv_pid"
	[ "$(sha "$TMP/in")" = "$(sha "$TMP/srv.out")" ]
	# stderr holds the mode lines and nothing else.
	printf '%s\n' "$stderr" >"$TMP/cli.err"
	[ "$(grep -vc ': relay \(send\|recv\): ' "$TMP/cli.err")" -eq 0 ]
	if [ "$kind" = pipe ]; then
		expect_mode "$TMP/cli.err" send "$path" splice
	else
		expect_mode "$TMP/cli.err" send "$path" sendfile
	fi
	# Socket to a file: spliced through a private pipe.
	expect_mode "$TMP/srv.err" recv "$path" pipe
}

# server_to_client PATH OUT_KIND: 24 MiB from listen's stdin (a file) to
# connect's stdout (a pipe or a file).
server_to_client() {
	local path=$1 kind=$2 env
	env=$(path_env "$path")
	make_data "$TMP/in" 24
	BG_STDIN="$TMP/in" bg srv env $env "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	if [ "$kind" = pipe ]; then
		env $env "$SK" connect 127.0.0.1 "$port" </dev/null 2>"$TMP/cli.err" | cat >"$TMP/got"
	else
		env $env "$SK" connect 127.0.0.1 "$port" </dev/null >"$TMP/got" 2>"$TMP/cli.err"
	fi
	wait_exit "$srv_pid"
	[ "$(sha "$TMP/in")" = "$(sha "$TMP/got")" ]
	expect_mode "$TMP/srv.err" send "$path" sendfile
	if [ "$kind" = pipe ]; then
		expect_mode "$TMP/cli.err" recv "$path" splice
	else
		expect_mode "$TMP/cli.err" recv "$path" pipe
	fi
}

@test "24 MiB client to server, pipe stdin, splice path" {
	client_to_server fast pipe
}

@test "24 MiB client to server, file stdin, sendfile path" {
	client_to_server fast file
}

@test "24 MiB client to server, pipe stdin, read/write path" {
	client_to_server copy pipe
}

@test "24 MiB client to server, file stdin, read/write path" {
	client_to_server copy file
}

@test "24 MiB server to client, pipe stdout, splice path" {
	server_to_client fast pipe
}

@test "24 MiB server to client, file stdout, splice path (through a private pipe)" {
	server_to_client fast file
}

@test "24 MiB server to client, pipe stdout, read/write path" {
	server_to_client copy pipe
}

@test "24 MiB server to client, file stdout, read/write path" {
	server_to_client copy file
}

@test "16 MiB both ways at once through two sockctl, no deadlock (both paths)" {
	make_data "$TMP/a" 16
	make_data "$TMP/b" 16
	for path in fast copy; do
		env=$(path_env $path)
		rm -f "$TMP/srv.err" # else port_of may read the last round's port
		BG_STDIN="$TMP/a" bg srv env $env "$SK" listen -v 127.0.0.1 0
		port=$(port_of "$TMP/srv.err")
		cat "$TMP/b" | env $env timeout 60 "$SK" connect 127.0.0.1 "$port" 2>"$TMP/cli.err" |
			cat >"$TMP/got"
		wait_exit "$srv_pid"
		[ "$(sha "$TMP/a")" = "$(sha "$TMP/got")" ]
		[ "$(sha "$TMP/b")" = "$(sha "$TMP/srv.out")" ]
		expect_mode "$TMP/srv.err" send $path sendfile
		expect_mode "$TMP/srv.err" recv $path pipe
		expect_mode "$TMP/cli.err" send $path splice
		expect_mode "$TMP/cli.err" recv $path splice
	done
}

@test "half-close: the peer reads to EOF, then its whole reply arrives (both paths)" {
	make_data "$TMP/in" 8
	make_data "$TMP/reply" 8
	for path in fast copy; do
		rm -f "$TMP/peer.err" # else port_of may read the last round's port
		bg peer python3 "$PEER" server sink "$TMP/reply"
		port=$(port_of "$TMP/peer.err")
		env $(path_env $path) timeout 30 "$SK" connect 127.0.0.1 "$port" <"$TMP/in" \
			>"$TMP/got" 2>"$TMP/cli.err"
		wait_exit "$peer_pid"
		[ "$(cat "$TMP/peer.out")" = "$((8 * 1024 * 1024)) $(sha "$TMP/in")" ]
		[ "$(sha "$TMP/reply")" = "$(sha "$TMP/got")" ]
		expect_mode "$TMP/cli.err" send $path sendfile
		expect_mode "$TMP/cli.err" recv $path pipe
	done
}

@test "half-close the other way: the peer sends and shuts down first, then reads our data whole" {
	make_data "$TMP/ours" 8
	make_data "$TMP/theirs" 8
	for path in fast copy; do
		rm -f "$TMP/srv.err" # else port_of may read the last round's port
		BG_STDIN="$TMP/ours" bg srv env $(path_env $path) "$SK" listen -v 127.0.0.1 0
		port=$(port_of "$TMP/srv.err")
		run timeout 30 python3 "$PEER" client 127.0.0.1 "$port" source "$TMP/theirs"
		[ "$status" -eq 0 ]
		[ "$output" = "$((8 * 1024 * 1024)) $(sha "$TMP/ours")" ]
		wait_exit "$srv_pid"
		[ "$(sha "$TMP/theirs")" = "$(sha "$TMP/srv.out")" ]
		expect_mode "$TMP/srv.err" send $path sendfile
		expect_mode "$TMP/srv.err" recv $path pipe
	done
}

@test "SOCKCTL_DEBUG names the relay's modes only when it lists relay" {
	printf 'abc' >"$TMP/in"
	for debug in "" http "http,relay" relay; do
		rm -f "$TMP/peer.err" # else port_of may read the last round's port
		bg peer python3 "$PEER" server sink "$TMP/in"
		port=$(port_of "$TMP/peer.err")
		run --separate-stderr env SOCKCTL_DEBUG="$debug" timeout 20 "$SK" connect --crlf 127.0.0.1 "$port" <"$TMP/in"
		[ "$status" -eq 0 ]
		[ "$output" = abc ]
		case $debug in
		*relay) [ "$stderr" = "sockctl connect: relay send: copy"$'\n'"sockctl connect: relay recv: splice" ] ;;
		*) [ -z "$stderr" ] ;;
		esac
		wait_exit "$peer_pid"
	done
}

@test "an HTTP/1.0 request piped in prints the whole response and exits by itself" {
	bg peer python3 "$PEER" server http
	port=$(port_of "$TMP/peer.err")
	run --separate-stderr timeout 20 bash -c "printf 'GET / HTTP/1.0\r\n\r\n' | '$SK' connect 127.0.0.1 $port"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == "HTTP/1.0 200 OK"* ]]
	[[ "$output" == *"end" ]]
	[ "${#output}" -gt 100000 ]
}

@test "interactive: stdin a terminal, sockctl exits as soon as the peer closes" {
	bg peer python3 "$PEER" server hello
	port=$(port_of "$TMP/peer.err")
	run timeout 20 python3 - "$SK" "$port" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "connect", "127.0.0.1", sys.argv[2]])
out, deadline = b"", time.time() + 10
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            b = os.read(fd, 1024)
        except OSError:
            break
        if not b:
            break
        out += b
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
else:
    print("still running with the terminal open"); sys.exit(1)
if not done:
    _, status = os.waitpid(pid, 0)
print(out.decode().strip(), os.waitstatus_to_exitcode(status))
PY
	[ "$status" -eq 0 ]
	[ "$output" = "hello 0" ]
}

@test "--no-shutdown keeps the connection open for writing at stdin EOF" {
	printf 'abc' >"$TMP/in"
	bg peer python3 "$PEER" server noeof 3
	port=$(port_of "$TMP/peer.err")
	run timeout 20 "$SK" connect --no-shutdown 127.0.0.1 "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "$output" = "abc no-eof" ]
	bg peer python3 "$PEER" server noeof 3
	port=$(port_of "$TMP/peer.err")
	run timeout 20 "$SK" connect 127.0.0.1 "$port" <"$TMP/in"
	[ "$output" = "abc eof" ]
}

@test "--send-only discards what arrives; --recv-only sends nothing" {
	printf 'to-peer' >"$TMP/in"
	printf 'from-peer' >"$TMP/reply"
	bg peer python3 "$PEER" server sink "$TMP/reply"
	port=$(port_of "$TMP/peer.err")
	run --separate-stderr timeout 20 "$SK" connect --send-only 127.0.0.1 "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_exit "$peer_pid"
	[ "$(cut -d' ' -f1 "$TMP/peer.out")" = 7 ]

	bg peer python3 "$PEER" server source "$TMP/reply"
	port=$(port_of "$TMP/peer.err")
	# stdin holds data, but nothing may be sent; close from our side with -w.
	run --separate-stderr timeout 20 "$SK" connect --recv-only -w 1 127.0.0.1 "$port" <"$TMP/in"
	[ "$output" = "from-peer" ]
	wait_exit "$peer_pid"
	[ "$(cut -d' ' -f1 "$TMP/peer.out")" = 0 ]
}

@test "--crlf turns bare LF into CRLF and leaves CRLF alone" {
	printf 'a\nb\r\nc\n\n' >"$TMP/in"
	bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run timeout 20 "$SK" connect --crlf 127.0.0.1 "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	wait_exit "$srv_pid"
	[ "$(od -An -c "$TMP/srv.out" | tr -s ' ')" = " a \r \n b \r \n c \r \n \r \n" ]
}

@test "-x writes a direction-marked hex dump on stderr, data unchanged" {
	printf 'hello' >"$TMP/in"
	printf 'world!' >"$TMP/reply"
	bg peer python3 "$PEER" server sink "$TMP/reply"
	port=$(port_of "$TMP/peer.err")
	run --separate-stderr timeout 20 "$SK" connect -x 127.0.0.1 "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	[ "$output" = "world!" ]
	[[ "$stderr" == *"> 00000000  68 65 6c 6c 6f"*"|hello|"* ]]
	[[ "$stderr" == *"< 00000000  77 6f 72 6c 64 21"*"|world!|"* ]]
}

@test "--progress reports bytes and rate on stderr" {
	make_data "$TMP/in" 2
	bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run --separate-stderr timeout 20 "$SK" connect --progress 127.0.0.1 "$port" <"$TMP/in"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl connect: sent 2.0 MiB, received 0 B"*"/s"* ]]
}

@test "-w on a relay: exit 1 after SECS with no data either way" {
	bg peer python3 "$PEER" server hold
	port=$(port_of "$TMP/peer.err")
	mkfifo "$TMP/fifo"
	exec 7<>"$TMP/fifo"
	run --separate-stderr timeout 20 "$SK" connect -w 0.5 127.0.0.1 "$port" <"$TMP/fifo"
	exec 7>&-
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sockctl connect: 127.0.0.1:$port: no data for 0.5 s, closing"* ]]
}

@test "stdout closed early (| head -c 1): quiet, exit 0, no hang" {
	make_data "$TMP/in" 8
	BG_STDIN="$TMP/in" bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run --separate-stderr timeout 20 bash -c "set -o pipefail; '$SK' connect 127.0.0.1 $port </dev/null | head -c 1 >/dev/null"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "a full disk on stdout is an error naming stdout" {
	make_data "$TMP/in" 1
	BG_STDIN="$TMP/in" bg srv "$SK" listen -v 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run --separate-stderr timeout 20 bash -c "'$SK' connect 127.0.0.1 $port </dev/null >/dev/full"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"write to output: No space left on device"* ]]
}

@test "a reset by the peer is exit 1 with the address and the reason" {
	bg peer python3 "$PEER" server reset
	port=$(port_of "$TMP/peer.err")
	mkfifo "$TMP/fifo"
	exec 7<>"$TMP/fifo"
	printf 'x' >&7
	run --separate-stderr timeout 20 "$SK" connect 127.0.0.1 "$port" <"$TMP/fifo"
	exec 7>&-
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sockctl connect: 127.0.0.1:$port: receive: Connection reset by peer"* ]]
}

@test "the fast path really splices and sendfiles; SOCKCTL_NO_SPLICE really does not" {
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot work under ptrace; ASan and UBSan still do.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	make_data "$TMP/in" 4
	for kind in pipe file; do
		for mode in SOCKCTL_DEBUG=relay SOCKCTL_NO_SPLICE=1; do
			rm -f "$TMP/srv.err" # else port_of may read the last round's port
			bg srv env $mode strace -f -qq -o "$TMP/rx.trace" -e trace=splice,sendfile,read,write,recvfrom,sendto "$SK" listen -v 127.0.0.1 0
			port=$(port_of "$TMP/srv.err")
			if [ "$kind" = pipe ]; then
				cat "$TMP/in" | env $mode strace -f -qq -o "$TMP/tx.trace" -e trace=splice,sendfile,read,write,recvfrom,sendto "$SK" connect 127.0.0.1 "$port"
			else
				env $mode strace -f -qq -o "$TMP/tx.trace" -e trace=splice,sendfile,read,write,recvfrom,sendto "$SK" connect 127.0.0.1 "$port" <"$TMP/in"
			fi
			wait_exit "$srv_pid"
			[ "$(sha "$TMP/in")" = "$(sha "$TMP/srv.out")" ]
			moves=$(grep -cE '^[0-9]+ +(splice|sendfile)\(' "$TMP/tx.trace" "$TMP/rx.trace" | awk -F: '{s += $2} END {print s}')
			if [ "$mode" = SOCKCTL_NO_SPLICE=1 ]; then
				[ "$moves" -eq 0 ]
			else
				[ "$moves" -gt 0 ]
				# The bulk data never passes through read(2) into sockctl.
				[ "$(grep -cE '^[0-9]+ +(read|recvfrom)\([0-9]+, .*, 65536[,)].* = [1-9]' "$TMP/tx.trace" "$TMP/rx.trace" | awk -F: '{s += $2} END {print s}')" -eq 0 ]
			fi
		done
	done
}

@test "-x keeps every hex dump line when stderr shares a slow pipe with stdout" {
	# Text without '<', so the payload cannot pass for dump lines.
	head -c 196608 /dev/urandom | base64 -w 0 >"$TMP/reply"
	bg peer python3 "$PEER" server sink "$TMP/reply"
	port=$(port_of "$TMP/peer.err")
	timeout 30 "$SK" connect -x 127.0.0.1 "$port" </dev/null 2>&1 | (sleep 0.5; cat) >"$TMP/all"
	# Count the dumped bytes in the fixed-width hex columns, wherever the
	# payload (which has no newline) left a dump line in the stream.
	[ "$(grep -ao '< [0-9a-f]\{8\}  [0-9a-f ]\{49\}' "$TMP/all" | cut -c 13-61 | tr -s ' ' '\n' | grep -c .)" -eq 262144 ]
}
