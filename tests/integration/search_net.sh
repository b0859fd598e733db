#!/usr/bin/env bash
# search_net.sh — search across nodes: A shares files with names in several
# scripts; B and C bootstrap from A.  C finds A's files by each keyword
# (A's chain reaches C's cache with Get Block over UDT), case-insensitively
# but accents kept, as the reference; after A deletes a file, C stops finding
# it within a few seconds (A pushes its new chain version at once).  C's
# rebuild pages through its cache with a cursor, 2 files a page.
. "$(dirname "$0")/lib.sh"
export PEERNET_SEARCHD_PAGE_FILES=2

A=$(t_mkdir); B=$(t_mkdir); C=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-files.XXXXXX); TMPDIRS+=("$W")
t_node_up "$A" 127.0.12.1 || { t_fail up "A did not start"; exit 0; }
PA=$(peer_id "$A")
t_node_up "$B" 127.0.12.2 "$PA@127.0.12.1:7001" || { t_fail up "B did not start"; exit 0; }
t_node_up "$C" 127.0.12.3 "$PA@127.0.12.1:7001" || { t_fail up "C did not start"; exit 0; }
NA=$(node_id "$A")
wait_for 10 "$CTL" -d "$C" ping "$NA" || { t_fail c_reaches_a "C never reached A"; exit 0; }
wait_for 10 "$CTL" -d "$A" chain || { t_fail chain_opens "A's chain never opened"; exit 0; }

names=("${T_INTL_NAMES[@]}")
start=$(date +%s%N)
t_share "$A" "$W" "network content" "${names[@]}" || t_fail add "add failed"

names_of() { t_search_names "$C" "$1"; }
finds() { names_of "$1" | grep -qxF -- "$2"; }
if wait_for 5 finds "ünïcödé" "${names[0]}"; then
	t_pass c_finds_a_file_shared_by_a
	echo "# C found A's new file $(( ($(date +%s%N) - start) / 1000000 )) ms after the add (add included)"
else
	t_fail c_finds_a_file_shared_by_a "$("$CTL" -d "$C" cache 2>&1 | tr '\n' ' ')"
fi
bad=0
check() {	# finds|misses term name
	if [ "$1" = finds ] && ! finds "$2" "$3"; then bad=1; echo "# '$2' does not find '$3'"; fi
	if [ "$1" = misses ] && finds "$2" "$3"; then bad=1; echo "# '$2' finds '$3'"; fi
}
for t in "ünïcödé" "FÏLÉ" "nämé"; do check finds "$t" "${names[0]}"; done
check misses "unicode" "${names[0]}"
for t in "привет" "МИР" "документ"; do check finds "$t" "${names[1]}"; done
for t in "東京タワー" "夜景"; do check finds "$t" "${names[2]}"; done
for t in "holiday" "VIDEO" "2021"; do check finds "$t" "${names[3]}"; done
[ $bad = 0 ] && t_pass c_finds_every_keyword_across_the_network || t_fail c_finds_every_keyword_across_the_network "see # lines"
sharer=$("$CTL" -d "$C" search --json holiday | jq -r '.results[0].sharers[0] // .results[0].owner // empty')
[ "$sharer" = "$PA" ] && t_pass result_names_a_as_sharer || t_fail result_names_a_as_sharer "sharer=$sharer"

# A deletes a file: C stops finding it.
id=$("$CTL" -d "$A" ls --json | jq -r --arg n "${names[3]}" '.files[] | select(.name==$n) | .id')
start=$(date +%s%N)
"$CTL" -d "$A" rm "$id" >/dev/null
if wait_for 5 bash -c "! '$CTL' -d '$C' search --json holiday | jq -e '.results | length > 0' >/dev/null"; then
	t_pass deleted_file_gone_from_c_within_5s
	echo "# C stopped finding the deleted file $(( ($(date +%s%N) - start) / 1000000 )) ms after the rm (rm included)"
else
	t_fail deleted_file_gone_from_c_within_5s "still found"
fi
check finds "привет" "${names[1]}"
[ $bad = 0 ] && t_pass other_files_still_found || t_fail other_files_still_found "see # lines"

# C rebuilds its index from its cache (3 of A's files, 2 a page): the same
# files are found afterwards.
"$CTL" -d "$C" search --reindex >/dev/null || bad=1
ok=1
for k in 0 1 2; do finds "${names[$k]%%[._ ]*}" "${names[$k]}" || { ok=0; echo "# ${names[$k]} lost by the rebuild"; }; done
wait_for 10 grep -q "index rebuilt: 3 files" "$C/log/searchd.log" || ok=0
line=$(grep "index rebuilt" "$C/log/searchd.log" | tail -1)
echo "$line" | sed 's/^.*info: /# C: /'
pages=$(sed -n 's/^.* \([0-9]*\) pages$/\1/p' <<<"$line")
grep -q "index rebuilt: 3 files" <<<"$line" && [ "${pages:-0}" -ge 2 ] || ok=0
[ $ok = 1 ] && t_pass c_rebuild_pages_through_cache || t_fail c_rebuild_pages_through_cache "$line"

# C gets A's file by its hash alone: searchd names A as the sharer (A's
# chain is in C's cache), netd has A connected, the download is verified.
orig="$W/${names[1]}"
want=$(b3sum --no-names "$orig")
hash=$("$CTL" -d "$C" search --json -- "привет" | jq -r '.results[0].hash // empty')
out=$("$CTL" -d "$C" get --json "$hash" -o "$W/got" 2>"$W/get.err")
rc=$?
got=$(b3sum --no-names "$W/got" 2>/dev/null)
if [ $rc = 0 ] && [ "$hash" = "$want" ] && [ "$got" = "$want" ] &&
    [ "$(jq -r .from <<<"$out")" = "$NA" ] && [ "$(jq -r .ok <<<"$out")" = true ]; then
	t_pass c_gets_by_hash_without_from_and_names_a
else
	t_fail c_gets_by_hash_without_from_and_names_a "rc=$rc hash=$hash want=$want got=$got out=$out err=$(tr '\n' ' ' <"$W/get.err")"
fi
# Now C holds it: get says so and needs no sharer.
out=$("$CTL" -d "$C" get --json "$hash" 2>/dev/null)
[ "$(jq -r .already_stored <<<"$out")" = true ] && t_pass c_get_again_is_already_stored ||
	t_fail c_get_again_is_already_stored "$out"
# A hash nobody shares: exit 1 with a clear message.
unknown=$(printf 'ab%.0s' $(seq 32))
"$CTL" -d "$C" get "$unknown" >/dev/null 2>"$W/get.err"
rc=$?
if [ $rc = 1 ] && grep -q "no known sharer of $unknown: search for it first or give --from NODEID" "$W/get.err"; then
	t_pass get_of_unknown_hash_exits_1_with_message
else
	t_fail get_of_unknown_hash_exits_1_with_message "rc=$rc err=$(tr '\n' ' ' <"$W/get.err")"
fi
