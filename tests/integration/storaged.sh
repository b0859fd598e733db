#!/usr/bin/env bash
# storaged.sh — sharing files through peernetctl: 1,000 small files and a
# 300 MB one, listing, ranges, rename, delete, chain version/height, dedup,
# bad requests, add's data on the bulk channel (and over nng when it refuses),
# hostile data frames on it, and kill -9 of storaged during adds and deletes.
. "$(dirname "$0")/lib.sh"

A=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-files.XXXXXX); TMPDIRS+=("$W")
"$CTL" -d "$A" init --listen 127.0.0.31:0 --no-lan --no-upnp --no-natpmp >/dev/null
"$CTL" -d "$A" up >/dev/null || { t_fail up "$(cat "$A"/log/*.log)"; exit 0; }
# The own chain opens once netd answered storaged.
wait_for 10 "$CTL" -d "$A" chain || t_fail chain_opens "chain never opened"

chain_field() { "$CTL" -d "$A" chain --json | jq -r ".$1"; }
h0=$(chain_field height); v0=$(chain_field version)
[ "$h0" = 0 ] && [ "$v0" = 0 ] && t_pass new_chain_is_empty ||
    t_fail new_chain_is_empty "height=$h0 version=$v0"

# 1,000 small files, each with distinct content, in one peernetctl call.
mkdir -p "$W/small"
for i in $(seq 1 1000); do echo "small file number $i" > "$W/small/f$i.txt"; done
start=$(date +%s.%N)
out=$("$CTL" -d "$A" add --json "$W"/small/*.txt); rc=$?
el=$(echo "$(date +%s.%N) - $start" | bc)
n=$(jq '.added | length' <<<"$out")
[ $rc -eq 0 ] && [ "$n" = 1000 ] && t_pass add_1000_small_files ||
    t_fail add_1000_small_files "rc=$rc added=$n"
echo "# 1000 small files added in ${el}s"
cnt=$("$CTL" -d "$A" ls --json | jq '.files | length')
[ "$cnt" = 1000 ] && t_pass ls_lists_1000 || t_fail ls_lists_1000 "ls shows $cnt"
# Block 0 holds the genesis profile record, never a file (docs/data.md interop note).
b0=$("$CTL" -d "$A" ls --json | jq '[.files[] | select(.block == 0)] | length')
[ "$b0" = 0 ] && t_pass no_file_record_in_block_0 || t_fail no_file_record_in_block_0 "$b0 in block 0"
h1=$(chain_field height)
[ "$h1" -gt 1 ] && [ "$(chain_field version)" = 0 ] && t_pass adding_grows_height_keeps_version ||
    t_fail adding_grows_height_keeps_version "height=$h1"
# Each listed record has its content in the warehouse under its hash.
f7=$(jq -r '.added[] | select(.path | endswith("/f7.txt")) | .hash' <<<"$out")
[ "$("$CTL" -d "$A" cat "$f7")" = "small file number 7" ] && t_pass cat_small_file ||
    t_fail cat_small_file "content differs"

# A 300 MB file: hash equals b3sum's, ranges read back exactly.
head -c 300000000 /dev/urandom > "$W/big.bin"
start=$(date +%s.%N)
big=$("$CTL" -d "$A" add --json "$W/big.bin"); rc=$?
el=$(echo "$(date +%s.%N) - $start" | bc)
bh=$(jq -r '.added[0].hash' <<<"$big")
want=$(b3sum --no-names "$W/big.bin")
[ $rc -eq 0 ] && [ "$bh" = "$want" ] && t_pass add_300MB_hash_matches_b3sum ||
    t_fail add_300MB_hash_matches_b3sum "rc=$rc $bh vs $want"
echo "# 300 MB added in ${el}s ($(echo "300 / $el" | bc) MB/s)"
ok=1
for r in "0 1" "299999999 1" "123456789 1048577" "299000000 5000000"; do
	set -- $r
	a=$("$CTL" -d "$A" cat --offset "$1" --length "$2" "$bh" | b3sum --no-names)
	b=$(tail -c +$(($1 + 1)) "$W/big.bin" | head -c "$2" | b3sum --no-names)
	[ "$a" = "$b" ] || { ok=0; echo "# range $1+$2 differs"; }
done
[ $ok = 1 ] && t_pass read_ranges_of_300MB || t_fail read_ranges_of_300MB "a range differs"

# Dedup: the same content under another name is stored once.
cp "$W/big.bin" "$W/copy.bin"
dd=$("$CTL" -d "$A" add --json "$W/copy.bin" | jq -r '.added[0].deduplicated')
files=$(find "$A/storage/warehouse" -type f -name "${bh:8}" | wc -l)
[ "$dd" = true ] && [ "$files" = 1 ] && t_pass dedup_one_copy_on_disk ||
    t_fail dedup_one_copy_on_disk "deduplicated=$dd copies=$files"

# Rename and delete rewrite the chain: the version moves (docs/data.md §2.8).
id=$(jq -r '.added[0].id' <<<"$out")
v1=$(chain_field version)
"$CTL" -d "$A" mv "$id" renamed.txt >/dev/null
name=$("$CTL" -d "$A" ls --json | jq -r --arg id "$id" '.files[] | select(.id==$id) | .name')
[ "$name" = renamed.txt ] && t_pass rename_changes_name || t_fail rename_changes_name "name=$name"
"$CTL" -d "$A" rm "$id" >/dev/null
v2=$(chain_field version)
cnt=$("$CTL" -d "$A" ls --json | jq '.total')
[ "$cnt" = 1001 ] && [ "$v2" -gt "$v1" ] && t_pass delete_bumps_version ||
    t_fail delete_bumps_version "total=$cnt version $v1 -> $v2"
# Removing both records of the big content removes it from the warehouse.
"$CTL" -d "$A" rm "$bh" >/dev/null
[ ! -e "$A/storage/warehouse/${bh:0:4}/${bh:4:4}/${bh:8}" ] && t_pass content_removed_with_last_record ||
    t_fail content_removed_with_last_record "still on disk"
t_check verify_passes "$CTL" -d "$A" verify

# Tags (docs/data.md §2.5.2): date-created and client-defined types, shown by ls.
echo "tagged" > "$W/tagged.txt"
tj=$("$CTL" -d "$A" add --json --tag date-created=2022-12-31T23:59:59 --tag 7=project-x \
    --tag 1000=second --tag description=with-tags "$W/tagged.txt")
tid=$(jq -r '.added[0].id' <<<"$tj")
lt=$("$CTL" -d "$A" ls --json | jq -c --arg id "$tid" '.files[] | select(.id==$id) |
    [.description, [.tags[] | [.type, .value]]]')
[ "$lt" = '["with-tags",[[4,1672531199],[7,"project-x"],[1000,"second"]]]' ] &&
    t_pass add_tags_listed_by_ls_json || t_fail add_tags_listed_by_ls_json "$lt / $tj"
"$CTL" -d "$A" ls | grep -q "tags: date-created=2022-12-31T23:59:59Z 7=project-x 1000=second" &&
    t_pass add_tags_in_ls_human || t_fail add_tags_in_ls_human "$("$CTL" -d "$A" ls | grep -A1 tagged)"
out=$("$CTL" -d "$A" add --tag date-shared=1 "$W/tagged.txt" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "never stored" <<<"$out" && t_pass add_virtual_tag_refused ||
    t_fail add_virtual_tag_refused "rc=$rc $out"
# storaged's counters of refused network blocks, under storaged in status.
sc=$("$CTL" -d "$A" status --json | jq -c '.daemons[] | select(.name=="storaged") |
    [.counters.cache_blocks_accepted, .counters.cache_rejected_signer, .counters.cache_rejected_signature]')
[ "$sc" = "[0,0,0]" ] && t_pass status_json_has_storaged_counters || t_fail status_json_has_storaged_counters "$sc"
"$CTL" -d "$A" status | grep -q "^storaged  cache blocks: 0 accepted, 0 rejected" &&
    t_pass status_human_counter_line || t_fail status_human_counter_line "$("$CTL" -d "$A" status)"

# Bad requests: clear errors, non-zero exits.
out=$("$CTL" -d "$A" rm 0000000000000000000000000000000f 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "no shared file" <<<"$out" && t_pass rm_unknown_id_clear_error ||
    t_fail rm_unknown_id_clear_error "rc=$rc $out"
out=$("$CTL" -d "$A" cat ../../etc/passwd 2>&1); rc=$?
[ $rc -eq 2 ] && t_pass cat_path_is_not_a_hash || t_fail cat_path_is_not_a_hash "rc=$rc $out"
out=$("$CTL" -d "$A" add /nonexistent 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "No such file" <<<"$out" && t_pass add_missing_file_clear_error ||
    t_fail add_missing_file_clear_error "rc=$rc $out"

# --- add on storaged's bulk channel --------------------------------------------
# peernetctl add sends its data on DIR/run/storaged-bulk.sock (ipc_bulk.c);
# a channel that refuses the connection (its 8 connections taken: BULK_CONNS) or is gone
# makes it send over nng instead, with the same result.
BS="$A/run/storaged-bulk.sock"
head -c 5000000 /dev/urandom > "$W/fb.bin"
want=$(b3sum --no-names "$W/fb.bin")
rm -f "$W/held"
python3 - "$BS" "$W/held" <<'EOF' & HP=$!
import socket, sys, time
ss = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    ss.append(s)
open(sys.argv[2], "w").close()
time.sleep(30)
EOF
wait_for 5 test -e "$W/held"
got=$("$CTL" -d "$A" add --json "$W/fb.bin" | jq -r '.added[0].hash'); rc=$?
kill "$HP" 2>/dev/null; wait "$HP" 2>/dev/null
[ $rc = 0 ] && [ "$got" = "$want" ] && grep -q "bulk channel: 8 connections already" "$A/log/storaged.log" &&
    t_pass add_over_nng_when_bulk_channel_full ||
    t_fail add_over_nng_when_bulk_channel_full "rc=$rc $got vs $want"
printf 'x' >> "$W/fb.bin"; want=$(b3sum --no-names "$W/fb.bin")
mv "$BS" "$BS.away"
got=$("$CTL" -d "$A" add --json "$W/fb.bin" | jq -r '.added[0].hash'); rc=$?
mv "$BS.away" "$BS"
[ $rc = 0 ] && [ "$got" = "$want" ] && t_pass add_over_nng_without_bulk_socket ||
    t_fail add_over_nng_without_bulk_socket "rc=$rc $got vs $want"

# Data frames on the bulk channel are checked as over nng: an unknown upload,
# a short body and an oversized frame are refused; a chunk at the wrong
# offset for a live upload (IDs are small counters) drops that upload, whose
# add then fails cleanly and leaves nothing behind.
truncate -s 2G "$W/sparse.bin"
"$CTL" -d "$A" add "$W/sparse.bin" >/dev/null 2>"$W/err" & AP=$!
sleep 0.5
hostile=$(python3 - "$BS" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
def frame(rid, msg):
    s.sendall(struct.pack("<II", len(msg), rid) + msg)
def data(upload, off, body, declared=None):
    n = len(body) if declared is None else declared
    return struct.pack("<HHIQI", 21, 0, upload, off, n) + body
buf = b""
def reply():
    global buf
    while len(buf) < 8 or len(buf) < 8 + struct.unpack("<I", buf[:4])[0]:
        d = s.recv(65536)
        if not d:
            return None
        buf += d
    n, rid = struct.unpack("<II", buf[:8])
    m = buf[8:8 + n]
    buf = buf[8 + n:]
    return rid, struct.unpack("<HH", m[:4]), m
out = []
frame(1, data(4000000000, 0, b"abc"))
rid, (t, st), m = reply()
out.append("unknown:%d:%d:%s" % (rid, st, b"no upload" in m))
frame(2, data(4000000000, 0, b"abc", declared=100))
rid, (t, st), m = reply()
out.append("short:%d:%d" % (rid, st))
# Every small upload ID: the live one is dropped (wrong offset).
for i in range(1, 5000):
    frame(100 + i, data(i, 7, b"z"))
bad = 0
for i in range(1, 5000):
    r = reply()
    if r is None or r[1][1] == 0:
        bad += 1
out.append("spray_refused_all:%s" % (bad == 0))
frame(3, b"")
s.sendall(struct.pack("<II", 2 << 20, 4))
try:
    while True:
        if not s.recv(65536):
            out.append("oversized:closed")
            break
except socket.timeout:
    out.append("oversized:open")
print(" ".join(out))
EOF
)
wait "$AP"; rc=$?
sleep 0.3
left=$(find "$A/storage/warehouse/_Temp" -name 'wh*' 2>/dev/null | wc -l)
echo "# hostile bulk frames: $hostile"
case "$hostile" in
"unknown:1:"[1-9]*":True short:2:"[1-9]*" spray_refused_all:True oversized:closed")
	t_pass bulk_add_data_hostile_frames_refused ;;
*)	t_fail bulk_add_data_hostile_frames_refused "$hostile" ;;
esac
[ $rc = 1 ] && [ "$left" = 0 ] && grep -q "upload" "$W/err" &&
    t_pass add_fails_cleanly_when_its_upload_is_dropped ||
    t_fail add_fails_cleanly_when_its_upload_is_dropped "rc=$rc temp=$left $(cat "$W/err")"
"$CTL" -d "$A" add "$W/fb.bin" >/dev/null 2>&1 && t_pass add_works_after_hostile_frames ||
    t_fail add_works_after_hostile_frames "add failed"
rm -f "$W/sparse.bin"

# Crash safety: kill -9 storaged at random moments during adds and deletes.
head -c 200000000 /dev/urandom > "$W/c.bin"
bad=0
for i in $(seq 1 20); do
	pid=$("$CTL" -d "$A" status --json | jq -r '.daemons[] | select(.name=="storaged") | .pid')
	if [ $((i % 2)) = 0 ]; then
		printf 'variant %d\n' "$i" >> "$W/c.bin"
		"$CTL" -d "$A" add "$W/c.bin" >/dev/null 2>&1 &
	else
		victim=$("$CTL" -d "$A" ls --json | jq -r '.files[0].id')
		"$CTL" -d "$A" rm "$victim" >/dev/null 2>&1 &
	fi
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 "$pid" 2>/dev/null
	wait
	upout=$("$CTL" -d "$A" up 2>&1) || { bad=1; echo "$upout" | sed "s/^/# restart $i failed: /" | head -30; break; }
	wait_for 10 "$CTL" -d "$A" chain || { bad=1; echo "# chain not open after restart $i"; break; }
	if ! "$CTL" -d "$A" verify >/dev/null; then bad=1; echo "# verify failed after kill $i"; fi
	# No record may point to content missing from the warehouse.
	miss=$("$CTL" -d "$A" ls --json | jq -r '.files[].hash' | sort -u | while read -r h; do
		[ -e "$A/storage/warehouse/${h:0:4}/${h:4:4}/${h:8}" ] || echo "$h"; done | wc -l)
	[ "$miss" = 0 ] || { bad=1; echo "# $miss records without content after kill $i"; }
	# ... and no content without a record once the recovery step ran at start-up.
	want=$("$CTL" -d "$A" ls --json | jq -r '.files[].hash' | sort -u | wc -l)
	have=$(find "$A/storage/warehouse" -path '*/_Temp' -prune -o -type f ! -name '*.merkle' -print | wc -l)
	[ "$want" = "$have" ] || { bad=1; echo "# after kill $i: $have files in the warehouse, $want referenced"; }
	ic=$(sqlite3 "$A/storage/chain.db" 'PRAGMA integrity_check;')
	[ "$ic" = ok ] || { bad=1; echo "# integrity_check after kill $i: $ic"; }
done
[ $bad = 0 ] && t_pass kill9_during_add_and_delete_20_times || t_fail kill9_during_add_and_delete_20_times "see # lines"

# A full disk mid-add: a clean error, nothing half-written, the node keeps working.
# The 8 MB tmpfs is mounted over DIR/storage in a private mount namespace,
# which the daemons started from it inherit: nothing leaks to the host, the
# run/ sockets stay visible to the cleanup, and the mount goes with them.
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	S=$(t_mkdir)
	"$CTL" -d "$S" init --listen 127.0.0.32:0 --no-lan --no-upnp --no-natpmp >/dev/null
	mkdir -p "$S/storage"
	unshare -m --propagation private sh -c \
	    'mount -t tmpfs -o size=8m,mode=750 tmpfs "$1/storage" && "$2" -d "$1" up' \
	    sh "$S" "$CTL" >/dev/null || t_fail enospc_node_up "up in the namespace failed"
	wait_for 10 "$CTL" -d "$S" chain
	hb=$("$CTL" -d "$S" chain --json | jq -c '[.height, .version]')
	head -c 20000000 /dev/urandom > "$W/toobig.bin"
	out=$("$CTL" -d "$S" add "$W/toobig.bin" 2>&1); rc=$?
	n=$("$CTL" -d "$S" ls --json | jq '.total')
	ha=$("$CTL" -d "$S" chain --json | jq -c '[.height, .version]')
	# The daemons' view of the tmpfs: no temporary or stored file left.
	spid=$("$CTL" -d "$S" status --json | jq -r '.daemons[] | select(.name=="storaged") | .pid')
	left=$(nsenter -t "$spid" -m find "$S/storage/warehouse" -type f 2>/dev/null | wc -l)
	if [ $rc -eq 1 ] && grep -qi "space" <<<"$out" && [ "$n" = 0 ] && [ "$left" = 0 ] &&
	    [ "$hb" = "$ha" ]; then
		t_pass enospc_mid_add_clean_error_nothing_half_written
	else
		t_fail enospc_mid_add_clean_error_nothing_half_written \
		    "rc=$rc files=$n left=$left chain $hb -> $ha: $out"
	fi
	echo "small" > "$W/small-after.txt"
	t_check node_works_after_enospc "$CTL" -d "$S" add "$W/small-after.txt"
	t_check verify_after_enospc "$CTL" -d "$S" verify
	"$CTL" -d "$S" down >/dev/null
else
	t_skip enospc_mid_add_clean_error_nothing_half_written "not root or no unshare -m: cannot mount a private tmpfs"
fi

# --- the leaves netd sends with a download's data --------------------------
# tests/tools/dlfeed plays netd against storaged (IPC_DL_BEGIN/DATA/COMMIT,
# 512 KiB chunks) on a node of its own.  Leaves that do not fit the chunk's
# fragments are refused.  Leaves sent are what storaged records instead of
# hashing the fragments itself: true ones give the companion storaged's own
# hashing gives (verify clean), false ones (a lying netd) cannot get wrong
# content in (commit still checks the hash) but do give a companion that
# verify reports as not matching the data (docs/design.md).
DF="$(dirname "$BIN")/tests/dlfeed"
F=$(t_mkdir)
"$CTL" -d "$F" init --listen 127.0.0.32:0 --no-lan --no-upnp --no-natpmp >/dev/null
if [ ! -x "$DF" ]; then
	t_fail dlfeed_builds "$DF missing: run 'make unit'"
elif ! "$CTL" -d "$F" up >/dev/null; then
	t_fail dlfeed_node_up "$(cat "$F"/log/*.log)"
else
	for m in none good misfit lie; do head -c 1300000 /dev/urandom > "$W/dl.$m"; done
	o_none=$("$DF" "$F" "$W/dl.none" none | tail -1)
	o_good=$("$DF" "$F" "$W/dl.good" good | tail -1)
	o_misfit=$("$DF" "$F" "$W/dl.misfit" misfit | tail -1)
	v1=$("$CTL" -d "$F" verify --json)
	[ "$o_none" = "commit ok" ] && [ "$o_good" = "commit ok" ] &&
	    [ "$(jq '[.files, .bad]' -c <<<"$v1")" = "[2,0]" ] &&
	    t_pass download_leaves_recorded_companions_verify ||
	    t_fail download_leaves_recorded_companions_verify "none: $o_none; good: $o_good; $v1"
	grep -q "^data 0 refused: download [0-9]*: 1 leaves for a chunk of 524288 bytes at 0" \
	    <<<"$o_misfit" && t_pass download_leaves_not_fitting_refused ||
	    t_fail download_leaves_not_fitting_refused "$o_misfit"
	o_lie=$("$DF" "$F" "$W/dl.lie" lie | tail -1)
	v2=$("$CTL" -d "$F" verify --json)
	[ "$o_lie" = "commit ok" ] && [ "$(jq '.bad' <<<"$v2")" = 1 ] &&
	    grep -q "merkle companion does not match the data" <<<"$v2" &&
	    t_pass download_false_leaves_found_by_verify ||
	    t_fail download_false_leaves_found_by_verify "$o_lie; $v2"
	"$CTL" -d "$F" down >/dev/null
fi
