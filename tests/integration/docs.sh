#!/usr/bin/env bash
# docs.sh — the protocol documents stand on their own and every citation of
# them resolves: each `docs/protocol.md §X` or `docs/data.md §X` written
# anywhere in the tree (comments, tests, docs, man pages) names a heading
# with that number in docs/protocol.md or docs/data.md.  Also checked: the
# section numbering is complete and has no duplicates, docs/ points nowhere
# outside the repository, and the checker itself finds a citation of a
# section that does not exist.  Needs no build and no root.
set -u
SUITE=docs
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOCS="$ROOT/docs"
t_pass() { echo "PASS: $SUITE/$1"; }
FAILED=0
t_fail() { echo "FAIL: $SUITE/$1: $2"; FAILED=1; }
TMP=$(mktemp -d /tmp/peernet-docs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# headings FILE: the section numbers of FILE's headings ("## 3 ...",
# "### 3.7 ...", "## 2. ..." -> 3, 3.7, 2), one a line.
headings() {
	sed -nE 's/^#{1,6} +([0-9]+(\.[0-9]+)*)\.? .*/\1/p' "$1"
}

# citations DIR: "protocol 3.7" / "data 2.5.2" for every citation under DIR,
# one a line, unique.  Forms: "docs/data.md §2.7, §2.8", "§3.8/§9.3",
# "§6.3-6.4" (both ends); a trailing sentence dot is not part of a number.
citations() {
	local sec='[0-9]+(\.[0-9]+)*'
	grep -rIhoE --exclude-dir=.git --exclude-dir='build*' \
	    "docs/(protocol|data)\\.md §$sec(\\.?(, §|/§?|-)$sec)*" "$1" |
	sed -E 's/^docs\/(protocol|data)\.md /\1 /' |
	while read -r doc list; do
		tr -s '§,/ -' '\n' <<<"$list" | sed -E 's/\.+$//' | grep -E '^[0-9]' |
		    sed "s/^/$doc /"
	done | sort -u
}

# missing DIR DOCDIR: the citations under DIR that DOCDIR's documents lack.
missing() {
	local doc num
	headings "$2/protocol.md" | sed 's/^/protocol /' > "$TMP/have"
	headings "$2/data.md" | sed 's/^/data /' >> "$TMP/have"
	citations "$1" | while read -r doc num; do
		grep -qxF "$doc $num" "$TMP/have" || echo "docs/$doc.md §$num"
	done
}

for f in protocol.md data.md differences.md design.md; do
	if [ -s "$DOCS/$f" ]; then t_pass "${f%.md}_md_present"
	else t_fail "${f%.md}_md_present" "docs/$f is missing or empty"; fi
done

# 1. Every citation in the tree resolves.
n=$(citations "$ROOT" | wc -l)
miss=$(missing "$ROOT" "$DOCS")
if [ "$n" -gt 0 ] && [ -z "$miss" ]; then
	t_pass "all_${n}_citations_resolve"
else
	[ "$n" -gt 0 ] || t_fail citations_resolve "no citation found (pattern broken?)"
	while read -r m; do
		[ -n "$m" ] || continue
		where=$(grep -rIlF --exclude-dir=.git --exclude-dir='build*' "${m%%§*}§${m##*§}" "$ROOT" |
		    sed "s|^$ROOT/||" | head -3 | tr '\n' ' ')
		t_fail "citation_resolves" "$m has no heading (cited in: ${where:-?})"
	done <<<"$miss"
fi

# 2. The numbering of the two documents is complete and unique.
want_protocol="0 1 1.1 1.2 1.3 1.4 1.5 1.6 1.7 2 2.1 2.2 2.3 2.4 2.5 2.6 2.7 3 3.0 3.1 3.2
3.3 3.4 3.5 3.6 3.7 3.8 3.9 3.10 3.11 3.12 4 4.1 4.2 4.3 5 5.1 5.2 5.3 5.4 5.5 5.6 5.7 5.8
6 6.1 6.2 6.3 6.4 6.5 6.6 7 7.1 7.2 7.3 7.4 7.5 7.6 8 8.1 8.2 9 9.1 9.2 9.3 9.4 9.5 9.6 9.7
9.8 9.9 10 10.1 10.2 11 12 13 13.1 13.2 13.3 13.4 13.5"
want_data="1 2 2.1 2.2 2.3 2.4 2.5 2.5.1 2.5.2 2.5.3 2.5.4 2.6 2.7 2.8 2.9 2.10 2.11 2.12
3 3.1 3.2 3.3 3.4 4 4.1 4.2 4.3 4.4 4.5 4.6 5 5.1 5.2 5.3 5.4 5.5 5.6 6 6.1 6.2 6.3 6.4 6.5
6.6 6.7 6.8 7 8 8.1 8.2 8.3 8.4 9 10 10.1 10.2 10.3 10.4 10.5"
for doc in protocol data; do
	eval "want=\$want_$doc"
	headings "$DOCS/$doc.md" > "$TMP/h.$doc"
	absent=$(for s in $want; do grep -qxF "$s" "$TMP/h.$doc" || echo "$s"; done | tr '\n' ' ')
	dup=$(sort "$TMP/h.$doc" | uniq -d | tr '\n' ' ')
	if [ -z "$absent" ] && [ -z "$dup" ]; then
		t_pass "${doc}_md_numbering_complete_and_unique"
	else
		t_fail "${doc}_md_numbering_complete_and_unique" "missing: ${absent:-none}; twice: ${dup:-none}"
	fi
done

# 3. docs/ stands alone: no path out of the repository.
out=$(grep -nE '\.\./shared|/work/shared|shared/(spec|ARCHITECTURE)' "$DOCS"/*.md)
if [ -z "$out" ]; then t_pass docs_point_nowhere_outside_the_repository
else t_fail docs_point_nowhere_outside_the_repository "$out"; fi

# 4. The checker can fail: a planted citation of a section that does not
#    exist, in each document and in the three written forms, is reported.
mkdir -p "$TMP/tree/src"
p='docs/protocol.md'; d='docs/data.md'
printf '/* see %s §3.7 and %s §77.1 */\n' "$p" "$p" > "$TMP/tree/src/a.c"
printf '# see %s §2.5.2, §2.99 and %s §6.3-6.42.\n' "$d" "$d" > "$TMP/tree/src/b.sh"
printf 'see %s §9.8/§9.77\n' "$p" > "$TMP/tree/src/c.md"
got=$(missing "$TMP/tree" "$DOCS" | sort | tr '\n' ' ')
want="$d §2.99 $d §6.42 $p §77.1 $p §9.77 "
if [ "$got" = "$want" ]; then t_pass checker_reports_citations_of_absent_sections
else t_fail checker_reports_citations_of_absent_sections "got '$got', want '$want'"; fi
exit "$FAILED"
