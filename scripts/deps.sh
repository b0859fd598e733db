#!/usr/bin/env bash
# scripts/deps.sh — installs the Debian packages peernet needs (when root),
# otherwise prints the exact command and fails; then creates the system user
# the daemons drop to, from systemd/peernet.sysusers.conf.
set -eu
cd "$(dirname "$0")/.."
# Build: compiler, pkg-config, the libraries.  Tests: the tools the scripts in
# tests/ call (iproute2 and nftables for namespaces, jq, b3sum, xxd, bc, groff
# for the man-page check, python3, miniupnpd for the port-mapping test).
# Targets: clang + libclang-rt for make fuzz and check-san; debhelper, dpkg-dev
# and lintian for make deb; debootstrap and systemd-container (nspawn) for
# make fresh-check and make check-systemd; git for the fresh-machine clone;
# chromium, nodejs, npm and ffmpeg for the web interface's browser test;
# wrk and nginx for bench/apid.sh (nginx is the file-serving yardstick, started
# by the bench on a loopback port: its host service is disabled below);
# tcpdump for tests/integration/secure.sh (a capture of a secure transfer).
PKGS="build-essential pkg-config clang libclang-rt-14-dev
 libsodium-dev libssl-dev libsecp256k1-dev libnng-dev libsqlite3-dev sqlite3 libbsd-dev
 libcap-ng-dev libseccomp-dev libsystemd-dev libminiupnpc-dev libnatpmp-dev
 libinih-dev libjansson-dev libunistring-dev libmicrohttpd-dev nettle-dev curl b3sum iproute2 nftables systemd procps psmisc util-linux jq python3 bc
 xxd groff-base man-db file git ca-certificates tcpdump
 debhelper dpkg-dev lintian debootstrap systemd-container
 miniupnpd-nftables chromium nodejs npm ffmpeg wrk nginx"
# nodejs and npm (the browser test's playwright-core) are taken as present
# when their commands are: a machine with Node.js from elsewhere (a newer
# release) cannot install Debian's npm next to it.
cmd_of() { case $1 in nodejs) echo node ;; npm) echo npm ;; *) ;; esac; }
missing=""
for p in $PKGS; do
	c=$(cmd_of "$p")
	[ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && continue
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages:$missing" >&2
		echo "deps: run as root: apt-get install -y$missing" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# miniupnpd is only for tests/integration/portmap.sh, run inside a
	# namespace: no package may start a host-wide daemon (policy-rc.d 101).
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	apt-get update -qq || true
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ "$own_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	if command -v systemctl >/dev/null 2>&1 &&
	    systemctl list-unit-files miniupnpd.service 2>/dev/null | grep -q miniupnpd; then
		systemctl disable --now miniupnpd.service >/dev/null 2>&1 || true
	fi
	if command -v systemctl >/dev/null 2>&1 &&
	    systemctl list-unit-files nginx.service 2>/dev/null | grep -q nginx; then
		systemctl disable --now nginx.service >/dev/null 2>&1 || true
	fi
fi
# The system user and group the daemons drop to when started as root.
if [ "$(id -u)" -eq 0 ] && ! getent passwd peernet >/dev/null; then
	if command -v systemd-sysusers >/dev/null 2>&1 && [ -f systemd/peernet.sysusers.conf ]; then
		# An absolute path: systemd 252 looks relative names up in the
		# sysusers.d directories instead of the current directory.
		systemd-sysusers "$PWD/systemd/peernet.sysusers.conf"
	else
		useradd --system --user-group --home-dir /var/lib/peernet \
		    --shell /usr/sbin/nologin peernet
	fi
	echo "deps: created system user peernet"
fi
exit 0
