#!/usr/bin/env bash
# scripts/install.sh DESTDIR PREFIX BUILD — installs the programs (daemons in
# PREFIX/sbin, peernetctl in PREFIX/bin), man pages, bash completion, the
# systemd units (paths filled in), sysusers.d, tmpfiles.d and the public seed
# list.  Units, sysusers.d and tmpfiles.d go where systemd looks for them:
# /lib/... for PREFIX=/usr (as Debian packages do), PREFIX/lib/... otherwise
# (/usr/local/lib/systemd/system is on systemd's search path).
# Installing into the live system (no DESTDIR, as root) also applies
# sysusers.d and tmpfiles.d and reloads systemd, so that
# `systemctl enable --now peernet.target` works right after.
set -eu
cd "$(dirname "$0")/.."
DESTDIR=$1 PREFIX=$2 B=$3
bindir="$PREFIX/bin" sbindir="$PREFIX/sbin"
if [ "$PREFIX" = /usr ]; then
	unitdir=/lib/systemd/system libdir=/usr/lib
else
	unitdir="$PREFIX/lib/systemd/system" libdir="$PREFIX/lib"
fi
compdir="$PREFIX/share/bash-completion/completions"
install -d "$DESTDIR$bindir" "$DESTDIR$sbindir" "$DESTDIR$PREFIX/share/man/man5" \
    "$DESTDIR$PREFIX/share/man/man8" "$DESTDIR$unitdir" "$DESTDIR$libdir/sysusers.d" \
    "$DESTDIR$libdir/tmpfiles.d" "$DESTDIR$PREFIX/share/peernet"
install -m 0755 "$B"/bin/peernet-netd "$B"/bin/peernet-storaged "$B"/bin/peernet-searchd \
    "$DESTDIR$sbindir/"
# peernet-apid (the web API) is opt-in at run time: api_listen, then
# `systemctl enable --now peernet-apid` (peernet-apid(8)).
[ -x "$B"/bin/peernet-apid ] && install -m 0755 "$B"/bin/peernet-apid "$DESTDIR$sbindir/"
install -m 0755 "$B"/bin/peernetctl "$DESTDIR$bindir/"
for m in man/*.5; do [ -f "$m" ] && install -m 0644 "$m" "$DESTDIR$PREFIX/share/man/man5/"; done
for m in man/*.8; do [ -f "$m" ] && install -m 0644 "$m" "$DESTDIR$PREFIX/share/man/man8/"; done
if [ -f ctl/peernetctl.bash-completion ]; then
	install -d "$DESTDIR$compdir"
	install -m 0644 ctl/peernetctl.bash-completion "$DESTDIR$compdir/peernetctl"
fi
for u in systemd/*.service systemd/*.target; do
	[ -f "$u" ] || continue
	sed "s|@SBINDIR@|$sbindir|g; s|@BINDIR@|$bindir|g" "$u" > "$DESTDIR$unitdir/$(basename "$u")"
	chmod 0644 "$DESTDIR$unitdir/$(basename "$u")"
done
install -m 0644 systemd/peernet.sysusers.conf "$DESTDIR$libdir/sysusers.d/peernet.conf"
install -m 0644 systemd/peernet.tmpfiles.conf "$DESTDIR$libdir/tmpfiles.d/peernet.conf"
install -m 0644 data/public-seeds.conf "$DESTDIR$PREFIX/share/peernet/public-seeds.conf"
install -d "$DESTDIR$PREFIX/share/peernet/www" && install -m 0644 apid/www/* "$DESTDIR$PREFIX/share/peernet/www/"
echo "installed into ${DESTDIR:-/}$PREFIX (units in $unitdir)"
if [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers "$libdir/sysusers.d/peernet.conf"
		systemd-tmpfiles --create "$libdir/tmpfiles.d/peernet.conf"
	else
		getent passwd peernet >/dev/null || useradd --system --user-group \
		    --home-dir /var/lib/peernet --shell /usr/sbin/nologin peernet
		install -d -m 0750 -o peernet -g peernet /var/lib/peernet /var/lib/peernet/run
	fi
	# Only where systemd is the running init (not in a chroot or container build).
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
		echo "next: systemctl enable --now peernet.target"
	fi
fi
