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
