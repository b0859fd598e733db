#!/usr/bin/env bash
# ctl.sh — peernetctl as an operator uses it: every verb with good and bad
# input; terminal-safe output of names that came from another node; exit
# codes (0 done, 1 failed, 2 usage) and the JSON error object; permission
# errors; --timeout with a stopped daemon; up all or nothing; get -o; the
# small fixes of the ctl issue; man pages; bash completion; init for
# systemd and --if-missing; node directories the daemons' user cannot
# reach; the daemons' --help/--version.  Loopback only, no LAN/UPnP/NAT-PMP.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/peernet-ctl.XXXXXX); TMPDIRS+=("$W"); chmod 755 "$W"
NOLAN=(--no-lan --no-upnp --no-natpmp)
# Raw control bytes a terminal would act on: C0 but \n, DEL, C1 (UTF-8 and raw).
has_ctl() { LC_ALL=C grep -qaP '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$@"; }
# rc_is WANT CASE COMMAND...: runs it (stdout to $W/out, stderr to $W/err).
rc_is() {
	local want=$1 n=$2; shift 2
	"$@" >"$W/out" 2>"$W/err"; local rc=$?
	if [ "$rc" = "$want" ]; then t_pass "$n"; return 0; fi
	t_fail "$n" "exit $rc, want $want: $(head -c 300 "$W/err" | tr '\n' ' ')"; return 1
}
# Each line on stdin (peernetctl arguments) run with --json exits WANT with
# an error object on stdout; a "# " line for each that does not, and the
# status 1 then.
json_errors_exit() {	# want
	local want=$1 line rc e ok=0
	while IFS= read -r line; do
		eval "set -- $line"
		"$CTL" --json "$@" >"$W/out" 2>"$W/err"; rc=$?
		e=$(jq -r '.error // empty' "$W/out" 2>/dev/null)
		if [ $rc != "$want" ] || [ -z "$e" ]; then ok=1; echo "# '$line': exit $rc, json error '$e'"; fi
	done
	return $ok
}
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- the daemons answer --help and --version --------------------------------
ok=1
for d in netd storaged searchd; do
	o=$("$BIN/peernet-$d" --help 2>/dev/null) && grep -q "usage: peernet-$d" <<<"$o" || ok=0
	o=$("$BIN/peernet-$d" --version 2>/dev/null) && grep -qE "^peernet-$d [0-9]+\.[0-9]+" <<<"$o" || ok=0
done
[ $ok = 1 ] && t_pass daemons_help_and_version_exit_0_on_stdout || t_fail daemons_help_and_version_exit_0_on_stdout "a daemon failed"

# --- man pages render cleanly ------------------------------------------------
ok=1
for m in "$ROOT"/man/*.[0-9]; do
	w=$(groff -ww -z -man "$m" 2>&1)
	[ -z "$w" ] || { ok=0; echo "# $m: $w"; }
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || { ok=0; echo "# $m: $w"; }
	if LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$m"; then ok=0; echo "# $m: control byte"; fi
done
grep -q '^\.SH EXIT STATUS' "$ROOT/man/peernetctl.8" || ok=0
[ $ok = 1 ] && t_pass man_pages_render_without_warnings || t_fail man_pages_render_without_warnings "see # lines"

# --- usage errors exit 2, with --json an error object on stdout ---------------
A=$(t_mkdir); B=$(t_mkdir); H=$(t_mkdir)
json_errors_exit 2 <<EOF
-d "$A" init --listen bad
-d "$A" init --root nothex@1.2.3.4:5
-d "$A" init --user nosuchuser-ctl
-d "$A" init --force --if-missing
-d "" status
--timeout 5 status
--bogus status
nosuchverb
-d "$A" ls --bogus
-d "$A" rm xyz
-d "$A" mv 00 name
-d "$A" cat nothex
-d "$A" cat --offset -1 $(printf '0%.0s' {1..64})
-d "$A" get nothex
-d "$A" get $(printf '0%.0s' {1..64}) -o ""
-d "$A" pause abc
-d "$A" resume 0
-d "$A" cancel
-d "$A" transfers x
-d "$A" probe 00 11
-d "$A" ping zz
-d "$A" find zz
-d "$A" profile set nosuchfield x
-d "$A" profile set name $(head -c 5000 /dev/zero | tr '\0' a)
-d "$A" add --name "" /etc/hostname
-d "$A" add
-d "$A" search --timeout 5 word
-d "$A" search --sort nosuch word
-d "$A" search
-d "$A" sandbox-probe
-d "$A" sandbox-probe nosuchd
-d "$A" search $(head -c 3000 /dev/zero | tr '\0' a)
-d "$A" reindex extra
-d "$A" status extra
-d "$A" peers extra
-d "$A" chain extra
-d "$A" cache extra
-d "$A" verify extra
-d "$A" reload extra
-d "$A" down extra
-d "$A" up extra
-d "$A" id extra
-d "$A" ls extra
EOF
t_result usage_errors_exit_2_with_json_error $? "see # lines"
"$CTL" -d "$A" profile set name "$(head -c 5000 /dev/zero | tr '\0' a)" 2>"$W/err"
grep -q "at most 4096 bytes" "$W/err" && ! grep -q malformed "$W/err" &&
    t_pass profile_too_long_names_the_limit || t_fail profile_too_long_names_the_limit "$(cat "$W/err")"
"$CTL" -d "$A" add --name "" /etc/hostname 2>"$W/err"
grep -q "must not be empty" "$W/err" && ! grep -q malformed "$W/err" &&
    t_pass add_empty_name_is_a_usage_error || t_fail add_empty_name_is_a_usage_error "$(cat "$W/err")"
"$CTL" -d "$A" search --timeout 5 w 2>"$W/err"
grep -q "5s" "$W/err" && t_pass search_timeout_bare_seconds_refused_with_hint ||
    t_fail search_timeout_bare_seconds_refused_with_hint "$(cat "$W/err")"

# --- -d and node directory errors ---------------------------------------------
rc_is 1 d_file_is_not_a_directory "$CTL" -d /etc/hostname status &&
    { grep -q "is not a directory" "$W/err" || t_fail d_file_message "$(cat "$W/err")"; }
rc_is 1 id_on_missing_dir_says_missing "$CTL" -d "$W/nosuch" --json id
grep -q "does not exist" "$W/err" && ! grep -q "not running" "$W/err" && [ "$(jq -r .exit "$W/out")" = 1 ] &&
    t_pass id_on_missing_dir_message_and_json || t_fail id_on_missing_dir_message_and_json "$(cat "$W/err" "$W/out")"
"$CTL" -d "" status 2>"$W/err"; rc=$?
[ $rc = 2 ] && grep -q "empty node directory" "$W/err" && t_pass empty_d_is_a_usage_error ||
    t_fail empty_d_is_a_usage_error "exit $rc"

# --- init: systemd defaults, --if-missing, --user, unreachable directories ----
S=$(t_mkdir)
rc_is 0 init_without_listen "$CTL" -d "$S" init
if grep -qE '^(listen|user|group|lan|upnp|natpmp) *=' "$S/peernet.conf"; then
	t_fail init_default_config_needs_no_edits "$(grep -E '^[a-z]' "$S/peernet.conf")"
else
	t_pass init_default_config_needs_no_edits
fi
if [ "$(id -u)" = 0 ] && getent group peernet >/dev/null; then
	[ "$(stat -c %G "$S")" = peernet ] && [ $(( 0$(stat -c %a "$S") & 050 )) = 40 ] &&
	    t_pass init_as_root_lets_the_group_in || t_fail init_as_root_lets_the_group_in "$(stat -c '%A %U:%G' "$S")"
fi
sum=$(md5sum < "$S/peernet.conf")
rc_is 0 init_if_missing_keeps_config "$CTL" -d "$S" init --if-missing --listen 127.0.0.1:1 &&
    { [ "$(md5sum < "$S/peernet.conf")" = "$sum" ] && grep -q "left as it is" "$W/out" ||
      t_fail init_if_missing_wrote "$(cat "$W/out")"; }
S2=$(t_mkdir); rmdir "$S2"
rc_is 0 init_if_missing_writes_when_absent "$CTL" -d "$S2" init --if-missing "${NOLAN[@]}"
[ -f "$S2/peernet.conf" ] || t_fail init_if_missing_writes_when_absent "no file"
rc_is 1 init_refuses_to_overwrite "$CTL" -d "$S" init
# --public reads the root lines of the seed list (a loopback stand-in here:
# tests never read the real list, and this node is never started).
K=02$(printf 'ab%.0s' {1..32})
printf '# seeds\nroot = %s@127.0.77.250:112\n  root=%s@[::1]:112\n' "$K" "$K" > "$W/seeds.conf"
PEERNET_SEEDS="$W/seeds.conf" "$CTL" -d "$S" init --force --public "${NOLAN[@]}" >"$W/out" 2>"$W/err"; rc=$?
[ $rc = 0 ] && [ "$(grep -c "^root = $K@" "$S/peernet.conf")" = 2 ] && grep -q "2 root peers" "$W/out" &&
    t_pass init_public_takes_the_seed_list || t_fail init_public_takes_the_seed_list "rc=$rc $(cat "$W/err")"
PEERNET_SEEDS="$W/nosuch" "$CTL" -d "$S" init --force --public >/dev/null 2>"$W/err"; rc=$?
[ $rc = 1 ] && grep -q "no list of public root peers" "$W/err" && [ "$(grep -c "^root = " "$S/peernet.conf")" = 2 ] &&
    t_pass init_public_without_list_writes_nothing || t_fail init_public_without_list_writes_nothing "rc=$rc"
rc_is 2 init_unknown_user_refused "$CTL" -d "$S2" init --force --user nosuchuser-ctl
if [ "$(id -u)" = 0 ] && getent passwd peernet >/dev/null; then
	P=$(mktemp -d /tmp/peernet-ctl-priv.XXXXXX); TMPDIRS+=("$P"); chmod 700 "$P"
	"$CTL" -d "$P/node" init --listen 127.0.77.9:0 "${NOLAN[@]}" >/dev/null 2>"$W/err"; rc=$?
	[ $rc = 1 ] && grep -qF "enter $P " "$W/err" && grep -qF "chmod o+x $P" "$W/err" && [ ! -e "$P/node" ] &&
	    t_pass init_names_the_blocking_directory || t_fail init_names_the_blocking_directory "rc=$rc $(cat "$W/err")"
	chmod 755 "$P"
	"$CTL" -d "$P/node" init --listen 127.0.77.9:0 "${NOLAN[@]}" >/dev/null
	echo "$P/node" >> "$T_REGISTRY"
	chmod 700 "$P"
	"$CTL" -d "$P/node" up >/dev/null 2>"$W/err"; rc=$?
	[ $rc = 1 ] && grep -qF "chmod o+x $P" "$W/err" && [ ! -e "$P/node/run" ] &&
	    t_pass up_names_the_blocking_directory_before_starting || t_fail up_names_the_blocking_directory_before_starting "rc=$rc $(cat "$W/err")"
	chmod 755 "$P"
else
	t_skip init_names_the_blocking_directory "needs root and user peernet (the daemons drop to it)"
fi

# --- two nodes: A shares hostile names, B finds them --------------------------
"$CTL" -d "$A" init --listen 127.0.77.1:7001 "${NOLAN[@]}" >/dev/null
rc_is 0 up_a "$CTL" -d "$A" up || { cat "$A"/log/*.log | tail -5; exit 0; }
rc_is 0 up_again_is_fine "$CTL" -d "$A" up
grep -q "already running" "$W/out" || t_fail up_again_says_running "$(cat "$W/out")"
PA=$("$CTL" -d "$A" id --json | jq -r .peer_id); NA=$("$CTL" -d "$A" id --json | jq -r .node_id)
"$CTL" -d "$B" init --listen 127.0.77.2:7001 --root "$PA@127.0.77.1:7001" "${NOLAN[@]}" >/dev/null
"$CTL" -d "$B" up >/dev/null || t_fail up_b "B did not start"
NB=$("$CTL" -d "$B" id --json | jq -r .node_id)
evil=$(printf 'ctlevil\033[2J\nFORGED LINE\302\233x\237.txt')
printf 'hostile name content\n' > "$W/$evil"
"$CTL" -d "$A" add --folder "$(printf 'dir\033]0;title\007')" --description "$(printf 'desc\033[31m')" \
    --tag "7=$(printf 'tag\033c')" "$W/$evil" >"$W/out" 2>"$W/err"; rc=$?
[ $rc = 0 ] && ! has_ctl "$W/out" "$W/err" && t_pass add_output_escaped || t_fail add_output_escaped "rc=$rc"
EH=$("$CTL" -d "$A" ls --json | jq -r '.files[0].hash')
"$CTL" -d "$A" ls >"$W/out"
! has_ctl "$W/out" && grep -qF 'ctlevil\x1b[2J\nFORGED' "$W/out" && grep -qF '\u009bx\x9f.txt' "$W/out" &&
    t_pass ls_shows_control_bytes_escaped || t_fail ls_shows_control_bytes_escaped "$(od -c "$W/out" | head -5)"
"$CTL" -d "$A" ls --json >"$W/out"
! has_ctl "$W/out" && [ "$(jq -r '.files[0].folder' "$W/out")" = "$(printf 'dir\033]0;title\007')" ] &&
    t_pass ls_json_escapes_as_json || t_fail ls_json_escapes_as_json "$(head -c 300 "$W/out")"
wait_for 10 "$CTL" -d "$B" ping "$NA" || t_fail b_reaches_a "B never reached A"
found() { "$CTL" -d "$B" search --json ctlevil | jq -e '.results | length > 0' >/dev/null; }
if wait_for 15 found; then
	"$CTL" -d "$B" search ctlevil >"$W/out" 2>"$W/err"
	! has_ctl "$W/out" "$W/err" && grep -qF 'ctlevil\x1b' "$W/out" &&
	    t_pass search_on_other_node_escapes_names || t_fail search_on_other_node_escapes_names "$(od -c "$W/out" | head)"
	"$CTL" -d "$B" search --json ctlevil >"$W/out"
	# JSON holds valid UTF-8 only: the lone byte 0x9f becomes U+FFFD
	evil_json=$(printf 'ctlevil\033[2J\nFORGED LINE\302\233x\357\277\275.txt')
	! has_ctl "$W/out" && [ "$(jq -r '.results[0].name' "$W/out")" = "$evil_json" ] &&
	    t_pass search_json_keeps_the_name_exactly || t_fail search_json_keeps_the_name_exactly "$(head -c 300 "$W/out")"
else
	t_fail search_on_other_node_escapes_names "B never found the file"
fi
for v in status peers; do
	"$CTL" -d "$B" $v >"$W/out" 2>&1; ! has_ctl "$W/out" || t_fail "${v}_output_escaped" "control byte"
done

# --- every verb with good input exits 0 ---------------------------------------
ok=1
ID=$("$CTL" -d "$A" ls --json | jq -r '.files[0].id')
while IFS= read -r line; do
	eval "set -- $line"
	"$CTL" "$@" >"$W/out" 2>"$W/err" || { ok=0; echo "# '$line': exit $? $(head -c 200 "$W/err")"; }
	has_ctl "$W/out" "$W/err" && { ok=0; echo "# '$line': control byte in output"; }
done <<EOF
-d "$A" status
-d "$A" --json status
-d "$A" reload
-d "$A" id
-d "$A" ls
-d "$A" chain
-d "$A" cache
-d "$A" peers
-d "$A" profile set name "$(printf 'me\033[1m')"
-d "$A" profile get name
-d "$A" mv $ID "$(printf 'renamed\033[2J.txt')"
-d "$A" reindex
-d "$A" search renamed
-d "$A" sandbox-probe netd
-d "$A" verify
-d "$A" transfers
-d "$B" ping $NA
-d "$B" find $NA
-d "$B" probe $NA $EH
-d "$A" cat $EH
-d "$A" --timeout 2s search --timeout 1s renamed
EOF
[ $ok = 1 ] && t_pass every_verb_good_input_exits_0 || t_fail every_verb_good_input_exits_0 "see # lines"

# --- failures exit 1 with a JSON error ----------------------------------------
Z=$(printf '0%.0s' {1..64})
json_errors_exit 1 <<EOF
-d "$A" rm 00000000000000000000000000000000
-d "$A" rm $Z
-d "$A" cat $Z
-d "$A" get $Z
-d "$A" transfers 4000000
-d "$A" pause 4000000
-d "$B" ping $Z
-d "$S" status
EOF
t_result failures_exit_1_with_json_error $? "see # lines"
"$CTL" -d "$A" transfers 4000000 >"$W/out" 2>"$W/err"
[ ! -s "$W/out" ] && grep -q "no transfer 4000000" "$W/err" && t_pass transfers_missing_number_no_table ||
    t_fail transfers_missing_number_no_table "$(cat "$W/out")"

# --- cat, add twice, verify ---------------------------------------------------
rc_is 1 cat_offset_past_end_fails "$CTL" -d "$A" cat --offset 1000 "$EH"
grep -q "past the end" "$W/err" || t_fail cat_offset_past_end_message "$(cat "$W/err")"
"$CTL" -d "$A" cat --json "$EH" >"$W/out"
[ "$(jq -r .base64 "$W/out" | base64 -d)" = "hostile name content" ] && ! has_ctl "$W/out" &&
    t_pass cat_json_is_json || t_fail cat_json_is_json "$(head -c 200 "$W/out")"
echo "twice" > "$W/twice.txt"
"$CTL" -d "$A" add "$W/twice.txt" >/dev/null
"$CTL" -d "$A" --json add "$W/twice.txt" >"$W/out" 2>"$W/err"
[ "$(jq '.added[0].also_shared_as | length' "$W/out")" = 1 ] && grep -q "already shared" "$W/err" &&
    t_pass add_same_file_twice_says_so || t_fail add_same_file_twice_says_so "$(cat "$W/err")"

# --- get -o -------------------------------------------------------------------
echo "keep me" > "$W/exists"
rc_is 1 get_o_refuses_to_overwrite "$CTL" -d "$B" get "$EH" --from "$NA" -o "$W/exists"
[ "$(cat "$W/exists")" = "keep me" ] || t_fail get_o_left_file_alone "overwritten"
chmod 640 "$W/exists"
rc_is 0 get_o_force_replaces "$CTL" -d "$B" get "$EH" --from "$NA" -o "$W/exists" --force
[ "$(cat "$W/exists")" = "hostile name content" ] && [ "$(stat -c %a "$W/exists")" = 640 ] ||
    t_fail get_o_force_keeps_mode "$(stat -c %a "$W/exists")"
(umask 027; "$CTL" -d "$B" get "$EH" -o "$W/new" >/dev/null 2>&1)
[ "$(stat -c %a "$W/new" 2>/dev/null)" = 640 ] && t_pass get_o_new_file_gets_umask ||
    t_fail get_o_new_file_gets_umask "mode $(stat -c %a "$W/new" 2>&1)"
(cd "$W" && "$CTL" -d "$B" get "$EH" -o - >"$W/stdout" 2>"$W/err"); rc=$?
[ $rc = 0 ] && [ "$(cat "$W/stdout")" = "hostile name content" ] && [ ! -e "$W/-" ] &&
    t_pass get_o_dash_writes_stdout || t_fail get_o_dash_writes_stdout "rc=$rc $(cat "$W/err")"
# Downloaded (never shared) content can be removed by its hash.
rc_is 0 rm_downloaded_content "$CTL" -d "$B" rm "$EH"
"$CTL" -d "$B" cat "$EH" >/dev/null 2>&1 && t_fail rm_downloaded_content_gone "still readable"

# --- pause/resume twice -------------------------------------------------------
head -c 200000000 /dev/urandom > "$W/big.bin"
BH=$("$CTL" -d "$A" add --json "$W/big.bin" | jq -r '.added[0].hash')
"$CTL" -d "$B" get "$BH" --from "$NA" >/dev/null 2>&1 & GP=$!
num=""
for _ in $(seq 1 100); do
	num=$("$CTL" -d "$B" transfers --json 2>/dev/null | jq -r --arg h "$BH" '[.[] | select(.hash==$h and .role=="download")][0].number // empty')
	[ -n "$num" ] && break; sleep 0.02
done
if [ -n "$num" ] && "$CTL" -d "$B" pause "$num" >/dev/null 2>&1; then
	rc_is 0 pause_twice_exits_0 "$CTL" -d "$B" pause "$num"
	rc_is 0 resume_exits_0 "$CTL" -d "$B" resume "$num"
	"$CTL" -d "$B" resume "$num" >"$W/out" 2>"$W/err"; rc=$?
	st=$("$CTL" -d "$B" transfers --json "$num" | jq -r '.[0].state')
	# the second resume may meet the end of a fast transfer
	if [ $rc = 0 ] || [ "$st" = done ] || [ "$st" = storing ]; then t_pass resume_twice_exits_0
	else t_fail resume_twice_exits_0 "exit $rc: $(cat "$W/err")"; fi
else
	t_skip pause_twice_exits_0 "the download ended before it could be paused"
fi
"$CTL" -d "$B" cancel "$num" >/dev/null 2>&1; kill "$GP" 2>/dev/null; wait "$GP" 2>/dev/null

# --- Ctrl-C during add leaves nothing behind ----------------------------------
truncate -s 3G "$W/sparse.bin"
"$CTL" -d "$A" add "$W/sparse.bin" >/dev/null 2>"$W/err" & AP=$!
sleep 0.5; kill -INT "$AP"; wait "$AP"; rc=$?
sleep 0.3
left=$(find "$A/storage/warehouse/_Temp" -name 'wh*' 2>/dev/null | wc -l)
[ $rc = 130 ] && [ "$left" = 0 ] && grep -q interrupted "$W/err" && t_pass ctrl_c_during_add_leaves_no_temp ||
    t_fail ctrl_c_during_add_leaves_no_temp "rc=$rc temp files=$left $(cat "$W/err")"
rm -f "$W/sparse.bin" "$W/big.bin"

# --- verify --json lists problems --------------------------------------------
echo "to be damaged" > "$W/dmg.txt"
DH=$("$CTL" -d "$A" add --json "$W/dmg.txt" | jq -r '.added[0].hash')
f=$(find "$A/storage/warehouse" -type f -name "${DH:8}" | head -1)
[ -n "$f" ] && printf 'TO BE DAMAGED\n' > "$f"
"$CTL" -d "$A" verify --json >"$W/out" 2>"$W/err"; rc=$?
[ $rc = 1 ] && [ "$(jq -r --arg h "$DH" '[.problems[] | select(.hash==$h)] | length' "$W/out")" = 1 ] &&
    t_pass verify_json_lists_problems || t_fail verify_json_lists_problems "rc=$rc $(head -c 300 "$W/out")"

# --- permission denied --------------------------------------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	as_nobody "$CTL" -d "$A" status >"$W/out" 2>"$W/err"; rc=$?
	[ $rc = 1 ] && grep -q "permission denied" "$W/err" && grep -q "group '" "$W/err" &&
	    ! grep -q stopped "$W/out" && t_pass status_permission_denied_named ||
	    t_fail status_permission_denied_named "rc=$rc $(cat "$W/out" "$W/err")"
	as_nobody "$CTL" -d "$A" down >"$W/out" 2>"$W/err"; rc=$?
	[ $rc = 1 ] && grep -q "permission denied" "$W/err" && "$CTL" -d "$A" status >/dev/null 2>&1 &&
	    t_pass down_permission_denied_exits_1 || t_fail down_permission_denied_exits_1 "rc=$rc $(cat "$W/out" "$W/err")"
	as_nobody "$CTL" -d "$A" --json id >"$W/out" 2>"$W/err"; rc=$?
	[ $rc = 1 ] && jq -e '.error | test("permission denied")' "$W/out" >/dev/null &&
	    t_pass id_permission_denied_json || t_fail id_permission_denied_json "rc=$rc $(cat "$W/out")"
	# In the group (the socket lets it in) but not allowed by the daemons.
	gid=$(getent group peernet | cut -d: -f3)
	if [ -n "$gid" ]; then
		setpriv --reuid=65534 --regid="$gid" --clear-groups "$CTL" -d "$A" status >"$W/out" 2>"$W/err"; rc=$?
		[ $rc = 1 ] && grep -q "uid 65534 is not allowed" "$W/err" && grep -q "allow_uid = 65534" "$W/err" &&
		    grep -qE '^netd +permission denied' "$W/out" && t_pass status_uid_not_allowed_says_how ||
		    t_fail status_uid_not_allowed_says_how "rc=$rc $(cat "$W/out" "$W/err")"
	fi
else
	t_skip status_permission_denied_named "needs root to run as another user"
fi

# --- completion ---------------------------------------------------------------
comp() {	# words...: the completions of the last word
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));
	    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _peernetctl peernetctl; printf "%s\n" "${COMPREPLY[@]}"' \
	    _ "$ROOT/ctl/peernetctl.bash-completion" "$@"
}
ok=1
comp peernetctl tr | grep -qx transfers || { ok=0; echo "# verbs"; }
comp peernetctl get --f | grep -qx -- --from || { ok=0; echo "# get flags"; }
comp peernetctl --ti | grep -qx -- --timeout || { ok=0; echo "# global flags"; }
PATH="$BIN:$PATH" comp peernetctl -d "$A" rm "" | grep -qx "$ID" || { ok=0; echo "# file IDs"; }
PATH="$BIN:$PATH" comp peernetctl -d "$A" cat "${EH:0:6}" | grep -qx "$EH" || { ok=0; echo "# hashes"; }
comp peernetctl sandbox-probe "" | grep -qx netd || { ok=0; echo "# daemons"; }
comp peernetctl init --api- | grep -qx -- --api-files-dir || { ok=0; echo "# init --api flags"; }
comp peernetctl init --api-key r | grep -qx random || { ok=0; echo "# --api-key random"; }
[ $ok = 1 ] && t_pass bash_completion || t_fail bash_completion "see # lines"

# --- up is all or nothing -----------------------------------------------------
F=$(t_mkdir)
"$CTL" -d "$F" init --listen 127.0.77.1:7001 "${NOLAN[@]}" >/dev/null	# A holds it
"$CTL" -d "$F" up >"$W/out" 2>"$W/err"; rc=$?
"$CTL" -d "$F" status >/dev/null 2>&1; st=$?
running=0; for d in storaged searchd netd; do
	[ -e "$F/run/$d.lock" ] && ! flock -n "$F/run/$d.lock" true && running=$((running + 1))
done
[ $rc = 1 ] && [ $running = 0 ] && grep -q "up failed: netd" "$W/err" && t_pass failed_up_stops_what_it_started ||
    t_fail failed_up_stops_what_it_started "rc=$rc running=$running $(tail -3 "$W/err")"

# --- a stopped daemon: --timeout bounds every verb ----------------------------
# A stopped netd never answers: without the bound a verb would wait for ever.
# The limits leave 5 s for a loaded machine to run ctl (not a speed check).
"$CTL" -d "$H" init --listen 127.0.77.3:0 "${NOLAN[@]}" >/dev/null
"$CTL" -d "$H" up >/dev/null || t_fail up_h "H did not start"
NP=$("$CTL" -d "$H" status --json | jq -r '.daemons[] | select(.name=="netd") | .pid')
kill -STOP "$NP"
t0=$(date +%s%N); "$CTL" -d "$H" --timeout 1000 id >/dev/null 2>"$W/err"; rc=$?; el=$(elapsed_ms $t0)
[ $rc = 1 ] && [ $el -lt 6000 ] && grep -q "did not answer" "$W/err" && t_pass timeout_bounds_id_of_stopped_netd ||
    t_fail timeout_bounds_id_of_stopped_netd "rc=$rc ${el}ms $(cat "$W/err")"
ok=1
# netd's verbs fail within the bound; search (searchd) just ends in time.
for v in "peers" "ping $NA" "transfers" "get $EH" "reload" "pause 1" "search x"; do
	t0=$(date +%s%N); "$CTL" -d "$H" --timeout 800 $v >/dev/null 2>&1; rc=$?; el=$(elapsed_ms $t0)
	{ { [ $rc = 1 ] || [ "$v" = "search x" ]; } && [ $el -lt 5800 ]; } || { ok=0; echo "# $v: rc=$rc ${el}ms"; }
done
[ $ok = 1 ] && t_pass timeout_bounds_every_verb || t_fail timeout_bounds_every_verb "see # lines"
t0=$(date +%s%N); "$CTL" -d "$H" --timeout 1000 status >"$W/out" 2>"$W/err"; rc=$?; el=$(elapsed_ms $t0)
[ $rc = 1 ] && [ $el -lt 6000 ] && grep -qE '^netd +not answering' "$W/out" && grep -qE '^storaged +running' "$W/out" &&
    t_pass status_shows_the_daemon_not_answering || t_fail status_shows_the_daemon_not_answering "rc=$rc ${el}ms $(cat "$W/out")"
t0=$(date +%s%N); "$CTL" -d "$H" --timeout 2000 down >"$W/out" 2>"$W/err"; rc=$?; el=$(elapsed_ms $t0)
gone=1; for d in storaged searchd netd; do ! flock -n "$H/run/$d.lock" true && gone=0; done
[ $rc = 0 ] && [ $el -lt 7000 ] && [ $gone = 1 ] && grep -q SIGKILL "$W/out" && grep -q SIGKILL "$W/err" &&
    t_pass down_escalates_to_sigkill_within_timeout || t_fail down_escalates_to_sigkill_within_timeout "rc=$rc ${el}ms $(cat "$W/out" "$W/err")"
kill -CONT "$NP" 2>/dev/null

# --- the demo: its time, no escapes into a pipe, commands that paste back ----
B="${BIN%/bin}" bash "$ROOT/scripts/demo.sh" 2>&1 | cat >"$W/demo"; rc=${PIPESTATUS[0]}
line=$(grep -m1 -e ' add --description ' "$W/demo")
eval "set -- ${line#\$ }"
[ $rc = 0 ] && ! LC_ALL=C grep -qa $'\033' "$W/demo" && grep -qE '^demo finished after [0-9]+\.[0-9]{3} s$' "$W/demo" &&
    [ "$5" = --description ] && [ "$6" = "a file for the demo" ] && t_pass demo_timed_plain_and_pasteable ||
    t_fail demo_timed_plain_and_pasteable "rc=$rc: $(tail -3 "$W/demo")"

# --- peernet-apid under peernetctl: init --api, up, status, down ------------
# A node without api_listen (A) keeps three daemons, all green (the systemd
# boot test checks exactly that); apid shows as "not configured".
"$CTL" -d "$A" status --json >"$W/out" 2>"$W/err"
jq -e '(.daemons | length == 3) and all(.daemons[]; .running) and .apid.state == "not configured"' "$W/out" >/dev/null &&
    "$CTL" -d "$A" status 2>/dev/null | grep -qE '^apid +not configured$' &&
    t_pass status_without_api_listen_three_daemons_apid_not_configured ||
    t_fail status_without_api_listen_three_daemons_apid_not_configured "$(head -c 400 "$W/out")"
Q=$(t_mkdir)
rc_is 2 init_api_not_loopback_without_key_exit_2 "$CTL" -d "$Q" init --api 0.0.0.0:8120 &&
    grep -q "not loopback needs --api-key" "$W/err" || t_fail init_api_not_loopback_says_why "$(cat "$W/err")"
rc_is 2 init_api_bad_address_exit_2 "$CTL" -d "$Q" init --api 127.0.77.20
rc_is 2 init_api_key_not_a_uuid_exit_2 "$CTL" -d "$Q" init --api 127.0.77.20:8120 --api-key 5b3c9d0e-8a41-4b8e-9a57-2f0c6d1e7a4
rc_is 2 init_api_key_nil_uuid_exit_2 "$CTL" -d "$Q" init --api 127.0.77.20:8120 --api-key 00000000-0000-0000-0000-000000000000
rc_is 2 init_api_key_without_api_exit_2 "$CTL" -d "$Q" init --api-key random
[ ! -e "$Q/peernet.conf" ] && t_pass init_api_usage_errors_write_nothing || t_fail init_api_usage_errors_write_nothing "a file was written"
rc_is 0 init_api_key_random "$CTL" -d "$Q" init --listen 127.0.77.20:7020 "${NOLAN[@]}" \
    --api 127.0.77.20:8120 --api-key random --api-files-dir "$W"
QK=$(sed -n 's/^api_key \([0-9a-f-]*\)$/\1/p' "$W/out")
if [[ $QK =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] &&
    grep -qx "api_key = $QK" "$Q/peernet.conf" && grep -qx "api_listen = 127.0.77.20:8120" "$Q/peernet.conf" &&
    grep -qx "api_files_dir = $W" "$Q/peernet.conf" && [ "$(stat -c %a "$Q/peernet.conf")" = 640 ]; then
	t_pass init_api_random_key_printed_once_and_written
else
	t_fail init_api_random_key_printed_once_and_written "key '$QK': $(cat "$W/out"; grep '^api' "$Q/peernet.conf")"
fi
R=$(t_mkdir)
"$CTL" -d "$R" init --json --listen 127.0.77.21:7020 --api '[::1]:8121' --api-key random >"$W/out" 2>&1
jq -e '.api_key | test("^[0-9a-f]{8}-[0-9a-f]{4}-4")' "$W/out" >/dev/null && grep -q "^api_key = $(jq -r .api_key "$W/out")$" "$R/peernet.conf" &&
    t_pass init_api_random_key_in_json || t_fail init_api_random_key_in_json "$(cat "$W/out")"
rc_is 0 up_starts_apid "$CTL" -d "$Q" up &&
    grep -qE '^apid +started \(127\.0\.77\.20:8120\)$' "$W/out" || t_fail up_says_apid_started "$(cat "$W/out")"
QU=http://127.0.77.20:8120
[ "$(curl -s -m 5 -H "x-api-key: $QK" "$QU/test")" = ok ] && t_pass apid_started_by_up_answers_test ||
    t_fail apid_started_by_up_answers_test "$(tail -3 "$Q/log/apid.log")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$QU/status")
[ "$code" = 401 ] && t_pass apid_status_without_key_401 || t_fail apid_status_without_key_401 "HTTP $code"
curl -s -m 5 -H "x-api-key: $QK" "$QU/status" | jq -e '.status == 0' >/dev/null &&
    t_pass apid_status_with_key || t_fail apid_status_with_key "no status 0"
"$CTL" -d "$Q" status --json >"$W/out" 2>"$W/err"; rc=$?
QP=$(jq -r '.daemons[] | select(.name == "apid") | .pid' "$W/out" 2>/dev/null)
[ $rc = 0 ] && jq -e '(.daemons | length == 4) and all(.daemons[]; .running) and (.daemons[3] | .name == "apid" and
    (.sandbox | test("seccomp=apid")) and .listen == ["127.0.77.20:8120"]) and (has("apid") | not)' "$W/out" >/dev/null &&
    t_pass status_json_apid_fourth_daemon || t_fail status_json_apid_fourth_daemon "rc=$rc $(head -c 400 "$W/out")"
"$CTL" -d "$Q" status >"$W/out" 2>&1 && grep -qE "^apid +running +$QP " "$W/out" &&
    grep -q "apid serves http://127.0.77.20:8120" "$W/out" && t_pass status_shows_apid ||
    t_fail status_shows_apid "$(cat "$W/out")"
rc_is 0 up_again_apid_already_running "$CTL" -d "$Q" up && grep -qE '^apid +already running' "$W/out" ||
    t_fail up_again_says_apid_already_running "$(cat "$W/out")"
rc_is 0 down_stops_apid "$CTL" -d "$Q" down
gone=1; for d in apid storaged searchd netd; do ! flock -n "$Q/run/$d.lock" true && gone=0; done
# Gone, or a zombie that a non-reaping pid 1 (some containers) keeps.
pid_gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*zombie' "/proc/$1/status" 2>/dev/null; }
[ "$(head -1 "$W/out")" = "apid      stopped" ] && [ $gone = 1 ] && [ -n "$QP" ] && pid_gone "$QP" &&
    ! curl -s -m 2 "$QU/test" >/dev/null 2>&1 && t_pass down_stops_apid_first_nothing_left ||
    t_fail down_stops_apid_first_nothing_left "pid '$QP' $(cat "$W/out")"
rc_is 1 status_configured_apid_stopped_exits_1 "$CTL" -d "$Q" status && grep -qE '^apid +stopped' "$W/out" ||
    t_fail status_shows_configured_apid_stopped "$(cat "$W/out")"
# All or nothing: an apid that cannot bind stops what up started, with its log.
# The holder says when its port is bound (a fixed sleep was too short under load).
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.77.20",8120)); s.listen(); print("bound", flush=True); time.sleep(20)' >"$W/hold" & HOLD=$!
for _ in $(seq 100); do grep -q bound "$W/hold" && break; sleep 0.1; done
rc_is 1 up_fails_when_apid_fails "$CTL" -d "$Q" up
gone=1; for d in apid storaged searchd netd; do ! flock -n "$Q/run/$d.lock" true && gone=0; done
[ $gone = 1 ] && grep -q "up failed: apid exited during start-up" "$W/err" && grep -q "Address already in use" "$W/err" &&
    t_pass apid_failure_stops_everything_up_started || t_fail apid_failure_stops_everything_up_started "gone=$gone $(cat "$W/err")"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null

rc_is 0 down_a "$CTL" -d "$A" down
rc_is 0 down_again_not_running "$CTL" -d "$A" down
grep -q "not running" "$W/out" || t_fail down_again_says_not_running "$(cat "$W/out")"
rc_is 1 status_of_stopped_node_exits_1 "$CTL" -d "$A" status
