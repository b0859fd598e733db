# tests/integration/lib.sh — helpers for integration scripts (sourced).
# Each case prints "PASS: suite/case", "FAIL: suite/case: why" or "SKIP: ...".
set -u
SUITE=$(basename "${BASH_SOURCE[1]}" .sh)
BIN=${PEERNET_BIN:-$PWD/build/bin}
CTL="$BIN/peernetctl"
# Directories to clean up are listed in a file: t_mkdir runs in $(...) subshells.
T_REGISTRY=$(mktemp /tmp/peernet-it-reg.XXXXXX)
# Network namespaces and root-namespace links a test created (t_netns, t_link).
T_NS_REGISTRY=$(mktemp /tmp/peernet-it-ns.XXXXXX)
TMPDIRS=()

t_pass() { echo "PASS: $SUITE/$1"; }
# What a failure quotes may be bytes from a node (a reply body, a log):
# control and non-ASCII bytes are shown as '?', so the report stays text
# (run.sh greps it) and nothing raw reaches the terminal; 4000 bytes at most.
t_text() { printf '%s' "$1" | LC_ALL=C tr -c '[:print:]\n\t' '?' | head -c 4000; }
t_fail() { echo "FAIL: $SUITE/$1: $(t_text "$2")"; }
t_skip() { echo "SKIP: $SUITE/$1: $(t_text "$2")"; }
# t_check NAME COND-COMMAND... : PASS if the command succeeds.
t_check() { local n=$1; shift; if "$@"; then t_pass "$n"; else t_fail "$n" "'$*' failed"; fi; }
# t_result NAME STATUS WHY : PASS if STATUS (a condition's $?) is 0, else FAIL WHY.
t_result() { if [ "$2" -eq 0 ]; then t_pass "$1"; else t_fail "$1" "$3"; fi; }

# A node that reaches others only through what the test gives it: listening on
# ADDR:PORT, an optional root peer, no LAN discovery, no port mapping.
t_init_node() {	# dir addr:port [root]
	if [ -n "${3:-}" ]; then
		"$CTL" -d "$1" init --listen "$2" --root "$3" --no-lan --no-upnp --no-natpmp >/dev/null
	else
		"$CTL" -d "$1" init --listen "$2" --no-lan --no-upnp --no-natpmp >/dev/null
	fi
}

# t_node_up DIR IP [ROOT] [SED]: t_init_node on IP:7001, its peernet.conf
# edited by the sed expression SED if given, then up.
t_node_up() {
	local d=$1 ip=$2 root=${3:-}
	t_init_node "$d" "$ip:7001" "$root"
	[ -z "${4:-}" ] || sed -i "$4" "$d/peernet.conf"
	"$CTL" -d "$d" up >/dev/null
}

# t_share DIR WORK TEXT NAME...: a file per NAME in WORK ("TEXT <n>"), all
# shared by DIR's node in one add.
t_share() {
	local d=$1 w=$2 text=$3 i=0 n
	shift 3
	for n in "$@"; do i=$((i + 1)); echo "$text $i" > "$w/$n"; done
	"$CTL" -d "$d" add "${@/#/$w/}" >/dev/null
}
# File names in four scripts (Latin with accents, Cyrillic, Japanese, plain
# with separators) that the search suites share and search for.
T_INTL_NAMES=(
	"Ünïcödé_Fïlé-Nämé.txt"
	"Привет_Мир-Документ.pdf"
	"東京タワー 夜景.jpg"
	"My_Holiday-Video (2021).mp4"
)
# t_search_names DIR TERM: the names DIR's search for TERM returns, sorted.
t_search_names() { "$CTL" -d "$1" search --json -- "$2" | jq -r '.results[].name' | sort; }

# peer_id DIR, node_id DIR: the node's IDs as peernetctl prints them.
peer_id() { "$CTL" -d "$1" id --json | jq -r .peer_id; }
node_id() { "$CTL" -d "$1" id --json | jq -r .node_id; }

t_mkdir() {	# a fresh node directory, removed at exit
	local d
	d=$(mktemp -d /tmp/peernet-it.XXXXXX)
	chmod 755 "$d"
	echo "$d" >> "$T_REGISTRY"
	echo "$d"
}

t_cleanup() {
	local d
	# Nodes stop in parallel: a test may leave dozens running.
	while read -r d; do
		[ -n "$d" ] && "$CTL" -d "$d" down >/dev/null 2>&1 &
	done < "$T_REGISTRY"
	wait
	while read -r d; do
		[ -n "$d" ] && rm -rf "$d"
	done < "$T_REGISTRY"
	for d in "${TMPDIRS[@]}"; do
		rm -rf "$d"
	done
	# Namespaces after the nodes: their daemons are stopped by now.
	while read -r d; do
		case "$d" in
		ns:*) ip netns pids "${d#ns:}" 2>/dev/null | xargs -r kill -9 2>/dev/null
		      ip netns del "${d#ns:}" 2>/dev/null ;;
		link:*) ip link del "${d#link:}" 2>/dev/null ;;
		esac
	done < "$T_NS_REGISTRY"
	rm -f "$T_REGISTRY" "$T_NS_REGISTRY"
}
trap t_cleanup EXIT

# t_need_root CASE: 0 when root with ip(8) and nft(8); otherwise prints a SKIP
# line with the reason for CASE and returns 1.
t_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		t_skip "$1" "needs root (network namespaces)"; return 1
	fi
	if ! command -v ip >/dev/null || ! command -v nft >/dev/null; then
		t_skip "$1" "needs ip(8) and nft(8) (iproute2, nftables)"; return 1
	fi
	if ! ip netns add "pn-probe-$$" 2>/dev/null; then
		t_skip "$1" "cannot create a network namespace here"; return 1
	fi
	ip netns del "pn-probe-$$"
	return 0
}

# t_netns NAME: creates namespace NAME (deleted at exit, with what runs in
# it) with loopback up.  Use a suite-specific prefix: suites may run one
# after another on the same machine, never concurrently.
t_netns() {
	ip netns del "$1" 2>/dev/null
	ip netns add "$1" || return 1
	echo "ns:$1" >> "$T_NS_REGISTRY"
	ip -n "$1" link set lo up
}

# t_link NAME: registers a link created in the root namespace for deletion.
t_link() { echo "link:$1" >> "$T_NS_REGISTRY"; }

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# t_node_id_in FILE: the node ID a test tool started in the background
# (refpeer serve) prints on stderr, "node_id HEX", once it is up; waits up
# to 5 s, prints nothing if it never came.
t_node_id_in() {
	local nid="" i
	for i in $(seq 50); do
		nid=$(sed -n 's/^node_id //p' "$1"); [ -n "$nid" ] && break; sleep 0.1
	done
	echo "$nid"
}

# t_refpeer_serve BIND PEER ADDR FILE OUT: $RP (tests/tools/refpeer.c) from
# BIND serving FILE as a reference peer to our node PEER at ADDR, in the
# background (20 s at most): RP_PID its pid, RP_NID its node ID once it is
# up ("" if it never came); its JSON report in OUT.json, stderr in OUT.err.
t_refpeer_serve() {
	"$RP" -b "$1" -t 20 -l 1 serve "$2" "$3" "$4" > "$5.json" 2> "$5.err" &
	RP_PID=$!
	RP_NID=$(t_node_id_in "$5.err")
}

# t_apid_up DIR ADDR:PORT KEY [CONF]: peernet-apid of node DIR serving ADDR:PORT
# with API key KEY, plus CONF (more "key = value\n" lines of [apid]);
# peernet.conf made 640 and of the daemons' group (the key is a secret, which
# SIGHUP re-reads).  Started in the background (APID_PID, its log in
# $W/apid.log, killed at exit); 0 once it answers /test.
t_apid_up() {
	local d=$1 listen=$2 key=$3
	printf '\n[apid]\napi_listen = %s\napi_key = %s\n%b' "$listen" "$key" "${4:-}" >> "$d/peernet.conf"
	chmod 640 "$d/peernet.conf"
	[ "$(id -u)" = 0 ] && chgrp --reference="$d/run" "$d/peernet.conf"
	"$BIN/peernet-apid" -d "$d" -f 2>"$W/apid.log" &
	APID_PID=$!
	trap 'kill $APID_PID 2>/dev/null; t_cleanup' EXIT
	wait_for 10 t_apid_answers "$listen" "$key"
}
t_apid_answers() { curl -sf -H "x-api-key: $2" "http://$1/test" | grep -qx ok; }
