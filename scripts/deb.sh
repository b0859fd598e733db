#!/usr/bin/env bash
# scripts/deb.sh [VERSION] — builds build/peernet_<version>_<arch>.deb with
# debhelper from a staging copy of the tree (dpkg-buildpackage writes beside
# the source directory: never outside build/), then runs lintian on it.
# VERSION (for upgrade tests) adds a changelog entry to the staged copy only.
set -eu
cd "$(dirname "$0")/.."
for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || { echo "deb: $t is missing: make deps" >&2; exit 1; }
done
ver=${1:-$(dpkg-parsechangelog -S Version)}
arch=$(dpkg --print-architecture)
stage=build/deb/peernet-$ver
rm -rf build/deb
mkdir -p "$stage"
# Tracked and new (not ignored) files, as they are in the work tree.
git ls-files -z -c -o --exclude-standard | xargs -0 cp --parents -t "$stage"
if [ "$ver" != "$(dpkg-parsechangelog -S Version)" ]; then
	{
		printf 'peernet (%s) unstable; urgency=medium\n\n  * Rebuild as %s.\n\n' "$ver" "$ver"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -S Maintainer)" "$(date -R)"
		cat debian/changelog
	} > "$stage/debian/changelog"
fi
echo "deb: dpkg-buildpackage -b -us -uc in $stage"
(cd "$stage" && DEB_BUILD_OPTIONS="parallel=$(nproc) terse" \
    dpkg-buildpackage -b -us -uc >../build.log 2>&1) || {
	tail -n 30 build/deb/build.log >&2
	echo "deb: build failed (log: build/deb/build.log)" >&2
	exit 1
}
deb=build/deb/peernet_${ver}_${arch}.deb
cp "$deb" build/
echo "deb: build/$(basename "$deb")"
# lintian: errors fail the target; warnings are shown.
if ! lintian --fail-on error --suppress-tags bad-distribution-in-changes-file "$deb"; then
	echo "deb: lintian reports errors" >&2
	exit 1
fi
echo "deb: lintian: no errors"
