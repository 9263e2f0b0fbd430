# bash completion for sockctl(1)                          -*- shell-script -*-
#
# Works with or without the bash-completion package: _init_completion and
# _known_hosts_real are used when they exist, plain COMP_WORDS/COMP_CWORD
# and compgen otherwise.

# Service names from /etc/services, for the PORT argument: those of
# protocol $1 (tcp or udp; default tcp).
_sockctl_services()
{
	[[ -r /etc/services ]] || return 0
	awk -v proto="${1:-tcp}" '$1 !~ /^#/ && $2 ~ ("/" proto "$") { print $1 }' \
		/etc/services 2>/dev/null
}

# The ports something listens on (TCP) or is bound to (UDP), as sockctl
# itself ($1) reports them.
_sockctl_listening()
{
	"$1" whois-port 2>/dev/null |
		awk 'NR > 1 { sub(/.*:/, "", $2); if ($2 ~ /^[0-9]+$/) print $2 }' | sort -un
}

# The signal names whois-port --signal takes.
_sockctl_signals='HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE
	ALRM TERM CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH
	IO PWR SYS'

# Adds the host names matching $1 to COMPREPLY.
_sockctl_hosts()
{
	if declare -F _known_hosts_real >/dev/null 2>&1; then
		# bash-completion expects the default IFS (callers may set $'\n').
		local IFS=$' \t\n'
		_known_hosts_real -- "$1"
		# cur keeps its colons (-n :), so IPv6 literals need trimming.
		declare -F __ltrim_colon_completions >/dev/null 2>&1 &&
			__ltrim_colon_completions "$1"
	else
		local IFS=$'\n'
		COMPREPLY+=($(compgen -A hostname -- "$1"))
	fi
}

# Adds the file names matching $1 to COMPREPLY.
_sockctl_files()
{
	compopt -o filenames 2>/dev/null
	local IFS=$'\n'
	COMPREPLY+=($(compgen -f -- "$1"))
}

# Adds the unix sockets matching $1 to COMPREPLY, and directories to
# descend into.
_sockctl_sockets()
{
	compopt -o filenames 2>/dev/null
	local IFS=$'\n' f
	for f in $(compgen -f -- "$1"); do
		[[ -S $f || -d $f ]] && COMPREPLY+=("$f")
	done
}

# Adds the directory names matching $1 to COMPREPLY.
_sockctl_dirs()
{
	compopt -o filenames 2>/dev/null
	local IFS=$'\n'
	COMPREPLY+=($(compgen -d -- "$1"))
}

# --proxy's URL: the scheme (socks5://, socks5h://, socks4://, socks4a://,
# http://) matching $1; the rest, [USER[:PASS]@]HOST[:PORT], is free text.
_sockctl_proxy_url()
{
	[[ $1 == *//* ]] && return 0
	local -a r=($(compgen -W 'socks5:// socks5h:// socks4:// socks4a:// http://' -- "$1"))
	compopt -o nospace 2>/dev/null
	# bash replaces only what follows the last colon when colons break
	# words (as __ltrim_colon_completions does).
	if [[ $1 == *:* && $COMP_WORDBREAKS == *:* ]]; then
		local pre=${1%"${1##*:}"}
		r=("${r[@]#"$pre"}")
	fi
	COMPREPLY=("${r[@]}")
}

# forward's LISTEN and TARGET. They hold colons (ADDRESS:PORT, unix:PATH),
# which bash may have split into words of their own, so they are counted
# and completed from the command line itself: LISTEN a port or service,
# TARGET a host, either one unix:PATH (a new socket for LISTEN, an
# existing one for TARGET), and after HOST: a service.
_sockctl_forward_args()
{
	local line=${COMP_LINE:0:COMP_POINT} w word= n=0 found=false skip=false
	local -a lw r=()
	read -ra lw <<<"$line"
	# The word being completed, whole (empty after a space).
	if [[ $line == *[![:space:]] ]] && ((${#lw[@]})); then
		word=${lw[${#lw[@]} - 1]}
		unset 'lw[${#lw[@]}-1]'
	fi
	for w in "${lw[@]:1}"; do
		if ! $found; then
			[[ $w == forward ]] && found=true
			continue
		fi
		if $skip; then
			skip=false
			continue
		fi
		case $w in
		-w | --timeout | --max-conns | --idle | --grace | --workers | \
			--proxy-protocol | --proxy | --allow | --deny | --tls-cert | --tls-key | \
			--tls-client-ca | --tls-ca | --tls-pin | --sni | --alpn | --tls-min)
			skip=true
			continue
			;;
		-?*) continue ;;
		esac
		((n++))
	done
	((n > 1)) && return 0

	local IFS=$'\n' f
	case $word in
	unix:*)
		for f in $(compgen -f -- "${word#unix:}"); do
			# LISTEN names a new socket; TARGET must exist.
			((n == 0)) || [[ -S $f || -d $f ]] || continue
			[[ -d $f ]] && f+=/
			r+=("unix:$f")
		done
		compopt -o nospace 2>/dev/null
		;;
	*:*)
		# HOST:PORT or ADDRESS:PORT: the port, a service name.
		for f in $(_sockctl_services); do
			[[ $f == "${word##*:}"* ]] && r+=("${word%:*}:$f")
		done
		;;
	*)
		if ((n == 0)); then
			r=($(compgen -W "$(_sockctl_services)" -- "$word"))
		else
			COMPREPLY=()
			_sockctl_hosts "$word"
			r=("${COMPREPLY[@]}")
			# The port follows: no space after a single host.
			((${#r[@]} == 1)) && r=("${r[0]}:") && compopt -o nospace 2>/dev/null
		fi
		[[ -n $word && unix: == "$word"* ]] && r+=(unix:) &&
			compopt -o nospace 2>/dev/null
		;;
	esac
	# bash replaces only what follows the last colon when colons break
	# words (as __ltrim_colon_completions does).
	if [[ $word == *:* && $COMP_WORDBREAKS == *:* ]]; then
		local pre=${word%"${word##*:}"}
		r=("${r[@]#"$pre"}")
	fi
	COMPREPLY=("${r[@]}")
}

# whois-port's PORT: a list of ports and ranges, or a unix socket (PATH,
# unix:PATH, unix:@NAME). unix:PATH holds a colon, which bash may have made
# words of its own, so the word is taken from the command line itself:
# unix:PATH and paths complete existing sockets (and directories to descend
# into), other words the ports in use ($1 is sockctl), service names,
# socket files and unix:.
_sockctl_whois_args()
{
	local line=${COMP_LINE:0:COMP_POINT} word= f
	local -a lw r=()
	read -ra lw <<<"$line"
	# The word being completed, whole (empty after a space).
	[[ $line == *[![:space:]] ]] && ((${#lw[@]})) && word=${lw[${#lw[@]} - 1]}

	local IFS=$'\n'
	case $word in
	unix:@*) return 0 ;;
	unix:*)
		for f in $(compgen -f -- "${word#unix:}"); do
			if [[ -d $f ]]; then
				r+=("unix:$f/")
			elif [[ -S $f ]]; then
				r+=("unix:$f")
			fi
		done
		compopt -o nospace 2>/dev/null
		;;
	*/* | .* | \~*)
		COMPREPLY=()
		# PORT/tcp, PORT/udp, unless PORT is a directory.
		[[ $word =~ ^[[:alnum:],-]+/[a-z]*$ && ! -d ${word%/*} ]] &&
			COMPREPLY=($(compgen -W "${word%/*}/tcp"$'\n'"${word%/*}/udp" -- "$word"))
		_sockctl_sockets "$word"
		return 0
		;;
	*)
		# A list goes on after its last comma: complete the element.
		local pre=
		[[ $word == *,* ]] && pre=${word%,*},
		r=($(compgen -P "$pre" -W "$(_sockctl_listening "$1")" -- "${word##*,}"))
		r+=($(compgen -P "$pre" -W "$(_sockctl_services)" -- "${word##*,}"))
		if [[ -n $word && -z $pre ]]; then
			# Socket files of the current directory, by name.
			for f in $(compgen -f -- "$word"); do
				[[ -S $f ]] && r+=("$f")
			done
			[[ unix: == "$word"* ]] && r+=(unix:) &&
				compopt -o nospace 2>/dev/null
		fi
		;;
	esac
	# bash replaces only what follows the last colon when colons break
	# words (as __ltrim_colon_completions does).
	if [[ $word == *:* && $COMP_WORDBREAKS == *:* ]]; then
		local cpre=${word%"${word##*:}"}
		r=("${r[@]#"$cpre"}")
	fi
	COMPREPLY=("${r[@]}")
}

_sockctl()
{
	local cur prev words cword split=false
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -s -n : || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=
		((cword > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
		# '=' is a word of its own when it is in COMP_WORDBREAKS:
		# "--unix=PATH" arrives as "--unix" "=" "PATH".
		if [[ $cur == = && $prev == --* ]]; then
			cur=
			split=true
		elif [[ $prev == = ]] && ((cword > 1)) &&
			[[ ${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
			prev=${COMP_WORDS[COMP_CWORD - 2]}
			split=true
		elif [[ $cur == --*=* ]]; then
			prev=${cur%%=*}
			cur=${cur#*=}
			split=true
		fi
	fi
	COMPREPLY=()

	local global_opts='-h --help -V --version'
	local commands='listen connect udp-send udp-recv forward serve-http whois-port help'
	local common_opts='-4 --ipv4 -6 --ipv6 -n --numeric -s --source
		-U --unix -v --verbose -w --timeout -e --exec --crlf --send-only
		--recv-only --no-shutdown -x --hexdump --progress -h --help'
	# TLS: a client's options (connect) and a server's (listen, serve-http).
	local tls_client_opts='--tls --ssl --tls-ca --tls-pin --tls-insecure
		--sni --no-sni --alpn --tls-cert --tls-key --tls-min'
	local tls_server_opts='--tls --ssl --tls-cert --tls-key --tls-client-ca
		--alpn --tls-min'
	# Access lists (listen, forward, serve-http, udp-recv).
	local acl_opts='--allow --deny'
	local listen_opts="$common_opts -k --keep-open --max-conns $acl_opts $tls_server_opts"
	local connect_opts="$common_opts --wait -z --scan --proxy $tls_client_opts"
	local udp_send_opts='-4 --ipv4 -6 --ipv6 -n --numeric -s --source
		-v --verbose -w --wait -b --broadcast --size -h --help'
	local udp_recv_opts="-4 --ipv4 -6 --ipv6 -n --numeric -v --verbose
		--json -c --count -w --timeout --echo -e --exec --join -h --help
		$acl_opts"
	# forward: --tls-in and --tls-out, and each side's TLS options.
	local forward_opts="-4 --ipv4 -6 --ipv6 -n --numeric -v --verbose
		-q --quiet -w --timeout --max-conns --idle --grace --workers
		--proxy-protocol --proxy $acl_opts --tls-in --tls-out --tls-cert --tls-key
		--tls-client-ca --tls-ca --tls-pin --tls-insecure --sni --no-sni
		--alpn --tls-min -h --help"
	local serve_http_opts="-p --port -b --bind -4 --ipv4 -6 --ipv6
		-n --numeric -q --quiet --no-listing -w --timeout --max-conns
		--log --workers -H --header --cors --fallback --spa --cache --no-cache
		--precompressed --auth --auth-file --upload --overwrite --max-upload
		-h --help $acl_opts $tls_server_opts"
	local whois_port_opts='-a --all --all-netns --json -k --kill --grace
		-s --signal -y --yes --dry-run --close --free --wait-free -h --help'

	# The command is the first word that is not a global option.
	local i cmd= cmd_at=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			cmd=${words[i]}
			cmd_at=$i
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return 0
	fi

	local opts
	case $cmd in
	help)
		((cword == cmd_at + 1)) &&
			COMPREPLY=($(compgen -W "listen connect udp-send udp-recv forward serve-http whois-port" -- "$cur"))
		return 0
		;;
	listen) opts=$listen_opts ;;
	connect) opts=$connect_opts ;;
	udp-send) opts=$udp_send_opts ;;
	udp-recv) opts=$udp_recv_opts ;;
	forward) opts=$forward_opts ;;
	serve-http) opts=$serve_http_opts ;;
	whois-port) opts=$whois_port_opts ;;
	*) return 0 ;;
	esac

	# The argument of an option of serve-http (-b is --broadcast, a flag,
	# in udp-send).
	if [[ $cmd == serve-http ]]; then
		case $prev in
		-p | --port)
			local IFS=$'\n'
			COMPREPLY=($(compgen -W "$(_sockctl_services)" -- "$cur"))
			return 0
			;;
		-b | --bind)
			_sockctl_hosts "$cur"
			return 0
			;;
		--log | --fallback | --auth-file)
			_sockctl_files "$cur"
			return 0
			;;
		--max-upload)
			# A size: bytes, or K, M, G, T (1024-based).
			COMPREPLY=($(compgen -W "100M 500M 1G 2G 10G" -- "$cur"))
			return 0
			;;
		--cors)
			# Its ORIGIN is optional, and only ever --cors=ORIGIN: a
			# word after a bare --cors is not its argument.
			if $split; then
				COMPREPLY=($(compgen -W "https:// http://" -- "$cur"))
				compopt -o nospace 2>/dev/null
				# bash replaces only what follows the last colon when
				# colons break words.
				if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
					local pre=${cur%"${cur##*:}"}
					COMPREPLY=("${COMPREPLY[@]#"$pre"}")
				fi
				return 0
			fi
			;;
		--workers | -H | --header | --cache | --auth)
			return 0
			;;
		esac
	fi

	if [[ $cmd == whois-port ]]; then
		case $prev in
		-s | --signal)
			COMPREPLY=($(compgen -W "$_sockctl_signals" -- "${cur#[Ss][Ii][Gg]}"))
			return 0
			;;
		--grace | --wait-free)
			return 0
			;;
		esac
		$split && return 0
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		else
			# PORT...: the ports in use first, then service names;
			# or a unix socket.
			_sockctl_whois_args "${words[0]}"
		fi
		return 0
	fi

	# The argument of an option.
	case $prev in
	-U | --unix)
		# connect needs an existing socket; listen names a new one.
		if [[ $cmd == connect ]]; then
			_sockctl_sockets "$cur"
		elif [[ $cmd == listen ]]; then
			_sockctl_files "$cur"
		fi
		return 0
		;;
	-e | --exec)
		local IFS=$'\n'
		COMPREPLY=($(compgen -c -- "$cur" | sort -u))
		return 0
		;;
	-s | --source)
		_sockctl_hosts "$cur"
		return 0
		;;
	--tls-ca | --tls-cert | --tls-key | --tls-client-ca)
		_sockctl_files "$cur"
		return 0
		;;
	--tls-min)
		COMPREPLY=($(compgen -W "1.2 1.3" -- "$cur"))
		return 0
		;;
	--proxy-protocol)
		COMPREPLY=($(compgen -W "v1 v2" -- "$cur"))
		return 0
		;;
	--proxy)
		_sockctl_proxy_url "$cur"
		return 0
		;;
	--sni)
		_sockctl_hosts "$cur"
		return 0
		;;
	-w | --timeout | --wait | --max-conns | -c | --count | --size | --join | \
		--tls-pin | --alpn | --idle | --grace | --workers | --allow | --deny)
		return 0
		;;
	esac
	$split && return 0

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi

	if [[ $cmd == forward ]]; then
		_sockctl_forward_args
		return 0
	fi

	# Positional arguments: count those before the cursor, skipping
	# options and their arguments.
	local npos=0 unix=false dashdash=false skip=false
	for ((i = cmd_at + 1; i < cword; i++)); do
		if $skip; then
			skip=false
			continue
		fi
		# Without bash-completion, a word with colons (--proxy's URL,
		# an IPv6 address) arrives split at them: the pieces from a
		# run of colons on belong to the word before.
		[[ ${words[i]} =~ ^:+$ || ${words[i - 1]} =~ ^:+$ ]] && continue
		if ! $dashdash; then
			case ${words[i]} in
			--) dashdash=true; continue ;;
			-U | --unix | --unix=*) unix=true ;;
			esac
			# serve-http's options whose argument is the next word.
			if [[ $cmd == serve-http ]]; then
				case ${words[i]} in
				-p | --port | -b | --bind | --log | --workers | -H | --header | \
					--fallback | --cache | --auth | --auth-file | --max-upload)
					skip=true
					continue
					;;
				esac
			fi
			# Options whose argument is the next word.
			case ${words[i]} in
			-s | --source | -U | --unix | -w | --timeout | -e | --exec | \
				--max-conns | --wait | -c | --count | --size | --join | \
				--tls-ca | --tls-pin | --sni | --alpn | --tls-cert | --tls-key | \
				--tls-min | --tls-client-ca | --allow | --deny | --proxy)
				skip=true
				continue
				;;
			-?*) continue ;;
			esac
		fi
		((npos++))
	done
	$unix && return 0

	local IFS=$'\n'
	case $cmd:$npos in
	connect:0)
		_sockctl_hosts "$cur"
		;;
	connect:1 | listen:1)
		COMPREPLY=($(compgen -W "$(_sockctl_services)" -- "$cur"))
		;;
	listen:0)
		# [ADDRESS] PORT: a port or service, or a local address.
		COMPREPLY=($(compgen -W "$(_sockctl_services)" -- "$cur"))
		_sockctl_hosts "$cur"
		;;
	udp-send:0)
		_sockctl_hosts "$cur"
		;;
	udp-send:1 | udp-recv:1)
		COMPREPLY=($(compgen -W "$(_sockctl_services udp)" -- "$cur"))
		;;
	udp-recv:0)
		COMPREPLY=($(compgen -W "$(_sockctl_services udp)" -- "$cur"))
		_sockctl_hosts "$cur"
		;;
	serve-http:0)
		# [DIR]: the directory to serve.
		_sockctl_dirs "$cur"
		;;
	esac
	return 0
}

complete -F _sockctl sockctl

# ex: filetype=sh
