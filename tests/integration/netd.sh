#!/usr/bin/env bash
# netd.sh — Peernet nodes on loopback: two nodes (root peer, ping RTT),
# 30 nodes each with one root peer finding every other node through the
# DHT (870 pairs), and a flood of malformed datagrams.
. "$(dirname "$0")/lib.sh"

node_up() { t_node_up "$1" "$2" "${3:-}"; }	# dir ip [root]

# Two nodes: B has A as its root peer.
A=$(t_mkdir); B=$(t_mkdir)
node_up "$A" 127.0.2.1
PA=$(peer_id "$A"); NA=$(node_id "$A")
start=$(date +%s%N)
node_up "$B" 127.0.2.2 "$PA@127.0.2.1:7001"
if wait_for 10 "$CTL" -d "$B" ping "$NA"; then
	el=$(( ($(date +%s%N) - start) / 1000000 ))
	rtt=$("$CTL" -d "$B" ping --json "$NA" | jq .rtt_ms)
	t_pass two_nodes_connected_and_ping
	echo "# B reached its root peer A ${el} ms after start; ping RTT ${rtt} ms"
else
	t_fail two_nodes_connected_and_ping "$("$CTL" -d "$B" peers 2>&1)"
fi
root=$("$CTL" -d "$B" peers --json | jq -r --arg n "$NA" '.peers[] | select(.node_id==$n) | .root')
[ "$root" = true ] && t_pass root_peer_marked_in_peers || t_fail root_peer_marked_in_peers "root=$root"
NB=$(node_id "$B")
t_check a_finds_b_by_dht "$CTL" -d "$A" find "$NB"
out=$("$CTL" -d "$A" find 0000000000000000000000000000000000000000000000000000000000000001 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "not found" <<<"$out" && t_pass find_unknown_exits_1 || t_fail find_unknown_exits_1 "rc=$rc $out"
out=$("$CTL" -d "$A" ping 0000000000000000000000000000000000000000000000000000000000000001 2>&1); rc=$?
[ $rc -eq 1 ] && t_pass ping_unknown_exits_1 || t_fail ping_unknown_exits_1 "rc=$rc $out"

# A flood of malformed, truncated and unsigned datagrams at A.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
apid=$("$CTL" -d "$A" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid')
r0=$(rss "$apid")
python3 - <<'PY'
import os, random, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
random.seed(7)
end = time.time() + 60
for i in range(100000):
    k = i % 4
    if k == 0:   n = random.randrange(0, 77)          # truncated
    elif k == 1: n = random.randrange(77, 1300)       # random "packets": bad signatures
    elif k == 2: n = random.randrange(1300, 9000)     # large garbage
    else:        n = 18                                # lite-sized, no transfer
    s.sendto(os.urandom(n), ("127.0.2.1", 7001))
    if i % 2000 == 0:
        time.sleep(0.01)   # let the receiver breathe: we test robustness, not the socket buffer
        if time.time() > end: break
PY
sleep 1
if kill -0 "$apid" 2>/dev/null && "$CTL" -d "$B" ping "$NA" >/dev/null; then
	t_pass flood_netd_stays_up_and_answers_pings
else t_fail flood_netd_stays_up_and_answers_pings "netd gone or not answering"; fi
r1=$(rss "$apid")
echo "# netd RSS before flood ${r0} kB, after ${r1} kB"
[ "$r1" -lt $((r0 + 20000)) ] && t_pass flood_memory_bounded || t_fail flood_memory_bounded "RSS $r0 -> $r1 kB"
st=$("$CTL" -d "$A" status --json)
drops=$(jq '.network.counters | .drop_short + .drop_decode + .drop_protocol' <<<"$st")
echo "# drop counters: $(jq -c '.network.counters' <<<"$st")"
[ "$drops" -ge 90000 ] && t_pass flood_drops_counted || t_fail flood_drops_counted "drops=$drops"

# Restart without the root peer: C re-bootstraps from the peers it remembered.
C=$(t_mkdir)
node_up "$C" 127.0.2.3 "$PA@127.0.2.1:7001"
wait_for 5 "$CTL" -d "$C" ping "$NB" || t_fail c_reaches_b_first "C never reached B"
# netd hands its good peers to storaged ~5 s after start (DIR/storage/known-peers)
wait_for 10 test -s "$C/storage/known-peers" || t_fail c_saved_known_peers "no $C/storage/known-peers"
"$CTL" -d "$A" down >/dev/null
"$CTL" -d "$C" down >/dev/null
"$CTL" -d "$C" up >/dev/null
start=$(date +%s%N)
wait_for 5 grep -q "peers remembered from the last run" "$C/log/netd.log" &&
    t_pass known_peers_loaded_after_restart ||
    t_fail known_peers_loaded_after_restart "$(tail -3 "$C/log/netd.log")"
if wait_for 10 "$CTL" -d "$C" ping "$NB"; then
	t_pass restart_rebootstraps_from_remembered_peers_without_root
	echo "# C reached B $(( ($(date +%s%N) - start) / 1000000 )) ms after restart, root peer A down"
else
	t_fail restart_rebootstraps_from_remembered_peers_without_root "$("$CTL" -d "$C" peers 2>&1)"
fi

# 30 nodes, each with node 0 as its only root peer: every node finds every other.
N=30
dirs=()
for i in $(seq 0 $((N - 1))); do dirs+=("$(t_mkdir)"); done
node_up "${dirs[0]}" 127.0.3.1
P0=$(peer_id "${dirs[0]}")
for i in $(seq 1 $((N - 1))); do
	node_up "${dirs[$i]}" "127.0.3.$((i + 1))" "$P0@127.0.3.1:7001" &
done
wait
ids=()
for i in $(seq 0 $((N - 1))); do ids+=("$(node_id "${dirs[$i]}")"); done
start=$SECONDS
res=$(mktemp); TMPDIRS+=("$res")
for i in $(seq 0 $((N - 1))); do
	(
		ok=0
		for j in $(seq 0 $((N - 1))); do
			[ "$i" = "$j" ] && continue
			# Each pair gets tries until 60 s from the start.
			while :; do
				if "$CTL" -d "${dirs[$i]}" --timeout 5000 find "${ids[$j]}" >/dev/null 2>&1; then
					ok=$((ok + 1)); break
				fi
				[ $((SECONDS - start)) -ge 60 ] && break
				sleep 0.5
			done
		done
		echo "$ok" >> "$res"
	) &
done
wait
found=$(awk '{s += $1} END {print s}' "$res")
echo "# 30 nodes: $found of 870 pairs found within $((SECONDS - start)) s"
[ "$found" = 870 ] && t_pass dht_30_nodes_all_870_pairs_found || t_fail dht_30_nodes_all_870_pairs_found "$found of 870"
