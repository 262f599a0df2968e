#!/bin/sh
# Install mactable as libvirt's qemu hook on this host. Run as root from the source directory.
#
#   ./install.sh [--prefix DIR] [--hooks-dir DIR] [--bin-dir DIR] [--man-dir DIR] [--unit-dir DIR] [--node FILE] [--force] [--dry-run]
#   ./install.sh --uninstall [--prefix DIR] [--dry-run]
#   ./install.sh --destdir DIR [--prefix DIR] [--bin-dir DIR] [--man-dir DIR] --node FILE
#
# --prefix DIR      where the program goes (default /usr/local/lib/mactable)
# --hooks-dir DIR   libvirt's hooks directory (default /etc/libvirt/hooks); the config is
#                   DIR/../mactable.json (default /etc/libvirt/mactable.json)
# --bin-dir DIR     where the `mactable` command goes (default /usr/local/bin)
# --man-dir DIR     where the mactable(8) man page goes (default: BIN_DIR/../share/man/man8)
# --unit-dir DIR    where the watcher's mactable.service goes (default /etc/systemd/system; with
#                   --destdir /usr/lib/systemd/system); enabled and started when systemd is the init
# --node FILE       the Node.js the hook and the command run (default: node on PATH)
# --force           move a qemu hook that mactable did not install aside instead of stopping
# --dry-run         print what would be done, do nothing
# --uninstall       remove exactly what install.sh installed; the config stays
# --libvirt-version V   take libvirt's version as V instead of asking libvirtd/virqemud
# --destdir DIR     stage the same files below DIR for a package (packaging/debian/build.sh): no host
#                   checks, no manifest, the man page gzipped, the example config always, and the
#                   hook as PREFIX/hooks/qemu, which the package's postinst puts into qemu.d
set -eu

PREFIX=/usr/local/lib/mactable
HOOKS_DIR=/etc/libvirt/hooks
BIN_DIR=/usr/local/bin
MAN_DIR=
UNIT_DIR=
DESTDIR=
OWNER='-o root -g root'
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
    --man-dir) MAN_DIR=${2:?--man-dir needs a directory}; shift 2 ;;
    --node) NODE=${2:?--node needs the path of Node.js}; shift 2 ;;
    --destdir) DESTDIR=${2:?--destdir needs a directory}; OWNER=; shift 2 ;;
    --libvirt-version) LIBVIRT_VERSION=${2:?--libvirt-version needs a version}; shift 2 ;;
    --force) FORCE=yes; shift ;;
    --dry-run) DRY=yes; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    --unit-dir) UNIT_DIR=${2:?--unit-dir needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see ./install.sh --help)" ;;
  esac
done

SRC=$(cd "$(dirname "$0")" && pwd)
# The oldest Node.js mactable runs on, from package.json's engines (">=18.19"); doctor reads the same.
MIN_NODE=$(sed -n 's/^ *"node": ">=\([0-9.]*\)".*/\1/p' "$SRC/package.json")
CONFIG="$(dirname "$HOOKS_DIR")/mactable.json"
MANIFEST="$PREFIX/installed-files"
[ -n "$MAN_DIR" ] || MAN_DIR="$(dirname "$BIN_DIR")/share/man/man8"
if [ -z "$UNIT_DIR" ]; then
  if [ -n "$DESTDIR" ]; then UNIT_DIR=/usr/lib/systemd/system; else UNIT_DIR=/etc/systemd/system; fi
fi
UNIT="$UNIT_DIR/mactable.service"
# systemd is the init (not only installed): then the watcher runs as its service.
systemd_runs() { [ -d /run/systemd/system ] && [ "$UNIT_DIR" = /etc/systemd/system ]; }
NL=$(printf '\n_')
NL=${NL%_}

# Paths are written into the hook and the command between single quotes, and into the
# line-based manifest: any path works but a relative one, a newline, a single quote in the
# hook's two paths, and a backslash in the prefix (Node.js refuses to load such a module).
check_paths() {
  for path in "$PREFIX" "$HOOKS_DIR" "$BIN_DIR" "$MAN_DIR" "$UNIT_DIR" "$NODE" ${DESTDIR:+"$DESTDIR"}; do
    case "$path" in
      *"$NL"*) die "a path with a newline cannot be recorded: $(printf '%s' "$path" | tr '\n' ' ')" ;;
      /*) ;;
      *) die "paths must be absolute: $path" ;;
    esac
  done
  case "$NODE$PREFIX" in *\'*) die "paths with a single quote cannot go into the hook: $NODE, $PREFIX" ;; esac
  case "$PREFIX" in *\\*) die "Node.js cannot load a program from a path with a backslash: $PREFIX" ;; esac
}

# The hook template with @NODE@ and @PREFIX@ replaced, in one pass and literally (no sed: a
# path may hold | & \ or @).
fill_template() { # TEMPLATE > OUTPUT
  MT_NODE=$NODE MT_PREFIX=$PREFIX awk '{
    out = ""
    while (match($0, /@(NODE|PREFIX)@/)) {
      out = out substr($0, 1, RSTART - 1) (RLENGTH == 6 ? ENVIRON["MT_NODE"] : ENVIRON["MT_PREFIX"])
      $0 = substr($0, RSTART + RLENGTH)
    }
    print out $0
  }' "$1"
}

# Carry out a change, or in a dry run only say it.
act() {
  CHANGED=yes
  if [ "$DRY" = yes ]; then say "would: $*"; else "$@"; fi
}

# Install a file unless the same content is already there; record it, and each directory
# made for it, in the manifest (directories as "dir PATH", deepest first). With --destdir the
# file goes below DESTDIR, owned by whoever runs this (dpkg-deb --root-owner-group makes it root's).
put() { # SOURCE DEST MODE
  dir=$(dirname "$2")
  while [ "$dir" != / ] && [ ! -d "$DESTDIR$dir" ]; do
    INSTALLED="${INSTALLED}dir $dir
"
    dir=$(dirname "$dir")
  done
  if [ -f "$DESTDIR$2" ] && cmp -s "$1" "$DESTDIR$2"; then
    say "unchanged: $DESTDIR$2"
  else
    # shellcheck disable=SC2086 # OWNER is two options or none
    act install -D -m "$3" $OWNER "$1" "$DESTDIR$2"
    say "installed: $DESTDIR$2"
  fi
  INSTALLED="$INSTALLED$2
"
}

# True when FILE carries our marker, i.e. install.sh put it there.
ours() { [ -f "$1" ] && grep -qF "$MARKER" "$1"; }

# True for files install.sh made whole, which carry no marker: the build's files and the man page.
owned() {
  case "$1" in
    "$PREFIX"/dist/* | */man8/mactable.8) return 0 ;;
    *) return 1 ;;
  esac
}

# VERSION >= MINIMUM, compared as dotted numbers.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

uninstall() {
  [ "$(id -u)" = 0 ] || die "run as root: it removes files from $PREFIX and $HOOKS_DIR"
  [ -f "$MANIFEST" ] || die "nothing to uninstall: no $MANIFEST"
  if systemd_runs && ours "$UNIT"; then act systemctl disable --now mactable.service; fi
  grep -v '^dir ' "$MANIFEST" | while IFS= read -r file; do
    if [ ! -e "$file" ]; then
      say "already gone: $file"
    elif owned "$file" || ours "$file"; then
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
  if systemd_runs; then act systemctl daemon-reload; fi
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
  check_paths
}

# libvirt >= 6.5.0 runs every executable in qemu.d; older ones only hooks/qemu, which may be someone else's.
hook_path() {
  if [ -n "$DESTDIR" ]; then HOOK="$PREFIX/hooks/qemu"; return; fi
  if version_ge "$LIBVIRT_VERSION" 6.5.0; then HOOK="$HOOKS_DIR/qemu.d/mactable"; else HOOK="$HOOKS_DIR/qemu"; fi
  if [ -e "$HOOK" ] && ! ours "$HOOK"; then
    [ "$FORCE" = yes ] || die "$HOOK is a hook mactable did not install; it is left alone. Merge the two by hand, or run with --force to move it aside."
    SAVED="$HOOK.before-mactable.$(date +%Y%m%d%H%M%S)"
    act mv "$HOOK" "$SAVED"
    say "moved aside: $HOOK -> $SAVED"
  fi
}

install_all() {
  if [ -n "$DESTDIR" ]; then
    [ -n "$NODE" ] || die "--destdir needs --node: the path of Node.js on the hosts the package is for"
    check_paths
  else
    check_host
  fi
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
  fill_template "$SRC/hooks/qemu" > "$WORK/hook"
  fill_template "$SRC/packaging/mactable.service" > "$WORK/mactable.service"
  printf '#!/bin/sh\n%s\nexec %s %s "$@"\n' "$MARKER" "'$NODE'" "'$PREFIX/dist/mactable.mjs'" > "$WORK/mactable"

  # Directories an earlier run made stay on record; the manifest is sorted so a rerun rewrites nothing.
  INSTALLED=
  [ -n "$DESTDIR" ] || INSTALLED=$(sed -n '/^dir /p' "$MANIFEST" 2> /dev/null || true)
  [ -z "$INSTALLED" ] || INSTALLED="$INSTALLED
"
  # Every file the build makes (the lead bundle and any other), not the packages built next to them.
  for file in "$SRC"/dist/*.mjs "$SRC"/dist/*.cjs "$SRC"/dist/*.js; do
    if [ -f "$file" ]; then put "$file" "$PREFIX/dist/${file##*/}" 0644; fi
  done
  put "$WORK/mactable" "$BIN_DIR/mactable" 0755
  put "$WORK/hook" "$HOOK" 0755
  put "$WORK/mactable.service" "$UNIT" 0644
  if [ -n "$DESTDIR" ]; then
    gzip -9nc "$SRC/packaging/mactable.8" > "$WORK/mactable.8.gz"
    put "$WORK/mactable.8.gz" "$MAN_DIR/mactable.8.gz" 0644
    put "$SRC/packaging/mactable.json.example" "$CONFIG" 0644
    return
  fi
  put "$SRC/packaging/mactable.8" "$MAN_DIR/mactable.8" 0644
  printf '%s' "$INSTALLED" | sort -u > "$WORK/manifest"
  put "$WORK/manifest" "$MANIFEST" 0644

  if [ -e "$CONFIG" ]; then
    say "kept: $CONFIG"
  else
    # shellcheck disable=SC2086 # OWNER is two options
    act install -m 0644 $OWNER "$SRC/packaging/mactable.json.example" "$CONFIG"
    say "installed: $CONFIG (an example: lists are empty, every key explained under \"//\")"
  fi

  if systemd_runs; then
    # A new program or unit: the running watcher restarts on it.
    if [ "$CHANGED" = yes ] || ! systemctl is-active --quiet mactable.service; then
      act systemctl daemon-reload
      act systemctl enable mactable.service
      act systemctl restart mactable.service
      say "the watcher runs: systemctl status mactable"
    fi
  elif [ "$CHANGED" = yes ]; then
    say "no systemd here: start the watcher with your init system, e.g. $BIN_DIR/mactable watch >> /var/log/mactable.log 2>&1 &"
  fi

  if [ "$CHANGED" = no ]; then
    say "nothing changed: mactable is installed and up to date"
  else
    say "next: libvirt notices a new hook at its next start or reload: systemctl reload libvirtd (or virtqemud), or kill -HUP the daemon."
    say "then check a running guest: mactable plan /run/libvirt/qemu/GUEST.xml"
  fi
}

if [ "$ACTION" = uninstall ]; then uninstall; else install_all; fi
