#!/usr/bin/env bash
# transfer_big.sh — a 1 GB file transfer on loopback (127.0.7.1 shares,
# 127.0.7.2 downloads with `peernetctl get`): a sparse file (truncate -s 1G)
# with random 1 MiB blocks written at spread offsets so that it is not all
# zeros; the downloaded copy hashes (b3sum) to the shared hash; the rate is
# printed.  Skipped under the sanitizer build unless PEERNET_SLOW_TESTS=1,
# and when /tmp has less than 3 GB free (A's and B's warehouse copies; the
# source is removed once shared, and B's copy is checked by reading it back
# with `cat` rather than with a third copy from -o).
. "$(dirname "$0")/lib.sh"

if [ -n "${PEERNET_SAN:-}" ] && [ "${PEERNET_SLOW_TESTS:-0}" != 1 ]; then
	t_skip get_1gb "sanitizer build: 1 GB through ASan takes minutes (PEERNET_SLOW_TESTS=1 runs it)"
	exit 0
fi
if ! command -v b3sum >/dev/null; then
	t_skip get_1gb "b3sum is not installed"; exit 0
fi
free_kb=$(df -Pk /tmp | awk 'NR == 2 {print $4}')
if [ -z "$free_kb" ] || [ "$free_kb" -lt $((3 * 1024 * 1024)) ]; then
	t_skip get_1gb "less than 3 GB free in /tmp ($(( ${free_kb:-0} / 1024 )) MB)"; exit 0
fi

node_up() { t_node_up "$1" "$2" "${3:-}"; }	# dir ip [root]

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-big.XXXXXX); TMPDIRS+=("$W")
node_up "$A" 127.0.7.1 || { t_fail nodes_up "$(cat "$A"/log/*.log 2>/dev/null | tail -5)"; exit 0; }
PA=$("$CTL" -d "$A" id --json | jq -r .peer_id); NA=$("$CTL" -d "$A" id --json | jq -r .node_id)
node_up "$B" 127.0.7.2 "$PA@127.0.7.1:7001" || { t_fail nodes_up "B did not start"; exit 0; }
if wait_for 10 "$CTL" -d "$B" ping "$NA" && wait_for 10 "$CTL" -d "$A" chain; then
	t_pass nodes_connected
else
	t_fail nodes_connected "$("$CTL" -d "$B" peers 2>&1)"; exit 0
fi

# 1 GiB, sparse, with 16 random MiB blocks at spread offsets (and the last MiB).
f="$W/big"
truncate -s 1G "$f"
for i in $(seq 0 15); do
	dd if=/dev/urandom of="$f" bs=1M count=1 seek=$((i * 64 + 7)) conv=notrunc status=none
done
dd if=/dev/urandom of="$f" bs=1M count=1 seek=1023 conv=notrunc status=none
size=$(stat -c %s "$f")
h=$(b3sum --no-names "$f")
[ "$size" = 1073741824 ] && t_pass file_is_1gib || t_fail file_is_1gib "size $size"

out=$("$CTL" -d "$A" add --json "$f"); rc=$?
[ $rc -eq 0 ] && [ "$(jq -r '.added[0].hash' <<<"$out")" = "$h" ] && t_pass a_shares_1gb ||
    { t_fail a_shares_1gb "rc=$rc $out"; exit 0; }
rm -f "$f"	# A's warehouse holds it now

t0=$(date +%s%N)
res=$(timeout 600 "$CTL" -d "$B" get --json "$h" --from "$NA" 2>&1); rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
if [ $rc -eq 0 ] && [ "$(jq -r .hash_verified <<<"$res")" = true ]; then
	t_pass get_1gb
	echo "# 1 GiB: ${ms} ms end to end, $(( size / (ms > 0 ? ms : 1) / 1000 )) MB/s;" \
	    "netd rate $(jq -r .rate <<<"$res") B/s"
else
	t_fail get_1gb "rc=$rc after ${ms} ms: $res"
fi
# B's copy, read back from its warehouse, hashes to the same hash.
if [ $rc -eq 0 ]; then
	got=$(timeout 300 "$CTL" -d "$B" cat "$h" | b3sum --no-names)
	[ "$got" = "$h" ] && t_pass b_copy_hashes_to_the_hash ||
	    t_fail b_copy_hashes_to_the_hash "b3sum of B's copy: $got"
fi
