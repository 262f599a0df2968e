#!/bin/sh
# npm run package: build dist/mactable_VERSION_all.deb. The files come from install.sh --destdir
# (one install layout for source installs and the package); this adds what Debian asks for.
# Tests build two versions of one tree (upgrade and downgrade): MACTABLE_DEB_VERSION names the package's
# version, with a changelog entry saying so, and MACTABLE_DEB_DIR where the .deb goes (dist/ by default).
set -eu
umask 022
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEB="$SRC/packaging/debian"
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$SRC/package.json")
MIN_NODE=$(sed -n 's/^ *"node": ">=\([0-9.]*\)".*/\1/p' "$SRC/package.json")
[ "$(sed -n '1s/^mactable (\(.*\)) .*/\1/p' "$DEB/changelog")" = "$VERSION" ] ||
  die "packaging/debian/changelog does not start with version $VERSION (package.json): add an entry"
TREE_VERSION=$VERSION
VERSION=${MACTABLE_DEB_VERSION:-$VERSION}

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT="$STAGE/root"
"$SRC/install.sh" --destdir "$ROOT" --prefix /usr/lib/mactable --bin-dir /usr/bin --man-dir /usr/share/man/man8 --node /usr/bin/node > /dev/null
# The hook's directory, so that it is there before libvirt is; dpkg removes it again once empty.
mkdir -p "$ROOT/etc/libvirt/hooks/qemu.d"

DOC="$ROOT/usr/share/doc/mactable"
mkdir -p "$DOC"
{
  if [ "$VERSION" != "$TREE_VERSION" ]; then
    printf 'mactable (%s) unstable; urgency=medium\n\n  * Test build of the %s tree.\n\n%s\n\n' "$VERSION" "$TREE_VERSION" "$(grep -m 1 '^ -- ' "$DEB/changelog")"
  fi
  cat "$DEB/changelog"
} | gzip -9n > "$DOC/changelog.gz"
# The npm packages the bundle holds, one "name version license" line each.
bundled=$(cd "$SRC" && npm ls --omit=dev --all --parseable | tail -n +2 | sort -u | while IFS= read -r dir; do
  sed -n -e 's/^  "name": "\(.*\)",$/\1/p' -e 's/^  "version": "\(.*\)",$/\1/p' -e 's/^  "license": "\(.*\)",$/\1/p' "$dir/package.json" | paste -sd ' '
done | sort -u | sed 's/^/ /')
awk -v bundled="$bundled" '$0 == "@BUNDLED@" { print bundled; next } { print }' "$DEB/copyright" > "$DOC/copyright"

mkdir -p "$ROOT/DEBIAN"
for script in postinst prerm postrm; do
  awk -v lib="$DEB/lib.sh" '$0 == "#MACTABLE_LIB#" { while ((getline line < lib) > 0) print line; next } { print }' "$DEB/$script" > "$ROOT/DEBIAN/$script"
  chmod 0755 "$ROOT/DEBIAN/$script"
done
find "$ROOT" -path "$ROOT/DEBIAN" -prune -o -type f -path "$ROOT/etc/*" -printf '/%P\n' > "$ROOT/DEBIAN/conffiles"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums)
size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f 1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@MIN_NODE@/$MIN_NODE/" -e "s/@INSTALLED_SIZE@/$size/" "$DEB/control" > "$ROOT/DEBIAN/control"

# Reproducible: every file dated by the last commit, or by SOURCE_DATE_EPOCH when set.
: "${SOURCE_DATE_EPOCH:=$(git -C "$SRC" log -1 --format=%ct 2> /dev/null || date +%s)}"
export SOURCE_DATE_EPOCH
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
OUT="${MACTABLE_DEB_DIR:-$SRC/dist}/mactable_${VERSION}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT" > /dev/null
echo "$OUT"
