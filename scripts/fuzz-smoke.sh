#!/usr/bin/env bash
# scripts/fuzz-smoke.sh [SECONDS] — runs every libFuzzer target for a bounded
# time on a copy of its seed corpus; fails on any crash, leak or sanitizer report.
set -u
cd "$(dirname "$0")/.."
FUZZ_B=${FUZZ_B:-build-fuzz}
secs=${1:-30}
pass=0 fail=0
for f in "$FUZZ_B"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f"); name=${name#fuzz_}
	work=$(mktemp -d /tmp/peernet-fuzz.XXXXXX)
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	if "$f" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
		echo "PASS: fuzz/$name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') runs)"
		pass=$((pass + 1))
	else
		echo "FAIL: fuzz/$name"
		tail -n 30 "$work.log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
	rm -rf "$work" "$work.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
