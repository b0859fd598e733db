#!/usr/bin/env bash
# transfer.sh — file transfer (Transfer over UDT in lite packets, PROTOCOL.md
# §9.3) between two nodes on loopback: B has A as its root peer; A shares
# files of 0 B, 1 B, 262143/262144/262145 B (fragment size ± 1) and 10 MB;
# B downloads each with `peernetctl get HASH --from A -o FILE`: exit 0, the
# file's b3sum is the hash, and B's warehouse serves it (`cat`).  An unknown
# hash fails cleanly (NOT_AVAILABLE -> exit 1 with a message).
. "$(dirname "$0")/lib.sh"

node_up() {	# dir ip [root]
	local d=$1 ip=$2 root=${3:-}
	if [ -n "$root" ]; then
		"$CTL" -d "$d" init --listen "$ip:7001" --root "$root" --no-lan --no-upnp --no-natpmp >/dev/null
	else
		"$CTL" -d "$d" init --listen "$ip:7001" --no-lan --no-upnp --no-natpmp >/dev/null
	fi
	sed -i 's/^#log_level = info/log_level = debug/' "$d/peernet.conf"
	"$CTL" -d "$d" up >/dev/null
}
peer_id() { "$CTL" -d "$1" id --json | jq -r .peer_id; }
node_id() { "$CTL" -d "$1" id --json | jq -r .node_id; }

if ! command -v b3sum >/dev/null; then
	t_skip all "b3sum is not installed"; exit 0
fi
A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-files.XXXXXX); TMPDIRS+=("$W")
node_up "$A" 127.0.6.1 || { t_fail nodes_up "$(cat "$A"/log/*.log 2>/dev/null)"; exit 0; }
PA=$(peer_id "$A"); NA=$(node_id "$A")
node_up "$B" 127.0.6.2 "$PA@127.0.6.1:7001" || { t_fail nodes_up "B did not start"; exit 0; }
if wait_for 10 "$CTL" -d "$B" ping "$NA" && wait_for 10 "$CTL" -d "$A" chain; then
	t_pass nodes_connected
else
	t_fail nodes_connected "$("$CTL" -d "$B" peers 2>&1)"; exit 0
fi

# The files: sizes around the 256 KiB fragment size, and 10 MB of random data.
: > "$W/f0"
printf 'x' > "$W/f1"
head -c 262143 /dev/urandom > "$W/f262143"
head -c 262144 /dev/urandom > "$W/f262144"
head -c 262145 /dev/urandom > "$W/f262145"
head -c 10000000 /dev/urandom > "$W/f10000000"
out=$("$CTL" -d "$A" add --json "$W"/f*); rc=$?
[ $rc -eq 0 ] && [ "$(jq '.added | length' <<<"$out")" = 6 ] && t_pass a_shares_6_files ||
    t_fail a_shares_6_files "rc=$rc $out"

mkdir -p "$W/got"
for size in 0 1 262143 262144 262145 10000000; do
	h=$(b3sum --no-names "$W/f$size")
	t0=$(date +%s%N)
	res=$("$CTL" -d "$B" get --json "$h" --from "$NA" -o "$W/got/f$size" 2>&1); rc=$?
	t1=$(date +%s%N)
	if [ $rc -eq 0 ] && [ -f "$W/got/f$size" ] &&
	    [ "$(b3sum --no-names "$W/got/f$size")" = "$h" ] &&
	    [ "$(stat -c %s "$W/got/f$size")" = "$size" ]; then
		t_pass "get_${size}_bytes"
	else
		t_fail "get_${size}_bytes" "rc=$rc $res"
	fi
	if [ "$size" = 10000000 ] && [ $rc -eq 0 ]; then
		ms=$(( (t1 - t0) / 1000000 ))
		echo "# 10 MB: netd rate $(jq .rate <<<"$res") B/s; get -o end to end ${ms} ms" \
		    "($(( 10000000 / (ms > 0 ? ms : 1) / 1000 )) MB/s)"
	fi
	# The content is in B's warehouse: B serves it too.
	if [ "$size" != 0 ]; then
		[ "$("$CTL" -d "$B" cat "$h" | b3sum --no-names)" = "$h" ] &&
		    t_pass "b_cat_${size}_bytes" ||
		    t_fail "b_cat_${size}_bytes" "cat from B's warehouse differs"
	fi
done

# A second get of stored content does not touch the network.
h=$(b3sum --no-names "$W/f262145")
res=$("$CTL" -d "$B" get --json "$h" --from "$NA"); rc=$?
[ $rc -eq 0 ] && [ "$(jq .already_stored <<<"$res")" = true ] &&
    t_pass get_again_is_already_stored || t_fail get_again_is_already_stored "rc=$rc $res"

# An unknown hash: A answers NOT_AVAILABLE, get exits 1 with a clear message.
unk=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
t0=$(date +%s)
err=$("$CTL" -d "$B" get "$unk" --from "$NA" 2>&1 >/dev/null); rc=$?
el=$(( $(date +%s) - t0 ))
if [ $rc -eq 1 ] && grep -qi "not available" <<<"$err" && [ $el -le 5 ]; then
	t_pass get_unknown_hash_fails_cleanly
else
	t_fail get_unknown_hash_fails_cleanly "rc=$rc after ${el}s: $err"
fi
# A node that is not connected: refused at once.
err=$("$CTL" -d "$B" get "$unk" --from "$(printf '%064d' 0)" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "not connected" <<<"$err" && t_pass get_from_unconnected_node_fails ||
    t_fail get_from_unconnected_node_fails "rc=$rc $err"

# No chain record was created on B for the downloads.
[ "$("$CTL" -d "$B" chain --json | jq .files)" = 0 ] && t_pass download_creates_no_chain_record ||
    t_fail download_creates_no_chain_record "$("$CTL" -d "$B" chain --json)"

# The sessions are gone on both sides, the providers' ended without idle expiry.
sleep 1
! grep -q "file serving .* ended: idle" "$A"/log/*netd*.log 2>/dev/null &&
    t_pass a_serving_sessions_end_without_idle_expiry ||
    t_fail a_serving_sessions_end_without_idle_expiry "$(grep -h "file serving" "$A"/log/*.log | tail -5)"
t_check nodes_still_talk "$CTL" -d "$B" ping "$NA"
