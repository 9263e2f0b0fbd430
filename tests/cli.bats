#!/usr/bin/env bats
# The command line contract: help, version, dispatch and usage errors.

load helpers

@test "--version prints 'sockctl X.Y.Z', then the TLS library, and exits 0" {
	run "$SK" --version
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^sockctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	[[ "${lines[1]}" =~ ^tls:\ (OpenSSL\ 3\.[0-9]+\.[0-9]+|not\ built\ in)$ ]]
	run "$SK" -V
	[ "$status" -eq 0 ]
}

@test "--help lists exactly the commands of the table, on stdout" {
	run --separate-stderr "$SK" --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"listen "* ]]
	[[ "$output" == *"connect "* ]]
	commands=$(printf '%s\n' "$output" | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 {print $1}' | sort | tr '\n' ' ')
	[ "$commands" = "connect forward listen serve-http udp-recv udp-send whois-port " ]
}

@test "every listed command answers --help and help COMMAND with exit 0" {
	for c in $("$SK" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 {print $1}'); do
		run --separate-stderr "$SK" "$c" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"usage: sockctl $c"* ]]
		[ -z "$stderr" ]
		run "$SK" help "$c"
		[ "$status" -eq 0 ]
		[[ "$output" == *"usage: sockctl $c"* ]]
	done
	run "$SK" help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Commands:"* ]]
}

@test "an unknown command is a usage error with a hint" {
	run --separate-stderr "$SK" frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"sockctl: unknown command 'frobnicate'"* ]]
	[[ "$stderr" == *"see 'sockctl --help'"* ]]
	run "$SK" help frobnicate
	[ "$status" -eq 2 ]
	run "$SK"
	[ "$status" -eq 2 ]
	run "$SK" --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--bogus'"* ]]
}

@test "unknown options and missing arguments are usage errors naming the command" {
	run --separate-stderr "$SK" connect --bogus 127.0.0.1 1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"sockctl connect: unknown option '--bogus'"* ]]
	[[ "$stderr" == *"see 'sockctl connect --help'"* ]]
	run --separate-stderr "$SK" listen -q 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"sockctl listen: unknown option '-q'"* ]]
	run --separate-stderr "$SK" connect 127.0.0.1 1 -w
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"option '-w' needs an argument"* ]]
	run --separate-stderr "$SK" connect 127.0.0.1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"missing PORT"* ]]
	run --separate-stderr "$SK" listen
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"missing PORT"* ]]
	run --separate-stderr "$SK" listen 127.0.0.1 1 2
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"too many arguments"* ]]
}

@test "bad ports and numbers are usage errors" {
	run --separate-stderr "$SK" connect 127.0.0.1 70000
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad port '70000': must be 0-65535"* ]]
	run --separate-stderr "$SK" connect 127.0.0.1 nosuchservice
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad port 'nosuchservice'"* ]]
	run --separate-stderr "$SK" connect 127.0.0.1 0
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" listen -- -5
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" connect -w abc 127.0.0.1 1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad timeout 'abc'"* ]]
	run --separate-stderr "$SK" connect -w 1.5x 127.0.0.1 1
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" connect --wait -1 127.0.0.1 1
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" listen -k -e cat --max-conns 0 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad --max-conns '0'"* ]]
	run --separate-stderr "$SK" connect -z 127.0.0.1 30-20
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"start is after end"* ]]
	run --separate-stderr "$SK" connect -z 127.0.0.1 80,,81
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" connect '[::1' 80
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"bad address '[::1'"* ]]
}

@test "conflicting options are usage errors" {
	run --separate-stderr "$SK" connect -4 -6 127.0.0.1 1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"-4 and -6 cannot be used together"* ]]
	run --separate-stderr "$SK" connect --send-only --recv-only 127.0.0.1 1
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" connect -z -e cat 127.0.0.1 1
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" connect -e cat --crlf 127.0.0.1 1
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" connect -U /tmp/x 127.0.0.1 1
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" listen -U /tmp/x -4
	[ "$status" -eq 2 ]
	run --separate-stderr "$SK" listen --max-conns 3 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--max-conns needs -k and -e"* ]]
	run --separate-stderr "$SK" listen -s 127.0.0.1 127.0.0.1 0
	[ "$status" -eq 2 ]
}

@test "a closed stdout is reported (git-style stdout check)" {
	run --separate-stderr bash -c "'$SK' --help > /dev/full"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"write error on stdout: No space left on device"* ]]
}
