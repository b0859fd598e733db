#!/usr/bin/env bash
# nat.sh — Traverse (docs/protocol.md §8) behind real Linux NATs in network
# namespaces: a relay R on a public segment, nodes behind nftables routers.
#
#   pnnat-pub (bridge)  198.51.100.0/24
#     R   198.51.100.10         relay, the only root peer of everyone
#     NA  198.51.100.1  | LAN 10.1.0.1 -- A 10.1.0.2   cone
#     NB  198.51.100.2  | LAN 10.2.0.1 -- B 10.2.0.2   cone
#     NC  198.51.100.3  | LAN 10.3.0.1 -- C 10.3.0.2   symmetric
#     ND  198.51.100.4  | LAN 10.4.0.1 -- D 10.4.0.2   symmetric
#     NE  198.51.100.5  | LAN 10.5.0.1 -- E 10.5.0.2   plain (case d)
#     NG  198.51.100.6  | LAN 10.6.0.1 -- G 10.6.0.2   plain (case d)
#     R2  198.51.100.11         relay of E and G only (case d)
#     F   198.51.100.20         fakepeer (forged Traverse messages at R)
#
# Routers: conntrack only lets replies in (a packet from an address:port the
# inside host has not sent to is dropped: port-restricted filtering), and
# unsolicited datagrams to the router die in its input chain (so they leave
# no conntrack entry that would block the inside host's later mapping).
#  - cone: "masquerade to :4000N", every flow of the node's one socket gets
#    the same external port (endpoint-independent mapping), and that port is
#    not the node's listening port, so peers see it as NATed (§5.5); plain
#    masquerade keeps port 112 and then a peer record shows no NAT, so the
#    reference (and we) would not send a Traverse at all, only the direct
#    Announcement the filter drops.
#  - symmetric: "masquerade random,fully-random": a random port per flow.
#  - plain: "masquerade", the most common home router: it keeps the source
#    port (112), so nobody sees a NAT and §8.1 sends no Traverse; only our
#    fallback punch (traverse.h, TRAVERSE_FALLBACK_MS) gets through.
. "$(dirname "$0")/lib.sh"

t_need_root nat || exit 0
BDIR=${B:-build}
FP="$BDIR/tests/fakepeer"
P=pnnat

ns() { ip netns exec "$@"; }
veth() {	# ns1 if1 ns2 if2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

setup_pub() {
	t_netns $P-pub || return 1
	ip -n $P-pub link add br0 type bridge && ip -n $P-pub link set br0 up
	t_netns $P-r
	veth $P-r eth0 $P-pub r0 && ip -n $P-pub link set r0 master br0
	ip -n $P-r addr add 198.51.100.10/24 dev eth0
	t_netns $P-f
	veth $P-f eth0 $P-pub f0 && ip -n $P-pub link set f0 master br0
	ip -n $P-f addr add 198.51.100.20/24 dev eth0
	ip -n $P-f addr add 198.51.100.21/24 dev eth0	# fakepeer's "address block" socket
}

# site X WANIP N MODE: router $P-nX and host $P-X (10.N.0.2) behind it.
site() {	# ... [RELAY_IP]: the "direct" counter leaves out that address (default R's)
	local x=$1 wan=$2 n=$3 mode=$4 relay=${5:-198.51.100.10} post
	t_netns $P-n$x && t_netns $P-$x || return 1
	veth $P-n$x wan $P-pub n${x}0 && ip -n $P-pub link set n${x}0 master br0
	veth $P-n$x lan $P-$x eth0
	ip -n $P-n$x addr add "$wan/24" dev wan
	ip -n $P-n$x addr add "10.$n.0.1/24" dev lan
	ip -n $P-$x addr add "10.$n.0.2/24" dev eth0
	ip -n $P-$x route add default via "10.$n.0.1"
	ns $P-n$x sysctl -qw net.ipv4.ip_forward=1
	if [ "$mode" = cone ]; then
		post="oifname \"wan\" meta l4proto udp masquerade to :4000$n
		      oifname \"wan\" masquerade"
	elif [ "$mode" = plain ]; then
		post="oifname \"wan\" masquerade"
	else
		post="oifname \"wan\" masquerade random,fully-random"
	fi
	ns $P-n$x nft -f - <<EOF || return 1
table ip $P {
	counter direct { }
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "wan" meta l4proto udp drop
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ip saddr 10.$n.0.0/24 ip daddr != $relay counter name "direct"
		ip daddr 10.$n.0.0/24 ip saddr != $relay counter name "direct"
		ct state established,related accept
		iifname "lan" accept
	}
	chain post {
		type nat hook postrouting priority 100;
		$post
	}
}
EOF
}

direct_pkts() { ns $P-n$1 nft list counter ip $P direct | awk '/packets/ {print $2}'; }

node_up() {	# ns dir ip [root]
	local n=$1 d=$2 ip=$3 root=${4:-}
	t_init_node "$d" "$ip:112" "$root" || return 1
	# R logs at debug level: its "forwarded" lines name the originator.
	[ -n "${NAT_DEBUG:-}" ] || [ -z "$root" ] && sed -i 's/^#log_level = info/log_level = debug/' "$d/peernet.conf"
	ns "$n" "$CTL" -d "$d" up >/dev/null
}
peer_id() { "$CTL" -d "$1" id --json | jq -r .peer_id; }
node_id() { "$CTL" -d "$1" id --json | jq -r .node_id; }
counter() { "$CTL" -d "$1" status --json | jq ".network.counters.$2"; }
peer_addr() {	# dir node_id: the address of that peer, "" if not active
	"$CTL" -d "$1" peers --json | jq -r --arg n "$2" \
	    '.peers[] | select(.node_id==$n and .state=="active") | .address'
}
has_peer() { [ -n "$(peer_addr "$1" "$2")" ]; }
# The node in dir finds node_id (peernetctl find) and has it as a peer
# within 10 s: PASS case, el set to the ms since the find; else FAIL case.
finds_peer() {	# dir node_id case who
	local start out
	start=$(date +%s%N)
	out=$("$CTL" -d "$1" --timeout 5000 find "$2" 2>&1)
	echo "# $4: $(tr '\n' ' ' <<<"$out")"
	if wait_for 10 has_peer "$1" "$2"; then
		el=$(( ($(date +%s%N) - start) / 1000000 ))
		t_pass "$3"
		return 0
	fi
	t_fail "$3" "$("$CTL" -d "$1" peers 2>&1; tail -5 "$1/log/netd.log")"
	return 1
}
# up_to_root DIR NODE_ID_OF_ROOT: the node answered by its root peer.
rooted() { "$CTL" -d "$1" --timeout 1000 ping "$2" >/dev/null 2>&1; }

setup_pub || { t_fail topology "cannot build the public segment"; exit 0; }
site a 198.51.100.1 1 cone && site b 198.51.100.2 2 cone &&
    site c 198.51.100.3 3 symmetric && site d 198.51.100.4 4 symmetric ||
    { t_fail topology "cannot build the NAT sites (nftables?)"; exit 0; }
t_pass topology_built

R=$(t_mkdir); A=$(t_mkdir); Bn=$(t_mkdir); C=$(t_mkdir); D=$(t_mkdir)
node_up $P-r "$R" 198.51.100.10 || { t_fail relay_up "$(tail -3 "$R/log/netd.log" 2>&1)"; exit 0; }
ROOT="$(peer_id "$R")@198.51.100.10:112"
NR=$(node_id "$R")
# B and D first, so that R knows them when A and C ask.
node_up $P-b "$Bn" 10.2.0.2 "$ROOT" & node_up $P-d "$D" 10.4.0.2 "$ROOT" & wait
wait_for 10 rooted "$Bn" "$NR" && wait_for 10 rooted "$D" "$NR" ||
    t_fail nodes_reach_relay "B or D never reached R"
node_up $P-a "$A" 10.1.0.2 "$ROOT" & node_up $P-c "$C" 10.3.0.2 "$ROOT" & wait
if wait_for 10 rooted "$A" "$NR" && wait_for 10 rooted "$C" "$NR"; then
	t_pass nodes_behind_nat_reach_relay
else
	t_fail nodes_behind_nat_reach_relay "$("$CTL" -d "$A" peers 2>&1)"
fi
NB=$(node_id "$Bn"); ND=$(node_id "$D")

# --- NAT state in status ------------------------------------------------------
nat_r=$("$CTL" -d "$R" status --json | jq -r .network.nat)
nat_a=$("$CTL" -d "$A" status --json | jq -r .network.nat)
echo "# status nat: R '$nat_r', A '$nat_a'"
[ "$nat_r" = "public (198.51.100.10:112)" ] && t_pass relay_reports_public ||
    t_fail relay_reports_public "$nat_r"
[ "$nat_a" = "behind NAT (10.1.0.2)" ] && t_pass natted_node_reports_behind_nat ||
    t_fail natted_node_reports_behind_nat "$nat_a"

# --- (a) cone NATs: A reaches B through R's Traverse, then talks directly ------
finds_peer "$A" "$NB" cone_a_connects_to_b_via_traverse "A find B" &&
	echo "# cone: A connected to B ${el} ms after 'find' (A's Traverse messages: $(counter "$A" tx_traverse), R forwarded $(counter "$R" traverse_forwarded), B accepted $(counter "$Bn" traverse_accepted))"
addr=$(peer_addr "$A" "$NB")
[[ "$addr" == 198.51.100.2:40002 ]] && t_pass cone_b_seen_at_its_nat_address ||
    t_fail cone_b_seen_at_its_nat_address "address '$addr'"
[ "$(counter "$R" traverse_forwarded)" -ge 1 ] && [ "$(counter "$Bn" traverse_accepted)" -ge 1 ] &&
    t_pass cone_relay_forwarded_and_target_accepted ||
    t_fail cone_relay_forwarded_and_target_accepted "forwarded $(counter "$R" traverse_forwarded) accepted $(counter "$Bn" traverse_accepted)"
d0=$(direct_pkts a); r0=$(counter "$R" rx_packets)
if wait_for 8 "$CTL" -d "$A" --timeout 1500 ping "$NB"; then
	for i in 1 2 3 4 5; do "$CTL" -d "$A" --timeout 1500 ping "$NB" >/dev/null; done
	d1=$(direct_pkts a); r1=$(counter "$R" rx_packets)
	echo "# cone: NA forwarded $((d1 - d0)) packets A<->NB directly during 6+ pings; R received $((r1 - r0)) packets meanwhile"
	[ $((d1 - d0)) -ge 12 ] && t_pass cone_ping_goes_direct_through_both_nats ||
	    t_fail cone_ping_goes_direct_through_both_nats "direct counter grew by $((d1 - d0))"
else
	t_fail cone_ping_goes_direct_through_both_nats "A cannot ping B"
fi
[ "$(counter "$A" traverse_punch_failed)" = 0 ] && t_pass cone_no_punch_failure ||
    t_fail cone_no_punch_failure "punch_failed=$(counter "$A" traverse_punch_failed)"

# --- (b) symmetric NATs: the punch fails, and C says so -------------------------
start=$SECONDS
out=$("$CTL" -d "$C" --timeout 5000 find "$ND" 2>&1)
echo "# C find D: $(tr '\n' ' ' <<<"$out")"
punch_failed() { [ "$(counter "$1" traverse_punch_failed)" -ge 1 ]; }
if wait_for 15 punch_failed "$C"; then
	t_pass symmetric_punch_failure_counted
	echo "# symmetric: C sent $(counter "$C" tx_traverse) Traverse messages, R forwarded $(counter "$R" traverse_forwarded) in all, D accepted $(counter "$D" traverse_accepted); failure reported after $((SECONDS - start)) s"
	grep -m1 "traverse to .*no answer" "$C/log/netd.log" | sed 's/^/# C log: /'
else
	t_fail symmetric_punch_failure_counted "$(counter "$C" traverse_punch_failed)"
fi
[ -n "${NAT_DEBUG:-}" ] && for d in "$A" "$Bn" "$C" "$D" "$R"; do
	echo "== $d"; grep -i travers "$d/log/netd.log" | head -30; done >&2
has_peer "$C" "$ND" && t_fail symmetric_not_connected "C connected to D after all" ||
    t_pass symmetric_not_connected
out=$("$CTL" -d "$C" --timeout 1500 ping "$ND" 2>&1); rc=$?
echo "# C ping D: rc=$rc $out"
[ $rc -ne 0 ] && grep -q "hole punching" <<<"$out" && t_pass symmetric_ping_fails_with_error || t_fail symmetric_ping_fails_with_error "rc=$rc"

# --- (c) forged Traverse messages at the relay (fakepeer at 198.51.100.20) ------
if [ -x "$FP" ]; then
	PR=$(peer_id "$R"); PB=$(peer_id "$Bn")
	FK=$(t_mkdir)/fp.key
	FPID=$("$FP" -k "$FK" id)
	# Its node ID's first 8 bytes, as R's log prints them.
	FNODE=$(xxd -r -p <<<"$FPID" | b3sum --no-names | cut -c1-16)
	fp() { ns $P-f "$FP" -k "$FK" -b 198.51.100.20:0 -t 5 traverse "$PR" 198.51.100.10:112 "$@"; }
	fp_forwards() { grep -c "traverse from $FNODE… forwarded" "$R/log/netd.log"; }
	check() {	# name kind counter [other]
		local name=$1 kind=$2 c=$3 before after out
		before=$(counter "$R" "$c")
		out=$(fp "$kind" ${4:-} 2>&1)
		after=$(counter "$R" "$c")
		if [ "$after" -gt "$before" ]; then t_pass "$name"
		else t_fail "$name" "$c $before -> $after: $out"; fi
	}
	fp valid "$PB" >/dev/null 2>&1
	fw0=$(fp_forwards)
	[ "$fw0" = 1 ] && t_pass valid_traverse_from_fakepeer_forwarded ||
	    t_fail valid_traverse_from_fakepeer_forwarded "R forwarded it $fw0 times"
	check forged_signature_dropped forge_sig drop_traverse_signature "$PB"
	check signer_not_sender_dropped signer drop_traverse_signature "$PB"
	check expired_dropped expired drop_traverse_expired "$PB"
	check unknown_target_dropped unknown_target drop_traverse_target
	check wrong_target_dropped wrong_target drop_traverse_target
	check unauthorised_relay_dropped unauthorised drop_traverse_target
	fw1=$(fp_forwards)
	[ "$fw1" = "$fw0" ] && t_pass forged_messages_never_forwarded ||
	    t_fail forged_messages_never_forwarded "forwarded $fw0 -> $fw1"
	o0=$(counter "$R" drop_traverse_other)
	sleep 1	# the rate window counts from the first forward
	fp flood "$PB" >/dev/null 2>&1
	fw2=$(fp_forwards); o1=$(counter "$R" drop_traverse_other)
	echo "# 20 valid Traverse messages from one originator: R forwarded $((fw2 - fw1)), dropped $((o1 - o0)) by rate"
	# The window holds 8 forwards; the valid one above may have used one of them.
	[ $((fw2 - fw1)) -ge 7 ] && [ $((fw2 - fw1)) -le 8 ] && [ $((o1 - o0)) -ge 12 ] &&
	    t_pass relay_rate_limits_one_originator ||
	    t_fail relay_rate_limits_one_originator "forwarded $((fw2 - fw1)), rate drops $((o1 - o0))"
	# The target path, with R as the target and fakepeer as the relay.
	a0=$(counter "$R" traverse_accepted)
	out=$(ns $P-f "$FP" -k "$FK" -b 198.51.100.20:0 -a 198.51.100.21:0 -t 5 traverse "$PR" \
	    198.51.100.10:112 deliver 2>&1)
	echo "# deliver: $out"
	[ "$(jq .answered <<<"$out")" = 1 ] && [ "$(counter "$R" traverse_accepted)" -gt "$a0" ] &&
	    t_pass target_answers_embedded_announcement_at_address_block ||
	    t_fail target_answers_embedded_announcement_at_address_block "$out"
	s0=$(counter "$R" drop_traverse_signature)
	out=$(ns $P-f "$FP" -k "$FK" -b 198.51.100.20:0 -a 198.51.100.21:0 -t 5 traverse "$PR" \
	    198.51.100.10:112 deliver_forged 2>&1)
	[ "$(jq .answered <<<"$out")" = 0 ] && [ "$(counter "$R" drop_traverse_signature)" -gt "$s0" ] &&
	    t_pass target_drops_embedded_packet_not_from_signer ||
	    t_fail target_drops_embedded_packet_not_from_signer "$out"
	rpid=$("$CTL" -d "$R" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid')
	kill -0 "$rpid" 2>/dev/null && wait_for 3 rooted "$A" "$NR" &&
	    t_pass relay_survives_forged_traverse ||
	    t_fail relay_survives_forged_traverse "R's netd gone or silent"
else
	t_skip forged_traverse "$FP missing: run 'make unit'"
fi

# --- (d) port-preserving NATs (plain masquerade): the fallback Traverse -------
# G's record at R2 shows no NAT (observed port 112 = reported 112), so E's
# direct first contact is all §8.1 sends, and NG's filter drops it; after
# TRAVERSE_FALLBACK_MS without an answer E sends the Traverse through R2
# anyway.  E and G have their own relay R2, whom nobody else knows: with
# one contact each (R2) neither runs start-up lookups (they need 2), so G
# never contacts E by itself; a G packet towards E would open NG for E by
# chance, and the two would connect without any Traverse.
if site e 198.51.100.5 5 plain 198.51.100.11 && site g 198.51.100.6 6 plain 198.51.100.11 &&
    t_netns $P-r2 && veth $P-r2 eth0 $P-pub r20 && ip -n $P-pub link set r20 master br0 &&
    ip -n $P-r2 addr add 198.51.100.11/24 dev eth0; then
	R2=$(t_mkdir); E=$(t_mkdir); G=$(t_mkdir)
	node_up $P-r2 "$R2" 198.51.100.11 || t_fail plain_relay_up "$(tail -3 "$R2/log/netd.log" 2>&1)"
	ROOT2="$(peer_id "$R2")@198.51.100.11:112"; NR2=$(node_id "$R2")
	node_up $P-g "$G" 10.6.0.2 "$ROOT2" && wait_for 10 rooted "$G" "$NR2" &&
	    node_up $P-e "$E" 10.5.0.2 "$ROOT2" && wait_for 10 rooted "$E" "$NR2" ||
	    t_fail plain_nodes_reach_relay "$(tail -3 "$E/log/netd.log" "$G/log/netd.log" 2>&1)"
	NG=$(node_id "$G")
	fw_before=$(counter "$R2" traverse_forwarded)
	if finds_peer "$E" "$NG" plain_e_connects_to_g_via_fallback_traverse "E find G"; then
		echo "# plain: E connected to G ${el} ms after 'find' (E's fallback Traverses: $(counter "$E" traverse_fallback), connected after one: $(counter "$E" traverse_fallback_connected); R2 forwarded $(( $(counter "$R2" traverse_forwarded) - fw_before )), G accepted $(counter "$G" traverse_accepted))"
		grep -m1 "direct contact unanswered" "$E/log/netd.log" | sed 's/^/# E log: /'
	fi
	addr=$(peer_addr "$E" "$NG")
	[[ "$addr" == 198.51.100.6:112 ]] && t_pass plain_g_seen_at_its_kept_port ||
	    t_fail plain_g_seen_at_its_kept_port "address '$addr'"
	[ "$(counter "$E" traverse_fallback)" -ge 1 ] &&
	    [ "$(counter "$E" traverse_fallback_connected)" -ge 1 ] &&
	    [ "$(counter "$G" traverse_accepted)" -ge 1 ] &&
	    t_pass plain_fallback_counted ||
	    t_fail plain_fallback_counted "fallback $(counter "$E" traverse_fallback) connected $(counter "$E" traverse_fallback_connected) accepted $(counter "$G" traverse_accepted)"
	# After the punch: E<->G packets cross both routers' "direct" counters
	# (LAN <-> any address but R2's), and R2 forwards nothing more between
	# them (a relay has no other way to carry them: Traverse is the only
	# relayed message in v0).  R2's debug log names both ends of every
	# forward.
	NE=$(node_id "$E")
	eg_fwd() { grep -Ec "traverse from (${NE:0:16}… forwarded to ${NG:0:16}|${NG:0:16}… forwarded to ${NE:0:16})…" "$R2/log/netd.log"; }
	if wait_for 8 "$CTL" -d "$E" --timeout 1500 ping "$NG"; then
		fw0=$(eg_fwd); de0=$(direct_pkts e); dg0=$(direct_pkts g)
		ok=0
		for i in 1 2 3 4 5; do
			"$CTL" -d "$E" --timeout 1500 ping "$NG" >/dev/null 2>&1 && ok=$((ok + 1))
		done
		fw1=$(eg_fwd); de1=$(direct_pkts e); dg1=$(direct_pkts g)
		echo "# plain: $ok of 5 pings answered; meanwhile NE forwarded $((de1 - de0)) and NG $((dg1 - dg0)) packets E<->G directly; R2 forwarded $((fw1 - fw0)) Traverse messages between E and G ($fw1 in all, the punch's included)"
		[ $((de1 - de0)) -ge $((2 * ok)) ] && [ $((dg1 - dg0)) -ge $((2 * ok)) ] &&
		    [ "$ok" -ge 3 ] && [ "$fw1" = "$fw0" ] && [ "$fw1" -ge 1 ] &&
		    t_pass plain_ping_goes_direct_relay_carries_none ||
		    t_fail plain_ping_goes_direct_relay_carries_none "pings $ok, NE +$((de1 - de0)) NG +$((dg1 - dg0)) R2 forwarded E<->G $fw0 -> $fw1"
	else
		t_fail plain_ping_goes_direct_relay_carries_none "E cannot ping G"
	fi
else
	t_fail plain_topology "cannot build the plain masquerade sites"
fi
