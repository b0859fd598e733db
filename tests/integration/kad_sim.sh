#!/usr/bin/env bash
# tests/integration/kad_sim.sh — the Kademlia module in a simulated universe
# (tests/sim): 2,000 nodes bootstrap from 3 root peers, then 500 random node
# lookups and 500 value lookups run; a second run replaces 10% of the nodes
# during the lookups and drops 1% of the messages.  PASS when >= 99% of the
# lookups succeed.  The binary: $PEERNET_SIM (tests/run.sh sets it from $B),
# else build/tests/sim.
. "$(dirname "$0")/lib.sh"

SIM=${PEERNET_SIM:-build/tests/sim}
MIN=99

# field NAME LINE: the value of NAME=... in a RESULT line
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# check CASE TYPE(node|value) RESULT-LINE
check() {
	local name=$1 t=$2 line=$3 s
	s=$(field "${t}_success" "$line")
	echo "# $name: $(field "${t}_found" "$line")/$(field "${t}_lookups" "$line") found" \
	    "(${s}%), rounds mean $(field "${t}_rounds_mean" "$line")" \
	    "p50 $(field "${t}_rounds_p50" "$line") p99 $(field "${t}_rounds_p99" "$line")," \
	    "$(field "${t}_msgs" "$line") messages/lookup, run $(field elapsed_s "$line") s"
	if [ -n "$s" ] && ge "$s" "$MIN"; then
		t_pass "$name"
	else
		t_fail "$name" "success ${s:-?}% < ${MIN}%: $line"
	fi
}

run() {	# case-prefix, sim arguments...
	local pre=$1 out line; shift
	if [ ! -x "$SIM" ]; then
		t_fail "${pre}" "$SIM not built"
		return
	fi
	out=$("$SIM" "$@" 2>&1)
	line=$(echo "$out" | grep '^RESULT ' | tail -n 1)
	if [ -z "$line" ]; then
		t_fail "${pre}" "no RESULT line from '$SIM $*': $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		return
	fi
	check "$pre" node "$line"
	check "${pre/lookup/value_lookup}" value "$line"
}

run lookup_2000_nodes -n 2000 -lookups 500 -churn 0 -seed 1
run lookup_2000_nodes_churn10_loss1 -n 2000 -lookups 500 -churn 10 -loss 1 -seed 2
