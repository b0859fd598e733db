# scripts/rootfs.sh — sourced by scripts/fresh-machine.sh and tests/systemd/boot.sh:
# minimal Debian 12 roots made with debootstrap, cached as tarballs outside the
# repository, and a guarded teardown that never deletes through a mount.
#
#   rootfs_mirror                 the Debian mirror this machine's apt uses
#   rootfs_tarball VARIANT [PKGS] path of a cached debootstrap tarball (made on a miss)
#   rootfs_unpack TARBALL DIR     a fresh root from the tarball
#   rootfs_claim DIR / rootfs_reap  mark a root as this shell's; tear down roots
#                                 whose shell is gone (a run killed before its trap)
#   rootfs_mount DIR / rootfs_teardown DIR
#                                 proc, sys, dev, dev/pts, /run (tmpfs), the root bound
#                                 onto itself; teardown kills what runs inside, unmounts
#                                 everything below DIR and only then removes it
ROOTFS_CACHE=${PEERNET_CI_CACHE:-/var/cache/peernet-ci}
ROOTFS_SUITE=bookworm

# The mirror is read from apt's own view of its sources (works for both the
# one-line .list and the deb822 .sources formats): never a hard-coded host.
rootfs_mirror() {
	local m
	m=$(apt-cache policy 2>/dev/null |
	    awk -v s=" $ROOTFS_SUITE/main " 'index($0, s) && $2 ~ /^https?:/ { print $2; exit }')
	if [ -z "$m" ]; then
		echo "rootfs: no apt source for $ROOTFS_SUITE/main on this machine (apt-get update?)" >&2
		return 1
	fi
	echo "$m"
}

rootfs_tarball() {	# variant [comma-separated extra packages]
	local variant=$1 include=${2:-} mirror key tb tmp
	mirror=$(rootfs_mirror) || return 1
	key=$(printf '%s|%s|%s|%s|%s' "$ROOTFS_SUITE" "$(dpkg --print-architecture)" \
	    "$variant" "$include" "$mirror" | sha256sum | cut -c1-16)
	tb="$ROOTFS_CACHE/$ROOTFS_SUITE-$variant-$key.tar"
	if [ -s "$tb" ]; then
		echo "$tb"
		return 0
	fi
	mkdir -p "$ROOTFS_CACHE"
	tmp=$(mktemp -d "$ROOTFS_CACHE/debootstrap.XXXXXX")
	echo "rootfs: debootstrap --variant=$variant $ROOTFS_SUITE from $mirror${include:+ (+$include)}" >&2
	if ! debootstrap --variant="$variant" ${include:+--include="$include"} \
	    "$ROOTFS_SUITE" "$tmp/root" "$mirror" >"$tmp.log" 2>&1; then
		tail -n 20 "$tmp.log" >&2
		rootfs_teardown "$tmp/root"
		rm -rf "$tmp" "$tmp.log"
		return 1
	fi
	# Downloaded .debs are not part of a fresh machine.
	rm -rf "$tmp/root/var/cache/apt/archives/"*.deb
	tar -C "$tmp/root" -cf "$tb.part" . && mv "$tb.part" "$tb"
	rootfs_teardown "$tmp/root"
	rm -rf "$tmp" "$tmp.log"
	echo "$tb"
}

rootfs_unpack() {	# tarball dir
	mkdir -p "$2"
	tar -C "$2" -xf "$1"
}

# The host's apt configuration, so that apt inside the root reaches the same
# mirror the same way (sources, and Acquire settings such as those a snapshot
# mirror needs); DNS as the host resolves it.
rootfs_apt_like_host() {	# dir
	local d=$1 f
	cp /etc/resolv.conf "$d/etc/resolv.conf" 2>/dev/null || true
	if [ -f /etc/apt/sources.list ]; then
		cp /etc/apt/sources.list "$d/etc/apt/sources.list"
	else
		: > "$d/etc/apt/sources.list"
	fi
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && cp "$f" "$d/etc/apt/sources.list.d/"
	done
	for f in /etc/apt/apt.conf.d/*; do
		[ -f "$f" ] && grep -q '^Acquire::' "$f" && cp "$f" "$d/etc/apt/apt.conf.d/"
	done
	return 0
}

rootfs_claim() {	# dir
	echo "$$" > "$1.owner"
}

rootfs_reap() {
	local o d pid
	for o in "$ROOTFS_CACHE"/*.owner; do
		[ -f "$o" ] || continue
		d=${o%.owner}
		pid=$(cat "$o" 2>/dev/null)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			continue
		fi
		echo "rootfs: removing $d, left by a run that ended without cleaning up" >&2
		# A container still booted on it goes first.
		for p in $(pgrep -f "systemd-nspawn -D $d " 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		rootfs_teardown "$d" && rm -f "$o"
	done
}

rootfs_mount() {	# dir
	local d=$1
	mount --bind "$d" "$d"	# so that "/" inside is a mount point (mount --make-rslave /)
	mount -t proc proc "$d/proc"
	mount -t sysfs sysfs "$d/sys"
	mount --bind /dev "$d/dev"
	mount --bind /dev/pts "$d/dev/pts"
	mount -t tmpfs -o mode=0755 tmpfs "$d/run"
}

# Every mount point at or below dir, deepest first.
rootfs_mounts_below() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

rootfs_teardown() {	# dir
	local d=$1 p m i
	[ -n "$d" ] && [ -d "$d" ] || return 0
	d=$(realpath "$d")
	[ "$d" != / ] || return 1
	# Processes whose root is inside (daemons a test left behind).
	for i in 1 2 3; do
		local left=""
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" = "$d" ] && left="$left ${p#/proc/}"
		done
		[ -z "$left" ] && break
		kill -9 $left 2>/dev/null || true
		sleep 0.5
	done
	for i in 1 2 3; do
		m=$(rootfs_mounts_below "$d")
		[ -z "$m" ] && break
		for p in $m; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done
	done
	if [ -n "$(rootfs_mounts_below "$d")" ]; then
		echo "rootfs: still mounted below $d, not removing it:" >&2
		rootfs_mounts_below "$d" >&2
		return 1
	fi
	# --one-file-system as a second guard: never cross into a mount below.
	rm -rf --one-file-system "$d"
	rm -f "$d.owner"
}
