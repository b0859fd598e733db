#!/usr/bin/env bash
# bench/secure_transfer.sh — the secure transport's cost on a file transfer
# (issue #20: secure ≥ 0.95 × plaintext in the same run).  Two pairs of
# nodes on loopback: 127.0.0.91 -> .92 with secure_transport left at its
# default (prefer: the transfer's lite packets sealed per transfer, after
# the Noise IK handshake, which the bench waits for) and 127.0.0.93 -> .94
# with secure_transport = off (version 0: plaintext lite packets).  The
# same file size each, runs alternating between the pairs, best of
# PEERNET_BENCH_SECURE_RUNS (3) each: the limit is the plaintext rate
# measured in this run.  Also checks that the secure pair sealed (its
# secure_sealed counter grew), so a silent fallback cannot pass as secure.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
CTL="$PWD/$B/bin/peernetctl"
SIZE=${PEERNET_BENCH_SECURE_SIZE:-100000000}
RUNS=${PEERNET_BENCH_SECURE_RUNS:-3}
W=$(mktemp -d /tmp/peernet-bench-sec.XXXXXX)
DIRS=()
cleanup() {
	local d
	for d in "${DIRS[@]}"; do "$CTL" -d "$d" down >/dev/null 2>&1 & done
	wait
	rm -rf "${DIRS[@]}" "$W"
}
trap cleanup EXIT

node() {	# ip [root] [sed]: prints the node directory
	local d
	d=$(mktemp -d /tmp/peernet-bench.XXXXXX); chmod 755 "$d"
	if [ -n "${2:-}" ]; then
		"$CTL" -d "$d" init --listen "$1:7001" --root "$2" --no-lan --no-upnp --no-natpmp >/dev/null || return 1
	else
		"$CTL" -d "$d" init --listen "$1:7001" --no-lan --no-upnp --no-natpmp >/dev/null || return 1
	fi
	[ -z "${3:-}" ] || sed -i "$3" "$d/peernet.conf"
	"$CTL" -d "$d" up >/dev/null || return 1
	echo "$d"
}
secure_of() {	# dir node_id
	"$CTL" -d "$1" peers --json | jq -r --arg n "$2" '.peers[] | select(.node_id == $n) | .secure'
}
sealed() { "$CTL" -d "$1" status --json | jq -r '[.. | objects | select(has("secure_sealed")) | .secure_sealed][0]'; }

OFF='s/^#secure_transport = prefer/secure_transport = off/'
SA=$(node 127.0.0.91) || { echo "# secure_transfer: node did not start"; exit 1; }; DIRS+=("$SA")
PA=$("$CTL" -d "$SA" id --json | jq -r .peer_id); NSA=$("$CTL" -d "$SA" id --json | jq -r .node_id)
SB=$(node 127.0.0.92 "$PA@127.0.0.91:7001") || exit 1; DIRS+=("$SB")
OA=$(node 127.0.0.93 "" "$OFF") || exit 1; DIRS+=("$OA")
PO=$("$CTL" -d "$OA" id --json | jq -r .peer_id); NOA=$("$CTL" -d "$OA" id --json | jq -r .node_id)
OB=$(node 127.0.0.94 "$PO@127.0.0.93:7001" "$OFF") || exit 1; DIRS+=("$OB")
for i in $(seq 1 300); do
	[ "$(secure_of "$SB" "$NSA")" = yes ] && "$CTL" -d "$OB" ping "$NOA" >/dev/null 2>&1 && break
	sleep 0.1
done
[ "$(secure_of "$SB" "$NSA")" = yes ] || { echo "# secure_transfer: no secure session came up"; exit 1; }

run() {	# sharer downloader node_id: MB/s of one SIZE-byte transfer
	local a=$1 b=$2 na=$3 h t0 t1
	head -c "$SIZE" /dev/urandom > "$W/f"
	h=$("$CTL" -d "$a" add --json "$W/f" | jq -r '.added[0].hash')
	t0=$(date +%s.%N)
	timeout 300 "$CTL" -d "$b" get --json "$h" --from "$na" >/dev/null 2>&1 || { echo 0; return; }
	t1=$(date +%s.%N)
	"$CTL" -d "$a" rm "$h" >/dev/null 2>&1; "$CTL" -d "$b" rm "$h" >/dev/null 2>&1
	rm -f "$W/f"
	echo "$SIZE / ($t1 - $t0) / 1000000" | bc -l
}

s0=$(sealed "$SA")
best_s=0; best_p=0
for r in $(seq 1 "$RUNS"); do
	p=$(run "$OA" "$OB" "$NOA"); s=$(run "$SA" "$SB" "$NSA")
	printf '# run %d: secure %.1f MB/s, plaintext %.1f MB/s\n' "$r" "$s" "$p"
	[ "$(echo "$s > $best_s" | bc)" = 1 ] && best_s=$s
	[ "$(echo "$p > $best_p" | bc)" = 1 ] && best_p=$p
done
s1=$(sealed "$SA")
echo "# secure pair sealed $((s1 - s0)) lite packets during the runs"
if [ "$(echo "$best_p > 0 && $best_s > 0" | bc)" != 1 ] || [ $((s1 - s0)) -le 0 ]; then
	echo "# secure_transfer: a transfer failed or the secure pair did not seal"; exit 1
fi
printf 'BENCH secure_transfer_ratio %.1f MB/s limit=%.1f ratio=%.3f\n' "$best_s" "$best_p" \
    "$(echo "$best_s / $best_p" | bc -l)"
