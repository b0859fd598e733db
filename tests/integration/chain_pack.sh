#!/usr/bin/env bash
# chain_pack.sh — the own chain stays readable whole by peers that fetch at
# most 256 blocks (docs/chain.md): A, alone, shares 300 files in one
# `peernetctl add` (300 uploads): they fill about 15 blocks, not 300.
# B (A as root) caches them all.  A has chain_max_blocks = 16; files added
# one by one while B fetches every new block make loose blocks, until A
# compacts its chain (new version, height back under 16).  B's cache
# follows the new version, and searches give the same files before and
# after the compaction, and after a reindex, on A and on B.
. "$(dirname "$0")/lib.sh"

node_up() {	# dir ip [root]
	local d=$1 ip=$2 root=${3:-}
	t_init_node "$d" "$ip:7001" "$root"
	sed -i 's/^#chain_max_blocks = .*/chain_max_blocks = 16/' "$d/peernet.conf"
	grep -q '^chain_max_blocks = 16' "$d/peernet.conf" || return 1
	"$CTL" -d "$d" up >/dev/null
}
chainv() { "$CTL" -d "$1" chain --json | jq ".$2"; }
# B's cache holds `files` files and every block A announces.
in_sync() {	# files
	local j h
	h=$(chainv "$A" height) || return 1
	j=$("$CTL" -d "$B" cache --json) || return 1
	[ "$(jq .files <<<"$j")" = "$1" ] && [ "$(jq .blocks <<<"$j")" = "$h" ]
}
# A announces every block it has: the last one has stopped growing.
sealed() { sleep 1.2; }
# The files found for a term, as sorted "id owner date" lines.
found() {	# dir term
	"$CTL" -d "$1" search --json --timeout 1s --limit 1000 "$2" |
	    jq -r '.results[] | "\(.id) \(.owner) \(.date)"' | sort
}
rebuilt() {	# dir count: searchd logged `count` finished rebuilds
	[ "$(cat "$1"/log/*searchd*.log 2>/dev/null | grep -c "index rebuilt")" -ge "$2" ]
}

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-files.XXXXXX); TMPDIRS+=("$W")
node_up "$A" 127.0.31.1 || { t_fail nodes_up "$(cat "$A"/log/*.log 2>/dev/null)"; exit 0; }
wait_for 10 "$CTL" -d "$A" chain || { t_fail nodes_up "A's chain not open"; exit 0; }

# 300 files in one add, nobody fetching: packed as one AddFiles of 300.
# (A block still growing is announced 0.5 s after its last record.)
mkdir -p "$W/cat"
for i in $(seq -w 1 300); do echo "catalogue $i $RANDOM" > "$W/cat/catalogue-item-$i.txt"; done
start=$SECONDS
out=$("$CTL" -d "$A" add --json "$W"/cat/*.txt); rc=$?
sealed
h=$(chainv "$A" height); v=$(chainv "$A" version)
echo "# 300 files in one add: height $h (genesis block included), $((SECONDS - start)) s"
[ $rc -eq 0 ] && [ "$(jq '.added | length' <<<"$out")" = 300 ] && [ "$h" -le 16 ] &&
    [ "$v" = 0 ] && t_pass one_add_of_300_files_fills_at_most_16_blocks ||
    t_fail one_add_of_300_files_fills_at_most_16_blocks "rc=$rc height $h version $v"
wait_for 10 eval '[ "$(found "$A" catalogue | wc -l)" = 300 ]'
found "$A" catalogue > "$W/a-before"
[ "$(wc -l < "$W/a-before")" = 300 ] && t_pass a_finds_its_300_files ||
    t_fail a_finds_its_300_files "$(wc -l < "$W/a-before") found"

# B joins and caches A's whole chain.
PA=$(peer_id "$A"); NA=$(node_id "$A")
node_up "$B" 127.0.31.2 "$PA@127.0.31.1:7001" || { t_fail nodes_up "B did not start"; exit 0; }
if wait_for 10 "$CTL" -d "$B" ping "$NA" && wait_for 10 in_sync 300; then
	t_pass b_caches_all_300_files
else
	t_fail b_caches_all_300_files "B cache: $("$CTL" -d "$B" cache --json 2>&1); A height $h"
fi

# Files one by one, B fetching each new block: loose blocks, then a compaction.
maxh=$h
for i in $(seq 1 6); do
	echo "late $i $RANDOM" > "$W/late-$i.txt"
	"$CTL" -d "$A" add "$W/late-$i.txt" >/dev/null || t_fail late_adds "add $i failed"
	wait_for 10 in_sync $((300 + i)) ||
	    t_fail late_adds "B did not follow add $i: $("$CTL" -d "$B" cache --json)"
	h=$(chainv "$A" height); [ "$h" -gt "$maxh" ] && maxh=$h
done
v=$(chainv "$A" version); h=$(chainv "$A" height)
echo "# 6 more files one by one, B fetching in between: version $v, height $h (highest $maxh)"
[ "$v" -ge 1 ] && [ "$maxh" -le 16 ] && t_pass chain_compacted_under_the_bound ||
    t_fail chain_compacted_under_the_bound "version $v, highest $maxh"
[ "$(chainv "$A" files)" = 306 ] && t_pass every_file_still_shared ||
    t_fail every_file_still_shared "$("$CTL" -d "$A" chain --json)"
wait_for 10 in_sync 306 && t_pass b_cache_follows_the_compaction ||
    t_fail b_cache_follows_the_compaction "B cache: $("$CTL" -d "$B" cache --json); A height $h"

# The same files found for the term, on A and on B (from its cache), and
# again after searchd rebuilds its index from storaged.
wait_for 10 eval '[ "$(found "$A" catalogue | wc -l)" = 300 ]'
found "$A" catalogue > "$W/a-after"
cmp -s "$W/a-before" "$W/a-after" && t_pass a_search_same_after_compaction ||
    t_fail a_search_same_after_compaction "$(diff "$W/a-before" "$W/a-after" | head -5)"
wait_for 10 eval '[ "$(found "$B" catalogue | wc -l)" = 300 ]'
found "$B" catalogue > "$W/b-after"
cmp -s "$W/a-before" "$W/b-after" && t_pass b_search_same_as_a ||
    t_fail b_search_same_as_a "$(diff "$W/a-before" "$W/b-after" | head -5)"
na=$(cat "$A"/log/*searchd*.log 2>/dev/null | grep -c "index rebuilt")
nb=$(cat "$B"/log/*searchd*.log 2>/dev/null | grep -c "index rebuilt")
"$CTL" -d "$A" reindex >/dev/null && "$CTL" -d "$B" reindex >/dev/null
if wait_for 20 rebuilt "$A" $((na + 1)) && wait_for 20 rebuilt "$B" $((nb + 1)); then
	found "$A" catalogue > "$W/a-reindexed"
	found "$B" catalogue > "$W/b-reindexed"
	cmp -s "$W/a-before" "$W/a-reindexed" && cmp -s "$W/a-before" "$W/b-reindexed" &&
	    t_pass search_same_after_reindex ||
	    t_fail search_same_after_reindex "$(diff "$W/a-before" "$W/a-reindexed" | head -3) $(diff "$W/a-before" "$W/b-reindexed" | head -3)"
else
	t_fail search_same_after_reindex "no rebuild logged: $(tail -3 "$A"/log/*searchd*.log)"
fi

# One add of 40 more files while B is connected: it hears of a block once
# it stops growing, so the add is packed; the bound holds in any case.
mkdir -p "$W/burst"
for i in $(seq -w 1 40); do echo "burst $i $RANDOM" > "$W/burst/burst-$i.txt"; done
h0=$(chainv "$A" height); v0=$(chainv "$A" version)
"$CTL" -d "$A" add "$W"/burst/*.txt >/dev/null; rc=$?
sealed
h=$(chainv "$A" height); v=$(chainv "$A" version)
echo "# 40 files in one add, B connected meanwhile: height $h0 -> $h, version $v0 -> $v"
# (2 blocks of records; a block each without the announcement delay)
[ $rc -eq 0 ] && [ "$h" -le 16 ] && [ $((h - h0)) -le 6 ] && [ "$(chainv "$A" files)" = 346 ] &&
    t_pass add_with_a_connected_peer_stays_packed ||
    t_fail add_with_a_connected_peer_stays_packed "rc=$rc height $h0 -> $h: $("$CTL" -d "$A" chain --json)"
wait_for 15 in_sync 346 && t_pass b_cache_follows_the_burst ||
    t_fail b_cache_follows_the_burst "B cache: $("$CTL" -d "$B" cache --json); A height $h"
