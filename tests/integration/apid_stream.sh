#!/usr/bin/env bash
# apid_stream.sh — HTTP ranges of files served by peernet-apid: a file only
# node B shares, streamed by A's apid (/file/read, /file/view with node=):
# netd fetches only the fragments a range covers (ranged Transfer runs into
# memory, verified per fragment against B's merkle leaves) — checked byte
# for byte against the original for several ranges, a seek to 90 %, a
# suffix, the whole file, 416; a file of one fragment (unverified, said so);
# a 40 MiB file read from 90 % to its end; a corrupt sharer (a flipped byte:
# the client never gets it, A counts 3 bad fragments); and with B's own
# transfer counters (the bytes its uploads sent) showing that a seek to 90 %
# made B send only the fragments from there on.  Then A's own files through /warehouse/read and
# /file/read, served from the read-only descriptor storaged passes to apid.
. "$(dirname "$0")/lib.sh"
APID="$BIN/peernet-apid"
KEY=0d6a3f1e-5b2c-4c7d-8e9f-1a2b3c4d5e6f
IPA=127.0.69.1 IPB=127.0.69.2 PORT=7001 HPORT=8113
U="http://$IPA:$HPORT"

command -v curl >/dev/null && command -v jq >/dev/null && command -v b3sum >/dev/null ||
	{ t_skip all "needs curl, jq and b3sum"; exit 0; }
[ -x "$APID" ] || { t_fail build "$APID missing"; exit 0; }

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-apid-stream.XXXXXX); TMPDIRS+=("$W")
t_node_up "$A" $IPA || { t_fail up "A did not start"; exit 0; }
PA=$(peer_id "$A")
t_node_up "$B" $IPB "$PA@$IPA:$PORT" || { t_fail up "B did not start"; exit 0; }
NB=$(node_id "$B")

t_apid_up "$A" "$IPA:$HPORT" "$KEY" || { t_fail apid_up "$(cat "$W/apid.log")"; exit 0; }

# B's file: 5 MiB + a bit, so that its last fragment is short.
SIZE=$((5 * 1048576 + 12345))
head -c $SIZE /dev/urandom > "$W/f.bin"
"$CTL" -d "$B" add "$W/f.bin" >/dev/null || { t_fail add "B add failed"; exit 0; }
H=$(b3sum --no-names "$W/f.bin")
has_peer() { "$CTL" -d "$A" peers --json 2>/dev/null | jq -e --arg n "$NB" '.peers | map(select(.node_id == $n)) | length == 1' >/dev/null; }
wait_for 15 has_peer || t_fail peers "A does not see B"

# sent: the file bytes B's uploads sent (its transfer counters, IPC_TRANSFERS).
sent() { "$CTL" -d "$B" transfers --json | jq "[.[] | select(.role == \"upload\") | .done] | add // 0"; }
# get NAME RANGE FIRST LEN [route]: a 206 of exactly bytes FIRST..FIRST+LEN-1.
get() {
	local name=$1 range=$2 first=$3 len=$4 route=${5:-/file/read} hdr
	hdr=$(curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=$range" \
	    "$U$route?hash=$H&node=$NB&timeout=20" | tr -d '\r')
	if grep -q '^HTTP/1.1 206' <<<"$hdr" &&
	    grep -qi "^content-range: bytes $first-$((first + len - 1))/$SIZE\$" <<<"$hdr" &&
	    grep -qi '^accept-ranges: bytes$' <<<"$hdr" &&
	    cmp -s "$W/got" <(tail -c +$((first + 1)) "$W/f.bin" | head -c "$len"); then
		t_pass "$name"
	else
		t_fail "$name" "$(head -c 400 <<<"$hdr" | tr '\n' ' ') got $(stat -c %s "$W/got") bytes"
	fi
	HDR=$hdr
}

# --- the seek first, while B has served nothing: a player jumping to 90 % ---
S90=$((SIZE * 9 / 10))
before=$(sent)
get seek_90_percent_exact "$S90-" $S90 $((SIZE - S90))
grep -qi '^x-peernet-verified: fragments$' <<<"$HDR" &&
	t_pass remote_ours_verified_per_fragment || t_fail remote_ours_verified_per_fragment "$HDR"
sleep 1	# B's upload sessions end once their last bytes are acknowledged
after=$(sent)
fetched=$((after - before))
# Fragments are 256 or 512 KiB: what precedes the seek's fragment, never.
bound=$((SIZE - S90 + 524288 + 1))
echo "# seek to $S90 of $SIZE: B sent $fetched bytes (bound $bound; the bytes before the seek: $S90)"
if [ "$fetched" -ge $((SIZE - S90)) ] && [ "$fetched" -le $bound ]; then
	t_pass seek_fetches_only_covered_fragments
else
	t_fail seek_fetches_only_covered_fragments "B sent $fetched bytes, bound $bound"
fi
A_JSON=$("$CTL" -d "$A" transfers --json)
jq -e 'map(select(.role == "download" and .verified == "fragments")) | length >= 1' <<<"$A_JSON" >/dev/null &&
	t_pass stream_listed_in_transfers || t_fail stream_listed_in_transfers "$A_JSON"

# --- more ranges --------------------------------------------------------------
get first_kilobyte 0-999 0 1000
get middle_range_across_fragments 1234567-2345678 1234567 $((2345678 - 1234567 + 1))
get suffix_range -1000 $((SIZE - 1000)) 1000
get last_byte "$((SIZE - 1))-$((SIZE - 1))" $((SIZE - 1)) 1
get view_range 262140-262150 262140 11 /file/view
before=$(sent)
get small_range_one_fragment 3000000-3000009 3000000 10
sleep 1
fetched=$(( $(sent) - before ))
[ "$fetched" -le $((524288 + 1)) ] && t_pass small_range_fetches_one_fragment ||
	t_fail small_range_fetches_one_fragment "B sent $fetched bytes for 10"

# The whole file, no Range: 200 and every byte.
s=$(curl -s -o "$W/got" -w '%{http_code}' -H "x-api-key: $KEY" "$U/file/read?hash=$H&node=$NB&timeout=20")
[ "$s" = 200 ] && cmp -s "$W/got" "$W/f.bin" && t_pass whole_file_200_exact ||
	t_fail whole_file_200_exact "$s, $(stat -c %s "$W/got") bytes"
# format=14: served as MP4 (the reference's quirk), ranged.
ct=$(curl -s -D - -o /dev/null -H "x-api-key: $KEY" -H "Range: bytes=0-0" \
    "$U/file/view?hash=$H&node=$NB&format=14" | tr -d '\r' | grep -i '^content-type:')
[ "${ct,,}" = "content-type: video/mp4" ] && t_pass view_format14_mp4 || t_fail view_format14_mp4 "$ct"

# --- 416 names the size ---------------------------------------------------
hdr=$(curl -s -D - -o "$W/body" -H "x-api-key: $KEY" -H "Range: bytes=$SIZE-" \
    "$U/file/read?hash=$H&node=$NB" | tr -d '\r')
grep -q '^HTTP/1.1 416' <<<"$hdr" && grep -qi "^content-range: bytes \*/$SIZE\$" <<<"$hdr" &&
    jq -e '.code == "range"' "$W/body" >/dev/null &&
	t_pass remote_416_with_size || t_fail remote_416_with_size "$(head -c 300 <<<"$hdr")"
s=$(curl -s -o "$W/body" -w '%{http_code}' -H "x-api-key: $KEY" -H "Range: bytes=0-1,5-6" \
    "$U/file/read?hash=$H&node=$NB")
[ "$s" = 400 ] && t_pass remote_several_ranges_400 || t_fail remote_several_ranges_400 "$s"
# An unknown hash on B: a JSON error, not a hang.
s=$(curl -s -o "$W/body" -w '%{http_code}' -H "x-api-key: $KEY" "$U/file/read?hash=$(printf '%064d' 9)&node=$NB&timeout=5")
case "$s" in 404|502|504) jq -e .error "$W/body" >/dev/null && t_pass remote_missing_json_error ||
	t_fail remote_missing_json_error "no JSON" ;;
*) t_fail remote_missing_json_error "$s" ;; esac
# The file is still only B's: streaming stored nothing at A.
"$CTL" -d "$A" cat "$H" >/dev/null 2>&1 && t_fail stream_stores_nothing "A has it" ||
	t_pass stream_stores_nothing

# --- a file of one fragment: no merkle tree, bytes passed unverified (said so) ---
head -c 100000 /dev/urandom > "$W/s.bin"
"$CTL" -d "$B" add "$W/s.bin" >/dev/null
HS=$(b3sum --no-names "$W/s.bin")
hdr=$(curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=500-" \
    "$U/file/read?hash=$HS&node=$NB&timeout=20" | tr -d '\r')
grep -q '^HTTP/1.1 206' <<<"$hdr" && grep -qi '^x-peernet-verified: none$' <<<"$hdr" &&
    cmp -s "$W/got" <(tail -c +501 "$W/s.bin") && t_pass one_fragment_file_unverified_said ||
	t_fail one_fragment_file_unverified_said "$(head -c 300 <<<"$hdr")"

# --- a larger file: a seek to 90 % read to the end, runs growing -------------
LBIG=$((40 * 1048576 + 4321))
head -c $LBIG /dev/urandom > "$W/big.bin"
"$CTL" -d "$B" add "$W/big.bin" >/dev/null
HG=$(b3sum --no-names "$W/big.bin")
G90=$((LBIG * 9 / 10))
before=$(sent)
hdr=$(curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=$G90-" \
    "$U/file/read?hash=$HG&node=$NB&timeout=20" | tr -d '\r')
grep -q '^HTTP/1.1 206' <<<"$hdr" && cmp -s "$W/got" <(tail -c +$((G90 + 1)) "$W/big.bin") &&
	t_pass big_seek_90_percent_to_end_exact || t_fail big_seek_90_percent_to_end_exact "$(head -c 300 <<<"$hdr")"
sleep 1
fetched=$(( $(sent) - before ))
echo "# 40 MiB file, seek to $G90 read to the end: B sent $fetched bytes for $((LBIG - G90))"
[ "$fetched" -ge $((LBIG - G90)) ] && [ "$fetched" -le $((LBIG - G90 + 524288 + 1)) ] &&
	t_pass big_seek_fetches_only_covered_fragments ||
	t_fail big_seek_fetches_only_covered_fragments "B sent $fetched"

# --- streams at once: B serves a peer 2 transfers at a time (XF_MAX_SERVE_PEER);
# a third stream is told to come back later (503), not that the file is missing.
pids=()
for i in 1 2; do
	curl -s --limit-rate 100k -o /dev/null -H "x-api-key: $KEY" \
	    "$U/file/read?hash=$HG&node=$NB&timeout=20" & pids+=($!)
done
# Both held open on B's side (its uploads, flow-controlled by the slow clients).
busy() { [ "$("$CTL" -d "$B" transfers --json | jq '[.[] | select(.role == "upload" and .state == "running")] | length')" -ge 2 ]; }
wait_for 10 busy
s=$(curl -s -o "$W/body" -w '%{http_code}' -H "x-api-key: $KEY" -H "Range: bytes=0-9" \
    "$U/file/read?hash=$HG&node=$NB&timeout=20")
[ "$s" = 503 ] && jq -e '.code == "busy"' "$W/body" >/dev/null && t_pass third_stream_at_once_503 ||
	t_fail third_stream_at_once_503 "$s $(head -c 200 "$W/body")"
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
# Their clients gone, the streams are closed: a new one is served.
again() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY" -H "Range: bytes=0-9" \
    "$U/file/read?hash=$HG&node=$NB&timeout=20")" = 206 ]; }
wait_for 10 again && t_pass streams_freed_when_clients_go || t_fail streams_freed_when_clients_go "still refused"

# --- a corrupt sharer: no bad byte ever reaches the client -------------------
# 3,000,000 bytes, fragments of 256 KiB: byte 1,500,000 is in fragment 5
# (1310720-1572863).  B's stored copy gets it flipped after adding.
wh_path() { echo "$1/storage/warehouse/${2:0:4}/${2:4:4}/${2:8}"; }
flip() {
	local b
	b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "$(printf '\\%03o' $(( (b ^ 255) & 255 )))" |
	    dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}
counter() { "$CTL" -d "$1" status --json | jq -r ".network.counters.$2 // 0"; }
head -c 3000000 /dev/urandom > "$W/bad.bin"
"$CTL" -d "$B" add "$W/bad.bin" >/dev/null
HX=$(b3sum --no-names "$W/bad.bin")
flip "$(wh_path "$B" "$HX")" 1500000
bad0=$(counter "$A" xfer_bad_fragment)
curl -s -o "$W/got" -H "x-api-key: $KEY" "$U/file/read?hash=$HX&node=$NB&timeout=20"
got=$(stat -c %s "$W/got")
bad1=$(counter "$A" xfer_bad_fragment)
echo "# corrupt fragment 5: the client got $got bytes; A counted $((bad1 - bad0)) bad fragments"
if [ "$got" -le 1310720 ] && cmp -s "$W/got" <(head -c "$got" "$W/bad.bin") &&
    [ $((bad1 - bad0)) = 3 ]; then
	t_pass corrupt_fragment_never_reaches_client
else
	t_fail corrupt_fragment_never_reaches_client "got $got bytes, bad fragments $((bad1 - bad0))"
fi
# The fragments after the bad one are fine: a range there is served whole.
get_x() { curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=$1" \
    "$U/file/read?hash=$HX&node=$NB&timeout=20" | tr -d '\r'; }
hdr=$(get_x 1600000-1700000)
grep -q '^HTTP/1.1 206' <<<"$hdr" && cmp -s "$W/got" <(tail -c +1600001 "$W/bad.bin" | head -c 100001) &&
	t_pass range_past_corrupt_fragment_exact || t_fail range_past_corrupt_fragment_exact "$(head -c 200 <<<"$hdr")"

# --- A's own file: from storaged's read-only descriptor (sendfile) -----------
LSIZE=$((3 * 1048576 + 777))
head -c $LSIZE /dev/urandom > "$W/l.bin"
"$CTL" -d "$A" add "$W/l.bin" >/dev/null || t_fail add "A add failed"
HL=$(b3sum --no-names "$W/l.bin")
nfd() { ls /proc/$APID_PID/fd 2>/dev/null | wc -l; }
fds_before=$(nfd)
# lget NAME ROUTE RANGE FIRST LEN
lget() {
	local hdr
	hdr=$(curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=$3" "$U$2?hash=$HL" | tr -d '\r')
	if grep -q '^HTTP/1.1 206' <<<"$hdr" &&
	    grep -qi "^content-range: bytes $4-$(($4 + $5 - 1))/$LSIZE\$" <<<"$hdr" &&
	    grep -qi '^x-peernet-source: descriptor$' <<<"$hdr" &&
	    cmp -s "$W/got" <(tail -c +$(($4 + 1)) "$W/l.bin" | head -c "$5"); then
		t_pass "$1"
	else
		t_fail "$1" "$(head -c 400 <<<"$hdr" | tr '\n' ' ') got $(stat -c %s "$W/got") bytes"
	fi
}
lget local_fd_first_bytes /warehouse/read 0-99 0 100
lget local_fd_seek_90_percent /warehouse/read "$((LSIZE * 9 / 10))-" $((LSIZE * 9 / 10)) $((LSIZE - LSIZE * 9 / 10))
lget local_fd_middle /file/read 1000000-2000000 1000000 1000001
lget local_fd_suffix /file/view -4096 $((LSIZE - 4096)) 4096
s=$(curl -s -D "$W/h" -o "$W/got" -w '%{http_code}' -H "x-api-key: $KEY" "$U/warehouse/read?hash=$HL")
[ "$s" = 200 ] && cmp -s "$W/got" "$W/l.bin" && grep -qi '^x-peernet-source: descriptor' "$W/h" &&
	t_pass local_fd_whole_file || t_fail local_fd_whole_file "$s"
s=$(curl -s -o "$W/body" -w '%{http_code}' -H "x-api-key: $KEY" -H "Range: bytes=$LSIZE-" "$U/warehouse/read?hash=$HL")
[ "$s" = 416 ] && t_pass local_416 || t_fail local_416 "$s"
sleep 0.5
fds_after=$(nfd)
[ "$fds_after" -le "$fds_before" ] && t_pass local_fd_none_left_open ||
	t_fail local_fd_none_left_open "apid held $fds_before descriptors, now $fds_after"

kill $APID_PID 2>/dev/null; wait $APID_PID 2>/dev/null
# Under the sanitizers (check-san): no report from apid nor from either node's daemons.
logs=("$W/apid.log" "$A"/log/*.log "$B"/log/*.log)
if grep -qi 'sanitizer\|runtime error' "${logs[@]}" 2>/dev/null; then
	t_fail logs_clean "$(grep -i -m3 'sanitizer\|runtime error' "${logs[@]}" 2>/dev/null)"
else
	t_pass logs_clean
fi
# netd and storaged of both nodes outlived every stream (nothing crashed).
alive=1
for d in "$A" "$B"; do
	for n in netd storaged; do flock -n "$d/run/$n.lock" true && alive=0; done
done
[ $alive = 1 ] && t_pass daemons_alive_after_streams || t_fail daemons_alive_after_streams "a daemon is gone"
