#!/usr/bin/env bash
# scripts/install.sh DESTDIR PREFIX BUILD — installs binaries, man pages,
# systemd units (with the binary path filled in), sysusers.d and tmpfiles.d.
set -eu
cd "$(dirname "$0")/.."
DESTDIR=$1 PREFIX=$2 B=$3
bindir="$PREFIX/bin"
install -d "$DESTDIR$bindir" "$DESTDIR$PREFIX/share/man/man5" "$DESTDIR$PREFIX/share/man/man8" \
    "$DESTDIR/lib/systemd/system" "$DESTDIR/usr/lib/sysusers.d" "$DESTDIR/usr/lib/tmpfiles.d"
install -m 0755 "$B"/bin/peernet-netd "$B"/bin/peernet-storaged "$B"/bin/peernet-searchd \
    "$B"/bin/peernetctl "$DESTDIR$bindir/"
for m in man/*.5; do [ -f "$m" ] && install -m 0644 "$m" "$DESTDIR$PREFIX/share/man/man5/"; done
for m in man/*.8; do [ -f "$m" ] && install -m 0644 "$m" "$DESTDIR$PREFIX/share/man/man8/"; done
for u in systemd/*.service systemd/*.target; do
	[ -f "$u" ] || continue
	sed "s|@BINDIR@|$bindir|g" "$u" > "$DESTDIR/lib/systemd/system/$(basename "$u")"
	chmod 0644 "$DESTDIR/lib/systemd/system/$(basename "$u")"
done
[ -f systemd/peernet.sysusers.conf ] &&
    install -m 0644 systemd/peernet.sysusers.conf "$DESTDIR/usr/lib/sysusers.d/peernet.conf"
[ -f systemd/peernet.tmpfiles.conf ] &&
    install -m 0644 systemd/peernet.tmpfiles.conf "$DESTDIR/usr/lib/tmpfiles.d/peernet.conf"
echo "installed into ${DESTDIR:-/}$PREFIX"
