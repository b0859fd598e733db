#!/usr/bin/env bash
# bench/kad_sim.sh — Kademlia lookups in a simulated universe of 10,000 nodes
# with 10% churn (1,000 nodes leave and 1,000 join while 1,000 node lookups
# and 1,000 value lookups run), via tests/sim ($PEERNET_SIM or
# $B/tests/sim).  Prints BENCH lines:
#   kad_lookup_success     % of node lookups that found the target;
#                          limit 100 (every target is online)
#   kad_lookup_rounds_p50  median rounds of the successful node lookups;
#                          limit log2(N) (Kademlia's O(log N) bound: each
#                          round fixes at least one more bit of the prefix)
#   kad_value_success      % of value lookups that returned the value
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
SIM=${PEERNET_SIM:-$B/tests/sim}
N=${KAD_BENCH_NODES:-10000}
if [ ! -x "$SIM" ]; then
	echo "# kad_sim: $SIM not built" >&2
	exit 1
fi
out=$("$SIM" -n "$N" -lookups 1000 -churn 10 -seed 1) || { echo "$out" >&2; exit 1; }
echo "$out" | grep -v '^RESULT ' | sed 's/^/# /'
line=$(echo "$out" | grep '^RESULT ' | tail -n 1)
field() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ns=$(field node_success); p50=$(field node_rounds_p50); vs=$(field value_success)
awk -v n="$N" -v ns="$ns" -v p50="$p50" -v vs="$vs" 'BEGIN {
	l = log(n) / log(2)
	printf "# limits: success 100%% (all targets online); rounds log2(%d) = %.2f, the O(log N) bound of Kademlia\n", n, l
	printf "BENCH dht_lookup_success %.2f %% limit=100 ratio=%.4f\n", ns, ns / 100
	printf "BENCH dht_lookup_rounds_median %d rounds limit=%.2f ratio=%.3f\n", p50, l, p50 / l
	printf "BENCH dht_value_lookup_success %.2f %% limit=100 ratio=%.4f\n", vs, vs / 100
}'
