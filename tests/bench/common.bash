# shellcheck shell=bash
# Shared by the benchmarks (sourced): a temp dir, the background processes
# they start (killed by PID, never by name, on any exit) and installs.

die() { echo "${0##*/}: $*" >&2; exit 1; }

# PIDS: background processes of the current run; CURRENT_PID: one more,
# set while it runs (a client the script waits for).
PIDS=()
CURRENT_PID=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sockctl-bench.XXXXXX")
cleanup() {
	local p i
	for p in $CURRENT_PID "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in $CURRENT_PID "${PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# install_missing CMD:PKG...: installs the packages whose command is missing.
install_missing() {
	local -a pkgs=()
	local pair
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null || pkgs+=("${pair#*:}")
	done
	((${#pkgs[@]})) || return 0
	local sudo=; ((EUID == 0)) || sudo=sudo
	echo "installing ${pkgs[*]}" >&2
	{ $sudo apt-get update -qq && $sudo apt-get install -y -qq "${pkgs[@]}"; } >/dev/null ||
		die "could not install ${pkgs[*]}"
}

# result MEASURE RATIO TARGET: one line of the summary table that `make
# bench` prints and charts (tests/bench/report). MEASURE names what is
# compared, RATIO is sockctl over the peer, TARGET is the goal as
# ">=2" or "<=1.5". Appended to $BENCH_RESULTS when that is set.
result() {
	local met
	met=$(awk -v r="$2" -v t="$3" 'BEGIN {
		v = substr(t, 3) + 0
		print ((substr(t, 1, 2) == ">=") ? (r >= v) : (r <= v)) ? "met" : "NOT met" }')
	printf 'result: %-44s %7sx  target %sx  %s\n' "$1" "$2" "$3" "$met"
	[ -z "${BENCH_RESULTS:-}" ] || printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$met" >>"$BENCH_RESULTS"
}
