# tests/integration/lib.sh — helpers for integration scripts (sourced).
# Each case prints "PASS: suite/case", "FAIL: suite/case: why" or "SKIP: ...".
set -u
SUITE=$(basename "${BASH_SOURCE[1]}" .sh)
BIN=${PEERNET_BIN:-$PWD/build/bin}
CTL="$BIN/peernetctl"
# Directories to clean up are listed in a file: t_mkdir runs in $(...) subshells.
T_REGISTRY=$(mktemp /tmp/peernet-it-reg.XXXXXX)
TMPDIRS=()

t_pass() { echo "PASS: $SUITE/$1"; }
t_fail() { echo "FAIL: $SUITE/$1: $2"; }
t_skip() { echo "SKIP: $SUITE/$1: $2"; }
# t_check NAME COND-COMMAND... : PASS if the command succeeds.
t_check() { local n=$1; shift; if "$@"; then t_pass "$n"; else t_fail "$n" "'$*' failed"; fi; }

t_mkdir() {	# a fresh node directory, removed at exit
	local d
	d=$(mktemp -d /tmp/peernet-it.XXXXXX)
	chmod 755 "$d"
	echo "$d" >> "$T_REGISTRY"
	echo "$d"
}

t_cleanup() {
	local d
	# Nodes stop in parallel: a test may leave dozens running.
	while read -r d; do
		[ -n "$d" ] && "$CTL" -d "$d" down >/dev/null 2>&1 &
	done < "$T_REGISTRY"
	wait
	while read -r d; do
		[ -n "$d" ] && rm -rf "$d"
	done < "$T_REGISTRY"
	for d in "${TMPDIRS[@]}"; do
		rm -rf "$d"
	done
	rm -f "$T_REGISTRY"
}
trap t_cleanup EXIT

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
