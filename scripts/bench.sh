#!/usr/bin/env bash
# scripts/bench.sh — runs every benchmark binary; each prints BENCH lines.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
export PEERNET_VECTORS=${PEERNET_VECTORS:-$PWD/tests/vectors}
export PEERNET_BIN="$PWD/$B/bin"
rc=0
for b in "$B"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "# $(basename "$b")"
	"$b" || rc=1
done
for b in bench/*.sh; do
	[ -f "$b" ] || continue
	echo "# $(basename "$b")"
	bash "$b" || rc=1
done
exit $rc
