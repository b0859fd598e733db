#!/usr/bin/env bash
# tests/run.sh — runs every unit-test binary in $B/tests and every integration
# script in tests/integration, prints their PASS/FAIL/SKIP lines, and ends with
# the line "N passed, N failed" (exit 1 on any failure).
#   ONLY=pattern tests/run.sh   runs only the suites whose name contains pattern
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
export PEERNET_BIN="$PWD/$B/bin"
export PEERNET_SIM="$PWD/$B/tests/sim"
export PEERNET_VECTORS=${PEERNET_VECTORS:-$PWD/tests/vectors}
# Sanitizer builds: narrow, commented suppressions only (tests/lsan.supp).
[ -n "${PEERNET_SAN:-}" ] && export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
log=$(mktemp -d /tmp/peernet-tests.XXXXXX)
pass=0 fail=0 skip=0

run_suite() {	# name, command...
	local name=$1; shift
	case "$name" in *"${ONLY:-}"*) ;; *) return ;; esac
	local out="$log/$name.out" start=$SECONDS rc
	timeout --kill-after=10 "${SUITE_TIMEOUT:-600}" "$@" >"$out" 2>"$log/$name.err"
	rc=$?
	grep -aE '^(PASS|FAIL|SKIP):|^# ' "$out" | grep -aEv '^# [^ ]+: [0-9]+ passed, [0-9]+ failed'
	local p f s
	p=$(grep -ac '^PASS:' "$out"); f=$(grep -ac '^FAIL:' "$out"); s=$(grep -ac '^SKIP:' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# A crash, a timeout or a non-zero exit without a FAIL line is a failure too.
		echo "FAIL: $name: exited with status $rc (see below)"
		tail -n 20 "$log/$name.err" | sed 's/^/    /'
		f=$((f + 1))
	elif [ "$f" -ne 0 ]; then
		tail -n 20 "$log/$name.err" | sed 's/^/    /'
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	echo "# $name: $p passed, $f failed, $s skipped ($((SECONDS - start)) s)"
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "$(basename "$t")" "$t"
done
# Integration suites bind fixed loopback addresses and name their network
# namespaces (pnnat-*, pnlan-*, ...): as root each runs in a network and
# mount namespace of its own (loopback up, a private /run/netns), so two
# runs on one host, or a suite and a running node, cannot collide.
# PEERNET_TEST_SHARED_NET=1 runs them in the caller's namespaces instead.
# The command prefix that runs a suite in a fresh network + mount namespace.
iso=(unshare -n -m --propagation private -- bash -c '
	ip link set lo up || exit 1
	mkdir -p /run/netns && mount -t tmpfs -o mode=755 netns /run/netns || exit 1
	exec "$@"' isolated)
isolate=
if [ "$(id -u)" = 0 ] && [ -z "${PEERNET_TEST_SHARED_NET:-}" ] &&
    "${iso[@]}" true 2>/dev/null; then
	isolate=1
else
	echo "# integration suites share this host's network namespace (not root, or unshare refused)"
fi
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	if [ -n "$isolate" ]; then
		run_suite "$(basename "$t" .sh)" "${iso[@]}" bash "$t"
	else
		run_suite "$(basename "$t" .sh)" bash "$t"
	fi
done
rm -rf "$log"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
