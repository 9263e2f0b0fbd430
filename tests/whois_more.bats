#!/usr/bin/env bats
# whois-port additions (issue 17): lists and ranges, unix sockets, dry
# runs, units and containers, --close, unprivileged runs, --free and
# --wait-free. Holders are tests/peers/whois_holder.py processes.

load helpers
load whois_helpers

HEAD='^PROTO +LOCAL +STATE +PID +USER +UNIT +COMMAND$'

# --- lists and ranges --------------------------------------------------

@test "a list names the holders of its ports and no other; /tcp and /udp apply to the whole argument" {
	hold a tcp 127.0.0.1
	hold b tcp 127.0.0.1
	hold c udp 127.0.0.1
	run --separate-stderr "$SK" whois-port "$a_port,$c_port"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" =~ $HEAD ]]
	[ "${#lines[@]}" -eq 3 ]
	has_rows 1 PROTO=tcp LOCAL="127.0.0.1:$a_port" STATE=LISTEN PID="$a_pid"
	has_rows 1 PROTO=udp LOCAL="127.0.0.1:$c_port" STATE=BOUND PID="$c_pid"
	has_rows 0 PID="$b_pid"
	# the suffix covers every element of the list
	run --separate-stderr "$SK" whois-port "$a_port,$b_port,$c_port/tcp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	has_rows 1 PID="$a_pid"
	has_rows 1 PID="$b_pid"
	run --separate-stderr "$SK" whois-port "$a_port,$b_port,$c_port/udp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PID="$c_pid"
	# single ports and lists across arguments
	run --separate-stderr "$SK" whois-port "$a_port" "$b_port,$c_port/udp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	has_rows 1 PID="$a_pid"
	has_rows 1 PID="$c_pid"
	has_rows 0 PID="$b_pid"
	# exit 0 when any is held, 1 when none is
	f1=$(free_port)
	f2=$(free_port)
	run --separate-stderr "$SK" whois-port "$f1,$f2" "$a_port/udp"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ -n "$stderr" ]
	run --separate-stderr "$SK" whois-port "$f1" "$f2,$b_port"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PID="$b_pid"
}

@test "a range lists exactly the holders within it" {
	hold_block 6 a:0:tcp b:2:tcp c:4:udp d:5:tcp
	run --separate-stderr "$SK" whois-port "$((base + 1))-$((base + 4))"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 3 ]
	has_rows 1 PROTO=tcp LOCAL="127.0.0.1:$((base + 2))" STATE=LISTEN PID="$b_pid"
	has_rows 1 PROTO=udp LOCAL="127.0.0.1:$((base + 4))" STATE=BOUND PID="$c_pid"
	run --separate-stderr "$SK" whois-port "$base-$((base + 5))/tcp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	has_rows 1 PID="$a_pid"
	has_rows 1 PID="$b_pid"
	has_rows 1 PID="$d_pid"
	run --separate-stderr "$SK" whois-port "$base-$((base + 5))/udp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PID="$c_pid"
	# a range of one port; ranges, lists and single ports together
	run --separate-stderr "$SK" whois-port "$((base + 1))-$((base + 1))" "$((base + 3))"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run --separate-stderr "$SK" whois-port "$base,$((base + 3))-$((base + 5))" "$((base + 1))"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	has_rows 1 PID="$a_pid"
	has_rows 1 PID="$c_pid"
	has_rows 1 PID="$d_pid"
}

@test "-k over lists and ranges stops every holder and exits 0" {
	hold_block 4 a:0:tcp b:1:udp c:3:tcp
	hold o tcp 127.0.0.1
	run --separate-stderr "$SK" whois-port -k -y "$base-$((base + 1))" "$((base + 3)),$((base + 2))/tcp"
	[ "$status" -eq 0 ]
	for p in "$a_pid" "$b_pid" "$c_pid"; do
		[[ "$stderr" == *"PID $p (python3"*"stopped by SIGTERM"* ]]
		run wait_exit "$p" 5
		[ "$status" -ne 124 ]
	done
	[[ "$stderr" != *"PID $o_pid "* ]]
	kill -0 "$o_pid"
	run --separate-stderr "$SK" whois-port "$base-$((base + 3))"
	[ "$status" -eq 1 ]
}

@test "bad ranges and lists are usage errors" {
	run --separate-stderr "$SK" whois-port 9000-8000
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ "$stderr" == "sockctl whois-port: "*"start is after end"* ]]
	[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	for a in 0-5 1-70000 80,,443 "80," a-b 80-90/sctp 70000,80; do
		run --separate-stderr "$SK" whois-port "$a"
		[ "$status" -eq 2 ] || { echo "'$a': $status $stderr"; false; }
		[ -z "$output" ]
		[[ "$stderr" == "sockctl whois-port: "* ]]
		[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	done
	# one bad argument spoils the run, even after good ones
	run --separate-stderr "$SK" whois-port 80 "443,"
	[ "$status" -eq 2 ]
}

# --- unix sockets --------------------------------------------------------

@test "unix sockets by path: stream listener, bound datagram, seqpacket, bound stream" {
	d=$TMP/u
	mkdir "$d"
	hold s unix "$d/s.sock"
	hold g unix-dgram "$d/g.sock"
	hold q unix-seqpacket "$d/q,1.sock"
	hold n unix "$d/udp" --no-listen
	me=$(id -un)
	run --separate-stderr "$SK" whois-port "$d/s.sock"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" =~ $HEAD ]]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix LOCAL="$d/s.sock" STATE=LISTEN PID="$s_pid" USER="$me"
	[[ "${lines[1]}" == *"whois_holder.py unix $d/s.sock" ]]
	run --separate-stderr "$SK" whois-port "$d/g.sock"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix-dgram LOCAL="$d/g.sock" STATE=BOUND PID="$g_pid"
	# a comma belongs to the path
	run --separate-stderr "$SK" whois-port "$d/q,1.sock"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix-seqpacket LOCAL="$d/q,1.sock" STATE=LISTEN PID="$q_pid"
	# /udp after a path is part of the path
	run --separate-stderr "$SK" whois-port "$d/udp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix LOCAL="$d/udp" STATE=BOUND PID="$n_pid"
	# unix:PATH, and paths with ports
	hold t tcp 127.0.0.1
	run --separate-stderr "$SK" whois-port "unix:$d/s.sock" "$d/g.sock" "$t_port"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	has_rows 1 PID="$s_pid"
	has_rows 1 PID="$g_pid"
	has_rows 1 PID="$t_pid"
	run --separate-stderr "$SK" whois-port "$d/nothing.sock"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "unix sockets: a relative path, a symlink, a deleted socket file" {
	hold r unix x.sock --chdir "$TMP"
	ln -s "$TMP/x.sock" "$TMP/link"
	pushd "$TMP" >/dev/null
	run --separate-stderr "$SK" whois-port ./x.sock
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix LOCAL=x.sock STATE=LISTEN PID="$r_pid"
	# a bare name that is an existing socket file
	run --separate-stderr "$SK" whois-port x.sock
	[ "$status" -eq 0 ]
	has_rows 1 PID="$r_pid"
	popd >/dev/null
	# the same file by its absolute path and through a symlink
	for p in "$TMP/x.sock" "$TMP/link" "unix:$TMP/link"; do
		run --separate-stderr "$SK" whois-port "$p"
		[ "$status" -eq 0 ] || { echo "$p: $status"; false; }
		[ "${#lines[@]}" -eq 2 ]
		has_rows 1 LOCAL=x.sock STATE=LISTEN PID="$r_pid"
	done
	# a deleted socket file is matched by the name it was bound as
	hold g unix "$TMP/gone.sock"
	rm "$TMP/gone.sock"
	run --separate-stderr "$SK" whois-port "$TMP/gone.sock"
	[ "$status" -eq 0 ]
	has_rows 1 LOCAL="$TMP/gone.sock" PID="$g_pid"
	run --separate-stderr "$SK" whois-port "$TMP/never.sock"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "unix:@NAME finds abstract sockets; --json has port null and a unit key" {
	name="sockctl-test-$$-$BATS_TEST_NUMBER"
	hold a unix "@$name"
	hold b unix-dgram "@$name-d"
	hold g unix-dgram "$TMP/g.sock"
	run --separate-stderr "$SK" whois-port "unix:@$name"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix LOCAL="@$name" STATE=LISTEN PID="$a_pid"
	run --separate-stderr "$SK" whois-port "unix:@$name-d"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 PROTO=unix-dgram LOCAL="@$name-d" STATE=BOUND PID="$b_pid"
	run --separate-stderr "$SK" whois-port "unix:@$name-none"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run --separate-stderr "$SK" whois-port --json "unix:@$name" "$TMP/g.sock"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$TMP/rows.json"
	python3 - "$TMP/rows.json" "$name" "$a_pid" "$TMP/g.sock" "$g_pid" <<'PY'
import json, sys
path, name, apid, gpath, gpid = sys.argv[1:]
rows = json.load(open(path))
assert len(rows) == 2, rows
by = {r["pid"]: r for r in rows}
a, g = by[int(apid)], by[int(gpid)]
assert (a["proto"], a["local"], a["port"], a["state"]) == ("unix", "@" + name, None, "LISTEN"), a
assert (g["proto"], g["local"], g["port"], g["state"]) == ("unix-dgram", gpath, None, "BOUND"), g
for r in rows:
    assert "unit" in r, r
    assert isinstance(r["inode"], int) and r["inode"] > 0, r
    assert "whois_holder.py" in r["command"], r
PY
}

@test "-a on a unix socket shows the accepted end and the client end; -k stops the holder" {
	hold s unix "$TMP/s.sock" --accept
	hold c unix-client "$TMP/s.sock"
	wait_for "$TMP/s.err" '^accepted'
	run --separate-stderr "$SK" whois-port "$TMP/s.sock"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	has_rows 1 STATE=LISTEN PID="$s_pid"
	run --separate-stderr "$SK" whois-port -a "$TMP/s.sock"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^PROTO\ +LOCAL\ +REMOTE\ +STATE\ +PID\ +USER\ +UNIT\ +COMMAND$ ]]
	[ "${#lines[@]}" -eq 4 ]
	has_rows 1 PROTO=unix LOCAL="$TMP/s.sock" STATE=LISTEN PID="$s_pid"
	has_rows 1 PROTO=unix LOCAL="$TMP/s.sock" STATE=ESTABLISHED PID="$s_pid"
	has_rows 1 PROTO=unix LOCAL='*' REMOTE="$TMP/s.sock" STATE=ESTABLISHED PID="$c_pid"
	run --separate-stderr "$SK" whois-port -k -y "$TMP/s.sock"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $s_pid (python3"*"stopped by SIGTERM"* ]]
	[[ "$stderr" != *"PID $c_pid "* ]]
	run wait_exit "$s_pid" 5
	[ "$status" -ne 124 ]
	kill -0 "$c_pid"
	run --separate-stderr "$SK" whois-port "$TMP/s.sock"
	[ "$status" -eq 1 ]
}

# --- dry runs -------------------------------------------------------------

@test "-k --dry-run and -s --dry-run say what they would send and send nothing" {
	hold h tcp 127.0.0.1 --record "$TMP/h.sig"
	run --separate-stderr "$SK" whois-port -k --dry-run "$h_port"
	[ "$status" -eq 0 ]
	has_rows 1 PID="$h_pid"
	[[ "$stderr" == *"sockctl whois-port: PID $h_pid (python3): would send SIGTERM, then SIGKILL after 3.000 s"* ]]
	[[ "$stderr" != *"stopped"* ]]
	only_sentinel "$h_pid" "$TMP/h.sig"
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	run --separate-stderr "$SK" whois-port -k --grace 0.5 --dry-run "$h_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $h_pid (python3): would send SIGTERM, then SIGKILL after 0.500 s"* ]]
	only_sentinel "$h_pid" "$TMP/h.sig"
	run --separate-stderr "$SK" whois-port -s HUP --dry-run "$h_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: PID $h_pid (python3): would send SIGHUP"* ]]
	[[ "$stderr" != *"SIGTERM"* ]]
	[[ "$stderr" != *"sent SIGHUP"* ]]
	only_sentinel "$h_pid" "$TMP/h.sig"
	# a list with a unix holder too; -y changes nothing
	hold u unix "$TMP/u.sock" --record "$TMP/u.sig"
	run --separate-stderr "$SK" whois-port -s USR1 -y --dry-run "$h_port,$(free_port)" "$TMP/u.sock"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $h_pid (python3): would send SIGUSR1"* ]]
	[[ "$stderr" == *"PID $u_pid (python3): would send SIGUSR1"* ]]
	only_sentinel "$h_pid" "$TMP/h.sig"
	only_sentinel "$u_pid" "$TMP/u.sig"
	kill -0 "$h_pid"
	kill -0 "$u_pid"
	run --separate-stderr "$SK" whois-port "$h_port" "$TMP/u.sock"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	# nothing held: exit 1 as without --dry-run
	run --separate-stderr "$SK" whois-port -k --dry-run "$(free_port)"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "--dry-run does not ask on a terminal" {
	hold h tcp 127.0.0.1 --record "$TMP/h.sig"
	run on_tty n whois-port -k --dry-run "$h_port"
	[ "$status" -eq 0 ]
	[[ "$output" != *"[y/N]"* ]]
	[[ "$output" == *"PID $h_pid (python3): would send SIGTERM"* ]]
	[ "${lines[-1]}" = "exit 0" ]
	only_sentinel "$h_pid" "$TMP/h.sig"
}

@test "--dry-run alone is a usage error" {
	hold h tcp 127.0.0.1 --record "$TMP/h.sig"
	run --separate-stderr "$SK" whois-port -k --dry-run "$h_port"
	[ "$status" -eq 0 ]
	for args in "--dry-run $h_port" "--dry-run" "--dry-run --json $h_port" "--dry-run -a $h_port"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$SK" whois-port $args
		[ "$status" -eq 2 ] || { echo "'$args': $status"; false; }
		[ -z "$output" ]
		[[ "$stderr" == "sockctl whois-port: "*"--dry-run"* ]]
		[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	done
	only_sentinel "$h_pid" "$TMP/h.sig"
}

@test "--close --dry-run says what it would close and closes nothing" {
	hold h tcp 127.0.0.1 --accept --record "$TMP/h.sig"
	run --separate-stderr "$SK" whois-port --close --dry-run "$h_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: would close tcp 127.0.0.1:$h_port LISTEN (PID $h_pid python3)"* ]]
	[[ "$stderr" != *"closed tcp"* ]]
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	has_rows 1 STATE=LISTEN PID="$h_pid"
	# the listener still accepts
	hold c tcp-client "$h_port"
	wait_for "$TMP/h.err" '^accepted'
	run ! grep -q 'accept failed' "$TMP/h.err"
	only_sentinel "$h_pid" "$TMP/h.sig"
}

# --- units and containers (cgroups the tests create) -------------------------

@test "a holder in a systemd service's cgroup: UNIT, unit in JSON, and -k says how to stop the service" {
	cg_init
	hold h tcp 127.0.0.1
	u="sk-test-$$-$BATS_TEST_NUMBER.service"
	cg_put "$h_pid" "/system.slice/$u"
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" =~ $HEAD ]]
	has_rows 1 LOCAL="127.0.0.1:$h_port" PID="$h_pid" UNIT="$u"
	run --separate-stderr "$SK" whois-port --json "$h_port"
	[ "$status" -eq 0 ]
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r[0]["unit"] == sys.argv[2], r' "$output" "$u"
	run --separate-stderr "$SK" whois-port -k -y "$h_port"
	[ "$status" -eq 0 ]
	warn="sockctl whois-port: warning: PID $h_pid (python3) belongs to $u, which may start it again; to stop it for good: systemctl stop $u"
	grep -qxF "$warn" <<<"$stderr"
	[[ "$stderr" == *"$warn"*"stopped by SIGTERM"* ]]
	run wait_exit "$h_pid" 5
	[ "$status" -ne 124 ]
}

@test "a holder in a user's systemd unit is user:UNIT, with a systemctl --user hint" {
	cg_init
	hold h tcp 127.0.0.1 --record "$TMP/h.sig"
	uid=$(id -u)
	u="sk-app-$$-$BATS_TEST_NUMBER.service"
	cg_put "$h_pid" "/user.slice/user-$uid.slice/user@$uid.service/app.slice/$u"
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	has_rows 1 PID="$h_pid" UNIT="user:$u"
	run --separate-stderr "$SK" whois-port -k --dry-run "$h_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: warning: PID $h_pid (python3) belongs to user:$u, which may start it again; to stop it for good: systemctl --user -M $(id -un)@ stop $u"* ]]
	only_sentinel "$h_pid" "$TMP/h.sig"
}

@test "containers: docker (systemd and cgroupfs drivers) and podman, with how to stop them" {
	cg_init
	for k in ds dc pm; do
		hold "$k" tcp 127.0.0.1 --record "$TMP/$k.sig"
		id=$(printf '%s' "$$-$BATS_TEST_NUMBER-$k" | sha256sum | cut -c1-64)
		printf -v "${k}_id" '%s' "${id:0:12}"
	done
	cg_put "$ds_pid" "/system.slice/docker-$(printf '%s' "$$-$BATS_TEST_NUMBER-ds" | sha256sum | cut -c1-64).scope"
	# cgroupfs driver on a hybrid machine: the container in v1, none in v2
	cg_put "$dc_pid" "/docker/$(printf '%s' "$$-$BATS_TEST_NUMBER-dc" | sha256sum | cut -c1-64)" "$CG_NONE"
	cg_put "$pm_pid" "/machine.slice/libpod-$(printf '%s' "$$-$BATS_TEST_NUMBER-pm" | sha256sum | cut -c1-64).scope"
	run --separate-stderr "$SK" whois-port "$ds_port,$dc_port,$pm_port"
	[ "$status" -eq 0 ]
	has_rows 1 PID="$ds_pid" UNIT="docker:$ds_id"
	has_rows 1 PID="$dc_pid" UNIT="docker:$dc_id"
	has_rows 1 PID="$pm_pid" UNIT="podman:$pm_id"
	run --separate-stderr "$SK" whois-port --json "$ds_port,$dc_port,$pm_port"
	[ "$status" -eq 0 ]
	python3 - "$output" "$ds_pid" "docker:$ds_id" "$dc_pid" "docker:$dc_id" "$pm_pid" "podman:$pm_id" <<'PY'
import json, sys
rows = {r["pid"]: r["unit"] for r in json.loads(sys.argv[1])}
want = dict(zip(map(int, sys.argv[2::2]), sys.argv[3::2]))
assert rows == want, (rows, want)
PY
	run --separate-stderr "$SK" whois-port -k --dry-run "$ds_port,$dc_port,$pm_port"
	[ "$status" -eq 0 ]
	for k in ds dc pm; do
		pid=${k}_pid
		id=${k}_id
		rt=docker
		[ "$k" != pm ] || rt=podman
		[[ "$stderr" == *"sockctl whois-port: warning: PID ${!pid} (python3) belongs to $rt:${!id}"*"to stop it for good: $rt stop ${!id}"* ]] || {
			echo "no warning for $k: $stderr"
			false
		}
		only_sentinel "${!pid}" "$TMP/$k.sig"
	done
}

@test "a session scope is shown but not warned about; no unit is - and null" {
	cg_init
	hold s tcp 127.0.0.1
	hold n tcp 127.0.0.1 --record "$TMP/n.sig"
	uid=$(id -u)
	sc="session-$((90000 + $$ % 10000))$BATS_TEST_NUMBER.scope"
	cg_put "$s_pid" "/user.slice/user-$uid.slice/$sc"
	cg_put "$n_pid" "$CG_NONE"
	run --separate-stderr "$SK" whois-port "$s_port" "$n_port"
	[ "$status" -eq 0 ]
	has_rows 1 PID="$s_pid" UNIT="$sc"
	has_rows 1 PID="$n_pid" UNIT=-
	run --separate-stderr "$SK" whois-port --json "$s_port" "$n_port"
	python3 - "$output" "$s_pid" "$sc" "$n_pid" <<'PY'
import json, sys
rows = {r["pid"]: r for r in json.loads(sys.argv[1])}
assert rows[int(sys.argv[2])]["unit"] == sys.argv[3], rows
n = rows[int(sys.argv[4])]
assert "unit" in n and n["unit"] is None, n
PY
	run --separate-stderr "$SK" whois-port -k --dry-run "$n_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"would send SIGTERM"* ]]
	[[ "$stderr" != *"warning"* ]]
	only_sentinel "$n_pid" "$TMP/n.sig"
	run --separate-stderr "$SK" whois-port -k -y "$s_port"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"PID $s_pid (python3"*"stopped by SIGTERM"* ]]
	[[ "$stderr" != *"warning"* ]]
}

@test "cgroup v2: units read from the unified hierarchy" {
	cg_init
	hold h tcp 127.0.0.1
	hold k tcp 127.0.0.1 --record "$TMP/k.sig"
	u="sk-v2-$$-$BATS_TEST_NUMBER.service"
	id=$(printf '%s' "$$-$BATS_TEST_NUMBER" | sha256sum | cut -c1-64)
	cg_put_v2 "$h_pid" "/system.slice/$u"
	cg_put_v2 "$k_pid" "/system.slice/docker-$id.scope"
	run --separate-stderr "$SK" whois-port "$h_port,$k_port"
	[ "$status" -eq 0 ]
	has_rows 1 PID="$h_pid" UNIT="$u"
	has_rows 1 PID="$k_pid" UNIT="docker:${id:0:12}"
	run --separate-stderr "$SK" whois-port -k --dry-run "$k_port"
	[[ "$stderr" == *"warning: PID $k_pid (python3) belongs to docker:${id:0:12}"*"docker stop ${id:0:12}"* ]]
	only_sentinel "$k_pid" "$TMP/k.sig"
	run --separate-stderr "$SK" whois-port -k -y "$h_port"
	[ "$status" -eq 0 ]
	grep -qxF "sockctl whois-port: warning: PID $h_pid (python3) belongs to $u, which may start it again; to stop it for good: systemctl stop $u" <<<"$stderr"
}

# --- --close ----------------------------------------------------------------

@test "--close closes a listener: the holder lives on and the port is free" {
	[ "$(id -u)" = 0 ] || skip "needs CAP_NET_ADMIN (the unprivileged case is tested below)"
	hold h tcp 127.0.0.1 --accept
	run --separate-stderr "$SK" whois-port --close -y "$h_port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: closed tcp 127.0.0.1:$h_port LISTEN (PID $h_pid python3)"* ]]
	[[ "${stderr##*$'\n'}" == "sockctl whois-port: port $h_port is free" ]]
	wait_for "$TMP/h.err" '^accept failed' 5
	kill -0 "$h_pid"
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 1 ]
	# nothing holds the port: a new listener binds it without SO_REUSEADDR
	bind_free tcp "$h_port"
}

@test "--close without -a leaves the connections of the port alone" {
	[ "$(id -u)" = 0 ] || skip "needs CAP_NET_ADMIN (the unprivileged case is tested below)"
	hold s tcp 127.0.0.1 --accept
	hold c tcp-client "$s_port"
	wait_for "$TMP/s.err" '^accepted'
	run --separate-stderr "$SK" whois-port --close -y "$s_port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: closed tcp 127.0.0.1:$s_port LISTEN (PID $s_pid python3)"* ]]
	[[ "$stderr" != *"ESTABLISHED"* ]]
	wait_for "$TMP/s.err" '^accept failed' 5
	run --separate-stderr "$SK" whois-port -a "$s_port"
	has_rows 1 STATE=ESTABLISHED PID="$s_pid"
	has_rows 1 STATE=ESTABLISHED PID="$c_pid"
	has_rows 0 STATE=LISTEN
	run ! grep -q '^conn:' "$TMP/c.err" "$TMP/s.err"
	kill -0 "$s_pid"
	kill -0 "$c_pid"
}

@test "--close -a closes the connections too, at both ends; both processes live on" {
	[ "$(id -u)" = 0 ] || skip "needs CAP_NET_ADMIN (the unprivileged case is tested below)"
	hold s tcp 127.0.0.1 --accept
	hold c tcp-client "$s_port"
	wait_for "$TMP/s.err" '^accepted'
	run --separate-stderr "$SK" whois-port -a --close -y "$s_port" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: closed tcp 127.0.0.1:$s_port LISTEN (PID $s_pid python3)"* ]]
	# (closing one end resets the other: it may be gone before its turn)
	[[ "$stderr" == *"sockctl whois-port: closed tcp 127.0.0.1:"*" ESTABLISHED (PID "*" python3)"* ]]
	[[ "$stderr" == *"port $s_port is free"* ]]
	# the client sees its connection end (reset or aborted), and lives on
	wait_for "$TMP/c.err" '^conn: (eof|error)' 5
	wait_for "$TMP/s.err" '^conn: (eof|error)' 5
	wait_for "$TMP/s.err" '^accept failed' 5
	kill -0 "$s_pid"
	kill -0 "$c_pid"
	run --separate-stderr "$SK" whois-port -a "$s_port"
	[ "$status" -eq 1 ]
	bind_free tcp "$s_port"
}

@test "--close on a bound UDP socket" {
	[ "$(id -u)" = 0 ] || skip "needs CAP_NET_ADMIN (the unprivileged case is tested below)"
	hold u udp 127.0.0.1
	run --separate-stderr "$SK" whois-port --close -y "$u_port/udp" </dev/null
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"sockctl whois-port: closed udp 127.0.0.1:$u_port BOUND (PID $u_pid python3)"* ]]
	[[ "$stderr" == *"port $u_port/udp is free"* ]]
	wait_for "$TMP/u.err" '^recv failed' 5
	kill -0 "$u_pid"
	run --separate-stderr "$SK" whois-port "$u_port/udp"
	[ "$status" -eq 1 ]
	bind_free udp "$u_port"
}

@test "--close: unix sockets are exit 3 with a hint; conflicts and a missing PORT are usage errors" {
	hold x unix "$TMP/x.sock"
	hold h tcp 127.0.0.1
	run --separate-stderr "$SK" whois-port --close -y "$TMP/x.sock" </dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"unix sockets cannot be closed from outside their process: use --kill"* ]]
	kill -0 "$x_pid"
	run --separate-stderr "$SK" whois-port "$TMP/x.sock"
	[ "$status" -eq 0 ]
	has_rows 1 STATE=LISTEN PID="$x_pid"
	for args in "--close -k $h_port" "--close -s HUP $h_port" "--close --grace 1 $h_port" \
		"--close --free $h_port" "--close --wait-free 1 $h_port" "--close" "--close -y"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$SK" whois-port $args </dev/null
		[ "$status" -eq 2 ] || { echo "'$args': $status $stderr"; false; }
		[ -z "$output" ]
		[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	done
	kill -0 "$h_pid"
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
}

# --- unprivileged ---------------------------------------------------------------

@test "unprivileged: root's holders are shown with PID -, exit 3 and the sudo hint" {
	nobody_init other
	name="sockctl-test-$$-$BATS_TEST_NUMBER"
	hold h tcp 127.0.0.1 --record "$TMP/h.sig"
	hold a unix "@$name"
	f=$(free_port)
	run --separate-stderr as_nobody "$NB_SK" whois-port "$h_port,$f"
	[ "$status" -eq 3 ]
	[[ "${lines[0]}" =~ $HEAD ]]
	has_rows 1 LOCAL="127.0.0.1:$h_port" STATE=LISTEN PID=- USER=root
	[[ "$stderr" == *"run it with sudo to see them"* ]]
	run --separate-stderr as_nobody "$NB_SK" whois-port "unix:@$name"
	[ "$status" -eq 3 ]
	has_rows 1 PROTO=unix LOCAL="@$name" STATE=LISTEN PID=-
	[[ "$stderr" == *"run it with sudo to see them"* ]]
	run --separate-stderr as_nobody "$NB_SK" whois-port -k --dry-run "$h_port"
	[ "$status" -eq 3 ]
	only_sentinel "$h_pid" "$TMP/h.sig"
}

@test "unprivileged: --close is exit 3 with the CAP_NET_ADMIN hint and the listener keeps working" {
	nobody_init
	bg h "${NB_CMD[@]}" python3 "$NB_WH" tcp 127.0.0.1 --accept
	h_port=$(port_of "$TMP/h.err")
	run --separate-stderr as_nobody "$NB_SK" whois-port --close -y "$h_port" </dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"needs CAP_NET_ADMIN: run it with sudo"* ]]
	[[ "$stderr" != *"closed tcp"* ]]
	run --separate-stderr "$SK" whois-port "$h_port"
	[ "$status" -eq 0 ]
	has_rows 1 STATE=LISTEN
	hold c tcp-client "$h_port"
	wait_for "$TMP/h.err" '^accepted'
	run ! grep -q 'accept failed' "$TMP/h.err"
}

@test "unprivileged: --free and --wait-free work" {
	nobody_init
	hold_block 2 a:0:tcp
	run --separate-stderr as_nobody "$NB_SK" whois-port --free "$base,$((base + 1))"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 1))" ]
	[ -z "$stderr" ]
	start=$(date +%s%N)
	run --separate-stderr as_nobody "$NB_SK" whois-port --wait-free 0.3 "$base"
	[ "$status" -eq 1 ]
	[ "$(ms_since "$start")" -ge 300 ]
	[ "$stderr" = "sockctl whois-port: port $base is still held after 0.300 s" ]
	run --separate-stderr as_nobody "$NB_SK" whois-port --wait-free 5 "$((base + 1))"
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
}

# --- --free and --wait-free -------------------------------------------------------

@test "--free prints the first port of the list that nothing holds, in the order given" {
	hold_block 4 a:0:tcp b:1:tcp
	run --separate-stderr "$SK" whois-port --free "$base,$((base + 1)),$((base + 2)),$((base + 3))"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 2))" ]
	[ -z "$stderr" ]
	run --separate-stderr "$SK" whois-port --free "$((base + 3)),$((base + 2))"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 3))" ]
	run --separate-stderr "$SK" whois-port --free "$base" "$((base + 1)),$((base + 3))" "$((base + 2))"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 3))" ]
	# a range, ascending
	run --separate-stderr "$SK" whois-port --free "$((base + 1))" "$base-$((base + 3))"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 2))" ]
	# a port with only a connection on it is not free
	hold c tcp-client "$a_port"
	f=$(free_port)
	run --separate-stderr "$SK" whois-port --free "$c_port,$f"
	[ "$status" -eq 0 ]
	[ "$output" = "$f" ]
}

@test "--free /udp looks at UDP sockets only, and TCP at TCP only" {
	hold_block 3 u:0:udp t:1:tcp
	run --separate-stderr "$SK" whois-port --free "$base,$((base + 1))/udp"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 1))" ]
	run --separate-stderr "$SK" whois-port --free "$base-$((base + 2))/udp"
	[ "$status" -eq 0 ]
	[ "$output" = "$((base + 1))" ]
	run --separate-stderr "$SK" whois-port --free "$((base + 1)),$base/tcp"
	[ "$status" -eq 0 ]
	[ "$output" = "$base" ]
	run --separate-stderr "$SK" whois-port --free "$((base + 1)),$base"
	[ "$status" -eq 0 ]
	[ "$output" = "$base" ]
	[ -z "$stderr" ]
}

@test "--free: none free is exit 1 and silent; a unix path, no PORT and conflicts are usage errors" {
	hold_block 2 a:0:tcp b:1:tcp
	run --separate-stderr "$SK" whois-port --free "$base-$((base + 1))" "$base"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	hold x unix "$TMP/x.sock"
	for args in "--free" "--free $TMP/x.sock" "--free unix:@x" "--free $base $TMP/x.sock" \
		"--free -k $base" "--free -s HUP $base" "--free --json $base" "--free --dry-run $base" \
		"--free --wait-free 1 $base"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$SK" whois-port $args </dev/null
		[ "$status" -eq 2 ] || { echo "'$args': $status $stderr"; false; }
		[ -z "$output" ]
		[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	done
	kill -0 "$a_pid"
	kill -0 "$b_pid"
}

@test "--wait-free returns when the holder lets go, times out with a message, and returns at once when free" {
	hold h tcp 127.0.0.1 --close-when "$TMP/go"
	start=$(date +%s%N)
	bg w "$SK" whois-port --wait-free 5 "$h_port"
	wait_until 5 runs_sockctl "$w_pid"
	# still waiting: the port is held
	kill -0 "$w_pid"
	touch "$TMP/go"
	wait_for "$TMP/h.err" '^closed' 5
	st=0
	wait_exit "$w_pid" 5 || st=$?
	[ "$st" -eq 0 ]
	[ "$(ms_since "$start")" -lt 5000 ]
	[ ! -s "$TMP/w.out" ]
	[ ! -s "$TMP/w.err" ]
	# one that keeps holding: exit 1 after about SECS
	hold k udp 127.0.0.1
	start=$(date +%s%N)
	run --separate-stderr "$SK" whois-port --wait-free 0.5 "$k_port"
	ms=$(ms_since "$start")
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "sockctl whois-port: port $k_port is still held after 0.500 s" ]
	[ "$ms" -ge 500 ]
	[ "$ms" -lt 3000 ]
	# already free: at once
	f=$(free_port)
	start=$(date +%s%N)
	run --separate-stderr "$SK" whois-port --wait-free 5 "$f" "$k_port/tcp"
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	[ "$(ms_since "$start")" -lt 2000 ]
}

@test "--wait-free waits for every port of the list and for unix paths" {
	hold a tcp 127.0.0.1 --close-when "$TMP/go-a"
	hold u unix "$TMP/u.sock" --close-when "$TMP/go-u"
	bg w "$SK" whois-port --wait-free 5 "$a_port" "$TMP/u.sock"
	wait_until 5 runs_sockctl "$w_pid"
	touch "$TMP/go-a"
	wait_for "$TMP/a.err" '^closed' 5
	# the unix socket is still held
	kill -0 "$w_pid"
	touch "$TMP/go-u"
	wait_for "$TMP/u.err" '^closed' 5
	st=0
	wait_exit "$w_pid" 5 || st=$?
	[ "$st" -eq 0 ]
	[ ! -s "$TMP/w.err" ]
	# usage errors
	for args in "--wait-free 1" "--wait-free soon 80" "--wait-free 1 -k 80" "--wait-free 1 -s HUP 80" \
		"--wait-free 1 --json 80" "--wait-free 1 --dry-run 80"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$SK" whois-port $args </dev/null
		[ "$status" -eq 2 ] || { echo "'$args': $status $stderr"; false; }
		[[ "$stderr" == *"see 'sockctl whois-port --help'" ]]
	done
}
