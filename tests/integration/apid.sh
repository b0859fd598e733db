#!/usr/bin/env bash
# apid.sh — peernet-apid, the web API, as a client written for the Go node
# uses it: node A (with apid and an API key) and node B (bootstrapping from
# A, so that A has a peer) on loopback.  Every implemented route is driven
# with curl and its JSON checked field by field with jq (names, types,
# base64 vs hex); authentication (401 without or with a wrong key, k= only
# where the reference takes it); 400 with a JSON reason for malformed input;
# single byte ranges (206 + Content-Range, 416, 400 for several); /metrics
# (promtool when installed); the sandbox of the running process; the
# start-up refusals; and /shutdown stopping the node.
# apid is started by hand (-f), after `peernetctl up` (the [apid] section is
# added later): its exit status and log are checked.  ctl.sh tests up/down/status
# with apid.
. "$(dirname "$0")/lib.sh"
APID="$BIN/peernet-apid"
KEY=5b3c9d0e-8a41-4b8e-9a57-2f0c6d1e7a42
IPA=127.0.68.1 IPB=127.0.68.2 PORT=7001 HPORT=8112
U="http://$IPA:$HPORT"

command -v curl >/dev/null && command -v jq >/dev/null ||
	{ t_skip all "needs curl and jq"; exit 0; }
[ -x "$APID" ] || { t_fail build "$APID missing"; exit 0; }

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-apid.XXXXXX); TMPDIRS+=("$W")
t_node_up "$A" $IPA || { t_fail up "A did not start"; exit 0; }
PA=$(peer_id "$A"); NA=$(node_id "$A")
t_node_up "$B" $IPB "$PA@$IPA:$PORT" || { t_fail up "B did not start"; exit 0; }
NB=$(node_id "$B")

# --- start-up refusals: nothing is served, apid says why and exits 1 ---------
C=$(t_mkdir)
"$CTL" -d "$C" init --listen "127.0.68.3:$PORT" --no-lan --no-upnp --no-natpmp >/dev/null
printf '\n[apid]\napi_listen = 0.0.0.0:%s\n' "$HPORT" >> "$C/peernet.conf"
out=$(timeout 10 "$APID" -d "$C" -f 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "not a loopback address: set api_key" <<<"$out"; then
	t_pass non_loopback_without_key_refused
else
	t_fail non_loopback_without_key_refused "rc=$rc: $out"
fi
sed -i 's/^api_listen = .*/api_listen = 127.0.68.3:8112/' "$C/peernet.conf"
printf 'api_key = not-a-uuid\n' >> "$C/peernet.conf"
out=$(timeout 10 "$APID" -d "$C" -f 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "bad value for 'api_key' in section \[apid\]" <<<"$out"; then
	t_pass malformed_key_refused
else
	t_fail malformed_key_refused "rc=$rc: $out"
fi

# --- HTTPS: api_tls_cert + api_tls_key (read as root before the drop) ------
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.68.3 \
	    -keyout "$C/tls.key" -out "$C/tls.crt" >/dev/null 2>&1
	chmod 600 "$C/tls.key"
	sed -i '/^api_key = /d' "$C/peernet.conf"
	printf 'api_tls_cert = tls.crt\napi_tls_key = tls.key\n' >> "$C/peernet.conf"
	"$APID" -d "$C" -f 2>"$W/apid-c.log" &
	APID_C=$!
	if wait_for 10 curl -sfk "https://127.0.68.3:8112/test"; then
		t_pass https_serves
		s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.68.3:8112/test")
		[ "$s" != 200 ] && t_pass https_only_no_plain_http || t_fail https_only_no_plain_http "$s"
		if curl -sfk --tls-max 1.1 "https://127.0.68.3:8112/test" >/dev/null 2>&1; then
			t_fail tls_below_1_2_refused "TLS 1.1 accepted"
		else
			t_pass tls_below_1_2_refused
		fi
	else
		t_fail https_serves "$(cat "$W/apid-c.log")"
	fi
	kill $APID_C 2>/dev/null; wait $APID_C 2>/dev/null
else
	t_skip https_serves "openssl not installed (to make a test certificate)"
fi

# --- A's apid, with a key ---------------------------------------------------
FD="$W/files"; mkdir -p "$FD/sub"; chmod 755 "$W" "$FD" "$FD/sub"
t_apid_up "$A" "$IPA:$HPORT" "$KEY" "api_files_dir = $FD\n" ||
	{ t_fail apid_up "$(cat "$W/apid.log")"; exit 0; }
t_pass apid_answers_test

# c PATH [curl args...]: the body; the HTTP status in $W/code.
c() { local p=$1; shift; curl -s -o "$W/body" -w '%{http_code}' -H "x-api-key: $KEY" "$@" "$U$p" >"$W/code"; cat "$W/body"; }
code() { cat "$W/code"; }
# jqt NAME FILTER: PASS if jq -e FILTER holds on the last body.
jqt() { if jq -e "$2" "$W/body" >/dev/null 2>&1; then t_pass "$1"; else t_fail "$1" "$(code) $(head -c 300 "$W/body")"; fi; }

# --- authentication ---------------------------------------------------------
s=$(curl -s -o "$W/body" -w '%{http_code}' "$U/status")
[ "$s" = 401 ] && jq -e '.error and .code == "unauthorized"' "$W/body" >/dev/null &&
	t_pass no_key_401 || t_fail no_key_401 "$s $(cat "$W/body")"
s=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: ${KEY%?}0" "$U/status")
[ "$s" = 401 ] && t_pass wrong_key_401 || t_fail wrong_key_401 "$s"
s=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: ${KEY^^}" "$U/status")
[ "$s" = 200 ] && t_pass key_case_insensitive || t_fail key_case_insensitive "$s"
s=$(curl -s -o /dev/null -w '%{http_code}' "$U/status?k=$KEY")
[ "$s" = 401 ] && t_pass k_param_not_taken_on_status || t_fail k_param_not_taken_on_status "$s"
s=$(curl -s -o /dev/null -w '%{http_code}' "$U/nope")
[ "$s" = 401 ] && t_pass unknown_route_needs_key_too || t_fail unknown_route_needs_key_too "$s"

# --- §3.1 status and account -------------------------------------------------
c /status >/dev/null
jqt status_shape '(.status == 0) and (.isconnected|type) == "boolean" and
    (.countpeerlist|type) == "number" and (.countnetwork == .countpeerlist)'
c /account/info >/dev/null
jqt account_info_hex_matches_ctl ".peerid == \"$PA\" and .nodeid == \"$NA\""
c /status/config >/dev/null
jqt status_config_block_size '.blockSize == 50096'
has_peer() { c /status/peers >/dev/null; jq -e 'type == "array" and length >= 1' "$W/body" >/dev/null; }
if wait_for 15 has_peer; then
	PB=$("$CTL" -d "$B" id --json | jq -r .peer_id)
	PB64=$(xxd -r -p <<<"$PB" | base64 -w0)
	jqt status_peers_shape "map(select(.peerid == \"$PB64\")) | length == 1 and
	    (.[0] | (.nodeid|type) == \"string\" and (.nodeid|length) == 44 and
	    .geoip == \"\" and (.useragent|type) == \"string\" and
	    (.isroot|type) == \"boolean\" and (.blockchainheight|type) == \"number\" and
	    (.blockchainversion|type) == \"number\")"
else
	t_fail status_peers_shape "B never appeared in A's peer list: $(cat "$W/body")"
fi

# --- §3.2 own blockchain -------------------------------------------------------
c /blockchain/file/list >/dev/null
jqt file_list_empty_is_null '.files == null and .status == 0'
head -c 700000 /dev/urandom > "$W/big.bin"
printf 'hello from apid\n' > "$W/hello.txt"
"$CTL" -d "$A" add "$W/big.bin" "$W/hello.txt" >/dev/null || t_fail add "add failed"
HB=$(b3sum --no-names "$W/big.bin" 2>/dev/null || "$CTL" -d "$A" ls --json | jq -r '.files[] | select(.name=="big.bin") | .hash')
HB64=$(xxd -r -p <<<"$HB" | base64 -w0)
c /blockchain/header >/dev/null
jqt chain_header_shape ".peerid == \"$PA\" and (.version|type) == \"number\" and .height >= 1"
c /blockchain/file/list >/dev/null
jqt file_list_apifile_shape "(.files | length) == 2 and .status == 0 and
    (.files[] | select(.name == \"big.bin\") | .hash == \"$HB64\" and .size == 700000 and
    (.id | test(\"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$\")) and
    (.type|type) == \"number\" and (.format|type) == \"number\" and .folder == \"\" and
    .description == \"\" and (.date | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$\")) and
    (.nodeid | length) == 44 and (.metadata|type) == \"array\" and .username == \"\")"
fmt=$(jq '.files[] | select(.name == "hello.txt") | .format' "$W/body")
c "/blockchain/file/list?fileFormat=$fmt" >/dev/null
jqt file_list_format_filter '[.files[].name] == ["hello.txt"]'

# The newest block may be announced (header height) up to 0.5 s later: read until status 1.
names=""
for ((k = 0; k < 50; k++)); do
	c "/blockchain/read?block=$k" >/dev/null
	jq -e '.status == 1' "$W/body" >/dev/null && break
	names+=$(jq -r '.recordsdecoded // [] | .[].name' "$W/body")$'\n'
	jq -e '.status == 0 and (.peerid|length) == 66 and (.recordsraw | all(has("type") and has("data")))' "$W/body" >/dev/null || names+="BAD$k"
done
H=$k
grep -qx big.bin <<<"$names" && grep -qx hello.txt <<<"$names" && ! grep -q BAD <<<"$names" &&
	t_pass chain_read_blocks_decode_files || t_fail chain_read_blocks_decode_files "height $H: $names"
c "/blockchain/read?block=$H" >/dev/null
jqt chain_read_past_height_status_1 '.status == 1 and .recordsraw == null'
c "/blockchain/read?block=-1" >/dev/null
[ "$(code)" = 400 ] && t_pass chain_read_negative_400 || t_fail chain_read_negative_400 "$(code)"

# --- §3.3 profile ----------------------------------------------------------------
c "/profile/read?field=1" >/dev/null
jqt profile_read_unset_status_4 '.fields == null and .status == 4'
"$CTL" -d "$A" profile set name "Zoë" >/dev/null
c /profile/list >/dev/null
jqt profile_list_shape '.status == 0 and .fields == [{"type":0,"text":"Zoë","blob":null}]'
c "/profile/read?field=0&node=$NA" >/dev/null
jqt profile_read_self_node '.fields[0].text == "Zoë" and .status == 0'
c "/profile/read?field=-1" >/dev/null
[ "$(code)" = 400 ] && t_pass profile_read_negative_400 || t_fail profile_read_negative_400 "$(code)"
c "/profile/read?field=0&node=zz" >/dev/null
[ "$(code)" = 400 ] && jq -e .error "$W/body" >/dev/null && t_pass profile_bad_node_400 ||
	t_fail profile_bad_node_400 "$(code)"
# The reference drops the connection for an unknown node: a JSON error here.
c "/profile/list?node=$(printf '%064d' 7)" >/dev/null
[ "$(code)" = 404 ] && jq -e '.code == "node_unknown"' "$W/body" >/dev/null && t_pass profile_unknown_node_json_404 ||
	t_fail profile_unknown_node_json_404 "$(code)"

# --- §3.4 search -------------------------------------------------------------------
c /search -X POST -d '{"term":"hello","timeout":5,"filetype":-1,"fileformat":-1,"sizemin":-1,"sizemax":-1}' >/dev/null
jqt search_start_shape '.status == 0 and (.id | test("^[0-9a-f-]{36}$"))'
SID=$(jq -r .id "$W/body")
got_hit() { c "/search/result?id=$SID&limit=10" >/dev/null; jq -e '.files | length >= 1' "$W/body" >/dev/null; }
if wait_for 10 got_hit; then
	jqt search_result_shape '(.status == 0 or .status == 1) and .statistic == null and
	    .files[0].name == "hello.txt" and (.files[0].hash|length) == 44 and
	    (.files[0].metadata[] | select(.type == 5) | .name == "Shared By Count" and .number >= 1)'
else
	t_fail search_result_shape "$(cat "$W/body")"
fi
c "/search/statistic?id=$SID" >/dev/null
jqt search_statistic_shape '.status == 0 and .total == 1 and (.terminated|type) == "boolean" and
    .filetype == [{"key":1,"count":1}] and .fileformat == [{"key":10,"count":1}] and
    (.date | length == 1 and (.[0].date | test("T00:00:00Z$")) and .[0].count == 1)'
c "/search/result?id=$SID&offset=0&limit=5&stats=1" >/dev/null
jqt search_result_stats_embedded '.statistic.total == 1 and (.files | length) == 1'
c "/search/statistic?id=00000000-0000-4000-8000-000000000000" >/dev/null
jqt search_statistic_unknown_status_2 '.status == 2'
# The WebSocket: results pushed, a last message with status 1, a close.
WSC="$(dirname "$0")/apid_ws_client.py"
c /search -X POST -d '{"term":"big","timeout":2}' >/dev/null
WID=$(jq -r .id "$W/body")
if timeout 40 python3 "$WSC" "$IPA" "$HPORT" "/search/result/ws?id=$WID" "$KEY" > "$W/ws.out" 2>&1; then
	msgs=$(grep -c '^{' "$W/ws.out")
	if tail -1 "$W/ws.out" | grep -qx 'CLOSE 1000' &&
	    grep '^{' "$W/ws.out" | tail -1 | jq -e '.status == 1 and .statistic == null' >/dev/null &&
	    grep '^{' "$W/ws.out" | jq -s -e '[.[].files[].name] | index("big.bin") != null' >/dev/null; then
		t_pass search_ws_pushes_results_then_status_1 
		echo "# websocket: $msgs messages"
	else
		t_fail search_ws_pushes_results_then_status_1 "$(tr '\n' ' ' < "$W/ws.out" | head -c 400)"
	fi
else
	t_fail search_ws_pushes_results_then_status_1 "client: $(tr '\n' ' ' < "$W/ws.out" | head -c 400)"
fi
# /console: the banner, commands, a prompt for an argument, unknown input, exit.
if timeout 40 python3 "$WSC" "$IPA" "$HPORT" "/console?k=$KEY" - "STATUS" "  peer list " "hash" \
    "abc" "search file" "big" "bogus" "exit" > "$W/con.out" 2>&1; then
	want_hash=$(printf abc | b3sum --no-names)
	if grep -q '^Peernet Cmd ' "$W/con.out" && grep -q "^Node ID:    $NA" "$W/con.out" &&
	    grep -q "^  Node ID:    $NB" "$W/con.out" && grep -q '^Enter text to hash:' "$W/con.out" &&
	    grep -qx "blake3 hash: $want_hash" "$W/con.out" && grep -q 'File ID .*  big.bin$' "$W/con.out" &&
	    [ "$(grep -c '^Unknown command.$' "$W/con.out")" = 1 ] && grep -qx 'Bye.' "$W/con.out" &&
	    tail -1 "$W/con.out" | grep -qx 'CLOSE 1000'; then
		t_pass console_commands_over_websocket
	else
		t_fail console_commands_over_websocket "$(tr '\n' '|' < "$W/con.out" | head -c 600)"
	fi
else
	t_fail console_commands_over_websocket "client: $(tr '\n' '|' < "$W/con.out" | head -c 400)"
fi
c "/search/result/ws?id=$WID" >/dev/null
[ "$(code)" = 400 ] && jq -e '.code == "not_websocket"' "$W/body" >/dev/null &&
	t_pass search_ws_without_upgrade_400 || t_fail search_ws_without_upgrade_400 "$(code)"
c "/search/result/ws?id=00000000-0000-4000-8000-000000000000" >/dev/null
jqt search_ws_unknown_id_status_2 '.status == 2'
c "/search/terminate?id=$SID" >/dev/null
[ "$(code)" = 204 ] && t_pass search_terminate_204 || t_fail search_terminate_204 "$(code)"
c "/search/terminate?id=$SID" >/dev/null
[ "$(code)" = 404 ] && t_pass search_terminate_unknown_404 || t_fail search_terminate_unknown_404 "$(code)"
c "/search/result?id=$SID" >/dev/null
jqt search_result_unknown_status_2 '.status == 2'
bad=0
for q in "/search/terminate?id=xyz" "/search/result?id=" "/warehouse/read?hash=12" "/file/read?hash=$HB&node=zz" "/shutdown?action=1"; do
	c "$q" >/dev/null
	if [ "$(code)" != 400 ] || ! jq -e '.error | length > 0' "$W/body" >/dev/null; then
		bad=1; echo "# $q: $(code) $(cat "$W/body")"
	fi
done
for body in '{"term":' '{"term":5}' '[1,2]' '' '{"term":"a","sort":99}' '{"term":"a","datefrom":"2021-13-01 00:00:00","dateto":"x"}' '{"term":"a","term":"b"}'; do
	c /search -X POST -d "$body" >/dev/null
	if [ "$(code)" != 400 ] || ! jq -e '.error | length > 0' "$W/body" >/dev/null; then
		bad=1; echo "# POST /search $body: $(code) $(cat "$W/body")"
	fi
done
[ $bad = 0 ] && t_pass malformed_input_400_with_json_reason || t_fail malformed_input_400_with_json_reason "see # lines"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$W/huge.json"
c /search -X POST --data-binary "@$W/huge.json" >/dev/null
[ "$(code)" = 413 ] && t_pass body_over_1mib_413 || t_fail body_over_1mib_413 "$(code)"

# --- routes, methods ------------------------------------------------------------------
c /nope >/dev/null
[ "$(code)" = 404 ] && jq -e '.code == "not_found"' "$W/body" >/dev/null && t_pass unknown_route_404 || t_fail unknown_route_404 "$(code)"
c /search >/dev/null
[ "$(code)" = 405 ] && t_pass wrong_method_405 || t_fail wrong_method_405 "$(code)"
c /account/delete >/dev/null
[ "$(code)" = 204 ] && t_pass account_delete_without_confirm_204 || t_fail account_delete_without_confirm_204 "$(code)"

# --- §3.6 / §3.7 file bytes and ranges --------------------------------------------------
c "/warehouse/read?hash=$HB" >/dev/null
cmp -s "$W/body" "$W/big.bin" && [ "$(code)" = 200 ] && t_pass warehouse_read_whole || t_fail warehouse_read_whole "$(code)"
c "/warehouse/read?hash=$HB&offset=10&limit=5" >/dev/null
cmp -s "$W/body" <(tail -c +11 "$W/big.bin" | head -c 5) && t_pass warehouse_read_offset_limit || t_fail warehouse_read_offset_limit "$(code)"
c "/warehouse/read?hash=$(printf '%064d' 0)" >/dev/null
[ "$(code)" = 404 ] && t_pass warehouse_read_unknown_404 || t_fail warehouse_read_unknown_404 "$(code)"
# range A-B FIRST LEN: 206, Content-Range, the bytes.
range() {
	local spec=$1 first=$2 len=$3 hdr
	hdr=$(curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=$spec" "$U/file/read?hash=$HB&node=$NA" | tr -d '\r')
	grep -q '^HTTP/1.1 206' <<<"$hdr" &&
	grep -qi "^content-range: bytes $first-$((first + len - 1))/700000$" <<<"$hdr" &&
	grep -qi '^accept-ranges: bytes$' <<<"$hdr" &&
	cmp -s "$W/got" <(tail -c +$((first + 1)) "$W/big.bin" | head -c "$len")
}
range 100-199 100 100 && t_pass range_first_last_206 || t_fail range_first_last_206 "bytes=100-199"
range 699000- 699000 1000 && t_pass range_open_end_206 || t_fail range_open_end_206 "bytes=699000-"
range -10 699990 10 && t_pass range_suffix_206 || t_fail range_suffix_206 "bytes=-10"
range 699990-9999999 699990 10 && t_pass range_end_clamped || t_fail range_end_clamped "bytes=699990-9999999"
hdr=$(curl -s -D - -o "$W/body" -H "x-api-key: $KEY" -H "Range: bytes=700000-" "$U/file/read?hash=$HB" | tr -d '\r')
grep -q '^HTTP/1.1 416' <<<"$hdr" && grep -qi '^content-range: bytes \*/700000$' <<<"$hdr" &&
	jq -e .error "$W/body" >/dev/null && t_pass range_unsatisfiable_416 || t_fail range_unsatisfiable_416 "$hdr"
bad=0
for r in "bytes=1-2,5-6" "bytes=5-1" "items=0-1" "bytes=x-" "bytes=-"; do
	s=$(curl -s -o "$W/body" -w '%{http_code}' -H "x-api-key: $KEY" -H "Range: $r" "$U/file/read?hash=$HB")
	[ "$s" = 400 ] && jq -e .error "$W/body" >/dev/null || { bad=1; echo "# Range: $r -> $s"; }
done
[ $bad = 0 ] && t_pass range_malformed_or_multi_400 || t_fail range_malformed_or_multi_400 "see # lines"
s=$(curl -s -o "$W/got" -w '%{http_code}' "$U/file/read?hash=$HB&k=$KEY")
[ "$s" = 200 ] && cmp -s "$W/got" "$W/big.bin" && t_pass file_read_key_as_k_param || t_fail file_read_key_as_k_param "$s"
hdr=$(curl -s -D - -o /dev/null -H "x-api-key: $KEY" -H "Range: bytes=0-0" "$U/file/view?hash=$HB&format=14" | tr -d '\r')
grep -qi '^content-type: video/mp4' <<<"$hdr" && grep -q '^HTTP/1.1 206' <<<"$hdr" &&
	t_pass file_view_format_14_mp4 || t_fail file_view_format_14_mp4 "$hdr"

# --- local paths: only beneath api_files_dir (openat2 RESOLVE_BENEATH) --------
printf '%%PDF-1.4\n' > "$FD/doc.pdf"; printf 'plain words\n' > "$FD/sub/README"
printf '%%PDF-1.4\n' > "$FD/sub/noext"; ln -s /etc/passwd "$FD/out.txt"; ln -s sub/README "$FD/in.txt"
chmod 644 "$FD/doc.pdf" "$FD/sub/README" "$FD/sub/noext"
ff() { c "/file/format?path=$(jq -rn --arg p "$1" '$p|@uri')" >/dev/null; }
ff doc.pdf; jqt file_format_by_extension '. == {"status":0,"filetype":5,"fileformat":1}'
ff "$FD/doc.pdf"; jqt file_format_absolute_inside '.status == 0 and .fileformat == 1'
ff sub/README; jqt file_format_sniffs_text '. == {"status":0,"filetype":1,"fileformat":10}'
ff sub/noext; jqt file_format_sniffs_pdf '.filetype == 5 and .fileformat == 1'
ff in.txt; jqt file_format_symlink_inside_ok '.status == 0 and .fileformat == 10'
ff nothere.txt; jqt file_format_missing_status_1 '.status == 1'
bad=0
for p in ../etc/passwd /etc/passwd sub/../../x.txt out.txt "$FD/../x.txt" "$FD"; do
	ff "$p"
	[ "$(code)" = 403 ] && jq -e '.code == "outside_files_dir"' "$W/body" >/dev/null ||
		{ bad=1; echo "# $p: $(code) $(cat "$W/body")"; }
done
[ $bad = 0 ] && t_pass paths_outside_files_dir_403 || t_fail paths_outside_files_dir_403 "see # lines"
c "/file/format" >/dev/null
[ "$(code)" = 400 ] && t_pass file_format_no_path_400 || t_fail file_format_no_path_400 "$(code)"
# --- §3.5 downloads into api_files_dir ------------------------------------------
# The target directory must be writable by the daemons' user (that of run/).
[ "$(id -u)" = 0 ] && chown --reference="$A/run" "$FD" "$FD/sub"
head -c 300000 /dev/urandom > "$W/fromb.bin"
"$CTL" -d "$B" add "$W/fromb.bin" >/dev/null || t_fail add_b "add on B failed"
HF=$(b3sum --no-names "$W/fromb.bin")
NB=$("$CTL" -d "$B" id --json | jq -r .node_id)
c "/download/start?path=dl.bin&hash=$HF&node=$NB" >/dev/null
jqt download_start_shape '.apistatus == 0 and .downloadstatus == 0 and (.id | test("^[0-9a-f-]{36}$"))
    and (.progress | has("totalsize") and has("downloadedsize") and has("percentage")) and
    (.swarm.countpeers|type) == "number" and (.file|type) == "object"'
DID=$(jq -r .id "$W/body")
finished() { c "/download/status?id=$DID" >/dev/null; jq -e '.downloadstatus == 5' "$W/body" >/dev/null; }
if wait_for 20 finished; then
	jqt download_status_finished '.apistatus == 0 and .progress.totalsize == 300000 and
	    .progress.downloadedsize == 300000 and .progress.percentage == 100 and .file.size == 300000'
	cmp -s "$FD/dl.bin" "$W/fromb.bin" && t_pass download_written_to_path || t_fail download_written_to_path "content differs"
else
	t_fail download_status_finished "$(cat "$W/body")"
fi
c "/download/action?id=$DID&action=0" >/dev/null
jqt download_pause_finished_apistatus_4 '.apistatus == 4 and .downloadstatus == 5'
c "/download/start?path=sub/own.bin&hash=$HB&node=$NA" >/dev/null
OID=$(jq -r .id "$W/body")
c "/download/status?id=$OID" >/dev/null
jqt download_own_file_from_warehouse '.downloadstatus == 5'
cmp -s "$FD/sub/own.bin" "$W/big.bin" && t_pass download_own_file_content || t_fail download_own_file_content "differs"
c "/download/status?id=00000000-0000-4000-8000-000000000000" >/dev/null
jqt download_unknown_id_apistatus_1 '.apistatus == 1'
c "/download/start?path=nodir/x.bin&hash=$HF&node=$NB" >/dev/null
jqt download_unusable_target_apistatus_2 '.apistatus == 2'
c "/download/start?path=../x.bin&hash=$HF&node=$NB" >/dev/null
[ "$(code)" = 403 ] && t_pass download_outside_files_dir_403 || t_fail download_outside_files_dir_403 "$(code)"
bad=0
for q in "/download/action?id=$DID&action=3" "/download/action?id=$DID" "/download/status?id=1" "/download/start?path=x&hash=12&node=$NB"; do
	c "$q" >/dev/null; [ "$(code)" = 400 ] || { bad=1; echo "# $q: $(code)"; }
done
[ $bad = 0 ] && t_pass download_bad_input_400 || t_fail download_bad_input_400 "see # lines"

# --- §3.4 explore and §3.2 view: B's cached files, as A sees them -----------------
NB64=$(xxd -r -p <<<"$NB" | base64 -w0)
explored() { c "/explore?limit=10" >/dev/null; jq -e '[.files[].name] | index("fromb.bin") != null' "$W/body" >/dev/null; }
if wait_for 15 explored; then
	jqt explore_lists_peer_files ".status == 1 and .statistic == null and
	    (.files[] | select(.name == \"fromb.bin\") | .nodeid == \"$NB64\" and .size == 300000 and
	    (.metadata[] | select(.type == 5) | .number == 1))"
else
	t_fail explore_lists_peer_files "$(head -c 300 "$W/body")"
fi
c "/explore?limit=10&type=3" >/dev/null
jqt explore_type_filter '.files == [] and .status == 1'
c "/explore?limit=10&type=-2" >/dev/null
jqt explore_type_minus_2_binary_group '[.files[].name] | index("fromb.bin") != null'
c "/explore?limit=5000" >/dev/null
[ "$(code)" = 400 ] && t_pass explore_too_many_400 || t_fail explore_too_many_400 "$(code)"
c "/blockchain/view?node=$NB&limit=5" >/dev/null
jqt chain_view_node_files '.status == 1 and [.files[].name] == ["fromb.bin"]'
c "/merge/directory?hash=$HF&limit=10" >/dev/null
jqt merge_directory_sharers_files '.status == 1 and .statistic == null and [.files[].name] == ["fromb.bin"]'
c "/merge/directory?hash=$(printf '%064d' 3)" >/dev/null
jqt merge_directory_nobody '.status == 1 and .files == []'
c "/blockchain/view?node=$(printf '%064d' 7)" >/dev/null
[ "$(code)" = 404 ] && jq -e '.code == "unknown_node"' "$W/body" >/dev/null &&
	t_pass chain_view_unknown_node_json_404 || t_fail chain_view_unknown_node_json_404 "$(code)"

# --- §3.7 a file only B has, streamed by A's API --------------------------------
head -c 200000 /dev/urandom > "$W/stream.bin"
"$CTL" -d "$B" add "$W/stream.bin" >/dev/null
HS=$(b3sum --no-names "$W/stream.bin")
hdr=$(curl -s -D - -o "$W/got" -H "x-api-key: $KEY" -H "Range: bytes=1000-1999" "$U/file/read?hash=$HS&node=$NB&timeout=20" | tr -d '\r')
if grep -q '^HTTP/1.1 206' <<<"$hdr" && grep -qi '^content-range: bytes 1000-1999/200000$' <<<"$hdr" &&
    cmp -s "$W/got" <(tail -c +1001 "$W/stream.bin" | head -c 1000); then
	t_pass file_read_remote_range_206
else
	t_fail file_read_remote_range_206 "$(head -3 <<<"$hdr" | tr '\n' ' ') $(head -c 200 "$W/got")"
fi
c "/file/read?hash=$(printf '%064d' 5)" >/dev/null
[ "$(code)" = 404 ] && t_pass file_read_unknown_no_node_404 || t_fail file_read_unknown_no_node_404 "$(code)"
c "/file/read?hash=$(printf '%064d' 5)&node=$NB&timeout=5" >/dev/null
case "$(code)" in 404|502|504) jq -e .error "$W/body" >/dev/null && t_pass file_read_remote_missing_json_error ||
	t_fail file_read_remote_missing_json_error "no JSON" ;;
*) t_fail file_read_remote_missing_json_error "$(code) $(cat "$W/body")" ;; esac
echo "# remote missing file: $(code) $(jq -r .error "$W/body")"

# --- §3.6 a warehouse file into api_files_dir -------------------------------------
c "/warehouse/read/path?hash=$HB&path=sub/copy.bin" >/dev/null
jqt warehouse_read_path_shape ".status == 0 and .hash == \"$HB64\""
cmp -s "$FD/sub/copy.bin" "$W/big.bin" && t_pass warehouse_read_path_content || t_fail warehouse_read_path_content "differs"
c "/warehouse/read/path?hash=$HB&path=sub/copy.bin" >/dev/null
jqt warehouse_read_path_exists_13 '.status == 13'
c "/warehouse/read/path?hash=$HB&path=sub/part.bin&offset=10&limit=5" >/dev/null
cmp -s "$FD/sub/part.bin" <(tail -c +11 "$W/big.bin" | head -c 5) && t_pass warehouse_read_path_part || t_fail warehouse_read_path_part "$(cat "$W/body")"
c "/warehouse/read/path?hash=$(printf '%064d' 0)&path=sub/none.bin" >/dev/null
jqt warehouse_read_path_not_found_9 '.status == 9'
c "/warehouse/read/path?hash=$HB&path=/etc/x" >/dev/null
[ "$(code)" = 403 ] && t_pass warehouse_read_path_outside_403 || t_fail warehouse_read_path_outside_403 "$(code)"

# B's apid: loopback without a key, no api_files_dir.
printf '\n[apid]\napi_listen = %s:%s\n' "$IPB" "$HPORT" >> "$B/peernet.conf"
"$APID" -d "$B" -f 2>"$W/apid-b.log" &
APID_B=$!
trap 'kill $APID_PID $APID_B 2>/dev/null; t_cleanup' EXIT
UB="http://$IPB:$HPORT"
if wait_for 10 curl -sf "$UB/test"; then
	s=$(curl -s -o /dev/null -w '%{http_code}' "$UB/account/info")
	[ "$s" = 200 ] && t_pass no_key_configured_no_auth || t_fail no_key_configured_no_auth "$s"
	bad=0
	for q in "/file/format?path=x.txt" "/download/start?path=x&hash=$HB&node=$NA" "/warehouse/create/path?path=x" "/warehouse/read/path?path=x&hash=$HB"; do
		s=$(curl -s -o "$W/body" -w '%{http_code}' "$UB$q")
		[ "$s" = 403 ] && jq -e '.code == "files_dir_unset"' "$W/body" >/dev/null || { bad=1; echo "# $q: $s $(cat "$W/body")"; }
	done
	[ $bad = 0 ] && t_pass path_routes_403_without_files_dir || t_fail path_routes_403_without_files_dir "see # lines"
else
	t_fail b_apid_up "$(cat "$W/apid-b.log")"
fi
kill $APID_B 2>/dev/null

# --- /metrics ----------------------------------------------------------------------------
c /metrics >/dev/null
if [ "$(code)" = 200 ] && grep -qx 'peernet_daemon_up{daemon="netd"} 1' "$W/body" &&
    grep -q '^peernet_chain_files 2$' "$W/body" && grep -q '^# TYPE peernet_netd_rx_packets_total counter$' "$W/body"; then
	t_pass metrics_content
else
	t_fail metrics_content "$(code) $(head -c 300 "$W/body")"
fi
if command -v promtool >/dev/null; then
	if out=$(promtool check metrics < "$W/body" 2>&1); then t_pass metrics_promtool_clean
	else t_fail metrics_promtool_clean "$out"; fi
else
	t_skip metrics_promtool_clean "promtool not installed (Debian package prometheus)"
fi

# --- writes: profile fields, unpublishing -----------------------------------------
c /profile/write -X POST -d '{"fields":[{"type":1,"text":"zoe@example.org"},{"type":6,"blob":"AAEC/w=="}]}' >/dev/null
jqt profile_write_shape '.status == 0 and (.height|type) == "number" and (.version|type) == "number"'
c /profile/list >/dev/null
jqt profile_write_then_list '(.fields | map(select(.type == 1))[0].text) == "zoe@example.org" and
    (.fields | map(select(.type == 6))[0] | .blob == "AAEC/w==" and .text == "")'
bad=0
for body in '{"fields":[{"type":-1,"text":"x"}]}' '{"fields":"x"}' '{}' '{"fields":[{"type":7,"blob":"***"}]}'; do
	c /profile/write -X POST -d "$body" >/dev/null; [ "$(code)" = 400 ] || { bad=1; echo "# $body: $(code)"; }
done
[ $bad = 0 ] && t_pass profile_write_bad_input_400 || t_fail profile_write_bad_input_400 "see # lines"
c /blockchain/file/list >/dev/null
HID=$(jq -r '.files[] | select(.name == "hello.txt") | .id' "$W/body")
c /blockchain/file/delete -X POST -d "{\"files\":[{\"id\":\"$HID\"}]}" >/dev/null
jqt file_delete_shape '.status == 0 and (.height|type) == "number" and (.version|type) == "number"'
c /blockchain/file/list >/dev/null
jqt file_delete_gone '[.files[].name] == ["big.bin"]'
c /blockchain/file/delete -X POST -d '{"files":[{"id":"nope"}]}' >/dev/null
[ "$(code)" = 400 ] && t_pass file_delete_bad_id_400 || t_fail file_delete_bad_id_400 "$(code)"

# --- §3.6 uploads: multipart streamed into storaged, tracked, then published ---------------
b64() { xxd -r -p <<<"$1" | base64 -w0; }
head -c 20000000 /dev/urandom > "$W/up.bin"
HU=$(b3sum --no-names "$W/up.bin" 2>/dev/null || "$BIN/peernet-hash" "$W/up.bin" 2>/dev/null)
c /warehouse/create/uploadID >/dev/null
jqt upload_id_shape '.apistatus == 0 and (.id | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) and
    .uploadstatus == 0 and .progress == {"totalsize":0,"uploadedsize":0,"percentage":0}'
UID_=$(jq -r .id "$W/body")
s=$(curl -s -o /dev/null -w '%{http_code}' -F "File=@$W/hello.txt" "$U/warehouse/create")
[ "$s" = 401 ] && t_pass upload_without_key_401 || t_fail upload_without_key_401 "$s"
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$APID_PID/status"; }
hwm0=$(hwm)
start=$(date +%s%N)
c /warehouse/create -F "id=$UID_" -F "File=@$W/up.bin" >/dev/null
echo "# upload of 20 MB by curl -F into storaged: $(( ($(date +%s%N) - start) / 1000000 )) ms; apid peak RSS $hwm0 -> $(hwm) KiB"
# Streamed, not collected: apid's peak memory grows by far less than the 20 MB body
# (sanitizer builds keep freed memory in quarantine: not measured there).
if [ -z "${PEERNET_SAN:-}" ]; then
	[ $(( $(hwm) - hwm0 )) -lt 10240 ] && t_pass upload_not_held_in_memory ||
		t_fail upload_not_held_in_memory "peak RSS grew by $(( $(hwm) - hwm0 )) KiB"
fi
jqt upload_20mb_hash_matches "(. | keys) == [\"hash\",\"status\"] and .status == 0 and .hash == \"$(b64 "$HU")\""
c "/warehouse/create/track/uploadID?id=$UID_" >/dev/null
jqt upload_tracked_progress "(.apistatus == 0 and .id == \"$UID_\" and .uploadstatus == 5 and
    .progress == {\"totalsize\":20000000,\"uploadedsize\":20000000,\"percentage\":100})"
c "/warehouse/read?hash=$HU&offset=19999990" >/dev/null
cmp -s "$W/body" <(tail -c 10 "$W/up.bin") && t_pass upload_stored_in_warehouse || t_fail upload_stored_in_warehouse "$(code)"
"$CTL" -d "$A" ls --json | jq -e "[.files[].hash] | index(\"$HU\") == null" >/dev/null &&
	t_pass upload_not_published_yet || t_fail upload_not_published_yet "in ls before file/add"
c "/warehouse/create/track/uploadID?id=00000000-0000-4000-8000-000000000000" >/dev/null
jqt upload_track_unknown_apistatus_1 '.apistatus == 1 and .id == "00000000-0000-0000-0000-000000000000"'
bad=0
for q in "/warehouse/create/track/uploadID" "/warehouse/create/track/uploadID?id=xyz" "/warehouse/delete?hash=12"; do
	c "$q" >/dev/null
	[ "$(code)" = 400 ] && jq -e '.error | length > 0' "$W/body" >/dev/null || { bad=1; echo "# $q: $(code)"; }
done
c /warehouse/create -d 'x=1' >/dev/null
[ "$(code)" = 400 ] && jq -e '.code == "bad_multipart"' "$W/body" >/dev/null || { bad=1; echo "# urlencoded: $(code) $(cat "$W/body")"; }
c /warehouse/create -H 'Content-Type: text/plain' --data-binary "@$W/hello.txt" >/dev/null
[ "$(code)" = 400 ] && jq -e '.code == "bad_multipart"' "$W/body" >/dev/null || { bad=1; echo "# text/plain: $(code)"; }
c /warehouse/create -F "other=@$W/hello.txt" >/dev/null
[ "$(code)" = 400 ] && jq -e '.error | test("File")' "$W/body" >/dev/null || { bad=1; echo "# no File part: $(code)"; }
c /warehouse/create -F "id=not-a-uuid" -F "File=@$W/hello.txt" >/dev/null
[ "$(code)" = 400 ] && jq -e '.code == "bad_id"' "$W/body" >/dev/null || { bad=1; echo "# bad id: $(code)"; }
c /warehouse/create -H 'Transfer-Encoding: chunked' -F "File=@$W/hello.txt" >/dev/null
[ "$(code)" = 411 ] && jq -e '.code == "length_required"' "$W/body" >/dev/null || { bad=1; echo "# chunked: $(code)"; }
printf -- '--XyZ\r\nContent-Disposition: form-data; name="File"; filename="t"\r\n\r\nabc' > "$W/trunc.body"
c /warehouse/create -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary "@$W/trunc.body" >/dev/null
[ "$(code)" = 400 ] && jq -e '.code == "bad_multipart"' "$W/body" >/dev/null || { bad=1; echo "# truncated: $(code) $(cat "$W/body")"; }
[ $bad = 0 ] && t_pass upload_bad_input_400_json || t_fail upload_bad_input_400_json "see # lines"
# At most 4 uploads at once: 4 slow ones hold the slots, a fifth gets 429; clients that
# go away mid-upload leave nothing behind and free their slots.
head -c 3000000 /dev/urandom > "$W/slow.bin"
slow=()
for i in 1 2 3 4; do
	curl -s -o /dev/null --limit-rate 100k -H "x-api-key: $KEY" -F "File=@$W/slow.bin" "$U/warehouse/create" &
	slow+=($!)
done
sleep 2
c /warehouse/create -F "File=@$W/hello.txt" >/dev/null
[ "$(code)" = 429 ] && jq -e '.code == "too_many_uploads"' "$W/body" >/dev/null &&
	t_pass upload_concurrency_limit_429 || t_fail upload_concurrency_limit_429 "$(code) $(cat "$W/body")"
kill "${slow[@]}" 2>/dev/null; wait "${slow[@]}" 2>/dev/null
freed() { c /warehouse/create -F "File=@$W/hello.txt" >/dev/null; [ "$(code)" = 200 ]; }
wait_for 10 freed && t_pass upload_slots_freed_after_clients_left || t_fail upload_slots_freed_after_clients_left "$(code) $(cat "$W/body")"
c "/warehouse/read?hash=$(b3sum --no-names "$W/slow.bin")" >/dev/null
[ "$(code)" = 404 ] && t_pass upload_aborted_leaves_nothing || t_fail upload_aborted_leaves_nothing "$(code)"

# --- §3.2 publishing warehouse content: file/add, file/update ---------------------------------
c /blockchain/file/add -X POST -d "{\"files\":[{\"hash\":\"$(b64 "$HU")\",\"name\":\"up.bin\",\"folder\":\"uploads\",
    \"type\":0,\"format\":0,\"description\":\"twenty MB\",\"metadata\":[{\"type\":4,\"date\":\"2021-08-27T14:59:13Z\"},
    {\"type\":100,\"blob\":\"AQID\"}]}]}" >/dev/null
jqt file_add_shape '.status == 0 and (.height|type) == "number" and (.version|type) == "number"'
"$CTL" -d "$A" ls --json > "$W/ls.json"
jq -e "[.files[] | select(.hash == \"$HU\" and .name == \"up.bin\" and .size == 20000000)] | length == 1" "$W/ls.json" >/dev/null &&
	t_pass file_add_in_ctl_ls_with_hash || t_fail file_add_in_ctl_ls_with_hash "$(head -c 400 "$W/ls.json")"
c /blockchain/file/list >/dev/null
jqt file_add_metadata_kept '.files[] | select(.name == "up.bin") | .folder == "uploads" and .description == "twenty MB" and
    (.metadata | map(select(.type == 4))[0].date == "2021-08-27T14:59:13Z") and
    (.metadata | map(select(.type == 100))[0].blob == "AQID")'
UPID=$(jq -r '.files[] | select(.name == "up.bin") | .id' "$W/body")
c /search -X POST -d '{"term":"up.bin","timeout":5}' >/dev/null
USID=$(jq -r .id "$W/body")
up_found() { c "/search/result?id=$USID&limit=10" >/dev/null; jq -e ".files[]? | select(.hash == \"$(b64 "$HU")\")" "$W/body" >/dev/null; }
wait_for 10 up_found && t_pass file_add_found_by_search || t_fail file_add_found_by_search "$(head -c 300 "$W/body")"
c /blockchain/file/add -X POST -d "{\"files\":[{\"hash\":\"$(b64 "$(printf '%064d' 9)")\",\"name\":\"ghost\"}]}" >/dev/null
jqt file_add_not_in_warehouse_status_5 '.status == 5'
c /blockchain/file/add -X POST -d '{"files":[{"id":"00000000-0000-4000-8000-00000000abcd","hash":"","type":9,"format":16,"name":"Music"}]}' >/dev/null
[ "$(code)" = 400 ] && t_pass file_add_short_hash_400 || t_fail file_add_short_hash_400 "$(code)"
c /blockchain/file/add -X POST -d "{\"files\":[{\"hash\":\"$(b64 "$(printf '%064d' 8)")\",\"type\":9,\"format\":16,\"name\":\"Music\"}]}" >/dev/null
jqt file_add_virtual_folder_without_content '.status == 0'
c /blockchain/file/update -X POST -d "{\"files\":[{\"id\":\"$UPID\",\"hash\":\"$(b64 "$HU")\",\"name\":\"renamed.bin\"}]}" >/dev/null
jqt file_update_shape '.status == 0'
c /blockchain/file/list >/dev/null
jqt file_update_renamed "[.files[] | select(.id == \"$UPID\") | .name] == [\"renamed.bin\"]"
c /blockchain/file/update -X POST -d "{\"files\":[{\"hash\":\"$(b64 "$HU")\",\"name\":\"x\"}]}" >/dev/null
[ "$(code)" = 400 ] && jq -e '.error | test("id")' "$W/body" >/dev/null && t_pass file_update_without_id_400 ||
	t_fail file_update_without_id_400 "$(code)"

# --- §3.4 reset=1: new filters and sort on a running search, from its first result again -------------
head -c 10 /dev/urandom > "$W/reset-a.txt"; head -c 5000 /dev/urandom > "$W/reset-b.bin"
head -c 300 /dev/urandom > "$W/reset-c.txt"
"$CTL" -d "$A" add "$W/reset-a.txt" "$W/reset-b.bin" "$W/reset-c.txt" >/dev/null
c /search -X POST -d '{"term":"reset","timeout":5}' >/dev/null
RID=$(jq -r .id "$W/body")
three() { c "/search/statistic?id=$RID" >/dev/null; jq -e '.total == 3' "$W/body" >/dev/null; }
if wait_for 10 three; then
	c "/search/result?id=$RID&limit=10&reset=1&filetype=-1&fileformat=-1&sizemin=-1&sizemax=-1&sort=8" >/dev/null
	jqt reset_sort_size_desc '[.files[].name] == ["reset-b.bin","reset-c.txt","reset-a.txt"]'
	c "/search/result?id=$RID&limit=10&reset=1&filetype=1&fileformat=-1&sizemin=100&sizemax=-1&sort=0" >/dev/null
	jqt reset_filters_type_and_size '[.files[].name] == ["reset-c.txt"]'
	c "/search/result?id=$RID&limit=2&reset=1&filetype=-1&fileformat=-1&sizemin=-1&sizemax=-1&sort=7" >/dev/null
	jqt reset_cursor_first_page '[.files[].name] == ["reset-a.txt","reset-c.txt"]'
	c "/search/result?id=$RID&limit=2" >/dev/null
	jqt reset_cursor_next_page '[.files[].name] == ["reset-b.bin"]'
	c "/search/result?id=$RID&limit=2&offset=1" >/dev/null
	jqt reset_absolute_offset '[.files[].name] == ["reset-c.txt","reset-b.bin"]'
	c "/search/result?id=$RID&limit=2&reset=1&node=zz" >/dev/null
	[ "$(code)" = 400 ] && t_pass reset_bad_node_400 || t_fail reset_bad_node_400 "$(code)"
else
	t_fail reset_sort_size_desc "search for 'reset' never had 3 results: $(cat "$W/body")"
fi
c "/search/result?id=00000000-0000-4000-8000-000000000001&reset=1&filetype=-1" >/dev/null
jqt reset_unknown_id_status_2 '.status == 2'

# --- §3.6 a local file by path, warehouse delete ------------------------------------------------
head -c 400000 /dev/urandom > "$FD/sub/local.bin"; chmod 644 "$FD/sub/local.bin"
HL=$(b3sum --no-names "$FD/sub/local.bin")
c "/warehouse/create/path?path=sub/local.bin" >/dev/null
jqt create_path_hash_matches ".status == 0 and .hash == \"$(b64 "$HL")\""
c "/warehouse/create/path?path=sub/none.bin" >/dev/null
jqt create_path_missing_status_7 '.status == 7 and .hash == null'
bad=0
for p in ../x /etc/passwd out.txt; do
	c "/warehouse/create/path?path=$p" >/dev/null
	[ "$(code)" = 403 ] && jq -e '.code == "outside_files_dir"' "$W/body" >/dev/null || { bad=1; echo "# $p: $(code)"; }
done
[ $bad = 0 ] && t_pass create_path_outside_403 || t_fail create_path_outside_403 "see # lines"
c "/warehouse/create/path" >/dev/null
[ "$(code)" = 400 ] && t_pass create_path_no_path_400 || t_fail create_path_no_path_400 "$(code)"
c "/warehouse/delete?hash=$HL" >/dev/null
jqt warehouse_delete_shape ".status == 0 and .hash == \"$(b64 "$HL")\""
c "/warehouse/read?hash=$HL" >/dev/null
[ "$(code)" = 404 ] && t_pass warehouse_delete_data_gone || t_fail warehouse_delete_data_gone "$(code)"
c "/warehouse/delete?hash=$HL" >/dev/null
jqt warehouse_delete_again_status_9 '.status == 9'

# --- §3.2 raw append, §3.3 profile delete and other nodes' profiles --------------------------------
REC=$(printf '\x02\x00https://example.org' | base64 -w0)
c /blockchain/append -X POST -d "{\"records\":[{\"type\":0,\"data\":\"$REC\"}]}" >/dev/null
jqt append_shape '.status == 0 and (.height|type) == "number"'
c "/profile/read?field=2" >/dev/null
jqt append_profile_record_read '.fields[0].text == "https://example.org" and .status == 0'
c /blockchain/append -X POST -d '{"records":[{"type":2,"data":"AAAA"}]}' >/dev/null
[ "$(code)" = 400 ] && jq -e .error "$W/body" >/dev/null && t_pass append_undecodable_file_record_400 ||
	t_fail append_undecodable_file_record_400 "$(code) $(cat "$W/body")"
c /blockchain/append -X POST -d '{"records":[]}' >/dev/null
[ "$(code)" = 400 ] && t_pass append_empty_400 || t_fail append_empty_400 "$(code)"
c /profile/delete -X POST -d '{"fields":[{"type":1},{"type":2}]}' >/dev/null
jqt profile_delete_shape '.status == 0 and (.version|type) == "number"'
c "/profile/read?field=1" >/dev/null
jqt profile_delete_field_gone '.status == 4 and .fields == null'
c /profile/list >/dev/null
jqt profile_delete_others_kept '[.fields[].type] | index(0) != null and index(6) != null and index(1) == null'
c /profile/delete -X POST -d '{"fields":[{"type":"x"}]}' >/dev/null
[ "$(code)" = 400 ] && t_pass profile_delete_bad_400 || t_fail profile_delete_bad_400 "$(code)"
"$CTL" -d "$B" profile set name "Bob" >/dev/null
bob() { c "/profile/list?node=$NB" >/dev/null; jq -e '.fields == [{"type":0,"text":"Bob","blob":null}]' "$W/body" >/dev/null; }
wait_for 30 bob && t_pass profile_list_other_node || t_fail profile_list_other_node "$(code) $(cat "$W/body")"
c "/profile/read?field=0&node=$NB" >/dev/null
jqt profile_read_other_node '.status == 0 and .fields[0].text == "Bob"'
c "/profile/read?field=3&node=$NB" >/dev/null
jqt profile_read_other_node_unset_4 '.status == 4 and .fields == null'
# D knows only B: A finds it through the DHT (or B's peer list), then reads its cached chain.
D=$(t_mkdir)
PBK=$("$CTL" -d "$B" id --json | jq -r .peer_id)
"$CTL" -d "$D" init --listen "127.0.68.4:$PORT" --root "$PBK@$IPB:$PORT" --no-lan --no-upnp --no-natpmp >/dev/null
if "$CTL" -d "$D" up >/dev/null; then
	"$CTL" -d "$D" profile set name "Dora" >/dev/null
	ND=$("$CTL" -d "$D" id --json | jq -r .node_id)
	dora() { c "/profile/list?node=$ND" >/dev/null; jq -e '.fields[0].text == "Dora"' "$W/body" >/dev/null; }
	wait_for 40 dora && t_pass profile_list_node_not_connected_first || t_fail profile_list_node_not_connected_first "$(code) $(cat "$W/body")"
	"$CTL" -d "$D" down >/dev/null
else
	t_fail profile_list_node_not_connected_first "D did not start"
fi

# --- the sandbox of the running apid --------------------------------------------------------
st=/proc/$APID_PID/status
if [ -r "$st" ] && grep -q '^Seccomp:[[:space:]]*2' "$st" && grep -q '^NoNewPrivs:[[:space:]]*1' "$st" &&
    grep -q '^CapEff:[[:space:]]*0000000000000000' "$st" && grep -q '^CapPrm:[[:space:]]*0000000000000000' "$st"; then
	t_pass sandboxed_seccomp_no_caps
else
	t_fail sandboxed_seccomp_no_caps "$(grep -E 'Seccomp|NoNewPrivs|Cap(Eff|Prm)|^Uid' "$st" 2>&1 | tr '\n' ' ')"
fi
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/ {print $2}' "$st")
	[ "$uid" != 0 ] && t_pass runs_unprivileged || t_fail runs_unprivileged "uid $uid"
fi
if grep -q "Landlock ABI [0-9]*: files only in $A/run and $FD" "$W/apid.log"; then
	t_pass landlock_confines_files
elif grep -q "Landlock unavailable" "$W/apid.log"; then
	t_skip landlock_confines_files "the kernel has no Landlock"
else
	t_fail landlock_confines_files "$(grep -i landlock "$W/apid.log")"
fi
# Hostile bytes on the HTTP socket: apid stays up and keeps answering.
python3 - "$IPA" "$HPORT" <<'PYEOF'
import os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
junk = [b"\x00\xff" * 300 + b"\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET /status HTTP/1.1\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n",
        b"POST /search HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /search HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /file/read?hash=%zz%00 HTTP/1.1\r\n\r\n", os.urandom(4096)]
for j in junk:
    try:
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(j)
        s.recv(4096)
        s.close()
    except OSError:
        pass
PYEOF
curl -sf -H "x-api-key: $KEY" "$U/test" | grep -qx ok && kill -0 $APID_PID 2>/dev/null &&
	t_pass hostile_http_bytes_survived || t_fail hostile_http_bytes_survived "apid stopped answering"
# 800 requests from 16 clients at once (50 each on a kept-alive connection): all answered,
# from netd's shared status snapshot: a new one is fetched only once the last is 50 ms old,
# so at most one query per 50 ms of the run (and one to start), not one per request.
squeries() { c /metrics | sed -n 's/^peernet_apid_status_queries_total \([0-9]*\)$/\1/p'; }
q0=$(squeries)
args=(); for i in $(seq 50); do args+=(-o /dev/null "$U/status"); done
start=$(date +%s%N)
n=$(seq 16 | xargs -P 16 -I{} curl -s -w '%{http_code}\n' -H "x-api-key: $KEY" "${args[@]}" | grep -c '^200$')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
q1=$(squeries)
[ "$n" = 800 ] && t_pass concurrent_800_status_requests || t_fail concurrent_800_status_requests "$n of 800 answered 200"
[ -n "$q0" ] && [ -n "$q1" ] && [ $((q1 - q0)) -le $((ms / 50 + 3)) ] && [ $((q1 - q0)) -lt 800 ] &&
	t_pass status_from_shared_snapshot ||
	t_fail status_from_shared_snapshot "$((q1 - q0)) netd queries for 800 /status in $ms ms"
echo "# 800 GET /status, 16 clients: $ms ms, $(( 800 * 1000 / (ms + 1) )) requests/s, $((q1 - q0)) netd status queries"
kill -HUP $APID_PID
reloaded() { grep -q 'configuration reloaded' "$W/apid.log"; }
wait_for 5 reloaded && t_pass sighup_rereads_config_inside_the_sandbox ||
	t_fail sighup_rereads_config_inside_the_sandbox "$(tail -3 "$W/apid.log" | tr "\n" " ")"
kill -0 $APID_PID 2>/dev/null && t_pass no_crash_after_all_requests || t_fail no_crash_after_all_requests "apid died: $(tail -5 "$W/apid.log")"

# --- /account/delete: only with confirm = the node's own node ID ----------------------------------
c "/account/delete?confirm=1" >/dev/null
[ "$(code)" = 400 ] && jq -e '.code == "bad_confirm"' "$W/body" >/dev/null && t_pass account_delete_confirm_1_refused ||
	t_fail account_delete_confirm_1_refused "$(code)"
c "/account/delete?confirm=$NB" >/dev/null
[ "$(code)" = 400 ] && t_pass account_delete_other_node_id_refused || t_fail account_delete_other_node_id_refused "$(code)"
c "/account/delete?confirm=$NA" >/dev/null
jqt account_delete_done '.status == 0 and .filesdeleted >= 2'
c /blockchain/file/list >/dev/null
jqt account_delete_chain_empty '.files == null'
c /blockchain/header >/dev/null
jqt account_delete_height_0 '.height == 0 and .version >= 1'
c "/warehouse/read?hash=$HB" >/dev/null
[ "$(code)" = 404 ] && t_pass account_delete_warehouse_empty || t_fail account_delete_warehouse_empty "$(code)"
c /search -X POST -d '{"term":"reset","timeout":2}' >/dev/null
GID=$(jq -r .id "$W/body")
search_over() { c "/search/result?id=$GID&limit=10" >/dev/null; jq -e '.status == 1' "$W/body" >/dev/null; }
wait_for 10 search_over && jq -e '.files == []' "$W/body" >/dev/null && t_pass account_delete_files_leave_the_index ||
	t_fail account_delete_files_leave_the_index "$(head -c 300 "$W/body")"

# --- netd stopped (SIGSTOP): /status waits for one query, shared by every request --------------
# Once the snapshot is over 100 ms old, 8 requests at once wait for the same query, which gets no
# reply within ipc_timeout_ms: all 8 answer 502, and netd was asked once (twice if a refresh was
# already on its way), not 8 times.  Then netd goes on and /status answers again.
NP=$("$CTL" -d "$A" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid')
q0=$(squeries)
kill -STOP "$NP"; sleep 0.3
n=$(seq 8 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "x-api-key: $KEY" "$U/status" |
    grep -c '^502$')
kill -CONT "$NP"
q1=$(squeries)
# q1's own /metrics asks again (the last query failed): at most 1 + 1 + that one.
[ "$n" = 8 ] && [ -n "$q0" ] && [ -n "$q1" ] && [ $((q1 - q0)) -le 3 ] &&
	t_pass status_single_flight_when_netd_hangs ||
	t_fail status_single_flight_when_netd_hangs "$n of 8 answered 502; $((q1 - q0)) netd status queries"
c /status >/dev/null
jqt status_again_after_netd_continues '.status == 0'

# --- /shutdown: the node stops ------------------------------------------------------------------
c "/shutdown?action=0" >/dev/null
jqt shutdown_answers_status_0 '.status == 0'
gone() { ! kill -0 $APID_PID 2>/dev/null; }
if wait_for 10 gone && ! "$CTL" -d "$A" status >/dev/null 2>&1; then
	wait $APID_PID; rc=$?
	[ $rc = 0 ] && t_pass shutdown_stops_node_and_apid || t_fail shutdown_stops_node_and_apid "apid exit $rc"
else
	t_fail shutdown_stops_node_and_apid "$("$CTL" -d "$A" status 2>&1 | tr '\n' ' ')"
fi
