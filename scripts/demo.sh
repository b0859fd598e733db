#!/usr/bin/env bash
# scripts/demo.sh — the demo on embedded defaults, on loopback only
# (127.0.0.0/8; no LAN discovery, no UPnP, no public root peers).
#
# Three nodes: A is the root peer of B and C.  They find each other (peer
# exchange and the Kademlia DHT), A shares a file, C finds it by keyword
# (A's blockchain is fetched into C's cache with Get Block over UDT),
# downloads it from A (Transfer over UDT) and the hashes are compared.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
case "$B" in /*) CTL="$B/bin/peernetctl" ;; *) CTL="$PWD/$B/bin/peernetctl" ;; esac
WORK=$(mktemp -d /tmp/peernet-demo.XXXXXX)
chmod 755 "$WORK"
NA="$WORK/A" NB="$WORK/B" NC="$WORK/C"
cleanup() {
	for d in "$NA" "$NB" "$NC"; do "$CTL" -d "$d" down >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
DEMO_START=$(date +%s%N)
# Bold headings only on a terminal: no escape codes in pipes and logs.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
# The command echoed so that it can be pasted back into a shell: each
# argument quoted as the shell needs it (printf %q).
# peernetctl by name when that is the one on PATH, else by its path.
CTL_SHOWN=peernetctl
[ "$(command -v peernetctl 2>/dev/null)" = "$CTL" ] || CTL_SHOWN=$(printf '%q' "$CTL")
run() {
	local a line="\$ $CTL_SHOWN"
	for a in "$@"; do line+=" $(printf '%q' "$a")"; done
	printf '%s\n' "$line"
	"$CTL" "$@"
}
took() {
	local ms=$(( ($(date +%s%N) - DEMO_START) / 1000000 ))
	printf '\ndemo %s after %d.%03d s\n' "$1" $((ms / 1000)) $((ms % 1000))
}
trap 'rc=$?; took "$([ $rc = 0 ] && echo finished || echo "failed (exit $rc)")"; cleanup' EXIT

say "node A: the root peer, on 127.0.0.51:7100"
run -d "$NA" init --listen 127.0.0.51:7100 --no-lan --no-upnp --no-natpmp
run -d "$NA" up
PA=$("$CTL" -d "$NA" id --json | jq -r .peer_id)
say "nodes B and C, each with A as its only root peer"
run -d "$NB" init --listen 127.0.0.52:7100 --root "$PA@127.0.0.51:7100" --no-lan --no-upnp --no-natpmp
run -d "$NC" init --listen 127.0.0.53:7100 --root "$PA@127.0.0.51:7100" --no-lan --no-upnp --no-natpmp
run -d "$NB" up
run -d "$NC" up
sleep 1.5
say "C's peers (B was learned from A's answer to C's bootstrap)"
run -d "$NC" peers
NBID=$("$CTL" -d "$NB" id --json | jq -r .node_id)
say "C looks B up in the DHT and pings it"
run -d "$NC" find "$NBID"
run -d "$NC" ping "$NBID"
say "A shares a file"
F="$WORK/peernet-demo-Übersicht.txt"
{ echo "Peernet demo file"; date; head -c 200000 /dev/urandom | base64; } > "$F"
run -d "$NA" add --description "a file for the demo" "$F"
run -d "$NA" ls
say "A's keyword index finds it (case-insensitive, accents kept)"
run -d "$NA" search übersicht
say "B and C learn A's new chain at once (A announces it), fetch its blocks into their caches"
for i in $(seq 1 50); do
	[ "$("$CTL" -d "$NC" cache --json | jq .files)" -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
run -d "$NC" cache
say "C searches the network's keyword index for 'übersicht' and finds A's file"
run -d "$NC" search übersicht
H=$("$CTL" -d "$NC" search --json übersicht | jq -r '.results[0].hash // empty')
if [ -z "$H" ]; then
	echo "C did not find the file: the demo cannot go on" >&2
	exit 1
fi
say "C downloads it over UDT (lite packets) from the connected sharer its index names (A), and exports it"
OUT="$WORK/downloaded-by-C.txt"
run -d "$NC" get "$H" -o "$OUT"
say "the hashes match"
ORIG=$(b3sum --no-names "$F")
GOT=$(b3sum --no-names "$OUT")
echo "shared by A      $ORIG"
echo "found by C       $H"
echo "downloaded by C  $GOT"
if [ "$ORIG" = "$GOT" ] && [ "$H" = "$GOT" ]; then
	echo "hashes match"
else
	echo "HASH MISMATCH" >&2
	exit 1
fi
say "status of node C"
run -d "$NC" status

