#!/usr/bin/env bats
# Shell completions (bash, zsh, fish) and the man page: they load,
# complete what they should, and agree with --help.

load helpers

ROOT="$BATS_TEST_DIRNAME/.."
BASH_COMP="$ROOT/completions/sockctl.bash"
ZSH_COMP="$ROOT/completions/_sockctl"
FISH_COMP="$ROOT/completions/sockctl.fish"
MAN_PAGE="$ROOT/man/sockctl.1"
BASH_COMPLETION_LIB=/usr/share/bash-completion/bash_completion

# need_tool CMD PACKAGE: makes sure CMD is on PATH, installing PACKAGE with
# apt-get when running as root; skips the test otherwise.
need_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; }
	fi
	command -v "$1" >/dev/null 2>&1 ||
		skip "$1 is not installed and cannot be installed here (not root or no apt-get)"
}

# bash_complete MODE WORD...: completes the last WORD of "WORD..." (give
# "" for a new word) with _sockctl in a fresh bash, printing COMPREPLY
# one per line. MODE is "plain" (no bash-completion package loaded) or
# "lib" (bash-completion loaded first).
bash_complete() {
	local mode=$1
	shift
	bash --norc --noprofile -c '
		if [ "$1" = lib ]; then
			source "$2" || exit 3
			declare -F _init_completion >/dev/null || exit 3
		else
			! declare -F _init_completion >/dev/null || exit 3
		fi
		source "$3" || exit 3
		shift 3
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		# the function bash itself would call: the one "complete" registered
		spec=$(complete -p sockctl) || exit 5
		[[ $spec =~ -F\ ([^ ]+) ]] || exit 5
		"${BASH_REMATCH[1]}" sockctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 4
		((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}"
		exit 0
	' bash "$mode" "$BASH_COMPLETION_LIB" "$BASH_COMP" "$@"
}

# make_sockets DIR NAME...: unix sockets DIR/NAME (bound, then left behind).
make_sockets() {
	mkdir -p "$1"
	python3 - "$@" <<'PY'
import os, socket, sys
for name in sys.argv[2:]:
    socket.socket(socket.AF_UNIX).bind(os.path.join(sys.argv[1], name))
PY
}

# The bash checks, with or without bash-completion.
check_bash() {
	local mode=$1

	run bash_complete "$mode" sockctl ""
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "connect forward help listen serve-http udp-recv udp-send whois-port " ]

	run bash_complete "$mode" sockctl -
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "--help --version -V -h " ]

	run bash_complete "$mode" sockctl help ""
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "connect forward listen serve-http udp-recv udp-send whois-port " ]

	run bash_complete "$mode" sockctl connect --
	[ "$status" -eq 0 ]
	[[ $'\n'"$output"$'\n' == *$'\n--no-shutdown\n'* ]]
	[[ $'\n'"$output"$'\n' == *$'\n--wait\n'* ]]
	[[ $'\n'"$output"$'\n' == *$'\n--scan\n'* ]]
	[[ $'\n'"$output"$'\n' != *$'\n--keep-open\n'* ]]

	run bash_complete "$mode" sockctl listen --k
	[ "$status" -eq 0 ]
	[ "$output" = "--keep-open" ]

	run bash_complete "$mode" sockctl udp-recv --j
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "--join --json " ]

	# connect -U: existing sockets (and directories), not other files;
	# listen -U: any name.
	make_sockets "$TMP/socks" app.sock db.sock
	: >"$TMP/socks/notes.txt"
	mkdir "$TMP/socks/run"
	run bash_complete "$mode" sockctl connect -U "$TMP/socks/"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "$TMP/socks/app.sock $TMP/socks/db.sock $TMP/socks/run " ]

	run bash_complete "$mode" sockctl listen --unix "$TMP/socks/n"
	[ "$status" -eq 0 ]
	[ "$output" = "$TMP/socks/notes.txt" ]

	# whois-port: signal names, and the ports in use from sockctl itself.
	run bash_complete "$mode" sockctl whois-port --signal T
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "TERM TRAP TSTP TTIN TTOU " ]
	run bash_complete "$mode" sockctl whois-port -s SIGK
	[ "$output" = "KILL" ]
	bg hold python3 "$BATS_TEST_DIRNAME/peers/holder.py" tcp 127.0.0.1
	port=$(port_of "$TMP/hold.err")
	run bash_complete "$mode" "$SK" whois-port "$port"
	[ "$status" -eq 0 ]
	[[ $'\n'"$output"$'\n' == *$'\n'"$port"$'\n'* ]]
	run bash_complete "$mode" sockctl whois-port --al
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "--all --all-netns " ]

	# No options right after an option that takes an argument.
	for opt in -w --timeout --wait; do
		run bash_complete "$mode" sockctl connect "$opt" ""
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
	run bash_complete "$mode" sockctl listen --max-conns -
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	# forward: its options and their words, files for the TLS files,
	# LISTEN and TARGET (unix:PATH: any name, then existing sockets).
	run bash_complete "$mode" sockctl forward --proxy-protocol ""
	[ "$(printf '%s\n' "$output" | tr '\n' ' ')" = "v1 v2 " ]
	run bash_complete "$mode" sockctl forward --tls-min ""
	[ "$(printf '%s\n' "$output" | tr '\n' ' ')" = "1.2 1.3 " ]
	run bash_complete "$mode" sockctl forward --tls-o
	[ "$output" = "--tls-out" ]
	run bash_complete "$mode" sockctl forward --idle ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run bash_complete "$mode" sockctl forward --tls-cert "$TMP/socks/n"
	[ "$output" = "$TMP/socks/notes.txt" ]
	for c in listen serve-http udp-recv forward; do
		run bash_complete "$mode" sockctl "$c" --de
		[ "$output" = "--deny" ]
	done
	# COMP_WORDS holds "unix:PATH" whole here; bash, with ':' among its
	# word breaks, replaces only what follows the last colon.
	run bash_complete "$mode" sockctl forward 8080 "unix:$TMP/socks/"
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "$TMP/socks/app.sock $TMP/socks/db.sock $TMP/socks/run/ " ]
	run bash_complete "$mode" sockctl forward "unix:$TMP/socks/n"
	[ "$output" = "$TMP/socks/notes.txt" ]
	run bash_complete "$mode" sockctl forward 8080 localhost:http
	[[ $'\n'"$output"$'\n' == *$'\n'http$'\n'* ]]
	run bash_complete "$mode" sockctl forward -w 5 8080 localhost:80 ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "bash: commands, options and -U files, without bash-completion" {
	check_bash plain
}

@test "bash: commands, options and -U files, with bash-completion" {
	[ -r "$BASH_COMPLETION_LIB" ] || skip "bash-completion is not installed"
	check_bash lib
}

@test "fish: commands and options complete" {
	need_tool fish fish
	export HOME="$TMP" XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data"
	fish_complete() {
		fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$FISH_COMP" "$1" | cut -f1
	}

	run fish_complete "sockctl connect --no-sh"
	[ "$status" -eq 0 ]
	[ "$output" = "--no-shutdown" ]

	run fish_complete "sockctl "
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "connect forward help listen serve-http udp-recv udp-send whois-port " ]

	run fish_complete "sockctl listen --k"
	[ "$status" -eq 0 ]
	[ "$output" = "--keep-open" ]

	run fish_complete "sockctl connect --"
	[ "$status" -eq 0 ]
	[[ $'\n'"$output"$'\n' == *$'\n--wait\n'* ]]
	[[ $'\n'"$output"$'\n' != *$'\n--keep-open\n'* ]]

	run fish_complete "sockctl help "
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | LC_ALL=C sort | tr '\n' ' ')" = "connect forward listen serve-http udp-recv udp-send whois-port " ]

	# An option's argument: sockets for connect -U, nothing for --wait.
	make_sockets "$TMP/socks" app.sock
	: >"$TMP/socks/notes.txt"
	run fish_complete "sockctl connect -U $TMP/socks/"
	[ "$status" -eq 0 ]
	[ "$output" = "$TMP/socks/app.sock" ]
	run fish_complete "sockctl listen -U $TMP/socks/n"
	[ "$output" = "$TMP/socks/notes.txt" ]

	run fish_complete "sockctl whois-port --signal K"
	[ "$output" = "KILL" ]
	bg hold python3 "$BATS_TEST_DIRNAME/peers/holder.py" udp 127.0.0.1
	port=$(port_of "$TMP/hold.err")
	run fish_complete "$SK whois-port $port"
	[[ $'\n'"$output"$'\n' == *$'\n'"$port"$'\n'* ]]
	run fish_complete "sockctl connect --wait "
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	# forward: option words, TLS files, unix:PATH, access lists.
	run fish_complete "sockctl forward --proxy-protocol "
	[ "$(printf '%s\n' "$output" | tr '\n' ' ')" = "v1 v2 " ]
	run fish_complete "sockctl forward --tls-min "
	[ "$(printf '%s\n' "$output" | tr '\n' ' ')" = "1.2 1.3 " ]
	run fish_complete "sockctl forward --tls-key $TMP/socks/n"
	[ "$output" = "$TMP/socks/notes.txt" ]
	run fish_complete "sockctl forward 8080 unix:$TMP/socks/"
	[ "$output" = "unix:$TMP/socks/app.sock" ]
	run fish_complete "sockctl forward unix:$TMP/socks/n"
	[ "$output" = "unix:$TMP/socks/notes.txt" ]
	for c in listen serve-http udp-recv forward; do
		run fish_complete "sockctl $c --de"
		[ "$output" = "--deny" ]
	done
}

@test "zsh: _sockctl parses and compinit registers it for sockctl" {
	need_tool zsh zsh
	run zsh -n "$ZSH_COMP"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(head -n 1 "$ZSH_COMP")" = "#compdef sockctl" ]

	mkdir -p "$TMP/fpath"
	cp "$ZSH_COMP" "$TMP/fpath/"
	run env HOME="$TMP" zsh -f -c '
		fpath=("$1" $fpath)
		autoload -Uz compinit
		compinit -u -d "$2/zcompdump"
		(( $+functions[_sockctl] )) || exit 1
		print -r -- "$_comps[sockctl]"
	' zsh "$TMP/fpath" "$TMP"
	[ "$status" -eq 0 ]
	[ "$output" = "_sockctl" ]
}

@test "every command and long option of --help is in the completions and the man page" {
	local cmds c opts o f missing=
	cmds=$("$SK" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 {print $1}')
	[ -n "$cmds" ]
	opts=$("$SK" --help | grep -o -- '--[a-z0-9-]*' | grep -vx -- '--')
	for c in $cmds; do
		opts+=$'\n'$("$SK" "$c" --help | grep -o -- '--[a-z0-9-]*' | grep -vx -- '--')
	done
	opts=$(printf '%s\n' "$opts" | sort -u)
	[[ $'\n'"$opts"$'\n' == *$'\n--keep-open\n'* ]]

	# Each file as text where long options read --name: fish's "-l name"
	# (its complete lines only) and the man page's "\-\-name" are normalised.
	grep '^complete -c sockctl ' "$FISH_COMP" |
		sed -E 's/(^|[[:space:]])-l[[:space:]]+([a-z0-9-]+)/\1--\2/g' >"$TMP/fish"
	sed 's/\\//g' "$MAN_PAGE" >"$TMP/man"
	for f in "$BASH_COMP" "$ZSH_COMP" "$TMP/fish" "$TMP/man"; do
		for c in $cmds; do
			grep -qw -- "$c" "$f" || missing+=" $f:$c"
		done
		for o in $opts; do
			# Whole options: --proxy is not found inside --proxy-protocol.
			grep -qE -- "$o([^a-z0-9-]|\$)" "$f" || missing+=" $f:$o"
		done
	done
	[ -z "$missing" ] || { echo "missing:$missing"; false; }

	# And nothing else: every long option they name is one of --help's,
	# but for other programs' options the man page quotes (the command
	# whois-port's restart warnings name: systemctl --user, docker ps --filter).
	local extra= foreign=$'\n--user\n--filter\n'
	for f in "$BASH_COMP" "$ZSH_COMP" "$TMP/fish" "$TMP/man"; do
		for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$f" | sort -u); do
			[[ $f == "$TMP/man" && $foreign == *$'\n'"$o"$'\n'* ]] && continue
			[[ $'\n'"$opts"$'\n' == *$'\n'"$o"$'\n'* ]] || extra+=" $f:$o"
		done
	done
	[ -z "$extra" ] || { echo "not in --help:$extra"; false; }
}

@test "man page: groff -man -ww prints no warnings" {
	need_tool groff groff
	run groff -man -ww -z "$MAN_PAGE"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for s in NAME SYNOPSIS DESCRIPTION COMMANDS RELAY '"EXIT STATUS"' ENVIRONMENT EXAMPLES '"SEE ALSO"'; do
		grep -qx "\\.SH $s" "$MAN_PAGE" || { echo "no section $s"; false; }
	done
	grep -q SOCKCTL_NO_SPLICE "$MAN_PAGE"
}

@test "bash: host completion with bash-completion loaded prints no errors" {
	[ -r /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
	run --separate-stderr bash --norc -c 'source /usr/share/bash-completion/bash_completion
		source "$1"; COMP_WORDS=(sockctl connect localh); COMP_CWORD=2
		COMP_LINE="sockctl connect localh"; COMP_POINT=${#COMP_LINE}; _sockctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BATS_TEST_DIRNAME/../completions/sockctl.bash"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *localhost* ]]
}

@test "make install and uninstall put every file in its place under DESTDIR" {
	command -v make >/dev/null || skip "no make"
	dest="$TMP/dest"
	run make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr
	[ "$status" -eq 0 ]
	for f in bin/sockctl share/man/man1/sockctl.1 \
		share/bash-completion/completions/sockctl \
		share/zsh/site-functions/_sockctl \
		share/fish/vendor_completions.d/sockctl.fish; do
		[ -f "$dest/usr/$f" ] || { echo "missing $f"; false; }
	done
	[ "$(stat -c %a "$dest/usr/bin/sockctl")" = 755 ]
	[ "$(stat -c %a "$dest/usr/share/man/man1/sockctl.1")" = 644 ]
	run "$dest/usr/bin/sockctl" --version
	[ "${lines[0]}" = "sockctl $(sed -n 's/^VERSION *= *//p' "$ROOT/Makefile")" ]
	cmp "$ROOT/completions/sockctl.bash" "$dest/usr/share/bash-completion/completions/sockctl"
	run make -s -C "$ROOT" uninstall DESTDIR="$dest" PREFIX=/usr
	[ "$status" -eq 0 ]
	[ -z "$(find "$dest" -type f)" ]
}
