#!/usr/bin/env bash
# lan.sh — LAN discovery (docs/protocol.md §6.3) between network namespaces: five
# nodes on a bridge find each other with no root peer by IPv4 broadcast and
# by IPv6 multicast (ff05::112); lan = no sends nothing; a flood of garbage,
# forged and replayed datagrams at the broadcast address leaves netd up,
# its memory bounded, and a newcomer still discovered.
. "$(dirname "$0")/lib.sh"

N=5
PORT=7112
FLOOD="$(dirname "$BIN")/tests/lanflood"
DIRS=()

# A bridge in pnlan-br and namespaces pnlan-1..K, each with eth0 on it.
net_up() {	# count
	local k
	t_netns pnlan-br || return 1
	# No MLD querier here: snooping would only get in the way of ff05::112.
	ip -n pnlan-br link add br0 type bridge mcast_snooping 0 || return 1
	ip -n pnlan-br link set br0 up
	for k in $(seq 1 "$1"); do
		t_netns "pnlan-$k" || return 1
		ip -n "pnlan-$k" link add eth0 type veth peer name "v$k" netns pnlan-br || return 1
		ip -n pnlan-br link set "v$k" master br0 up
		ip -n "pnlan-$k" link set eth0 up
		ip -n "pnlan-$k" addr add "10.77.0.$k/24" dev eth0
		ip -n "pnlan-$k" addr add "fd77::$k/64" dev eth0 nodad
	done
}

# Stops this case's nodes, then removes its namespaces.
net_down() {
	local d k
	for d in "${DIRS[@]}"; do "$CTL" -d "$d" down >/dev/null 2>&1 & done
	wait
	DIRS=()
	for k in $(seq 1 9) br; do
		ip netns pids "pnlan-$k" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "pnlan-$k" 2>/dev/null
	done
}

node_up() {	# k listen-address [init options...]; runs in $NODE_NS or pnlan-k
	local k=$1 addr=$2 d ns=${NODE_NS:-pnlan-$1}
	shift 2
	d=$(t_mkdir)
	DIRS[$k]=$d
	"$CTL" -d "$d" init --listen "$addr" --no-upnp --no-natpmp "$@" >/dev/null || return 1
	ip netns exec "$ns" "$CTL" -d "$d" up >/dev/null
}
netd_pid() { "$CTL" -d "$1" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid'; }
counter() { "$CTL" -d "$1" status --json | jq -r ".network.counters.$2"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# How many of the nodes in "$@" (indices) list each other: ordered pairs.
pairs_found() {
	local i j n=0 ids=() list
	for i in "$@"; do ids[$i]=$(node_id "${DIRS[$i]}" 2>/dev/null); done
	for i in "$@"; do
		list=$("$CTL" -d "${DIRS[$i]}" peers --json 2>/dev/null | jq -r '.peers[].node_id')
		for j in "$@"; do
			[ "$i" = "$j" ] && continue
			[ -n "${ids[$j]}" ] && grep -qx "${ids[$j]}" <<<"$list" && n=$((n + 1))
		done
	done
	echo "$n"
}

# all_discover CASE FAMILY-LABEL ADDR-FORMAT: N nodes, 20 ordered pairs within 30 s.
all_discover() {
	local name=$1 label=$2 fmt=$3 k start first got want=$((N * (N - 1)))
	first=$(date +%s%N)
	for k in $(seq 1 $N); do
		# shellcheck disable=SC2059
		node_up "$k" "$(printf "$fmt" "$k")" || { t_fail "$name" "node $k did not start"; return; }
	done
	start=$(date +%s%N)
	got=0
	while [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 30 ]; do
		got=$(pairs_found $(seq 1 $N))
		[ "$got" -eq "$want" ] && break
		sleep 0.2
	done
	echo "# $label: $got of $want pairs $(( ($(date +%s%N) - start) / 1000000 )) ms after the last node started ($(( ($(date +%s%N) - first) / 1000000 )) ms after the first); node 1: rx_discovery $(counter "${DIRS[1]}" rx_discovery), tx_discovery $(counter "${DIRS[1]}" tx_discovery)"
	if [ "$got" -eq "$want" ]; then
		t_pass "$name"
	else
		t_fail "$name" "$got of $want pairs; node 1: $(tail -3 "${DIRS[1]}/log/netd.log" | tr '\n' ' ')"
	fi
}

t_need_root ipv4_broadcast_five_nodes_find_each_other || exit 0
command -v jq >/dev/null || { t_skip lan "needs jq"; exit 0; }

# (a) IPv4 broadcast only.
if net_up $N; then
	all_discover ipv4_broadcast_five_nodes_find_each_other "IPv4 broadcast" "10.77.0.%d:$PORT"
else
	t_fail ipv4_broadcast_five_nodes_find_each_other "namespace set-up failed"
fi
net_down

# (b) IPv6 multicast only.
if net_up $N; then
	all_discover ipv6_multicast_five_nodes_find_each_other "IPv6 multicast" "[fd77::%d]:$PORT"
else
	t_fail ipv6_multicast_five_nodes_find_each_other "namespace set-up failed"
fi
net_down

# (c) lan = no: nothing sent, nobody found.
if net_up 2 && node_up 1 "10.77.0.1:$PORT" --no-lan && node_up 2 "10.77.0.2:$PORT" --no-lan; then
	sleep 12
	tx=$(( $(counter "${DIRS[1]}" tx_discovery) + $(counter "${DIRS[2]}" tx_discovery) ))
	np=$(( $("$CTL" -d "${DIRS[1]}" peers --json | jq '.peers | length') +
	    $("$CTL" -d "${DIRS[2]}" peers --json | jq '.peers | length') ))
	echo "# lan = no: tx_discovery $tx, peers $np after 12 s"
	[ "$tx" -eq 0 ] && t_pass lan_no_sends_no_discovery || t_fail lan_no_sends_no_discovery "tx_discovery=$tx"
	[ "$np" -eq 0 ] && t_pass lan_no_finds_no_peers || t_fail lan_no_finds_no_peers "peers=$np"
	ss=$(ip netns exec pnlan-1 ss -uanp 2>/dev/null | grep -c ":12912 " || true)
	[ "$ss" -eq 0 ] && t_pass lan_no_opens_no_discovery_socket || t_fail lan_no_opens_no_discovery_socket "$ss sockets on 12912"
else
	t_fail lan_no_sends_no_discovery "set-up failed"
fi
net_down

# (e) Nodes on one host share port 12912 (SO_REUSEPORT) and hear each
# other through broadcast / multicast loopback.
if net_up 1 && NODE_NS=pnlan-1 node_up 1 "10.77.0.1:$PORT" &&
    NODE_NS=pnlan-1 node_up 2 "10.77.0.1:$((PORT + 1))" &&
    NODE_NS=pnlan-1 node_up 3 "[fd77::1]:$PORT" &&
    NODE_NS=pnlan-1 node_up 4 "[fd77::1]:$((PORT + 1))"; then
	got4=0 got6=0
	for _ in $(seq 1 50); do
		got4=$(pairs_found 1 2); got6=$(pairs_found 3 4)
		[ "$got4" -eq 2 ] && [ "$got6" -eq 2 ] && break
		sleep 0.2
	done
	echo "# one host: IPv4 pairs $got4 of 2, IPv6 pairs $got6 of 2"
	[ "$got4" -eq 2 ] && [ "$got6" -eq 2 ] && t_pass same_host_nodes_share_port_and_find_each_other ||
	    t_fail same_host_nodes_share_port_and_find_each_other "IPv4 $got4/2, IPv6 $got6/2"
else
	t_fail same_host_nodes_share_port_and_find_each_other "set-up failed"
fi
net_down

# (d) A flood at the broadcast address from pnlan-9.
if [ ! -x "$FLOOD" ]; then
	t_skip flood_netd_stays_up "no $FLOOD (make unit)"
	exit 0
fi
if ! net_up 2; then t_fail flood_netd_stays_up "set-up failed"; exit 0; fi
t_netns pnlan-9
ip -n pnlan-9 link add eth0 type veth peer name v9 netns pnlan-br
ip -n pnlan-br link set v9 master br0 up
ip -n pnlan-9 link set eth0 up
ip -n pnlan-9 addr add 10.77.0.9/24 dev eth0
cap=$(mktemp); TMPDIRS+=("$cap")
# Capture node 1's first discovery packet, to replay it at node 1.
ip netns exec pnlan-9 "$FLOOD" capture 12912 10 "$cap" >/dev/null &
cpid=$!
sleep 0.3
node_up 1 "10.77.0.1:$PORT" || t_fail flood_netd_stays_up "node 1 did not start"
wait $cpid && echo "# captured node 1's own discovery packet ($(stat -c %s "$cap") bytes)" ||
    { echo "# no discovery packet captured: no replays in the flood"; : >"$cap"; }
pid=$(netd_pid "${DIRS[1]}")
r0=$(rss "$pid")
t0=$(date +%s%N)
out=$(ip netns exec pnlan-9 "$FLOOD" flood 10.77.0.255 12912 12000 "$cap")
el=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# flood: $out in $el ms"
sleep 1
r1=$(rss "$pid")
drop=$(counter "${DIRS[1]}" drop_discovery)
rx=$(counter "${DIRS[1]}" rx_discovery)
echo "# netd RSS before the flood ${r0} kB, after ${r1} kB; drop_discovery $drop, rx_discovery $rx"
kill -0 "$pid" 2>/dev/null && t_pass flood_netd_stays_up || t_fail flood_netd_stays_up "netd $pid gone"
[ "$drop" -gt 0 ] && t_pass flood_drops_counted || t_fail flood_drops_counted "drop_discovery=$drop"
[ "$r1" -lt $((r0 + 20000)) ] && t_pass flood_memory_bounded || t_fail flood_memory_bounded "RSS $r0 -> $r1 kB"
# A legitimate newcomer is still found, both ways.
node_up 2 "10.77.0.2:$PORT" || t_fail flood_newcomer_discovered "node 2 did not start"
start=$SECONDS
got=0
while [ $((SECONDS - start)) -lt 20 ]; do
	got=$(pairs_found 1 2)
	[ "$got" -eq 2 ] && break
	sleep 0.5
done
echo "# after the flood: newcomer pairs $got of 2 in $((SECONDS - start)) s"
[ "$got" -eq 2 ] && t_pass flood_newcomer_discovered || t_fail flood_newcomer_discovered "$got of 2 pairs"
net_down
