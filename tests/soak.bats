#!/usr/bin/env bats
# Soak: listen -k -e and serve-http each take 2,000 clients one after
# another and 200 at once; afterwards the server has no more fds, children
# or memory than before (memory is not compared under ASan, whose
# quarantine keeps freed memory on purpose).

load helpers

SWARM="$BATS_TEST_DIRNAME/peers/swarm.py"

rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# settled PID FDS: waits (bounded) until PID has at most FDS fds and no children.
settled() {
	wait_until 10 fds_at_most "$1" "$2" && wait_until 10 no_children "$1" || {
		echo "fds $(fd_count "$1") (before $2), children: $(children_of "$1")"
		return 1
	}
}

# no_growth PID FDS RSS: fds and children back to the baseline; RSS within 256 KiB.
no_growth() {
	settled "$1" "$2"
	if [ -z "${SAN_LOG_DIR:-}" ]; then
		local now
		now=$(rss_kib "$1")
		[ "$now" -le $(($3 + 256)) ] || { echo "RSS grew from $3 to $now KiB"; return 1; }
	fi
}

@test "soak: listen -k -e serves 2,000 sequential and 200 concurrent clients without growing" {
	bg srv "$SK" listen -v -k --max-conns 256 -e 'echo hi' 127.0.0.1 0
	port=$(port_of "$TMP/srv.err")
	run timeout 120 python3 "$SWARM" tcp "$port" 200 20 hi # warm-up
	[ "$output" = "ok 220" ]
	settled "$srv_pid" 1000
	fds=$(fd_count "$srv_pid")
	rss=$(rss_kib "$srv_pid")
	run timeout 300 python3 "$SWARM" tcp "$port" 2000 200 hi
	[ "$status" -eq 0 ]
	[ "$output" = "ok 2200" ]
	no_growth "$srv_pid" "$fds" "$rss"
}

@test "soak: serve-http serves 2,000 sequential and 200 concurrent clients without growing" {
	mkdir "$TMP/www"
	head -c 20000 /dev/urandom >"$TMP/www/page"
	bg http "$SK" serve-http -p 0 -b 127.0.0.1 --log /dev/null "$TMP/www"
	port=$(port_of "$TMP/http.err")
	run timeout 120 python3 "$SWARM" http "$port" 200 20 /page
	[ "$output" = "ok 220" ]
	settled "$http_pid" 1000
	fds=$(fd_count "$http_pid")
	rss=$(rss_kib "$http_pid")
	run timeout 300 python3 "$SWARM" http "$port" 2000 200 /page
	[ "$status" -eq 0 ]
	[ "$output" = "ok 2200" ]
	no_growth "$http_pid" "$fds" "$rss"
}
