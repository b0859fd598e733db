#!/usr/bin/env bash
# scripts/fuzz-long.sh — the long fuzzing campaign (make fuzz-long; not run by
# CI): every libFuzzer target in $FUZZ_B (built with ASan+UBSan by make fuzz)
# runs until it has executed FUZZ_LONG_RUNS inputs (default 10 million) or
# for FUZZ_LONG_SECONDS (default 600), whichever comes first, one target at
# a time.  Then a table — target, executions, coverage (cov: and ft: of
# libFuzzer's last status line), findings, seconds, what ended the run — goes
# to stdout and to $FUZZ_B/fuzz-long.md.
#
#   FUZZ_LONG_SECONDS=600  time bound per target
#   FUZZ_LONG_RUNS=10000000  execution bound per target
#   FUZZ_LONG_TARGETS="udt_hs dl_state"  only these (default: all)
#
# Each target starts from its seed corpus (tests/fuzz/corpus/<name>) plus
# what earlier campaigns found ($FUZZ_B/fuzz-long/<name>/corpus, kept so
# that the next campaign starts further on; delete it to start afresh).  The
# seed directories are never written.  libFuzzer stops a target at its first
# finding: the crash, leak, timeout or out-of-memory input is kept in
# $FUZZ_B/fuzz-long/<name>/ and counted, the log is in the same directory,
# and the campaign goes on with the next target.  Exit status 1 if any
# target had a finding.
set -u
cd "$(dirname "$0")/.."
FUZZ_B=${FUZZ_B:-build-fuzz}
secs=${FUZZ_LONG_SECONDS:-600}
runs=${FUZZ_LONG_RUNS:-10000000}
only=${FUZZ_LONG_TARGETS:-}
root="$FUZZ_B/fuzz-long"
report="$FUZZ_B/fuzz-long.md"
mkdir -p "$root"

rows=()
total_findings=0

artifacts() {	# dir: the findings in it, one name a line
	find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
	    -o -name 'timeout-*' -o -name 'oom-*' \) -printf '%f\n' | sort
}

for f in "$FUZZ_B"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f"); name=${name#fuzz_}
	if [ -n "$only" ]; then
		case " $only " in *" $name "*) ;; *) continue ;; esac
	fi
	dir="$root/$name"
	mkdir -p "$dir/corpus"
	# findings of an earlier campaign stay, under their own names
	artifacts "$dir" >"$dir/before"
	seeds=()
	[ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
	start=$(date +%s)
	# The first corpus directory receives new inputs; the seeds are only read.
	"$f" -runs="$runs" -max_total_time="$secs" -print_final_stats=1 \
	    -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$dir/" \
	    "$dir/corpus" ${seeds[@]+"${seeds[@]}"} >"$dir/log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/log" | awk '{print $2}' | tail -n 1)
	if [ -z "$execs" ]; then	# no final stats after a crash: the last status line
		execs=$(grep -oE '^#[0-9]+' "$dir/log" | tail -n 1 | tr -d '#')
	fi
	status=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n 1)
	cov=$(printf '%s\n' "$status" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
	ft=$(printf '%s\n' "$status" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
	new=$(artifacts "$dir" | comm -13 "$dir/before" -)
	rm -f "$dir/before"
	found=$(printf '%s' "$new" | grep -c .)
	if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then
		found=1		# a failure without an artifact (e.g. an abort in start-up)
	fi
	total_findings=$((total_findings + found))
	if [ "$found" -gt 0 ]; then
		why="finding (rc $rc)"
		findings="$found${new:+ ($(printf '%s' "$new" | tr '\n' ' ' | sed 's/ $//'))}"
	elif [ "${execs:-0}" -ge "$runs" ]; then
		why="$runs runs"
		findings=0
	else
		why="${secs} s"
		findings=0
	fi
	row="| $name | ${execs:-?} | ${cov:-?} | ${ft:-?} | $findings | $took | $why |"
	rows+=("$row")
	echo "$row"
done

{
	echo "# fuzz-long: $(date -u '+%Y-%m-%d %H:%M UTC'), bound ${runs} runs or ${secs} s per target, ASan+UBSan"
	echo
	echo "| target | executions | cov | ft | findings | seconds | ended by |"
	echo "|---|---|---|---|---|---|---|"
	for r in "${rows[@]}"; do echo "$r"; done
	echo
	echo "Findings, logs and grown corpora: $root/<target>/."
} >"$report"
echo
cat "$report"
[ "$total_findings" -eq 0 ]
