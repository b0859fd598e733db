#!/usr/bin/env bash
# browser.sh — peernet-apid's web interface (apid/www) in a real browser:
# Debian's chromium driven headless by playwright-core (tests/browser, npm ci
# from the committed lockfile).  Two nodes on loopback, each with apid and an
# API key; A shares files with peernetctl (a text file, a short video made
# with ffmpeg, a file named "<img src=x onerror=alert(1)>"); the page on A and
# on B is checked screen by screen (tests/browser/test.js says what).  A third
# node C has no key.  Timings are printed here and held to the goals by
# bench/browser.sh.
# Screenshots are kept in $PEERNET_ARTEFACTS (default
# /tmp/peernet-browser-artefacts).  SKIP with the reason when chromium, node
# or the npm package cannot be had.
. "$(dirname "$0")/lib.sh"
APID="$BIN/peernet-apid"
KEY=3f6b1c2e-9d4a-4e7b-8c15-6a2d0e9f7b31
IPA=127.0.91.1 IPB=127.0.91.2 PORT=7001 HPORT=8114
ROOT=$PWD
TB="$ROOT/tests/browser"
ART=${PEERNET_ARTEFACTS:-/tmp/peernet-browser-artefacts}

for c in curl jq node; do
	command -v $c >/dev/null || { t_skip all "needs $c (scripts/deps.sh installs nodejs, npm)"; exit 0; }
done
[ -x "$APID" ] || { t_fail build "$APID missing"; exit 0; }
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ] && [ "$(id -u)" -eq 0 ] && [ -z "${PEERNET_NO_APT:-}" ]; then
	timeout 400 apt-get install -y chromium >/dev/null 2>&1
	CHROMIUM=$(command -v chromium || true)
fi
[ -n "$CHROMIUM" ] || { t_skip all "chromium is not installed and could not be (apt-get install chromium)"; exit 0; }
if [ ! -d "$TB/node_modules/playwright-core" ]; then
	command -v npm >/dev/null || { t_skip all "needs npm to install playwright-core"; exit 0; }
	(cd "$TB" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1) ||
		{ t_skip all "npm ci of playwright-core failed (no npm registry?)"; exit 0; }
fi

A=$(t_mkdir); B=$(t_mkdir)
W=$(mktemp -d /tmp/peernet-browser.XXXXXX); TMPDIRS+=("$W")
"$CTL" -d "$A" init --listen "$IPA:$PORT" --no-lan --no-upnp --no-natpmp >/dev/null
"$CTL" -d "$A" up >/dev/null || { t_fail up "A did not start"; exit 0; }
PA=$("$CTL" -d "$A" id --json | jq -r .peer_id)
NA=$("$CTL" -d "$A" id --json | jq -r .node_id)
"$CTL" -d "$B" init --listen "$IPB:$PORT" --root "$PA@$IPA:$PORT" --no-lan --no-upnp --no-natpmp >/dev/null
"$CTL" -d "$B" up >/dev/null || { t_fail up "B did not start"; exit 0; }

# C: no API key (loopback), so that its page takes search results over the
# websocket (a browser cannot put x-api-key on one).
C=$(t_mkdir); IPC=127.0.91.3
"$CTL" -d "$C" init --listen "$IPC:$PORT" --root "$PA@$IPA:$PORT" --no-lan --no-upnp --no-natpmp >/dev/null
"$CTL" -d "$C" up >/dev/null || { t_fail up "C did not start"; exit 0; }

# Files A shares: made here, so that nothing comes from the network.
SRC="$W/src"; mkdir -p "$SRC"
printf 'hello from the browser test %s\n' "$RANDOM" > "$SRC/browserhello.txt"
head -c 200000 /dev/urandom > "$SRC/browserdata.bin"
printf 'not a script\n' > "$SRC/<img src=x onerror=alert(1)>"
printf 'removed through the page\n' > "$SRC/browserremove.txt"
if command -v ffmpeg >/dev/null; then
	timeout 60 ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=4:size=160x120:rate=15 \
	    -c:v libvpx -b:v 200k -g 15 "$SRC/browserclip.webm" || rm -f "$SRC/browserclip.webm"
	# played on B straight from the search result: B never downloads it
	timeout 60 ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=duration=4:size=160x120:rate=15 \
	    -c:v libvpx -b:v 200k -g 15 "$SRC/browserremote.webm" || rm -f "$SRC/browserremote.webm"
fi
"$CTL" -d "$A" add "$SRC"/* >/dev/null || t_fail add "peernetctl add failed on A"
# uploaded through A's page (not added here)
UPLOAD="$W/browserupload.txt"
printf 'uploaded through the page %s %s\n' "$RANDOM" "$(date +%s%N)" > "$UPLOAD"
NB=$("$CTL" -d "$B" id --json | jq -r .node_id)

for n in A B; do
	d=${!n}; ip=$IPA; [ $n = B ] && ip=$IPB
	FD="$W/files$n"; mkdir -p "$FD"; chmod 777 "$FD"; chmod 755 "$W"
	printf '\n[apid]\napi_listen = %s:%s\napi_key = %s\napi_files_dir = %s\n' "$ip" "$HPORT" "$KEY" "$FD" >> "$d/peernet.conf"
	chmod 640 "$d/peernet.conf"
	PEERNET_WWW_DIR="$ROOT/apid/www" "$APID" -d "$d" -f 2>"$W/apid$n.log" &
	eval "APID_$n=\$!"
done
printf '\n[apid]\napi_listen = %s:%s\n' "$IPC" "$HPORT" >> "$C/peernet.conf"
PEERNET_WWW_DIR="$ROOT/apid/www" "$APID" -d "$C" -f 2>"$W/apidC.log" &
APID_C=$!
trap 'kill $APID_A $APID_B $APID_C 2>/dev/null; t_cleanup' EXIT
up() { curl -sf -H "x-api-key: $KEY" "http://$1:$HPORT/test" | grep -qx ok; }
wait_for 10 up $IPA || { t_fail apid_up "A: $(cat "$W/apidA.log")"; exit 0; }
wait_for 10 up $IPB || { t_fail apid_up "B: $(cat "$W/apidB.log")"; exit 0; }
URL="http://$IPA:$HPORT"
# B must know A's files before its page searches them.
finds() { "$CTL" -d "$B" search --json browserhello | jq -e '.results | length > 0' >/dev/null; }
wait_for 30 finds || echo "# B's search does not find A's file yet (the page's search case will say)"
upc() { curl -sf "http://$IPC:$HPORT/test" | grep -qx ok; }
findc() { "$CTL" -d "$C" search --json browserhello | jq -e '.results | length > 0' >/dev/null; }
if wait_for 10 upc && wait_for 30 findc; then export URL_C="http://$IPC:$HPORT"; fi

# --- api_static.c as a client sees it (no browser needed) ------------------------
hdr() { curl -s -D - -o "$W/body" "$@" | tr -d '\r'; }
h=$(hdr "$URL/")
if grep -q '^HTTP/1.1 200' <<<"$h" && grep -qi "^content-security-policy: default-src 'self'" <<<"$h" &&
    grep -qi '^content-type: text/html' <<<"$h" && grep -q '<script src="/?f=app.js"' "$W/body"; then
	t_pass static_index_without_key_with_csp
else
	t_fail static_index_without_key_with_csp "$h"
fi
etag=$(grep -i '^etag:' <<<"$h" | cut -d' ' -f2-)
s=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/?f=index.html")
[ -n "$etag" ] && [ "$s" = 304 ] && t_pass static_etag_304 || t_fail static_etag_304 "etag '$etag' -> $s"
ct=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL/?f=app.js")
[ "$ct" = "200 text/javascript; charset=utf-8" ] && t_pass static_js_type || t_fail static_js_type "$ct"
bad=0
for f in ../apid.h apid.c %2e%2e%2fapi_static.c /etc/passwd app.js%00 APP.JS .; do
	s=$(curl -s -o /dev/null -w '%{http_code}' "$URL/?f=$f")
	[ "$s" = 404 ] || { bad=1; echo "# /?f=$f -> $s"; }
done
[ $bad = 0 ] && t_pass static_only_fixed_names || t_fail static_only_fixed_names "a name outside the list was served"
s=$(curl -s -o /dev/null -w '%{http_code}' "$URL/app.js")
[ "$s" = 401 ] && t_pass static_other_paths_need_key || t_fail static_other_paths_need_key "$s"
s=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/")
[ "$s" = 401 ] && t_pass static_post_needs_key || t_fail static_post_needs_key "$s"

mkdir -p "$ART"
export URL_A="http://$IPA:$HPORT" URL_B="http://$IPB:$HPORT" KEY NODE_A="$NA" ART CHROMIUM
export SRC FILES_B="$W/filesB" UPLOAD CTL DIR_A="$A" NODE_B="$NB"
timeout 400 node "$TB/test.js"
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || t_fail run "test.js exited with status $rc"
echo "# screenshots in $ART"
