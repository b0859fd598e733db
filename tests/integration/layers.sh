#!/usr/bin/env bash
# layers.sh — netd's files call each other one way only (docs/design.md,
# "netd", the layers table): the graph of "file A calls a global function
# (or uses a global object) defined in file B" between netd/*.c has no
# cycle, and every call goes to a file of the same or a lower layer of the
# table.  Upward calls go through hooks the upper file sets (n->packet_in,
# n->ctl_hooks, n->xfer_hooks, struct xfer_user, struct xfer_file_parts).
#
# The graph comes from the sources: comments and strings stripped by the
# compiler's own lexer (gcc -fpreprocessed: no include, no macro expanded),
# global definitions found by the tree's style (a function's name at column
# 0 after its type line, which is not `static`; a global object at column 0
# with `=` or `;`), then every identifier of a file matched against them.
# When the objects of a build are there ($PEERNET_BIN/../obj/netd), the
# same graph is derived from their symbols (nm) and must be equal: the
# parser is checked against the compiler.  The checker itself must find a
# cycle planted in a small tree and ignore names in comments and strings.
# Needs no root and no network.
set -u
SUITE=layers
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
t_pass() { echo "PASS: $SUITE/$1"; }
t_skip() { echo "SKIP: $SUITE/$1: $2"; }
FAILED=0
t_fail() { echo "FAIL: $SUITE/$1: $2"; FAILED=1; }
TMP=$(mktemp -d /tmp/peernet-layers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if ! command -v gcc >/dev/null 2>&1 || ! command -v tsort >/dev/null 2>&1; then
	t_fail tools "gcc and tsort (coreutils) are needed"
	exit 1
fi

# strip FILE: FILE without comments, strings, character constants, #include.
strip() {
	gcc -fpreprocessed -dD -E -P -x c "$1" 2>/dev/null |
	    grep -v '^[[:space:]]*#[[:space:]]*include' |
	    sed -E 's/"([^"\\]|\\.)*"/""/g; s/'"'"'([^'"'"'\\]|\\.)+'"'"'/0/g'
}

# defs FILE: the global functions and objects FILE defines, one a line.
defs() {
	strip "$1" | awk '
	/^[A-Za-z_][A-Za-z0-9_]*\(/ {
		name = $0; sub(/\(.*/, "", name)
		# A declaration spread over lines, not a function.
		if (name == "_Static_assert" || name == "static_assert")
			next
		if (prev !~ /(^|[^A-Za-z0-9_])(static|typedef|extern)([^A-Za-z0-9_]|$)/ &&
		    $0 !~ /;[[:space:]]*$/)
			print name
	}
	/^[A-Za-z_]/ && !/^(static|typedef|extern)[^A-Za-z0-9_]/ && !/\(/ &&
	    !/^(struct|enum|union)[[:space:]]+[A-Za-z0-9_]+[[:space:]]*;/ &&
	    /^[A-Za-z_][A-Za-z0-9_ \t*]*[ \t*][A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])*[ \t]*(=|;)/ {
		line = $0; sub(/[ \t]*(\[[^]]*\])*[ \t]*(=|;).*/, "", line)
		n = split(line, w, /[ \t*]+/)
		print w[n]
	}
	NF { prev = $0 }'
}

# graph DIR: "caller callee symbol" for every use in DIR/*.c of a global
# that another file of DIR defines; file names without ".c".
graph() {
	local f b
	: > "$TMP/defs"
	for f in "$1"/*.c; do
		b=$(basename "$f" .c)
		defs "$f" | sed "s/\$/ $b/" >> "$TMP/defs"
	done
	for f in "$1"/*.c; do
		b=$(basename "$f" .c)
		# A tag (struct seq_match) or a member (m.x, p->x) is no use of a global.
		strip "$f" | sed -E 's/(struct|enum|union)[[:space:]]+[A-Za-z_][A-Za-z0-9_]*//g;
		    s/(\.|->)[[:space:]]*[A-Za-z_][A-Za-z0-9_]*//g' |
		    grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u |
		    awk -v me="$b" 'NR == FNR { def[$1] = $2; next }
			($1 in def) && def[$1] != me { print me, def[$1], $1 }' \
			"$TMP/defs" -
	done | sort -u
}

# cycle EDGES: tsort's report of a loop among "caller callee" pairs, or nothing.
cycle() {
	awk '{ print $1, $2 }' "$1" | sort -u | tsort 2>&1 >/dev/null
}

# 1. The graph as the sources say it.
graph "$ROOT/netd" > "$TMP/edges"
nfiles=$(ls "$ROOT"/netd/*.c | wc -l)
nedges=$(awk '{ print $1, $2 }' "$TMP/edges" | sort -u | wc -l)
# A few calls that must be found, or the parser is broken.
if grep -qx 'node peer peer_find' "$TMP/edges" &&
   grep -qx 'xfer_setup xfer xfer_core_init' "$TMP/edges" &&
   grep -qx 'xfer_req xfer_fsess xfer_file_ops' "$TMP/edges" &&
   grep -qx 'netd control control_request' "$TMP/edges"; then
	t_pass "graph_of_${nfiles}_files_${nedges}_calls_derived"
else
	t_fail graph_derived "known calls missing from the derived graph (parser broken?)"
fi
echo "# calls between netd files (caller: callees):"
awk '{ print $1, $2 }' "$TMP/edges" | sort -u |
    awk '{ c[$1] = c[$1] " " $2 } END { for (k in c) print "#   " k ":" c[k] }' | sort

# 2. No cycle.
loop=$(cycle "$TMP/edges")
if [ -z "$loop" ]; then
	t_pass no_cycle_between_netd_files
	echo "# bottom-up order: $(awk '{ print $1, $2 }' "$TMP/edges" | sort -u | tsort | tac | tr '\n' ' ')"
else
	members=$(printf '%s\n' "$loop" | sed -n 's/^tsort: //p' | grep -v loop | sort -u)
	t_fail no_cycle_between_netd_files "a cycle among: $(echo $members)"
	for a in $members; do
		for b in $members; do
			awk -v a="$a" -v b="$b" '$1 == a && $2 == b { print "    " a " -> " b ": " $3 }' \
			    "$TMP/edges"
		done
	done
fi

# 3. Every call goes to the same or a lower layer of docs/design.md's table:
# rows "| N | files ... | ...", N the layer, every name.c of the second column.
awk -F'|' '/^[[:space:]]*\|[[:space:]]*[0-9]+[[:space:]]*\|/ {
	gsub(/[[:space:]]/, "", $2); n = split($3, w, /[^A-Za-z0-9_.]+/)
	for (i = 1; i <= n; i++) if (w[i] ~ /^[a-z_0-9]+\.c$/) { sub(/\.c$/, "", w[i]); print w[i], $2 } }' \
    "$ROOT/docs/design.md" | sort -u > "$TMP/layers"
nl=$(wc -l < "$TMP/layers")
bad=$(awk 'NR == FNR { L[$1] = $2; next }
	($1 in L) && ($2 in L) && L[$2] + 0 > L[$1] + 0 {
		print $1 ".c (layer " L[$1] ") -> " $2 ".c (layer " L[$2] "): " $3 }' \
    "$TMP/layers" "$TMP/edges")
stale=$(awk '{ print $1 }' "$TMP/layers" | while read -r f; do
	[ -f "$ROOT/netd/$f.c" ] || echo "$f.c"; done)
if [ "$nl" -lt 10 ]; then
	t_fail layers_table "docs/design.md: only $nl files in the layers table (format changed?)"
elif [ -n "$bad" ]; then
	t_fail calls_go_down_the_documented_layers "$(echo "$bad" | head -5 | tr '\n' ';')"
elif [ -n "$stale" ]; then
	t_fail calls_go_down_the_documented_layers "the table names files that do not exist: $(echo $stale)"
else
	t_pass "calls_go_down_the_${nl}_documented_layers"
fi
unlisted=$(for f in "$ROOT"/netd/*.c; do b=$(basename "$f" .c)
	grep -q "^$b " "$TMP/layers" || echo "$b.c"; done)
[ -z "$unlisted" ] || echo "# not in docs/design.md's layers table (only the cycle check covers them): $(echo $unlisted)"

# 4. The compiler agrees (when a build is at hand).
OBJ=${PEERNET_BIN:+$PEERNET_BIN/../obj/netd}
OBJ=${OBJ:-$ROOT/build/obj/netd}
if [ -d "$OBJ" ] && ls "$OBJ"/*.o >/dev/null 2>&1 && command -v nm >/dev/null 2>&1; then
	for f in "$ROOT"/netd/*.c; do
		b=$(basename "$f" .c)
		[ -f "$OBJ/$b.o" ] || continue
		nm -g --defined-only "$OBJ/$b.o" | awk -v f="$b" 'NF == 3 && $2 ~ /[TDRBCG]/ { print $3, f }'
	done > "$TMP/symdefs"
	for f in "$ROOT"/netd/*.c; do
		b=$(basename "$f" .c)
		[ -f "$OBJ/$b.o" ] || continue
		nm -u "$OBJ/$b.o" | awk '{ print $NF }' |
		    awk -v me="$b" 'NR == FNR { def[$1] = $2; next }
			($1 in def) && def[$1] != me { print me, def[$1], $1 }' "$TMP/symdefs" -
	done | sort -u > "$TMP/symedges"
	if [ "$(wc -l < "$TMP/symdefs")" -lt 50 ]; then
		t_skip source_graph_matches_objects "objects in $OBJ look incomplete"
	elif diff "$TMP/edges" "$TMP/symedges" > "$TMP/diff"; then
		t_pass source_graph_matches_objects
	else
		# Objects older than the sources explain a difference too: say which side.
		t_fail source_graph_matches_objects "sources (<) and $OBJ (>) differ: $(grep '^[<>]' "$TMP/diff" | head -6 | tr '\n' ';')"
	fi
else
	t_skip source_graph_matches_objects "no objects in $OBJ (make all first)"
fi

# 5. The checker finds a planted cycle, and names in comments or strings are no calls.
mkdir -p "$TMP/tree"
cat > "$TMP/tree/low.c" <<'EOF'
/* low_calls_high() in a comment is no call: high_entry() */
static int low_helper(void);
int
low_entry(int x)
{
	const char *s = "high_entry(";
	(void)s;
	return x + low_helper() + high_back(x);	// high_entry() again, a comment
}
static int
low_helper(void)
{
	return 1;
}
EOF
cat > "$TMP/tree/high.c" <<'EOF'
const int high_table[2] = { 1, 2 };
int
high_entry(int x)
{
	return low_entry(x) + high_table[0];
}
int
high_back(int x)
{
	return x;
}
EOF
cat > "$TMP/tree/top.c" <<'EOF'
int
main(void)
{
	return high_table[1] + high_entry(0);
}
EOF
graph "$TMP/tree" > "$TMP/t_edges"
expect=$'high low low_entry\nlow high high_back\ntop high high_entry\ntop high high_table'
if [ "$(cat "$TMP/t_edges")" = "$expect" ] && [ -n "$(cycle "$TMP/t_edges")" ]; then
	t_pass checker_finds_a_planted_cycle
else
	t_fail checker_finds_a_planted_cycle "got: $(tr '\n' ';' < "$TMP/t_edges")"
fi
sed -i 's/ + high_back(x)//' "$TMP/tree/low.c"
graph "$TMP/tree" > "$TMP/t_edges"
if [ -z "$(cycle "$TMP/t_edges")" ] && ! grep -q '^low ' "$TMP/t_edges"; then
	t_pass checker_passes_the_tree_without_it
else
	t_fail checker_passes_the_tree_without_it "got: $(tr '\n' ';' < "$TMP/t_edges")"
fi

exit $FAILED
