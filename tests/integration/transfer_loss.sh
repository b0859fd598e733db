#!/usr/bin/env bash
# transfer_loss.sh — a file transfer (Transfer over UDT in lite packets,
# docs/protocol.md §9.3-9.5) through a lossy link: two network namespaces joined
# by a veth pair (10.88.0.1/24 — A, the sharer; 10.88.0.2/24 — B, whose root
# peer is A), nftables in both namespaces dropping UDP at random in input
# and output (5 %, then 20 %: about 10 % / 36 % of the datagrams lost end to
# end).  A 50 MB file must arrive with the right hash at both rates, within
# a bounded time; the rate is printed.  Needs root, ip(8) and nft(8).
. "$(dirname "$0")/lib.sh"

NSA=pnloss-a; NSB=pnloss-b
TIMEOUT_5=${PEERNET_LOSS_TIMEOUT_5:-180}
TIMEOUT_20=${PEERNET_LOSS_TIMEOUT_20:-420}

t_need_root lossy_link || exit 0
if ! command -v b3sum >/dev/null; then
	t_skip lossy_link "b3sum is not installed"; exit 0
fi

# The namespaces and the veth pair (created inside A's namespace: nothing
# is left in the root namespace).
t_netns $NSA && t_netns $NSB || { t_fail setup "cannot create namespaces"; exit 0; }
ip -n $NSA link add pnloss0 type veth peer name pnloss1 netns $NSB &&
ip -n $NSA addr add 10.88.0.1/24 dev pnloss0 && ip -n $NSA link set pnloss0 up &&
ip -n $NSB addr add 10.88.0.2/24 dev pnloss1 && ip -n $NSB link set pnloss1 up ||
    { t_fail setup "cannot create the veth pair"; exit 0; }
if command -v ping >/dev/null; then
	wait_for 5 ip netns exec $NSA ping -c 1 -W 1 10.88.0.2 ||
	    { t_fail setup "the veth pair does not carry packets"; exit 0; }
fi

# loss PCT: random UDP drops in both namespaces, both directions.
loss() {
	local ns
	for ns in $NSA $NSB; do
		ip netns exec $ns nft -f - <<EOF || return 1
table inet pnloss
delete table inet pnloss
table inet pnloss {
	chain in {
		type filter hook input priority 0; policy accept;
		meta l4proto udp numgen random mod 100 < $1 drop
	}
	chain out {
		type filter hook output priority 0; policy accept;
		meta l4proto udp numgen random mod 100 < $1 drop
	}
}
EOF
	done
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Per-datagram loss, as on a real link: with UDP GSO (the default) the
# netfilter hooks of this host would see a run of up to 53 datagrams as one
# packet and drop it whole; the NIC of a real sender cuts it before the wire.
node_up() {	# ns dir ip [root]
	local ns=$1 d=$2 ip=$3 root=${4:-}
	if [ -n "$root" ]; then
		in_ns "$ns" "$CTL" -d "$d" init --listen "$ip:7001" --root "$root" \
		    --no-lan --no-upnp --no-natpmp >/dev/null
	else
		in_ns "$ns" "$CTL" -d "$d" init --listen "$ip:7001" --no-lan --no-upnp \
		    --no-natpmp >/dev/null
	fi
	printf '[netd]\nudp_gso = no\n' >> "$d/peernet.conf"
	in_ns "$ns" "$CTL" -d "$d" up >/dev/null
}

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-loss.XXXXXX); TMPDIRS+=("$W")
node_up $NSA "$A" 10.88.0.1 || { t_fail nodes_up "$(cat "$A"/log/*.log 2>/dev/null | tail -5)"; exit 0; }
PA=$("$CTL" -d "$A" id --json | jq -r .peer_id); NA=$("$CTL" -d "$A" id --json | jq -r .node_id)
node_up $NSB "$B" 10.88.0.2 "$PA@10.88.0.1:7001" || { t_fail nodes_up "B did not start"; exit 0; }
if wait_for 20 in_ns $NSB "$CTL" -d "$B" ping "$NA" && wait_for 10 in_ns $NSA "$CTL" -d "$A" chain; then
	t_pass nodes_connected
else
	t_fail nodes_connected "$(in_ns $NSB "$CTL" -d "$B" peers 2>&1)"; exit 0
fi

SIZE=50000000
for pct in 5 20; do
	f="$W/f$pct"
	head -c $SIZE /dev/urandom > "$f"
	h=$(b3sum --no-names "$f")
	out=$(in_ns $NSA "$CTL" -d "$A" add --json "$f"); rc=$?
	if [ $rc -ne 0 ]; then
		t_fail "get_50mb_at_${pct}pct_loss" "add failed: $out"; continue
	fi
	if ! loss $pct; then
		t_fail "get_50mb_at_${pct}pct_loss" "nft rules refused"; continue
	fi
	to=$TIMEOUT_5; [ $pct = 20 ] && to=$TIMEOUT_20
	t0=$(date +%s%N)
	# The REQUEST_START message is one datagram that netd does not repeat:
	# when the loss takes it, get fails after 15 s ("did not answer"), or at
	# once when nft's output hook refuses it (EPERM: "cannot send"); as a
	# user would, we ask again (3 tries at most, within the timeout).
	tries=0
	while :; do
		tries=$((tries + 1))
		left=$(( to - ($(date +%s%N) - t0) / 1000000000 ))
		[ $left -gt 0 ] || { rc=124; break; }
		res=$(timeout $left ip netns exec $NSB "$CTL" -d "$B" get --json "$h" \
		    --from "$NA" -o "$W/got$pct" 2>&1); rc=$?
		[ $rc -ne 0 ] && [ $tries -lt 3 ] &&
		    grep -Eq "did not answer|cannot send the request" <<<"$res" || break
	done
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	if [ $rc -eq 0 ] && [ "$(b3sum --no-names "$W/got$pct" 2>/dev/null)" = "$h" ]; then
		t_pass "get_50mb_at_${pct}pct_loss"
		echo "# ${pct}% drop per hook (both ways, in and out): 50 MB in ${ms} ms," \
		    "$(( SIZE / (ms > 0 ? ms : 1) / 1000 )) MB/s end to end; netd rate" \
		    "$(jq -r .rate <<<"$res" 2>/dev/null) B/s; $tries request(s)"
	elif [ $rc -eq 124 ]; then
		t_fail "get_50mb_at_${pct}pct_loss" "not done after ${to} s: $(in_ns $NSB "$CTL" \
		    -d "$B" status --json 2>/dev/null | jq -c .counters 2>/dev/null | head -c 600)"
	else
		t_fail "get_50mb_at_${pct}pct_loss" "rc=$rc after ${ms} ms: $res"
	fi
	rm -f "$f" "$W/got$pct"
done

# Without loss again, the nodes still talk.
# udp_gso = no: every datagram went out on its own.
gso=$(in_ns $NSA "$CTL" -d "$A" status --json | jq -r '.network.counters.tx_gso_runs // empty')
tx=$(in_ns $NSA "$CTL" -d "$A" status --json | jq -r '.network.counters.tx_packets // empty')
[ "$gso" = 0 ] && [ "${tx:-0}" -gt 40000 ] && t_pass udp_gso_no_sends_datagram_by_datagram ||
    t_fail udp_gso_no_sends_datagram_by_datagram "tx_gso_runs=$gso tx_packets=$tx"
ip netns exec $NSA nft delete table inet pnloss 2>/dev/null
ip netns exec $NSB nft delete table inet pnloss 2>/dev/null
t_check nodes_still_talk wait_for 20 in_ns $NSB "$CTL" -d "$B" ping "$NA"
