#!/usr/bin/env bash
# bench/transfer.sh — a 200 MB file transfer between two real nodes on
# loopback (127.0.0.97 shares, 127.0.0.98 downloads with
# `peernetctl get HASH --from A`: Transfer over UDT in lite packets, storaged
# reading on one side and writing + verifying the hash on the other), against
# the loopback UDP limit measured in the same run by build/tests/udpblast
# (1232-byte datagrams, the size of a lite packet with a full UDT data packet,
# from one process to another with sendmmsg/recvmmsg; MB/s of the UDT payload
# they carry).  netd sends runs of them with UDP GSO: what a blaster doing
# that reaches is printed too, for information.
# Best of 3 blasts, best of 2 transfers (each a new file: no "already stored" shortcut).
# The nodes run with secure_transport = off: this measures the transfer
# engine against the kernel (issue #19); what sealing costs on top is
# bench/secure_transfer.sh's line (issue #20), secure against plaintext.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
CTL="$PWD/$B/bin/peernetctl"
BLAST="$PWD/$B/tests/udpblast"
SIZE=${PEERNET_BENCH_XFER_SIZE:-200000000}
RUNS=${PEERNET_BENCH_XFER_RUNS:-2}
[ -x "$BLAST" ] || make --no-print-directory "$B/tests/udpblast" >/dev/null || exit 1
# The limit first, on a quiet machine: best of 3.
lim=0
for r in 1 2 3; do
	v=$("$BLAST" -a 127.0.0.97 -t 2 | awk '{print $2}')
	[ -n "$v" ] && [ "$(echo "$v > $lim" | bc)" = 1 ] && lim=$v
done
[ "$lim" != 0 ] || { echo "# transfer: udpblast failed"; exit 1; }
# The second limit: the same datagrams handed over as GSO runs and taken
# coalesced (UDP_SEGMENT / UDP_GRO), the kernel path netd's transfers use
# (net.c); its own BENCH line below.  Best of 3 as well.
gso=0
for r in 1 2 3; do
	v=$("$BLAST" -g -a 127.0.0.97 -t 2 | awk '{print $2}')
	[ -n "$v" ] && [ "$(echo "$v > $gso" | bc)" = 1 ] && gso=$v
done
echo "# udpblast: plain sendmmsg/recvmmsg ${lim} MB/s (the limit); with UDP GSO/GRO ${gso:-?} MB/s"
A=$(mktemp -d /tmp/peernet-bench.XXXXXX); Bd=$(mktemp -d /tmp/peernet-bench.XXXXXX)
W=$(mktemp -d /tmp/peernet-bench-files.XXXXXX)
chmod 755 "$A" "$Bd"
trap '"$CTL" -d "$A" down >/dev/null 2>&1 & "$CTL" -d "$Bd" down >/dev/null 2>&1; wait; rm -rf "$A" "$Bd" "$W"' EXIT

OFF='s/^#secure_transport = prefer/secure_transport = off/'
"$CTL" -d "$A" init --listen 127.0.0.97:7001 --no-lan --no-upnp --no-natpmp >/dev/null || exit 1
sed -i "$OFF" "$A/peernet.conf"
"$CTL" -d "$A" up >/dev/null || exit 1
PA=$("$CTL" -d "$A" id --json | jq -r .peer_id); NA=$("$CTL" -d "$A" id --json | jq -r .node_id)
"$CTL" -d "$Bd" init --listen 127.0.0.98:7001 --root "$PA@127.0.0.97:7001" \
    --no-lan --no-upnp --no-natpmp >/dev/null || exit 1
sed -i "$OFF" "$Bd/peernet.conf"
for f in "$A/peernet.conf" "$Bd/peernet.conf"; do
	grep -q '^secure_transport = off' "$f" ||
	    { echo "# transfer: could not switch secure_transport off in $f"; exit 1; }
done
"$CTL" -d "$Bd" up >/dev/null || exit 1
for i in $(seq 1 100); do "$CTL" -d "$Bd" ping "$NA" >/dev/null 2>&1 && break; sleep 0.1; done
"$CTL" -d "$Bd" ping "$NA" >/dev/null 2>&1 || { echo "# transfer: nodes did not connect"; exit 1; }

# CPU seconds (user+system from /proc) of each daemon of node $1's data dir.
cpu_of() {
	local pid
	for pid in $(pgrep -f -- "$1" 2>/dev/null); do
		[ -r "/proc/$pid/stat" ] || continue
		awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); n = $0;
		    split(n, f, " "); printf "%s=%.2f ", p, (f[12] + f[13]) / t }' \
		    p="$(cat "/proc/$pid/comm" 2>/dev/null)" "/proc/$pid/stat"
	done
}
best=0
for r in $(seq 1 "$RUNS"); do
	head -c "$SIZE" /dev/urandom > "$W/f$r"
	h=$("$CTL" -d "$A" add --json "$W/f$r" | jq -r '.added[0].hash')
	[ -n "$h" ] && [ "$h" != null ] || { echo "# transfer: add failed"; exit 1; }
	ca0=$(cpu_of "$A"); cb0=$(cpu_of "$Bd")
	t0=$(date +%s.%N)
	res=$(timeout 300 "$CTL" -d "$Bd" get --json "$h" --from "$NA" 2>&1); rc=$?
	t1=$(date +%s.%N)
	if [ $rc -ne 0 ]; then
		echo "# transfer run $r failed (rc=$rc): $res"; exit 1
	fi
	mbps=$(echo "$SIZE / ($t1 - $t0) / 1000000" | bc -l)
	printf '# run %d: %.2f s end to end (%.1f MB/s), netd rate %s B/s\n' "$r" \
	    "$(echo "$t1 - $t0" | bc -l)" "$mbps" "$(jq -r .rate <<<"$res" 2>/dev/null)"
	echo "# run $r cpu s, sender before: $ca0 after: $(cpu_of "$A")"
	echo "# run $r cpu s, receiver before: $cb0 after: $(cpu_of "$Bd")"
	[ "$(echo "$mbps > $best" | bc)" = 1 ] && best=$mbps
	"$CTL" -d "$A" rm "$h" >/dev/null 2>&1
	"$CTL" -d "$Bd" rm "$h" >/dev/null 2>&1
	rm -f "$W/f$r"
done
printf 'BENCH transfer_loopback_MBps %.1f MB/s limit=%.1f ratio=%.2f\n' "$best" "$lim" \
    "$(echo "$best / $lim" | bc -l)"
if [ "$gso" != 0 ]; then
	printf 'BENCH transfer_loopback_vs_gso_MBps %.1f MB/s limit=%.1f ratio=%.2f\n' \
	    "$best" "$gso" "$(echo "$best / $gso" | bc -l)"
else
	echo "# transfer: the GSO/GRO blaster failed (no UDP_SEGMENT/UDP_GRO?)"
fi
