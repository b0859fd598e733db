#!/usr/bin/env bash
# secure.sh — the secure transport between two peernet nodes (docs/secure.md,
# issue #20), on the loopback of a private network namespace (run it under
# `unshare -n`: tcpdump listens on that lo).
#
# A and B (secure_transport left at its default, prefer) find each other,
# run the Noise IK handshake (`peers` shows "secure": "yes" at both ends)
# and B downloads a file full of a distinctive marker from A while tcpdump
# captures lo.  The capture holds no copy of the marker and no lite packet
# in clear: a plaintext transfer shows its 16-byte transfer ID at the head
# of every lite packet, so the most frequent 16-byte prefix of the UDP
# payloads is the transfer ID; here no prefix repeats.  The same exchange
# between C and D with secure_transport = off DOES show the marker and a
# prefix repeated in hundreds of datagrams (the check can fail).  From the
# capture, the session's key-confirmation DATA is sent to B again (replayed),
# with one bit flipped (tampered) and cut short (truncated): each is dropped
# and counted under its reason.  A node with secure_transport = require
# downloads from a reference-speaking fake peer (tests/tools/refpeer: no
# bit 4) in version 0, refusing nothing.  A ping from B reaches A inside the session
# (A's secure_opened grows: regular packets are sealed too).  udp_gso = no on these nodes so that the
# capture shows datagram by datagram (transfer.sh covers sealing with GSO).
. "$(dirname "$0")/lib.sh"

if ! command -v b3sum >/dev/null || ! command -v tcpdump >/dev/null; then
	t_skip all "b3sum or tcpdump is not installed (scripts/deps.sh)"; exit 0
fi
ip link set lo up 2>/dev/null
W=$(mktemp -d /tmp/peernet-secure.XXXXXX); TMPDIRS+=("$W")
SED_ON='s/^#udp_gso = yes/udp_gso = no/'
SED_OFF='s/^#udp_gso = yes/udp_gso = no/;s/^#secure_transport = prefer/secure_transport = off/'

counters() { "$CTL" -d "$1" status --json | jq -c '.. | objects | select(has("rx_lite")) '; }
counter() { counters "$1" | jq -r ".$2"; }
peer_secure() {	# dir node_id: the "secure" column of that peer
	"$CTL" -d "$1" peers --json | jq -r --arg n "$2" '.peers[] | select(.node_id == $n) | .secure'
}

secure_is() { [ "$(peer_secure "$1" "$2")" = "$3" ]; }	# dir node_id state
both_secure() { [ "$(peer_secure "$3" "$2")" = yes ] && [ "$(peer_secure "$1" "$4")" = yes ]; }

# pcap_check FILE MARKER: "marker_count top_prefix_count datagrams"
pcap_check() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys, collections
data = open(sys.argv[1], 'rb').read()
marker = sys.argv[2].encode()
magic = struct.unpack('<I', data[:4])[0]
le = magic in (0xa1b2c3d4, 0xa1b23c4d)
e = '<' if le else '>'
link = struct.unpack(e + 'I', data[20:24])[0]
off, prefixes, n, marks = 24, collections.Counter(), 0, 0
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    # DLT_EN10MB (lo under tcpdump) or Linux cooked capture
    l2 = 14 if link == 1 else 16 if link == 113 else 0
    ip = pkt[l2:]
    if not ip:
        continue
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        proto, payload = ip[9], ip[ihl:]
    elif ip[0] >> 4 == 6:
        proto, payload = ip[6], ip[40:]
    else:
        continue
    if proto != 17:
        continue
    udp = payload[8:]
    n += 1
    marks += udp.count(marker)
    if len(udp) >= 200:
        prefixes[udp[:16]] += 1
top = prefixes.most_common(1)[0][1] if prefixes else 0
print(marks, top, n)
EOF
}

# The key-confirmation DATA (33 bytes, type 4) from the capture, as hex, and its destination port.
pcap_confirm() {
	python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
e = '<' if struct.unpack('<I', data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
link = struct.unpack(e + 'I', data[20:24])[0]
off = 24
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[14 if link == 1 else 16 if link == 113 else 0:]
    if not ip or ip[0] >> 4 != 4 or ip[9] != 17:
        continue
    ihl = (ip[0] & 15) * 4
    udp = ip[ihl:]
    dst = '.'.join(str(b) for b in ip[16:20])
    dport = struct.unpack('>H', udp[2:4])[0]
    body = udp[8:]
    if len(body) == 33 and body[8] == 4:
        print(dst, dport, body.hex())
        break
EOF
}

send_udp() {	# ip port hex
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.sendto(bytes.fromhex(sys.argv[3]),(sys.argv[1],int(sys.argv[2])))' "$@"
}

# run_pair TAG SED IP1 IP2: two nodes, the second downloading a marker file from the first under capture.
run_pair() {
	local tag=$1 sed=$2 ip1=$3 ip2=$4 a b pa na nb h cap
	cap="$W/$tag.pcap"
	tcpdump -i lo -U -s 0 -w "$cap" udp >/dev/null 2>"$W/$tag.tcpdump" &
	TCPDUMP=$!
	sleep 1
	a=$(t_mkdir); b=$(t_mkdir)
	t_node_up "$a" "$ip1" "" "$sed" || { t_fail "${tag}_nodes_up" "A did not start"; return 1; }
	pa=$(peer_id "$a"); na=$(node_id "$a")
	t_node_up "$b" "$ip2" "$pa@$ip1:7001" "$sed" || { t_fail "${tag}_nodes_up" "B did not start"; return 1; }
	nb=$(node_id "$b")
	if ! wait_for 15 "$CTL" -d "$b" ping "$na"; then
		t_fail "${tag}_nodes_connected" "$("$CTL" -d "$b" peers 2>&1)"; return 1
	fi
	eval "${tag}_A=$a ${tag}_B=$b ${tag}_NA=$na ${tag}_NB=$nb"
	if [ "$tag" = secure ]; then
		if wait_for 15 both_secure "$a" "$na" "$b" "$nb"; then
			t_pass peers_show_secure_session
		else
			t_fail peers_show_secure_session "B: $(peer_secure "$b" "$na"), A: $(peer_secure "$a" "$nb")"
		fi
	else
		s=$(peer_secure "$b" "$na")
		[ "$s" = v0 ] && t_pass off_peers_show_v0 || t_fail off_peers_show_v0 "secure=$s"
	fi
	"$CTL" -d "$a" add "$W/marker" >/dev/null || { t_fail "${tag}_share" "add failed"; return 1; }
	h=$(b3sum --no-names "$W/marker")
	if "$CTL" -d "$b" get "$h" --from "$na" -o "$W/$tag.got" >/dev/null 2>"$W/$tag.err" &&
	    [ "$(b3sum --no-names "$W/$tag.got")" = "$h" ]; then
		t_pass "${tag}_transfer_complete"
	else
		t_fail "${tag}_transfer_complete" "$(cat "$W/$tag.err")"
	fi
	sleep 1
	kill "$TCPDUMP" 2>/dev/null; wait "$TCPDUMP" 2>/dev/null
}

# A file whose every 64 bytes carry the marker (4 MB: 16 fragments).
MARK="PNSECMARK$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BLOCKNAME="PNBLOCKNAME$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
python3 -c 'import sys; m=sys.argv[1].encode(); b=(m+b"."*(64-len(m)))*65536; open(sys.argv[2],"wb").write(b)' "$MARK" "$W/marker"

# --- secure (the default) ---
if run_pair secure "$SED_ON" 127.0.20.1 127.0.20.2; then
	read -r marks top n < <(pcap_check "$W/secure.pcap" "$MARK")
	[ "${n:-0}" -gt 100 ] && [ "$marks" = 0 ] && t_pass secure_capture_has_no_plaintext ||
	    t_fail secure_capture_has_no_plaintext "marker seen $marks times in $n datagrams"
	[ "${n:-0}" -gt 100 ] && [ "$top" -le 3 ] && t_pass secure_capture_has_no_transfer_id ||
	    t_fail secure_capture_has_no_transfer_id "a 16-byte prefix repeats in $top of $n datagrams"
	sealed=$(counter "$secure_A" secure_sealed); opened=$(counter "$secure_B" secure_opened)
	[ "$sealed" -gt 100 ] && [ "$opened" -gt 100 ] && t_pass secure_counters_sealed_opened ||
	    t_fail secure_counters_sealed_opened "A sealed $sealed, B opened $opened"

	# Replayed, tampered and truncated session DATA: dropped and counted.
	read -r dst dport hex < <(pcap_confirm "$W/secure.pcap")
	if [ -n "${hex:-}" ]; then
		if [ "$dst" = 127.0.20.1 ]; then R=$secure_A; else R=$secure_B; fi
		r0=$(counter "$R" drop_secure_replay); a0=$(counter "$R" drop_secure_auth)
		m0=$(counter "$R" drop_secure_malformed)
		send_udp "$dst" "$dport" "$hex"
		# A tampered copy under a fresh counter (else the replay check drops it first).
		tam=${hex:0:18}ff${hex:20:46}
		send_udp "$dst" "$dport" "$tam"
		send_udp "$dst" "$dport" "${hex:0:40}"
		sleep 1
		r1=$(counter "$R" drop_secure_replay); a1=$(counter "$R" drop_secure_auth)
		m1=$(counter "$R" drop_secure_malformed)
		[ $((r1 - r0)) -ge 1 ] && t_pass replayed_data_dropped_and_counted ||
		    t_fail replayed_data_dropped_and_counted "drop_secure_replay $r0 -> $r1"
		[ $((a1 - a0)) -ge 1 ] && t_pass tampered_data_dropped_and_counted ||
		    t_fail tampered_data_dropped_and_counted "drop_secure_auth $a0 -> $a1"
		[ $((m1 - m0)) -ge 1 ] && t_pass truncated_data_dropped_and_counted ||
		    t_fail truncated_data_dropped_and_counted "drop_secure_malformed $m0 -> $m1"
	else
		t_fail replayed_data_dropped_and_counted "no session DATA in the capture"
	fi
	# Regular packets travel inside the session too: a ping from B is opened by A.
	o0=$(counter "$secure_A" secure_opened)
	"$CTL" -d "$secure_B" ping "$secure_NA" >/dev/null 2>&1; sleep 0.5
	o1=$(counter "$secure_A" secure_opened)
	[ $((o1 - o0)) -ge 1 ] && t_pass ping_inside_session ||
	    t_fail ping_inside_session "A's secure_opened $o0 -> $o1"
	# The nodes still work after that: a second download.
	printf 'after the attack %s' "$MARK" > "$W/small"
	"$CTL" -d "$secure_A" add "$W/small" >/dev/null
	h=$(b3sum --no-names "$W/small")
	"$CTL" -d "$secure_B" get "$h" --from "$secure_NA" -o "$W/small.got" >/dev/null 2>&1 &&
	    cmp -s "$W/small" "$W/small.got" && t_pass transfer_after_attack ||
	    t_fail transfer_after_attack "second download failed"
	# B restarts (new keys, same identity): A finds out (its probe INIT goes
	# unanswered, or B's new offer shows a new key), a new session follows and
	# a download works, sealed.
	t0=$SECONDS
	"$CTL" -d "$secure_B" down >/dev/null 2>&1; "$CTL" -d "$secure_B" up >/dev/null 2>&1
	printf 'after the restart %s' "$MARK" > "$W/small2"
	"$CTL" -d "$secure_A" add "$W/small2" >/dev/null
	h=$(b3sum --no-names "$W/small2")
	if wait_for 30 "$CTL" -d "$secure_B" ping "$secure_NA" && wait_for 30 secure_is "$secure_B" "$secure_NA" yes &&
	    o0=$(counter "$secure_B" secure_opened) &&
	    "$CTL" -d "$secure_B" get "$h" --from "$secure_NA" -o "$W/small2.got" >/dev/null 2>"$W/small2.err" &&
	    cmp -s "$W/small2" "$W/small2.got" && [ "$(counter "$secure_B" secure_opened)" -gt "$o0" ]; then
		echo "# restart: a sealed download $((SECONDS - t0)) s after B went down; A's log: $(grep -o 'secure: [0-9a-f]* \(did not answer\|announced\).*' "$secure_A/log/netd.log" | tail -1)"
		t_pass restart_new_session
	else
		t_fail restart_new_session "B's view of A: $(peer_secure "$secure_B" "$secure_NA"); $(cat "$W/small2.err" 2>/dev/null)"
	fi
	# Now A restarts: B, the end holding A's offer, probes before it drops anything.
	t0=$SECONDS
	"$CTL" -d "$secure_A" down >/dev/null 2>&1; "$CTL" -d "$secure_A" up >/dev/null 2>&1
	if wait_for 30 "$CTL" -d "$secure_B" ping "$secure_NA" && wait_for 30 secure_is "$secure_B" "$secure_NA" yes &&
	    rm -f "$W/small2.got" && o0=$(counter "$secure_B" secure_opened) &&
	    "$CTL" -d "$secure_B" get "$h" --from "$secure_NA" -o "$W/small3.got" >/dev/null 2>"$W/small3.err"; then
		echo "# restart of A: B's ping, session and download $((SECONDS - t0)) s after A went down; B's log: $(grep -o 'secure: [0-9a-f]* \(did not answer\|announced\).*' "$secure_B/log/netd.log" | tail -1)"
		t_pass restart_of_offerer_new_session
	else
		t_fail restart_of_offerer_new_session "B's view of A: $(peer_secure "$secure_B" "$secure_NA"); $(cat "$W/small3.err" 2>/dev/null)"
	fi
fi

# --- secure_transport = off: the same capture shows the plaintext ---
if run_pair off "$SED_OFF" 127.0.21.1 127.0.21.2; then
	read -r marks top n < <(pcap_check "$W/off.pcap" "$MARK")
	[ "${marks:-0}" -gt 1000 ] && t_pass off_capture_shows_plaintext ||
	    t_fail off_capture_shows_plaintext "marker seen ${marks:-0} times in ${n:-0} datagrams"
	[ "${top:-0}" -gt 100 ] && t_pass off_capture_shows_transfer_id ||
	    t_fail off_capture_shows_transfer_id "top 16-byte prefix in ${top:-0} of ${n:-0} datagrams"
	s=$(counter "$off_A" secure_sealed)
	[ "$s" = 0 ] && t_pass off_seals_nothing || t_fail off_seals_nothing "sealed $s"
fi

# --- a download started at first contact waits for the handshake (SLINK_XFER_WAIT_MS) ---
# B asks A for the marker file the moment it is connected (the get is retried
# while it says "not connected").  The first two INITs each way are dropped
# (an nft quota), so without the wait the handshake would finish only with
# the second retry two seconds later, after the transfer began in plaintext.  The
# transfer waits (B's log says so), its INITs are repeated sooner while it
# waits, and it is sealed from its first lite packet: the capture holds no
# marker, no lite packet in clear, nothing was dropped as plaintext.
early_pair() {
	local a b pa na h cap="$W/early.pcap" st="" ok=0 i
	nft add table inet pnearly 2>/dev/null &&
	    nft add chain inet pnearly out '{ type filter hook output priority 0; }' &&
	    nft add rule inet pnearly out ip daddr 127.0.23.1 udp length 230 @th,128,8 1 quota until 550 bytes drop &&
	    nft add rule inet pnearly out ip daddr 127.0.23.2 udp length 230 @th,128,8 1 quota until 550 bytes drop ||
	    { t_skip early_transfer_waited "nft cannot filter here (run under unshare -n as root)"; return 1; }
	# No contact at all until the get loop runs: then the get starts at first contact.
	nft add table inet pnblock && nft add chain inet pnblock out '{ type filter hook output priority 0; }' &&
	    nft add rule inet pnblock out ip daddr 127.0.23.0/24 udp dport 7001 drop
	tcpdump -i lo -U -s 0 -w "$cap" udp >/dev/null 2>"$W/early.tcpdump" &
	TCPDUMP=$!
	sleep 1
	a=$(t_mkdir); b=$(t_mkdir)
	t_node_up "$a" 127.0.23.1 "" "$SED_ON" || { t_fail early_nodes_up "A did not start"; return 1; }
	# Shared under a name seen nowhere else: B fetches A's chain block
	# (which holds it) at first contact too, and that block transfer must
	# wait for the handshake like the file's.
	ln -f "$W/marker" "$W/$BLOCKNAME"
	"$CTL" -d "$a" add "$W/$BLOCKNAME" >/dev/null || { t_fail early_share "add failed"; return 1; }
	pa=$(peer_id "$a"); na=$(node_id "$a")
	h=$(b3sum --no-names "$W/marker")
	t_node_up "$b" 127.0.23.2 "$pa@127.0.23.1:7001" "$SED_ON" || { t_fail early_nodes_up "B did not start"; return 1; }
	for i in $(seq 1000); do
		[ "$i" = 2 ] && nft delete table inet pnblock
		st=$(peer_secure "$b" "$na")
		if "$CTL" -d "$b" get "$h" --from "$na" -o "$W/early.got" >/dev/null 2>"$W/early.err"; then
			ok=1; break
		fi
		grep -q "not connected" "$W/early.err" || break
		sleep 0.02
	done
	sleep 1
	kill "$TCPDUMP" 2>/dev/null; wait "$TCPDUMP" 2>/dev/null
	echo "# early: the get started after $i tries; B's view of A then: secure='${st:-unknown}'"
	echo "# early: INITs dropped: $(nft list table inet pnearly | grep -o 'used [0-9]* bytes' | tr '\n' ' ')"
	echo "# early: B's log: $(grep -o 'a transfer with .* waited .*' "$b/log/netd.log" | head -2 | tr '\n' ' ')"
	nft delete table inet pnearly
	if [ "$ok" = 1 ] && [ "$(b3sum --no-names "$W/early.got")" = "$h" ]; then
		t_pass early_transfer_complete
	else
		t_fail early_transfer_complete "$(cat "$W/early.err")"; return 1
	fi
	read -r names _ _ < <(pcap_check "$cap" "$BLOCKNAME")
	blocks=$("$CTL" -d "$b" cache --json | jq .files)
	echo "# early: B's cache of A's chain: ${blocks:-?} file(s); the file's name in $names datagrams"
	[ "${blocks:-0}" -ge 1 ] && [ "$names" = 0 ] && t_pass early_block_transfer_sealed ||
	    t_fail early_block_transfer_sealed "B's cache: ${blocks:-?} files; the name in $names datagrams"
	read -r marks top n < <(pcap_check "$cap" "$MARK")
	sa=$(counter "$a" secure_sealed); pb=$(counter "$b" drop_secure_plaintext)
	pa_=$(counter "$a" drop_secure_plaintext)
	echo "# early: marker $marks times, top prefix $top of $n datagrams; A sealed $sa"
	[ "$st" != yes ] && grep -q 'waited [0-9]* ms for the handshake: the session is up' "$b/log/netd.log" &&
	    t_pass early_transfer_waited ||
	    t_fail early_transfer_waited "B's view of A at the start: '$st'; log: $(grep 'waited' "$b/log/netd.log" | head -2)"
	[ "${n:-0}" -gt 100 ] && [ "$marks" = 0 ] && [ "$top" -le 3 ] && [ "$sa" -gt 100 ] &&
	    [ "$pb" = 0 ] && [ "$pa_" = 0 ] && t_pass early_transfer_sealed ||
	    t_fail early_transfer_sealed "marker $marks, top prefix $top of $n, A sealed $sa, plaintext drops A $pa_ B $pb"
}
early_pair

# --- require refuses a peer that offered the secure mode when no session can be made ---
# A path attacker drops every INIT between R1 (require) and R2 (prefer): the
# offers go through (R1's peers shows R2 as "no": capable, plaintext), the
# handshake never does.  R1's download from R2 waits SLINK_XFER_WAIT_MS, then
# is refused: peernetctl says why, secure_refused counts it, the log names the
# peer and the setting.  R2's download from R1 is refused by R1 too (R1 as the
# provider).  The same pair without the filter transfers sealed.
if command -v nft >/dev/null && nft add table inet pnsec 2>/dev/null &&
    nft add chain inet pnsec out '{ type filter hook output priority 0; }' &&
    nft add rule inet pnsec out ip daddr 127.0.24.0/24 udp length 230 @th,128,8 1 drop; then
	R1=$(t_mkdir); R2=$(t_mkdir)
	t_node_up "$R2" 127.0.24.2 "" "$SED_ON"
	p2=$(peer_id "$R2"); n2=$(node_id "$R2")
	t_node_up "$R1" 127.0.24.1 "$p2@127.0.24.2:7001" 's/^#udp_gso = yes/udp_gso = no/;s/^#secure_transport = prefer/secure_transport = require/'
	n1=$(node_id "$R1")
	printf 'refused unless sealed %s' "$MARK" > "$W/req"
	printf 'not served unless sealed %s' "$MARK" > "$W/req_b"
	"$CTL" -d "$R2" add "$W/req" >/dev/null; "$CTL" -d "$R1" add "$W/req_b" >/dev/null
	hq=$(b3sum --no-names "$W/req"); hqb=$(b3sum --no-names "$W/req_b")
	if wait_for 15 "$CTL" -d "$R1" ping "$n2" && wait_for 15 secure_is "$R1" "$n2" no; then
		sleep 2	# several INITs dropped
		"$CTL" -d "$R1" get "$hq" --from "$n2" -o "$W/req.got" >/dev/null 2>"$W/req.err"; rc=$?
		ref=$(counter "$R1" secure_refused); drops=$(nft list ruleset | grep -o 'packets [0-9]*' | head -1)
		echo "# require: get exit $rc, said: $(head -c 300 "$W/req.err"); secure_refused $ref; filter: ${drops:-no counter}"
		[ "$rc" != 0 ] && [ ! -s "$W/req.got" ] && grep -q "secure_transport = require" "$W/req.err" &&
		    [ "$ref" -ge 1 ] && t_pass require_refuses_plaintext_with_capable_peer ||
		    t_fail require_refuses_plaintext_with_capable_peer "get exit $rc, secure_refused $ref: $(cat "$W/req.err")"
		grep -q "refusing a plaintext transfer with .*secure_transport = require" "$R1/log/netd.log" &&
		    t_pass require_refusal_logged || t_fail require_refusal_logged "no log line in $R1/log/netd.log"
		"$CTL" -d "$R2" get "$hqb" --from "$n1" -o "$W/req2.got" >/dev/null 2>"$W/req2.err"; rc=$?
		ref2=$(counter "$R1" secure_refused)
		echo "# require as provider: get exit $rc, said: $(head -c 200 "$W/req2.err"); R1 secure_refused $ref2"
		[ "$rc" != 0 ] && [ "$ref2" -gt "$ref" ] && t_pass require_refuses_as_provider ||
		    t_fail require_refuses_as_provider "get exit $rc, R1 secure_refused $ref -> $ref2"
		# The path is clean again: the handshake (after its back-off) and a sealed transfer.
		nft delete table inet pnsec
		if wait_for 40 secure_is "$R1" "$n2" yes &&
		    "$CTL" -d "$R1" get "$hq" --from "$n2" -o "$W/req3.got" >/dev/null 2>"$W/req3.err" &&
		    cmp -s "$W/req" "$W/req3.got"; then
			t_pass require_transfers_once_session_up
		else
			t_fail require_transfers_once_session_up "secure=$(peer_secure "$R1" "$n2"): $(cat "$W/req3.err")"
		fi
	else
		t_fail require_refuses_plaintext_with_capable_peer "R1 never saw R2's offer: secure=$(peer_secure "$R1" "$n2")"
	fi
	nft delete table inet pnsec 2>/dev/null
else
	t_skip require_refuses_plaintext_with_capable_peer "nft cannot filter here (run under unshare -n as root)"
fi

# --- require never refuses a reference-speaking peer (no bit 4): version 0 as ever ---
RP="${PEERNET_TESTS:-$(dirname "$BIN")/tests}/refpeer"
if [ -x "$RP" ]; then
	Rq=$(t_mkdir)
	t_node_up "$Rq" 127.0.22.1 "" 's/^#secure_transport = prefer/secure_transport = require/'
	PR=$(peer_id "$Rq")
	head -c 300000 /dev/urandom > "$W/ref"
	hr=$(b3sum --no-names "$W/ref")
	"$RP" -b 127.0.22.9:0 -t 20 -l 1 serve "$PR" 127.0.22.1:7001 "$W/ref" \
	    > "$W/ref.json" 2> "$W/ref.err" &
	rp=$!
	nid=""
	for _ in $(seq 50); do
		nid=$(sed -n 's/^node_id //p' "$W/ref.err"); [ -n "$nid" ] && break; sleep 0.1
	done
	if [ -n "$nid" ] && wait_for 10 "$CTL" -d "$Rq" ping "$nid" &&
	    "$CTL" -d "$Rq" get "$hr" --from "$nid" -o "$W/ref.got" >/dev/null 2>&1 &&
	    cmp -s "$W/ref" "$W/ref.got"; then
		s=$(peer_secure "$Rq" "$nid"); ref=$(counter "$Rq" secure_refused)
		[ "$s" = v0 ] && [ "$ref" = 0 ] && t_pass require_serves_reference_peer_v0 ||
		    t_fail require_serves_reference_peer_v0 "peers says '$s', secure_refused $ref"
	else
		t_fail require_serves_reference_peer_v0 "download from the reference-like peer failed: $(cat "$W/ref.err" | head -3)"
	fi
	wait $rp 2>/dev/null
else
	t_skip require_serves_reference_peer_v0 "no $RP (make unit)"
fi
