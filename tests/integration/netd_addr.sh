#!/usr/bin/env bash
# netd_addr.sh — netd follows address changes (rtnetlink, docs/protocol.md §6.2)
# without a restart.  In namespace pnaddr: node A is configured to listen on
# 10.99.0.1:7112, [fd99::1]:7112 and 10.99.0.1:712 (a port below 1024,
# bound at start-up while the address is absent and kept aside); none of
# them exists at start.  The addresses are added: A's sockets open and node
# B, with A as its root peer, pings it.  They are removed: the sockets close.
# They come back: the low port opens again although netd has long dropped
# CAP_NET_BIND_SERVICE.  A's fourth address, 127.0.9.1:7114, is local by
# the 127/8 route and on no interface: it must stay open throughout.
. "$(dirname "$0")/lib.sh"

t_need_root addresses_followed || exit 0
NS=pnaddr
if ! t_netns "$NS"; then
	t_skip addresses_followed "cannot create namespace $NS"; exit 0
fi
# A dummy interface when the kernel has the module, else one end of a veth pair.
if ip -n "$NS" link add addr0 type dummy 2>/dev/null; then
	kind=dummy
else
	ip -n "$NS" link add addr0 type veth peer name addr1 || {
		t_skip addresses_followed "no dummy or veth interfaces"; exit 0; }
	ip -n "$NS" link set addr1 up
	kind=veth
fi
ip -n "$NS" link set addr0 up
echo "# interface addr0: $kind"

A=$(t_mkdir); B=$(t_mkdir)
nsx() { ip netns exec "$NS" "$@"; }
listen_of() { "$CTL" -d "$1" status --json | jq -r .network.listen; }
has_listen() { listen_of "$1" | tr ' ' '\n' | grep -qxF "$2"; }
no_listen() { ! has_listen "$1" "$2"; }
counter() { "$CTL" -d "$1" status --json | jq -r ".network.counters.$2"; }

"$CTL" -d "$A" init --listen 10.99.0.1:7112 --listen "[fd99::1]:7112" \
    --listen 10.99.0.1:712 --listen 127.0.9.1:7114 --no-lan --no-upnp \
    --no-natpmp >/dev/null
if ! nsx "$CTL" -d "$A" up >/dev/null; then
	t_fail starts_with_absent_listen_addresses "$(tail -5 "$A/log/netd.log")"
	exit 0
fi
t_pass starts_with_absent_listen_addresses
l=$(listen_of "$A")
if [ "$(tr -d ' ' <<<"$l")" = 127.0.9.1:7114 ]; then
	t_pass absent_addresses_not_listed
else
	t_fail absent_addresses_not_listed "listen='$l'"
fi

# The addresses appear.
ip -n "$NS" addr add 10.99.0.1/24 dev addr0
ip -n "$NS" addr add fd99::1/64 dev addr0 nodad
start=$(date +%s%N)
if wait_for 10 has_listen "$A" 10.99.0.1:7112 && wait_for 5 has_listen "$A" "[fd99::1]:7112"; then
	t_pass new_addresses_listened
	echo "# sockets open $(( ($(date +%s%N) - start) / 1000000 )) ms after the addresses were added"
else
	t_fail new_addresses_listened "listen='$(listen_of "$A")'"
fi
t_check privileged_port_opened_after_capability_drop wait_for 1 has_listen "$A" 10.99.0.1:712

# B (its own address present from the start) bootstraps to A.
ip -n "$NS" addr add 10.99.0.2/24 dev addr0
PA=$("$CTL" -d "$A" id --json | jq -r .peer_id)
NA=$("$CTL" -d "$A" id --json | jq -r .node_id)
"$CTL" -d "$B" init --listen 10.99.0.2:7113 --root "$PA@10.99.0.1:7112" \
    --no-lan --no-upnp --no-natpmp >/dev/null
nsx "$CTL" -d "$B" up >/dev/null
if wait_for 5 "$CTL" -d "$B" ping "$NA"; then
	t_pass second_node_connects_and_pings
else
	t_fail second_node_connects_and_pings "$("$CTL" -d "$B" peers 2>&1 | tail -3)"
fi

# The addresses go away.
ip -n "$NS" addr del 10.99.0.1/24 dev addr0
ip -n "$NS" addr del fd99::1/64 dev addr0
if wait_for 10 no_listen "$A" 10.99.0.1:7112 && wait_for 5 no_listen "$A" "[fd99::1]:7112" &&
    wait_for 5 no_listen "$A" 10.99.0.1:712; then
	t_pass removed_addresses_closed
else
	t_fail removed_addresses_closed "listen='$(listen_of "$A")'"
fi

# And come back: the low port again, from the socket kept aside.
ip -n "$NS" addr add 10.99.0.1/24 dev addr0
if wait_for 3 has_listen "$A" 10.99.0.1:712 && wait_for 1 has_listen "$A" 10.99.0.1:7112; then
	t_pass readded_address_reopens_low_port
else
	t_fail readded_address_reopens_low_port "listen='$(listen_of "$A")' $(grep -i listen "$A/log/netd.log" | tail -2)"
fi

t_check route_local_address_kept_across_changes has_listen "$A" 127.0.9.1:7114
c=$(counter "$A" addr_changes)
echo "# A's addr_changes counter: $c"
[ "${c:-0}" -gt 0 ] 2>/dev/null && t_pass addr_changes_counted || t_fail addr_changes_counted "addr_changes=$c"
pid=$("$CTL" -d "$A" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid')
if kill -0 "$pid" 2>/dev/null && ! grep -q "needs a restart\|restart netd" "$A/log/netd.log"; then
	t_pass netd_still_running_no_restart_needed
else
	t_fail netd_still_running_no_restart_needed "$(tail -3 "$A/log/netd.log")"
fi
