# tests/integration/lib.sh — helpers for integration scripts (sourced).
# Each case prints "PASS: suite/case", "FAIL: suite/case: why" or "SKIP: ...".
set -u
SUITE=$(basename "${BASH_SOURCE[1]}" .sh)
BIN=${PEERNET_BIN:-$PWD/build/bin}
CTL="$BIN/peernetctl"
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
	TMPDIRS+=("$d")
	echo "$d"
}

t_cleanup() {
	local d
	for d in "${TMPDIRS[@]}"; do
		"$CTL" -d "$d" down >/dev/null 2>&1
		rm -rf "$d"
	done
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
