#!/usr/bin/env bash
# search.sh — keyword search on one node: names in several scripts, with
# separators, camel case and cases, found by each keyword exactly as the
# reference derives keywords (docs/data.md §6.3-6.4: case-insensitive, not
# accent-insensitive, whole keywords only); removal reaches the index within
# 2 s; kill -9 of searchd and a restart rebuild the index (files added and
# removed meanwhile); `search --reindex`; bad queries give clean answers and
# searchd stays up; the rebuild pages through storaged with a cursor (3 files
# a page here); a flood of unstopped jobs gets a clear error.  (Search across
# nodes: search_net.sh.)
. "$(dirname "$0")/lib.sh"
# Small rebuild pages, so that the rebuilds below take several.
export PEERNET_SEARCHD_PAGE_FILES=3

A=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-files.XXXXXX); TMPDIRS+=("$W")
t_init_node "$A" 127.0.0.33:0
"$CTL" -d "$A" up >/dev/null || { t_fail up "$(cat "$A"/log/*.log)"; exit 0; }
wait_for 10 "$CTL" -d "$A" chain || { t_fail chain_opens "chain never opened"; exit 0; }

names=(
	"${T_INTL_NAMES[@]}"
	"PDFLoader-Manual.pdf"
	"report+final.v2,draft[1](copy)–x.txt"
	"#hashtag_music.mp3"
	"ÄÖÜ Straße GROSS.txt"
)
t_share "$A" "$W" content "${names[@]}" || t_fail add "add failed"

# names TERM: the names the search returns, one a line, sorted.
names_of() { t_search_names "$A" "$1"; }
# finds TERM NAME: the search for TERM returns NAME.
finds() { names_of "$1" | grep -qxF -- "$2"; }

# Events are applied as they arrive: the files are searchable at once.
wait_for 5 finds "ünïcödé" "${names[0]}"

bad=0
check_finds() {	# term name
	if ! finds "$1" "$2"; then bad=1; echo "# '$1' does not find '$2' (got: $(names_of "$1" | tr '\n' '|'))"; fi
}
check_misses() {	# term name
	if finds "$1" "$2"; then bad=1; echo "# '$1' finds '$2'"; fi
}
# Latin with accents: every word, the base, the whole name; any case.
for t in "ünïcödé" "fïlé" "nämé" "ÜNÏCÖDÉ" "Fïlé" "ünïcödé_fïlé-nämé" "Ünïcödé_Fïlé-Nämé.txt" "fïlé-nämé"; do
	check_finds "$t" "${names[0]}"
done
# Accents are not stripped (the reference does not strip them).
for t in "unicode" "file" "name"; do check_misses "$t" "${names[0]}"; done
# Cyrillic, lowercased by Unicode rules.
for t in "привет" "мир" "документ" "ПРИВЕТ" "Документ"; do check_finds "$t" "${names[1]}"; done
# CJK: words end at white space only; no substrings.
for t in "東京タワー" "夜景" "東京タワー 夜景.jpg"; do check_finds "$t" "${names[2]}"; done
check_misses "東京" "${names[2]}"
# Separators _ - ( ) and the reference's consequences (§6.4).
for t in "holiday" "video" "HOLIDAY" "2021" "video.mp4" '"my_holiday-video (2021).mp4"'; do
	check_finds "$t" "${names[3]}"
done
check_misses "mp4" "${names[3]}"
check_misses "holi" "${names[3]}"
# Quoted: the exact keyword only ("holiday" is one, "holiday video" is not).
check_finds '"holiday"' "${names[3]}"
check_misses '"holiday video"' "${names[3]}"
# Camel case: PDFLoader -> pdfloader, pdf, loader.
for t in "pdfloader" "loader" "manual" "pdf"; do check_finds "$t" "${names[4]}"; done
# + . , [ ] ( ) and the en dash separate words; 2-byte words are dropped.
for t in "report" "final" "draft" "copy"; do check_finds "$t" "${names[5]}"; done
check_misses "v2" "${names[5]}"
# One leading '#' is removed.
for t in "hashtag" "#hashtag" "music"; do check_finds "$t" "${names[6]}"; done
# ß stays ß (simple lowercase mapping), Ä -> ä.
for t in "äöü" "straße" "gross"; do check_finds "$t" "${names[7]}"; done
check_misses "strasse" "${names[7]}"
# A 2-letter query finds nothing.
n=$("$CTL" -d "$A" search --json "mi" | jq '.results | length')
[ "$n" = 0 ] || { bad=1; echo "# 'mi' returned $n results"; }
[ $bad = 0 ] && t_pass keywords_like_the_reference || t_fail keywords_like_the_reference "see # lines"

# Filters and the table output.
n=$("$CTL" -d "$A" search --json --type document "pdf" | jq '[.results[] | select(.type != "document")] | length')
m=$("$CTL" -d "$A" search --json --type video "pdf" | jq '.results | length')
[ "$n" = 0 ] && [ "$m" = 0 ] && t_pass type_filter || t_fail type_filter "non-documents=$n videos=$m"
today=$(date -u +%F)
a=$("$CTL" -d "$A" search --json --from "$today" --to "$today" "holiday" | jq '.results | length')
b=$("$CTL" -d "$A" search --json --to 2001-01-01 "holiday" | jq '.results | length')
c=$("$CTL" -d "$A" search --json --min-size 1K "holiday" | jq '.results | length')
[ "$a" = 1 ] && [ "$b" = 0 ] && [ "$c" = 0 ] && t_pass date_and_size_filters ||
    t_fail date_and_size_filters "today=$a 2001=$b >=1K=$c"
out=$("$CTL" -d "$A" search holiday); rc=$?
[ $rc = 0 ] && grep -q "HASH" <<<"$out" && grep -qF "${names[3]}" <<<"$out" &&
    grep -q "^1 result" <<<"$out" && t_pass table_output || t_fail table_output "rc=$rc: $out"
out=$("$CTL" -d "$A" search zzzznothing); rc=$?
[ $rc = 0 ] && grep -q "^0 results" <<<"$out" && t_pass no_results_exit_0 || t_fail no_results_exit_0 "rc=$rc"
own=$("$CTL" -d "$A" search --json holiday | jq -r '.results[0] | "\(.local) \(.shared_by) \(.owner == .sharers[0])"')
[ "$own" = "true 1 true" ] && t_pass own_file_is_local_with_one_sharer || t_fail own_file_is_local_with_one_sharer "$own"

# Removal: the file leaves the index (a bounded wait; the time is printed).
h=$("$CTL" -d "$A" search --json "привет" | jq -r '.results[0].hash')
start=$(date +%s%N)
"$CTL" -d "$A" rm "$h" >/dev/null
gone=0
while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ]; do
	if ! finds "привет" "${names[1]}"; then gone=1; break; fi
	sleep 0.02
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# removed file unsearchable after ${ms} ms (rm + searches included)"
[ $gone = 1 ] && t_pass rm_unsearchable || t_fail rm_unsearchable "still found after ${ms} ms"

# Add: searchable how soon after `add` returns.
echo "late" > "$W/Späte_Datei.txt"
"$CTL" -d "$A" add "$W/Späte_Datei.txt" >/dev/null
start=$(date +%s%N)
wait_for 2 finds "späte" "Späte_Datei.txt" && ok=1 || ok=0
echo "# added file searchable after $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ $ok = 1 ] && t_pass add_searchable_within_2s || t_fail add_searchable_within_2s "not found"

# kill -9 searchd; meanwhile a file is added and one removed (events lost);
# `up` restarts it and the rebuild brings the index up to date.
pid=$("$CTL" -d "$A" status --json | jq -r '.daemons[] | select(.name=="searchd") | .pid')
kill -9 "$pid"
wait_for 5 sh -c "! kill -0 $pid"
echo "while down" > "$W/Während_Ausfall.txt"
"$CTL" -d "$A" add "$W/Während_Ausfall.txt" >/dev/null
hm=$("$CTL" -d "$A" ls --json | jq -r --arg n "${names[4]}" '.files[] | select(.name==$n) | .hash')
"$CTL" -d "$A" rm "$hm" >/dev/null
start=$(date +%s%N)
"$CTL" -d "$A" up >/dev/null || t_fail restart_searchd "up failed"
wait_for 10 finds "während" "Während_Ausfall.txt" && ok=1 || ok=0
echo "# after kill -9 and up: index rebuilt and searchable in $(( ($(date +%s%N) - start) / 1000000 )) ms"
finds "loader" "${names[4]}" && ok=0
finds "holiday" "${names[3]}" || ok=0
[ $ok = 1 ] && t_pass kill9_restart_rebuilds_index || t_fail kill9_restart_rebuilds_index "index stale after restart"

# search --reindex (and the reindex verb) rebuild while searches go on.
out=$("$CTL" -d "$A" search --reindex); rc=$?
[ $rc = 0 ] && finds "holiday" "${names[3]}" && t_pass search_reindex || t_fail search_reindex "rc=$rc $out"
"$CTL" -d "$A" --timeout 10000 reindex --json | jq -e '.reindexing' >/dev/null && ok=1 || ok=0
sleep 0.5
finds "fïlé" "${names[0]}" && finds "während" "Während_Ausfall.txt" || ok=0
[ $ok = 1 ] && t_pass reindex_verb || t_fail reindex_verb "search after reindex failed"
grep -q "index rebuilt" "$A/log/searchd.log" && t_pass rebuild_logged || t_fail rebuild_logged "no 'index rebuilt' line"
grep "index rebuilt" "$A/log/searchd.log" | tail -1 | sed 's/^.*info: /# /'
# The last rebuild read every file, in pages of 3.
nfiles=$("$CTL" -d "$A" ls --json | jq '.files | length')
line=$(grep "index rebuilt" "$A/log/searchd.log" | tail -1)
got=$(sed -n 's/^.*index rebuilt: \([0-9]*\) files.* \([0-9]*\) pages$/\1 \2/p' <<<"$line")
want_pages=$(( (nfiles + 2) / 3 ))
[ "$nfiles" -gt 3 ] && [ "${got% *}" = "$nfiles" ] && [ "${got#* }" -ge "$want_pages" ] &&
    t_pass rebuild_pages_through_cursor || t_fail rebuild_pages_through_cursor "ls=$nfiles rebuilt/pages=$got"

# Bad queries: clean errors or clean empty results; searchd stays up.
bad=0
expect() {	# rc-wanted message-pattern args...
	local want=$1 pat=$2; shift 2
	local out rc
	out=$("$CTL" -d "$A" search "$@" 2>&1); rc=$?
	if [ $rc != "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
		bad=1; echo "# search $(printf '%.40q' "$*"): rc=$rc (want $want): $(head -c 200 <<<"$out")"
	fi
}
expect 1 "empty search term" ""
expect 1 "empty search term" "   "
# Over the 1024-byte bound peernetctl refuses the argument itself: a usage
# error (exit 2, peernetctl(8) EXIT STATUS); the others are searchd's answer.
expect 2 "too long" "$(head -c 10240 /dev/zero | tr '\0' a)"
expect 1 "not valid UTF-8" $'abc\xff\xfedef'
expect 0 "^0 results" "'; DROP TABLE file; --"
expect 0 "^0 results" "x' OR '1'='1"
expect 0 "^0 results" 'NEAR(abc def) OR "ghi" AND jkl* NOT mno'
expect 0 "^0 results" '%_%'
expect 0 "results" '"'
expect 0 "results" "''"
expect 2 "unknown file type" --type nosuchtype holiday
expect 2 "expected a date" --from 2024-02-31 holiday
expect 2 "expected a size" --min-size 12Q holiday
expect 2 "unknown sort" --sort sideways holiday
# Through a quoted FTS-like string the reference finds exact keywords only.
n=$("$CTL" -d "$A" search --json -- 'holiday OR video' | jq '.results | length')
[ "$n" = 1 ] || { bad=1; echo "# 'holiday OR video' gave $n results"; }
[ $bad = 0 ] && t_pass bad_queries_clean || t_fail bad_queries_clean "see # lines"
st=$("$CTL" -d "$A" status --json | jq -r '.daemons[] | select(.name=="searchd") | .state')
[ "$st" = running ] && finds "holiday" "${names[3]}" && t_pass searchd_survives_bad_queries ||
    t_fail searchd_survives_bad_queries "searchd is $st"

# Job cap: 32 live jobs at most; a started job is stopped by the verb.
"$CTL" -d "$A" search --json holiday >/dev/null
for k in $(seq 1 40); do "$CTL" -d "$A" search --json holiday >/dev/null || { t_fail jobs_are_stopped "search $k failed"; break; }; done
[ "${k:-0}" = 40 ] && t_pass jobs_are_stopped

# A flood of jobs nobody stops (a client that dies after starting them): at
# most 32 live at once, the rest refused with a clear error; once they are
# stopped, searching works again.
SF="$(dirname "$BIN")/tests/searchflood"
if [ -x "$SF" ]; then
	out=$("$SF" "$A" 40 holiday); rc=$?
	started=$(jq -r .started <<<"$out"); refused=$(jq -r .refused <<<"$out")
	err=$(jq -r .error <<<"$out"); stopped=$(jq -r .stopped <<<"$out")
	echo "# flood of 40 unstopped jobs: $out"
	[ $rc = 0 ] && [ "$started" = 32 ] && [ "$refused" = 8 ] && [ "$stopped" = 32 ] &&
	    grep -q "too many searches at once" <<<"$err" &&
	    t_pass job_flood_refused_with_clear_error || t_fail job_flood_refused_with_clear_error "rc=$rc $out"
	finds "holiday" "${names[3]}" && t_pass search_works_after_flood ||
	    t_fail search_works_after_flood "holiday not found after the flood"
else
	t_fail job_flood_refused_with_clear_error "$SF missing: run 'make unit'"
fi
