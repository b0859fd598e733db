#!/usr/bin/env bash
# bench/warehouse_add.sh — sharing a 300 MB file through the whole path
# (peernetctl reads and streams it, storaged hashes, writes, fsyncs, builds the
# merkle companion, signs the block via netd), against `b3sum --num-threads 1`
# on the same file in the same run (the issue's limit).  Best of 3 each.
# Each run's wall time and the CPU time (user + sys) of storaged and of
# peernetctl are printed as comments: on a shared machine CPU is steadier.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
CTL="$PWD/$B/bin/peernetctl"
D=$(mktemp -d /tmp/peernet-bench.XXXXXX); chmod 755 "$D"
F=$(mktemp /tmp/peernet-bench-file.XXXXXX)
trap '"$CTL" -d "$D" down >/dev/null 2>&1; rm -rf "$D" "$F" "${TF:-}"' EXIT
"$CTL" -d "$D" init --listen 127.0.0.99:0 --no-lan --no-upnp --no-natpmp >/dev/null
"$CTL" -d "$D" up >/dev/null || exit 1
for i in $(seq 1 50); do "$CTL" -d "$D" chain >/dev/null 2>&1 && break; sleep 0.1; done
SIZE=300000000
head -c $SIZE /dev/urandom > "$F"
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
# CPU seconds (user + system) storaged has used: steadier than wall time on
# a busy machine, printed for information.
SPID=$(pgrep -f "peernet-storaged.*$D" | head -1)
TCK=$(getconf CLK_TCK)
cpu() { [ -n "$SPID" ] && awk -v t="$TCK" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$SPID/stat" 2>/dev/null; }
# One add: its wall time into t, peernetctl's own CPU seconds (GNU time)
# into ctlcpu ("" without /usr/bin/time).
TF=$(mktemp /tmp/peernet-bench-time.XXXXXX)
add_timed() {
	local s e
	ctlcpu=""
	s=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -o "$TF" -f '%U %S' "$CTL" -d "$D" add "$F" >/dev/null 2>&1
		ctlcpu=$(awk 'NF == 2 { print $1 + $2 }' "$TF" | tail -1)
	else
		"$CTL" -d "$D" add "$F" >/dev/null 2>&1
	fi
	e=$(date +%s.%N)
	t=$(echo "$e - $s" | bc -l)
}
best_add=999 best_b3=999 best_cpu=999 best_ctlcpu=999
for r in 1 2 3; do
	printf 'run %d\n' "$r" >> "$F"	# new content each time: no dedup shortcut
	c0=$(cpu)
	add_timed
	c1=$(cpu)
	c=""
	if [ -n "$c0" ] && [ -n "$c1" ]; then
		c=$(echo "$c1 - $c0" | bc -l)
		[ "$(echo "$c < $best_cpu" | bc)" = 1 ] && best_cpu=$c
	fi
	[ -n "$ctlcpu" ] && [ "$(echo "$ctlcpu < $best_ctlcpu" | bc)" = 1 ] && best_ctlcpu=$ctlcpu
	printf '# run %d: add %.2f s wall, CPU storaged %.2f s, peernetctl %.2f s\n' \
	    "$r" "$t" "${c:-0}" "${ctlcpu:-0}"
	[ "$(echo "$t < $best_add" | bc)" = 1 ] && best_add=$t
	t=$(secs b3sum --num-threads 1 "$F")
	if [ -x /usr/bin/time ]; then
		c=$( { /usr/bin/time -f '%U %S' b3sum --num-threads 1 "$F" >/dev/null; } 2>&1 |
		    awk 'NF == 2 { print $1 + $2 }' | tail -1)
		[ -n "$c" ] && [ "$(echo "$c < ${best_b3cpu:-999}" | bc)" = 1 ] && best_b3cpu=$c
	fi
	[ "$(echo "$t < $best_b3" | bc)" = 1 ] && best_b3=$t
done
add=$(echo "$SIZE / $best_add / 1000000" | bc -l)
b3=$(echo "$SIZE / $best_b3 / 1000000" | bc -l)
printf '# peernetctl add of 300 MB: best %.2f s; b3sum -j1: best %.2f s\n' "$best_add" "$best_b3"
[ "$best_cpu" != 999 ] && printf '# CPU (user + sys), best: storaged per add %.2f s, peernetctl %.2f s; b3sum -j1 %.2f s\n' \
    "$best_cpu" "$([ "$best_ctlcpu" = 999 ] && echo 0 || echo "$best_ctlcpu")" "${best_b3cpu:-0}"
printf 'BENCH warehouse_add_MBps %.0f MB/s limit=%.0f ratio=%.2f\n' "$add" "$b3" "$(echo "$add / $b3" | bc -l)"
