#!/usr/bin/env bash
# foundation.sh — a node's three daemons under peernetctl: up/status/down,
# the sandbox seen from /proc, uid refusal, crash and restart, two nodes
# side by side, and the bad-input cases of the foundation issue.
. "$(dirname "$0")/lib.sh"

proc_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
json_pid() { jq -r --arg n "$1" '.daemons[] | select(.name==$n) | .pid'; }

A=$(t_mkdir); B=$(t_mkdir)
# Privileged port 112 on two loopback addresses: exercises the bind capability.
t_check init_writes_config "$CTL" -d "$A" init --listen 127.0.0.11:112 --no-lan --no-upnp --no-natpmp
t_check init_refuses_to_overwrite bash -c "! '$CTL' -d '$A' init 2>/dev/null"
"$CTL" -d "$B" init --listen 127.0.0.12:112 --no-lan --no-upnp --no-natpmp >/dev/null

out=$("$CTL" -d "$A" status 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "is not running for $A: start it with 'peernetctl -d $A up'" <<<"$out"; then
	t_pass status_before_up_says_not_running
else t_fail status_before_up_says_not_running "rc=$rc: $out"; fi

t_check up_starts_three_daemons "$CTL" -d "$A" up
t_check status_after_up_exits_0 "$CTL" -d "$A" status
st=$("$CTL" -d "$A" status --json)

if [ "$(id -u)" -eq 0 ]; then
	for d in netd storaged searchd; do
		pid=$(json_pid "$d" <<<"$st")
		uid=$(proc_field "$pid" Uid); cap=$(proc_field "$pid" CapEff)
		nnp=$(proc_field "$pid" NoNewPrivs); sec=$(proc_field "$pid" Seccomp)
		if [ -n "$pid" ] && [ "$uid" != 0 ] && [ "$cap" = 0000000000000000 ] &&
		    [ "$nnp" = 1 ] && [ "$sec" = 2 ]; then
			t_pass "${d}_sandboxed_uid${uid}_capeff0_nnp1_seccomp2"
		else
			t_fail "${d}_sandboxed" "pid=$pid Uid=$uid CapEff=$cap NoNewPrivs=$nnp Seccomp=$sec"
		fi
	done
	probe=$("$CTL" -d "$A" --json sandbox-probe storaged)
	if grep -q '"inet_allowed": false' <<<"$probe" && grep -q '"unix_allowed": true' <<<"$probe"; then
		t_pass storaged_cannot_create_af_inet_socket
	else t_fail storaged_cannot_create_af_inet_socket "$probe"; fi
	probe=$("$CTL" -d "$A" --json sandbox-probe searchd)
	grep -q '"inet_allowed": false' <<<"$probe" && t_pass searchd_cannot_create_af_inet_socket ||
	    t_fail searchd_cannot_create_af_inet_socket "$probe"
	probe=$("$CTL" -d "$A" --json sandbox-probe netd)
	grep -q '"inet_allowed": true' <<<"$probe" && t_pass netd_may_create_af_inet_socket ||
	    t_fail netd_may_create_af_inet_socket "$probe"

	# A uid that can reach the socket file (group peernet) but is not allowed.
	gid=$(getent group peernet | cut -d: -f3)
	out=$(setpriv --reuid=65534 --regid="$gid" --clear-groups "$CTL" -d "$A" status 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q "refused the request: uid 65534 is not allowed" <<<"$out"; then
		t_pass foreign_uid_is_refused
	else t_fail foreign_uid_is_refused "rc=$rc: $out"; fi
else
	t_skip sandbox_as_root "not root: privilege drop, capabilities and uid refusal need root"
fi

# The identity netd created on first start.
idj=$("$CTL" -d "$A" id --json)
if grep -Eq '"peer_id": "0[23][0-9a-f]{64}"' <<<"$idj" && grep -Eq '"node_id": "[0-9a-f]{64}"' <<<"$idj"; then
	t_pass id_prints_peer_and_node_id
else t_fail id_prints_peer_and_node_id "$idj"; fi
kmode=$(stat -c %a "$A/identity.key")
[ "$kmode" = 600 ] && t_pass identity_key_mode_0600 || t_fail identity_key_mode_0600 "mode $kmode"

# Links: each daemon sees the two others.
if wait_for 8 bash -c "'$CTL' -d '$A' status --json | grep -c '\"state\": \"up\"' | grep -qx 6"; then
	t_pass daemons_report_each_other_reachable
else t_fail daemons_report_each_other_reachable "$("$CTL" -d "$A" status 2>&1)"; fi

# kill -9 is reported, and up brings the daemon back.
spid=$(json_pid storaged <<<"$st")
kill -9 "$spid"; sleep 0.3
out=$("$CTL" -d "$A" status 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -Eq '^storaged +stopped' <<<"$out"; then
	t_pass killed_daemon_reported_stopped
else t_fail killed_daemon_reported_stopped "rc=$rc: $out"; fi
if wait_for 8 bash -c "'$CTL' -d '$A' status --json | grep -q '\"state\": \"down\"'"; then
	t_pass other_daemons_see_the_link_down
else t_fail other_daemons_see_the_link_down "$("$CTL" -d "$A" status 2>&1)"; fi
t_check up_restarts_killed_daemon "$CTL" -d "$A" up
t_check status_ok_after_restart "$CTL" -d "$A" status

# Two nodes side by side.
t_check second_node_up "$CTL" -d "$B" up
ida=$("$CTL" -d "$A" id --json); idb=$("$CTL" -d "$B" id --json)
[ -n "$ida" ] && [ "$ida" != "$idb" ] && t_pass two_nodes_have_distinct_ids ||
    t_fail two_nodes_have_distinct_ids "$ida / $idb"
t_check down_stops_node_a "$CTL" -d "$A" down
t_check node_b_unaffected "$CTL" -d "$B" status
left=$(pgrep -f -- "-d $A" | wc -l)
[ "$left" -eq 0 ] && t_pass down_leaves_no_process || t_fail down_leaves_no_process "$left left"
t_check down_node_b "$CTL" -d "$B" down

# Bad input: each a clear one-line error and a non-zero exit, never a hang.
C=$(t_mkdir)
out=$(timeout 20 "$CTL" -d "$C/missing" status 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "does not exist: create it with" <<<"$out" &&
    t_pass missing_dir_clear_error || t_fail missing_dir_clear_error "rc=$rc: $out"
"$CTL" -d "$C" init --listen 127.0.0.13:0 --no-lan >/dev/null
cp "$C/peernet.conf" "$C/good.conf"
printf '[netd]\nlisen = 1.2.3.4:5\n' >> "$C/peernet.conf"
out=$(timeout 20 "$CTL" -d "$C" up 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "peernet.conf:[0-9]*: .*lisen" <<<"$out" &&
    t_pass malformed_config_names_file_line_key || t_fail malformed_config_names_file_line_key "rc=$rc: $out"
if [ "$(id -u)" -eq 0 ]; then
	# init refuses a user that does not exist: one deleted after init.
	"$CTL" -d "$C" init --force --listen 127.0.0.13:0 --no-lan >/dev/null
	sed -i 's/^#user = peernet$/user = nosuchuser/' "$C/peernet.conf"
	out=$(timeout 30 "$CTL" -d "$C" up 2>&1); rc=$?
	[ $rc -eq 1 ] && grep -q "user 'nosuchuser' does not exist" <<<"$out" &&
	    t_pass missing_user_clear_error || t_fail missing_user_clear_error "rc=$rc: $out"
	"$CTL" -d "$C" down >/dev/null 2>&1
else
	t_skip missing_user_clear_error "not root: no privilege drop is attempted"
fi
cp "$C/good.conf" "$C/peernet.conf"
mkdir -p "$C/run"
echo 999999 > "$C/run/netd.lock"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$C/run/storaged.sock"
out=$(timeout 20 "$CTL" -d "$C" status 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "storaged is not running" <<<"$out" &&
    t_pass stale_socket_is_not_running || t_fail stale_socket_is_not_running "rc=$rc: $out"
t_check up_over_stale_lock_and_socket timeout 30 "$CTL" -d "$C" up
t_check down_after_stale timeout 30 "$CTL" -d "$C" down
out=$(timeout 20 "$CTL" -d "$C" frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown verb" <<<"$out" && t_pass unknown_verb_exit_2 ||
    t_fail unknown_verb_exit_2 "rc=$rc: $out"
t_check help_exits_0 "$CTL" status --help
