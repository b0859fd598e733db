#!/usr/bin/env bash
# scripts/demo.sh — the demo on embedded defaults, on loopback only.
# Today: a node is initialised, its three daemons start sandboxed, show their
# status and identity, and stop.  (The share -> search -> download story
# arrives with the storaged, searchd and transfer issues.)
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
CTL="$PWD/$B/bin/peernetctl"
DIR=$(mktemp -d /tmp/peernet-demo.XXXXXX)
chmod 755 "$DIR"
cleanup() { "$CTL" -d "$DIR" down >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "initialise a node in $DIR (loopback only, no LAN discovery, no UPnP)"
"$CTL" -d "$DIR" init --listen 127.0.0.1:0 --no-lan --no-upnp --no-natpmp
say "start its daemons"
"$CTL" -d "$DIR" up
sleep 1.2	# one link tick, so that the daemons have seen each other
say "status"
"$CTL" -d "$DIR" status
say "identity (created by netd on its first start)"
"$CTL" -d "$DIR" id
say "stop"
"$CTL" -d "$DIR" down
