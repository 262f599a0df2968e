#!/bin/sh
# Install mactable as libvirt's qemu hook on this host. Run as root from the source directory.
#
#   ./install.sh [--prefix DIR] [--hooks-dir DIR] [--bin-dir DIR] [--force] [--dry-run]
#   ./install.sh --uninstall [--prefix DIR] [--dry-run]
#
# --prefix DIR      where the program goes (default /usr/local/lib/mactable)
# --hooks-dir DIR   libvirt's hooks directory (default /etc/libvirt/hooks); the config is
#                   DIR/../mactable.json (default /etc/libvirt/mactable.json)
# --bin-dir DIR     where the `mactable` command goes (default /usr/local/bin)
# --force           move a qemu hook that mactable did not install aside instead of stopping
# --dry-run         print what would be done, do nothing
# --uninstall       remove exactly what install.sh installed; the config stays
# --libvirt-version V   take libvirt's version as V instead of asking libvirtd/virqemud
set -eu

PREFIX=/usr/local/lib/mactable
HOOKS_DIR=/etc/libvirt/hooks
BIN_DIR=/usr/local/bin
FORCE=no
DRY=no
ACTION=install
LIBVIRT_VERSION=
NODE=
MARKER='# installed by mactable install.sh'
CHANGED=no

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --hooks-dir) HOOKS_DIR=${2:?--hooks-dir needs a directory}; shift 2 ;;
    --bin-dir) BIN_DIR=${2:?--bin-dir needs a directory}; shift 2 ;;
    --libvirt-version) LIBVIRT_VERSION=${2:?--libvirt-version needs a version}; shift 2 ;;
    --force) FORCE=yes; shift ;;
    --dry-run) DRY=yes; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see ./install.sh --help)" ;;
  esac
done

SRC=$(cd "$(dirname "$0")" && pwd)
# The oldest Node.js mactable runs on, from package.json's engines (">=18.19"); doctor reads the same.
MIN_NODE=$(sed -n 's/^ *"node": ">=\([0-9.]*\)".*/\1/p' "$SRC/package.json")
CONFIG="$(dirname "$HOOKS_DIR")/mactable.json"
MANIFEST="$PREFIX/installed-files"

# Carry out a change, or in a dry run only say it.
act() {
  CHANGED=yes
  if [ "$DRY" = yes ]; then say "would: $*"; else "$@"; fi
}

# Install a file unless the same content is already there; record it, and each directory
# made for it, in the manifest (directories as "dir PATH", deepest first).
put() { # SOURCE DEST MODE
  dir=$(dirname "$2")
  while [ ! -d "$dir" ]; do
    INSTALLED="${INSTALLED}dir $dir
"
    dir=$(dirname "$dir")
  done
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    say "unchanged: $2"
  else
    act install -D -m "$3" -o root -g root "$1" "$2"
    say "installed: $2"
  fi
  INSTALLED="$INSTALLED$2
"
}

# True when FILE carries our marker, i.e. install.sh put it there.
ours() { [ -f "$1" ] && grep -qF "$MARKER" "$1"; }

# VERSION >= MINIMUM, compared as dotted numbers.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

uninstall() {
  [ "$(id -u)" = 0 ] || die "run as root: it removes files from $PREFIX and $HOOKS_DIR"
  [ -f "$MANIFEST" ] || die "nothing to uninstall: no $MANIFEST"
  grep -v '^dir ' "$MANIFEST" | while IFS= read -r file; do
    if [ ! -e "$file" ]; then
      say "already gone: $file"
    elif [ "$file" = "$PREFIX/dist/mactable.mjs" ] || ours "$file"; then
      act rm -f "$file"
      say "removed: $file"
    else
      say "kept: $file (changed since install.sh put it there)"
    fi
  done
  # Directories install.sh made, deepest first, while empty.
  dirs=$(sed -n 's/^dir //p' "$MANIFEST" | awk '{ print gsub("/", "/"), $0 }' | sort -rn | cut -d ' ' -f 2-)
  act rm -f "$MANIFEST"
  printf '%s\n' "$dirs" | while IFS= read -r dir; do
    [ -n "$dir" ] && [ -d "$dir" ] || continue
    if act rmdir "$dir" 2> /dev/null; then say "removed: $dir"; else say "kept: $dir (it holds other files)"; fi
  done
  [ ! -e "$CONFIG" ] || say "kept: $CONFIG (your config)"
  say "libvirt stops running the hook at its next start or reload (systemctl reload libvirtd, or kill -HUP the daemon)."
}

check_host() {
  [ "$(id -u)" = 0 ] || die "run as root: it installs into $PREFIX and $HOOKS_DIR"
  [ -n "$NODE" ] || NODE=$(command -v node) || die "Node.js is missing: install Node.js $MIN_NODE or newer (apt-get install nodejs on Debian 12 or later)"
  [ -x "$NODE" ] || die "Node.js is missing: $NODE is not an executable"
  version_ge "$("$NODE" -p process.versions.node)" "$MIN_NODE" ||
    die "Node.js $("$NODE" --version) at $NODE is too old: mactable needs $MIN_NODE or newer"
  command -v npm > /dev/null || die "npm is missing: install npm (it builds mactable)"
  command -v bridge > /dev/null || [ -x /usr/sbin/bridge ] || [ -x /sbin/bridge ] ||
    die "iproute2's bridge command is missing: apt-get install iproute2"
  if [ -z "$LIBVIRT_VERSION" ]; then
    for daemon in libvirtd virtqemud; do
      LIBVIRT_VERSION=$("$daemon" --version 2> /dev/null | awk '{ print $NF }') && [ -n "$LIBVIRT_VERSION" ] && break
    done
  fi
  [ -n "$LIBVIRT_VERSION" ] || die "libvirt is missing: neither libvirtd --version nor virtqemud --version answers"
  [ -d "$(dirname "$HOOKS_DIR")" ] || die "libvirt's configuration directory $(dirname "$HOOKS_DIR") is missing"
  case "$NODE$PREFIX" in *\'*) die "paths with a single quote cannot go into the hook: $NODE, $PREFIX" ;; esac
}

# libvirt >= 6.5.0 runs every executable in qemu.d; older ones only hooks/qemu, which may be someone else's.
hook_path() {
  if version_ge "$LIBVIRT_VERSION" 6.5.0; then HOOK="$HOOKS_DIR/qemu.d/mactable"; else HOOK="$HOOKS_DIR/qemu"; fi
  if [ -e "$HOOK" ] && ! ours "$HOOK"; then
    [ "$FORCE" = yes ] || die "$HOOK is a hook mactable did not install; it is left alone. Merge the two by hand, or run with --force to move it aside."
    SAVED="$HOOK.before-mactable.$(date +%Y%m%d%H%M%S)"
    act mv "$HOOK" "$SAVED"
    say "moved aside: $HOOK -> $SAVED"
  fi
}

install_all() {
  check_host
  hook_path
  say "building mactable in $SRC"
  if [ "$DRY" = yes ]; then
    say "would: npm ci && npm run build"
  else
    # npm ci only when node_modules is missing or does not match the lock file.
    (cd "$SRC" && { npm ls --depth=0 > /dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error > /dev/null; } && npm run --silent build) ||
      die "the build failed (npm ci, npm run build in $SRC)"
  fi

  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  sed -e "s|@NODE@|$NODE|g" -e "s|@PREFIX@|$PREFIX|g" "$SRC/hooks/qemu" > "$WORK/hook"
  printf '#!/bin/sh\n%s\nexec %s %s "$@"\n' "$MARKER" "'$NODE'" "'$PREFIX/dist/mactable.mjs'" > "$WORK/mactable"

  # Directories an earlier run made stay on record; the manifest is sorted so a rerun rewrites nothing.
  INSTALLED=$(sed -n '/^dir /p' "$MANIFEST" 2> /dev/null || true)
  [ -z "$INSTALLED" ] || INSTALLED="$INSTALLED
"
  put "$SRC/dist/mactable.mjs" "$PREFIX/dist/mactable.mjs" 0644
  put "$WORK/mactable" "$BIN_DIR/mactable" 0755
  put "$WORK/hook" "$HOOK" 0755
  printf '%s' "$INSTALLED" | sort -u > "$WORK/manifest"
  put "$WORK/manifest" "$MANIFEST" 0644

  if [ -e "$CONFIG" ]; then
    say "kept: $CONFIG"
  else
    act install -m 0644 -o root -g root "$SRC/hooks/mactable.json.example" "$CONFIG"
    say "installed: $CONFIG (an example: lists are empty, every key explained under \"//\")"
  fi

  if [ "$CHANGED" = no ]; then
    say "nothing changed: mactable is installed and up to date"
  else
    say "next: libvirt notices a new hook at its next start or reload: systemctl reload libvirtd (or virtqemud), or kill -HUP the daemon."
    say "then check a running guest: mactable plan /run/libvirt/qemu/GUEST.xml"
  fi
}

if [ "$ACTION" = uninstall ]; then uninstall; else install_all; fi
