#!/usr/bin/env bash
# cache.sh — the block transfer (Get Block over UDT in lite packets,
# docs/protocol.md §9.8) between two nodes on loopback: B has A as its root peer;
# A shares 3 files and B's cache holds A's chain (3 files) within 2 s; A
# deletes one (new chain version) and B's cache shows 2 files within 2 s.
# A's netd pushes its new height/version to connected peers at once, B's
# storaged asks for the missing blocks, B's netd fetches them from A.
. "$(dirname "$0")/lib.sh"

# Debug logs: the test reads how the transfer sessions ended.
node_up() {	# dir ip [root]
	t_node_up "$1" "$2" "${3:-}" 's/^#log_level = info/log_level = debug/'
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
cache_is() {	# dir files: the cache holds >= 1 peer and exactly `files` files
	local j
	j=$("$CTL" -d "$1" cache --json) || return 1
	[ "$(jq .peers <<<"$j")" -ge 1 ] && [ "$(jq .files <<<"$j")" = "$2" ]
}
# B's cache holds `files` files within secs of $start (when the change on
# A began); the time it took is printed, `after` names the change.
b_cache_reaches() {	# secs files case after
	local el
	if wait_for "$1" cache_is "$B" "$2"; then
		el=$(( $(ms) - start ))
		t_pass "$3"
		echo "# B's cache held $2 files ($("$CTL" -d "$B" cache --json |
		    jq -c '{blocks, bytes}')) ${el} ms after $4"
	else
		t_fail "$3" "A chain: $("$CTL" -d "$A" chain --json 2>&1); B cache: $("$CTL" -d "$B" cache --json 2>&1)"
	fi
}

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-files.XXXXXX); TMPDIRS+=("$W")
node_up "$A" 127.0.4.1 || { t_fail nodes_up "$(cat "$A"/log/*.log 2>/dev/null)"; exit 0; }
PA=$(peer_id "$A"); NA=$(node_id "$A")
node_up "$B" 127.0.4.2 "$PA@127.0.4.1:7001" || { t_fail nodes_up "B did not start"; exit 0; }
if wait_for 10 "$CTL" -d "$B" ping "$NA" && wait_for 10 "$CTL" -d "$A" chain &&
    wait_for 10 "$CTL" -d "$B" cache; then
	t_pass nodes_connected
else
	t_fail nodes_connected "$("$CTL" -d "$B" peers 2>&1)"; exit 0
fi
[ "$("$CTL" -d "$B" cache --json | jq .files)" = 0 ] && t_pass cache_starts_empty ||
    t_fail cache_starts_empty "$("$CTL" -d "$B" cache --json)"

# A shares 3 files: B's cache reflects A's chain.
for i in 1 2 3; do echo "cache test file $i $RANDOM" > "$W/shared-$i.txt"; done
start=$(ms)
out=$("$CTL" -d "$A" add --json "$W"/shared-*.txt); rc=$?
[ $rc -eq 0 ] && [ "$(jq '.added | length' <<<"$out")" = 3 ] && t_pass a_shares_3_files ||
    t_fail a_shares_3_files "rc=$rc $out"
# Pushed (netd announces a chain change): well inside the 60 s keep-alive
# schedule (PEER_CHAIN_REFRESH_MS) that would bring it otherwise; the time is printed.
b_cache_reaches 20 3 b_cache_has_a_files_by_push "the add (add included)"
ha=$("$CTL" -d "$A" chain --json | jq .height)
bb=$("$CTL" -d "$B" cache --json | jq .blocks)
[ "$bb" = "$ha" ] && t_pass b_cache_has_every_block_of_a || t_fail b_cache_has_every_block_of_a "A height $ha, B cached $bb blocks"
# B's storaged counted them as accepted, none refused (status --json counters).
cnt=$("$CTL" -d "$B" status --json | jq -c '.daemons[] | select(.name=="storaged") | .counters |
    [.cache_blocks_accepted, ([to_entries[] | select(.key | startswith("cache_rejected_")) | .value] | add)]')
# (a block fetched twice counts twice: "stored or already stored")
acc=$(jq '.[0]' <<<"$cnt"); rej=$(jq '.[1]' <<<"$cnt")
[ "$acc" -ge "$ha" ] && [ "$rej" = 0 ] && t_pass b_status_counts_accepted_blocks ||
    t_fail b_status_counts_accepted_blocks "accepted, rejected: $cnt (A height $ha)"

# A deletes one file: a new chain version, B's cache follows.
v0=$("$CTL" -d "$A" chain --json | jq .version)
victim=$(jq -r '.added[0].id' <<<"$out")
start=$(ms)
"$CTL" -d "$A" rm "$victim" >/dev/null; rc=$?
v1=$("$CTL" -d "$A" chain --json | jq .version)
[ $rc -eq 0 ] && [ "$v1" != "$v0" ] && t_pass a_delete_changes_chain_version ||
    t_fail a_delete_changes_chain_version "rc=$rc version $v0 -> $v1"
b_cache_reaches 20 2 b_cache_follows_delete_by_push "the delete (rm included)"

# A longer chain: 200 more files (one block each, below the cache's
# 256-block limit), then a delete: the new version is fetched whole, about
# 60 KB in one session of many UDT packets.
mkdir -p "$W/many"
for i in $(seq 1 200); do echo "many $i $RANDOM" > "$W/many/file-with-a-longer-name-$i.txt"; done
start=$(ms)
many=$("$CTL" -d "$A" add --json "$W"/many/*.txt)
b_cache_reaches 5 "$("$CTL" -d "$A" chain --json | jq .files)" \
    b_cache_follows_200_more_files "the add"
start=$(ms)
"$CTL" -d "$A" rm "$(jq -r '.added[0].id' <<<"$many")" >/dev/null
b_cache_reaches 5 "$("$CTL" -d "$A" chain --json | jq .files)" \
    b_cache_refetches_whole_new_version "the delete (a whole new version)"

# The blocks came over UDT in lite packets, both ways (handshake, data, ACKs).
la=$("$CTL" -d "$A" status --json | jq .network.counters.rx_lite)
lb=$("$CTL" -d "$B" status --json | jq .network.counters.rx_lite)
echo "# lite packets received: A $la, B $lb"
[ "$la" -ge 2 ] && [ "$lb" -ge 2 ] && t_pass transfer_used_lite_packets_both_ways ||
    t_fail transfer_used_lite_packets_both_ways "A $la, B $lb"
# Sessions end by themselves: no transfer left behind after 3 s (log check).
sleep 3
grep -q "block download .* ended: complete" "$B"/log/*netd*.log 2>/dev/null &&
    t_pass b_download_sessions_complete ||
    t_fail b_download_sessions_complete "$(grep -h "block " "$B"/log/*.log | tail -5)"
grep -Eq "block serving to .* ended: (complete|terminated by the peer)" "$A"/log/*netd*.log 2>/dev/null &&
    ! grep -q "block serving to .* ended: idle" "$A"/log/*netd*.log &&
    t_pass a_serving_sessions_end_without_idle_expiry ||
    t_fail a_serving_sessions_end_without_idle_expiry "$(grep -h "block serving" "$A"/log/*.log | tail -5)"

# Both netds are still up and talking after the transfers.
t_check nodes_still_talk "$CTL" -d "$B" ping "$NA"
