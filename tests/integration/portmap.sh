#!/usr/bin/env bash
# portmap.sh — netd's port mapping (docs/protocol.md §6.4, netd/portmap.c) against
# a real miniupnpd in a router namespace:
#
#   pnpm-o (O, WAN .2) --- pnpm-w0/w1 --- pnpm-r (router, masquerade, miniupnpd)
#                                             |  pnpm-l0/l1 (192.168.77.0/24)
#                                          pnpm-a (A, 192.168.77.2, default via .1)
#
# (a) UPnP: A (listening on 0.0.0.0:7001, so the per-interface path) maps its
#     port; status shows the mapping and the router's WAN address; the DNAT
#     rule is in the router; O, whose root peer is A at WAN:mapped-port,
#     connects (inbound through the mapping) and each lists the other; `down`
#     removes the rule.
# (b) NAT-PMP alone (--no-upnp): mapped, then removed on `down`.
# (c) A hostile router (portmap_garbage.py: SSDP pointing at garbage HTTP,
#     garbage NAT-PMP answers): netd stays up, counts portmap_errors, reports
#     the failure, RSS stays bounded.
#
# The WAN is 198.20.0.0/24, not 203.0.113.0/24: miniupnpd 2.3 refuses to map
# anything when its external address is reserved (RFC 5737 included), and
# these packets never leave the namespaces anyway.
. "$(dirname "$0")/lib.sh"

WAN_R=198.20.0.1 WAN_O=198.20.0.2 LAN_R=192.168.77.1 LAN_A=192.168.77.2
MINIUPNPD=${MINIUPNPD:-/usr/sbin/miniupnpd}
HERE=$(cd "$(dirname "$0")" && pwd)

t_need_root all || exit 0
if [ ! -x "$MINIUPNPD" ]; then
	t_skip all "miniupnpd is not installed (Debian package miniupnpd-nftables)"; exit 0
fi
if ! command -v jq >/dev/null || ! command -v python3 >/dev/null; then
	t_skip all "needs jq and python3"; exit 0
fi

W=$(mktemp -d /tmp/peernet-pnpm.XXXXXX); TMPDIRS+=("$W")

# The three namespaces and two links (created in the root namespace, then moved).
for ns in pnpm-r pnpm-o pnpm-a; do t_netns "$ns" || { t_fail setup "netns $ns"; exit 0; }; done
ip link add pnpm-w0 type veth peer name pnpm-w1 && t_link pnpm-w0 &&
ip link add pnpm-l0 type veth peer name pnpm-l1 && t_link pnpm-l0 &&
ip link set pnpm-w0 netns pnpm-r && ip link set pnpm-w1 netns pnpm-o &&
ip link set pnpm-l0 netns pnpm-r && ip link set pnpm-l1 netns pnpm-a &&
ip -n pnpm-r addr add "$WAN_R/24" dev pnpm-w0 && ip -n pnpm-r link set pnpm-w0 up &&
ip -n pnpm-o addr add "$WAN_O/24" dev pnpm-w1 && ip -n pnpm-o link set pnpm-w1 up &&
ip -n pnpm-r addr add "$LAN_R/24" dev pnpm-l0 && ip -n pnpm-r link set pnpm-l0 up &&
ip -n pnpm-a addr add "$LAN_A/24" dev pnpm-l1 && ip -n pnpm-a link set pnpm-l1 up &&
ip -n pnpm-a route add default via "$LAN_R" &&
ip netns exec pnpm-r sysctl -qw net.ipv4.ip_forward=1 || { t_fail setup "links"; exit 0; }
# What miniupnpd's nft_init.sh would create (the Debian copy lacks the
# functions file it sources), plus the masquerade of a home router.
ip netns exec pnpm-r nft -f - <<'NFT' || { t_fail setup "nftables"; exit 0; }
table inet filter {
	chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
	chain miniupnpd { }
	chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
	chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; oifname "pnpm-w0" masquerade; }
	chain prerouting_miniupnpd { }
	chain postrouting_miniupnpd { }
}
NFT
cat > "$W/miniupnpd.conf" <<EOF
ext_ifname=pnpm-w0
listening_ip=pnpm-l0
http_port=0
enable_upnp=yes
enable_natpmp=yes
secure_mode=yes
system_uptime=no
lease_file=$W/leases
upnp_table_name=filter
upnp_nat_table_name=filter
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=5e1f2a3b-7c11-4d00-9a00-000000007701
allow 1024-65535 192.168.77.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
ip netns exec pnpm-r "$MINIUPNPD" -f "$W/miniupnpd.conf" -P "$W/miniupnpd.pid" -d \
    >"$W/miniupnpd.log" 2>&1 &
MUPID=$!
stop_miniupnpd() { kill "$MUPID" 2>/dev/null; wait "$MUPID" 2>/dev/null; }
trap 'stop_miniupnpd; t_cleanup' EXIT
if ! wait_for 5 grep -q "Listening for NAT-PMP" "$W/miniupnpd.log"; then
	t_fail setup "miniupnpd did not start: $(tail -3 "$W/miniupnpd.log")"; exit 0
fi

net() { "$CTL" -d "$1" status --json 2>/dev/null | jq -r ".network.$2"; }
rule_for() {	# port: the router's DNAT rule for LAN_A
	ip netns exec pnpm-r nft list chain inet filter prerouting_miniupnpd |
	    grep -q "dport $1 dnat ip to $LAN_A:"
}
mapped() { net "$1" portmap | grep -q "^$2: $WAN_R:[0-9]* -> $LAN_A:"; }
ext_port() { net "$1" portmap | sed -n "s/^[a-z]*: $WAN_R:\([0-9]*\) .*/\1/p"; }
peers_has() { "$CTL" -d "$1" peers --json | jq -e --arg n "$2" '.peers[] | select(.node_id==$n)' >/dev/null; }
netd_pid() { "$CTL" -d "$1" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid'; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# (a) UPnP ----------------------------------------------------------------
A=$(t_mkdir)
"$CTL" -d "$A" init --listen 0.0.0.0:7001 --no-lan --no-natpmp >/dev/null
t0=$(date +%s%N)
ip netns exec pnpm-a "$CTL" -d "$A" up >/dev/null || { t_fail upnp_node_up "$(cat "$A"/log/*.log)"; exit 0; }
if wait_for 15 mapped "$A" upnp; then
	echo "# UPnP mapping $(( ($(date +%s%N) - t0) / 1000000 )) ms after up: $(net "$A" portmap)"
	t_pass upnp_mapping_in_status_within_15s
else
	t_fail upnp_mapping_in_status_within_15s "portmap='$(net "$A" portmap)'"
fi
[ "$(net "$A" external)" = "$WAN_R" ] && t_pass upnp_external_address_is_routers_wan ||
    t_fail upnp_external_address_is_routers_wan "external='$(net "$A" external)'"
PORT=$(ext_port "$A")
if [ -n "$PORT" ] && rule_for "$PORT"; then
	t_pass upnp_mapping_present_in_router
else
	t_fail upnp_mapping_present_in_router "port=$PORT $(ip netns exec pnpm-r nft list chain inet filter prerouting_miniupnpd)"
fi
if command -v upnpc >/dev/null; then
	ip netns exec pnpm-a upnpc -l 2>/dev/null | grep -q "UDP *$PORT->$LAN_A:7001 *'Peernet'" &&
	    t_pass upnpc_lists_peernet_mapping || t_fail upnpc_lists_peernet_mapping "$(ip netns exec pnpm-a upnpc -l 2>&1 | tail -3)"
fi
[ "$(net "$A" counters.portmap_errors)" = 0 ] && t_pass upnp_no_errors_counted ||
    t_fail upnp_no_errors_counted "portmap_errors=$(net "$A" counters.portmap_errors)"

# O, outside, reaches A only through the mapping.
O=$(t_mkdir)
PA=$(peer_id "$A"); NA=$(node_id "$A")
"$CTL" -d "$O" init --listen "$WAN_O:7001" --root "$PA@$WAN_R:${PORT:-7001}" \
    --no-lan --no-upnp --no-natpmp >/dev/null
ip netns exec pnpm-o "$CTL" -d "$O" up >/dev/null || t_fail outside_node_up "$(cat "$O"/log/*.log)"
NO=$(node_id "$O")
if wait_for 15 peers_has "$O" "$NA" && wait_for 5 peers_has "$A" "$NO"; then
	t_pass outside_node_connects_through_mapping
else
	t_fail outside_node_connects_through_mapping "O peers: $("$CTL" -d "$O" peers 2>&1 | tail -2); A peers: $("$CTL" -d "$A" peers 2>&1 | tail -2)"
fi
[ "$(net "$O" portmap)" = off ] && t_pass portmap_off_when_disabled ||
    t_fail portmap_off_when_disabled "O portmap='$(net "$O" portmap)'"
"$CTL" -d "$O" down >/dev/null
t0=$(date +%s%N)
"$CTL" -d "$A" down >/dev/null
echo "# A down (mapping deleted) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
if [ -n "$PORT" ] && ! rule_for "$PORT" && grep -q "UPnP mapping of port $PORT removed" "$A"/log/*netd*.log; then
	t_pass upnp_down_removes_mapping
else
	t_fail upnp_down_removes_mapping "$(ip netns exec pnpm-r nft list chain inet filter prerouting_miniupnpd | tr '\n' ' ')"
fi

# (b) NAT-PMP alone ---------------------------------------------------------
B=$(t_mkdir)
"$CTL" -d "$B" init --listen "$LAN_A:7002" --no-lan --no-upnp >/dev/null
t0=$(date +%s%N)
ip netns exec pnpm-a "$CTL" -d "$B" up >/dev/null || t_fail natpmp_node_up "$(cat "$B"/log/*.log)"
if wait_for 15 mapped "$B" natpmp; then
	echo "# NAT-PMP mapping $(( ($(date +%s%N) - t0) / 1000000 )) ms after up: $(net "$B" portmap)"
	t_pass natpmp_mapping_in_status
else
	t_fail natpmp_mapping_in_status "portmap='$(net "$B" portmap)'"
fi
PORT=$(ext_port "$B")
[ "$(net "$B" external)" = "$WAN_R" ] && [ -n "$PORT" ] && rule_for "$PORT" &&
    t_pass natpmp_mapping_present_in_router ||
    t_fail natpmp_mapping_present_in_router "port=$PORT external=$(net "$B" external)"
"$CTL" -d "$B" down >/dev/null
[ -n "$PORT" ] && ! rule_for "$PORT" && t_pass natpmp_down_removes_mapping ||
    t_fail natpmp_down_removes_mapping "$(ip netns exec pnpm-r nft list chain inet filter prerouting_miniupnpd | tr '\n' ' ')"

# (b2) the private network appears after start (§6.2): netd opens the listen
# socket when the address comes (netlink.c) and then maps it.
ip -n pnpm-a addr del "$LAN_A/24" dev pnpm-l1
D=$(t_mkdir)
"$CTL" -d "$D" init --listen "$LAN_A:7003" --no-lan --no-upnp >/dev/null
ip netns exec pnpm-a "$CTL" -d "$D" up >/dev/null || t_fail late_node_up "$(cat "$D"/log/*.log)"
st0=$(net "$D" portmap)
ip -n pnpm-a addr add "$LAN_A/24" dev pnpm-l1 && ip -n pnpm-a route add default via "$LAN_R"
t0=$(date +%s%N)
if [ "$st0" = "off (no private IPv4 network)" ] && wait_for 15 mapped "$D" natpmp; then
	echo "# mapped $(( ($(date +%s%N) - t0) / 1000000 )) ms after the address appeared: $(net "$D" portmap)"
	t_pass late_address_gets_mapped
else
	t_fail late_address_gets_mapped "before='$st0' after='$(net "$D" portmap)'"
fi
PORT=$(ext_port "$D")
"$CTL" -d "$D" down >/dev/null
[ -n "$PORT" ] && ! rule_for "$PORT" && t_pass late_mapping_removed_on_down ||
    t_fail late_mapping_removed_on_down "port=$PORT"

# (c) a hostile router ---------------------------------------------------------
stop_miniupnpd
ip netns exec pnpm-r python3 "$HERE/portmap_garbage.py" "$LAN_R" 8112 40 >"$W/garbage.log" 2>&1 &
GPID=$!
trap 'kill $GPID 2>/dev/null; t_cleanup' EXIT
wait_for 5 grep -q ready "$W/garbage.log" || t_fail garbage_server "$(cat "$W/garbage.log")"
C=$(t_mkdir)
"$CTL" -d "$C" init --listen "$LAN_A:7003" --no-lan >/dev/null
ip netns exec pnpm-a "$CTL" -d "$C" up >/dev/null || t_fail garbage_node_up "$(cat "$C"/log/*.log)"
errs() { [ "$(net "$C" counters.portmap_errors)" -gt "$1" ] 2>/dev/null; }
if wait_for 15 errs 0 && net "$C" portmap | grep -q "^failed: "; then
	t_pass garbage_counted_and_reported
	echo "# hostile router: $(net "$C" portmap) (errors $(net "$C" counters.portmap_errors))"
else
	t_fail garbage_counted_and_reported "portmap='$(net "$C" portmap)' errors=$(net "$C" counters.portmap_errors)"
fi
cpid=$(netd_pid "$C"); r0=$(rss "$cpid" 2>/dev/null || echo 0)
# More rounds of garbage (the backoff retries at 2, 4, 8 s...).
wait_for 20 errs 5
r1=$(rss "$cpid" 2>/dev/null || echo 0)
n=$(net "$C" counters.portmap_errors)
if [ -d "/proc/$cpid" ] && [ "$(netd_pid "$C")" = "$cpid" ] && [ "${n:-0}" -gt 5 ]; then
	t_pass garbage_netd_stays_up_and_retries
else
	t_fail garbage_netd_stays_up_and_retries "pid $cpid, errors=$n: $(grep -h portmap "$C"/log/*netd*.log | tail -3)"
fi
echo "# hostile router: netd RSS ${r0} kB -> ${r1} kB over $n errors"
[ "$r1" -gt 0 ] && [ "$r1" -lt 65536 ] && [ $((r1 - r0)) -lt 4096 ] && t_pass garbage_rss_bounded ||
    t_fail garbage_rss_bounded "RSS ${r0} kB -> ${r1} kB"
grep -q "http garbage" "$W/garbage.log" && grep -q "natpmp garbage" "$W/garbage.log" &&
    t_pass garbage_server_was_queried_by_both_methods ||
    t_fail garbage_server_was_queried_by_both_methods "$(sort "$W/garbage.log" | uniq -c | head)"
t0=$SECONDS
"$CTL" -d "$C" down >/dev/null && [ $((SECONDS - t0)) -le 10 ] && t_pass garbage_node_stops_within_10s ||
    t_fail garbage_node_stops_within_10s "down took $((SECONDS - t0)) s"
kill "$GPID" 2>/dev/null
# Sanitizer builds (PEERNET_SAN=1) report into the daemons' logs.
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$A"/log/*.log "$B"/log/*.log \
    "$C"/log/*.log 2>/dev/null; then
	t_fail no_sanitizer_reports "$(grep -hE -A5 "AddressSanitizer|LeakSanitizer|runtime error" \
	    "$A"/log/*.log "$B"/log/*.log "$C"/log/*.log | head -20)"
else
	t_pass no_sanitizer_reports
fi
