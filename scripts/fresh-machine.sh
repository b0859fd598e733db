#!/usr/bin/env bash
# scripts/fresh-machine.sh — the README's quick start on a brand-new Debian 12:
# a minimal bookworm root from debootstrap (cached outside the repository), git
# and make installed, this repository cloned, then exactly `make demo` and
# `make check` as root inside it.  Everything mounted is unmounted on every
# exit path.  Ends with make check's "N passed, N failed" line.
#   make fresh-check                  (root; PEERNET_CI_CACHE sets the cache dir)
#   KEEP_ROOT=1 scripts/fresh-machine.sh   leaves the root for a look afterwards
set -u
cd "$(dirname "$0")/.."
REPO=$PWD
. scripts/rootfs.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-machine: needs root (debootstrap, chroot, mounts)" >&2
	exit 1
fi
for t in debootstrap chroot git; do
	command -v "$t" >/dev/null || { echo "fresh-machine: $t is missing: make deps" >&2; exit 1; }
done
t0=$SECONDS
rootfs_reap
ROOT=$(mktemp -d "${ROOTFS_CACHE}/fresh.XXXXXX" 2>/dev/null) || {
	mkdir -p "$ROOTFS_CACHE" && ROOT=$(mktemp -d "$ROOTFS_CACHE/fresh.XXXXXX")
} || exit 1
cleanup() {
	if [ -n "${KEEP_ROOT:-}" ]; then
		echo "fresh-machine: root kept at $ROOT (unmount with: umount -R $ROOT)"
		return
	fi
	rootfs_teardown "$ROOT" || echo "fresh-machine: could not remove $ROOT" >&2
}
rootfs_claim "$ROOT"
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '=== fresh-machine: %s (%d s)\n' "$*" "$((SECONDS - t0))"; }

step "debootstrap (minbase; cached in $ROOTFS_CACHE)"
tb=$(rootfs_tarball minbase) || exit 1
rootfs_unpack "$tb" "$ROOT" || exit 1
rootfs_mount "$ROOT" || exit 1
rootfs_apt_like_host "$ROOT"
mkdir -p "$ROOT/mnt/src"
mount --bind -o ro "$REPO" "$ROOT/mnt/src" && mount -o remount,bind,ro "$ROOT/mnt/src"

in_root() {	# the environment of a root login shell, nothing of ours
	chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    /bin/bash -c "$1"
}

step "apt-get install git make"
in_root 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq git make >/dev/null' || exit 1
step "git clone"
in_root 'git config --global --add safe.directory /mnt/src/.git && git config --global --add safe.directory /mnt/src && git clone -q /mnt/src /root/peernet' || exit 1
umount "$ROOT/mnt/src"

step "make demo"
in_root 'cd /root/peernet && make demo' || { step "make demo FAILED"; exit 1; }
step "make check"
in_root 'cd /root/peernet && make check'
rc=$?
step "done (make check exit $rc)"
exit $rc
