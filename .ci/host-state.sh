#!/usr/bin/env bash
# CI's production host, made on the machine after `apt install ./dist/mactable_*_all.deb`: an administrator's
# config, the machine's own libvirtd running a guest on a managed bridge, the watcher running.
#   start   make it          record  print what the tests must leave as it was          stop  take it down
#   clear   take down what an earlier run left when it was killed before its stop (its trap never ran)
set -euo pipefail

BRIDGE=ci-br0
GUEST=ci-guest
TAP=ci-vnet0
MAC=52:54:00:c1:00:01
CONFIG=/etc/libvirt/mactable.json
HOOK=/etc/libvirt/hooks/qemu.d/mactable
STATE=/run/mactable-ci # what CI started: pids, the watcher's log
VIRSH=(virsh -q -c qemu:///system)

# Poll a command for up to $1 seconds.
until_ok() {
  local seconds=$1
  shift
  for _ in $(seq $((seconds * 10))); do
    if "$@" > /dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "host-state: gave up after ${seconds} s waiting for: $*" >&2
  return 1
}

# The pid in a daemon's pid file when that process runs under that name, else nothing.
daemon_pid() {
  local pid
  pid=$(cat "/run/$1.pid" 2> /dev/null) || return 0
  if [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$1" ]; then echo "$pid"; fi
}

port_right() {
  bridge -d link show dev "$TAP" | grep -q 'learning off' && bridge fdb show br "$BRIDGE" brport "$TAP" | grep -q "^$MAC .*static"
}

start() {
  mkdir -p "$STATE"
  # Not the default config, and written as a person would: its bytes must come back unchanged.
  printf '{\n    "onError":  "warn",\n  "bridges" : [ "%s" ]\n}\n' "$BRIDGE" > "$CONFIG"
  ip link add "$BRIDGE" type bridge
  ip link set "$BRIDGE" up
  # No systemd here: the daemons as their init script would start them (unless the package's already did).
  [ -n "$(daemon_pid virtlogd)" ] || virtlogd -d
  [ -n "$(daemon_pid libvirtd)" ] || libvirtd -d
  until_ok 60 "${VIRSH[@]}" version
  cat > "$STATE/guest.xml" << EOF
<domain type='qemu'>
  <name>$GUEST</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='bridge'><mac address='$MAC'/><source bridge='$BRIDGE'/><target dev='$TAP'/><model type='virtio'/></interface>
  </devices>
</domain>
EOF
  "${VIRSH[@]}" create "$STATE/guest.xml" > /dev/null
  setsid mactable watch > "$STATE/watch.log" 2>&1 < /dev/null &
  echo $! > "$STATE/watch.pid"
  until_ok 10 port_right
}

record() {
  local watcher
  watcher=$(cat "$STATE/watch.pid")
  echo "hook $(sha256sum < "$HOOK")"
  echo "config $(sha256sum < "$CONFIG")"
  echo "libvirtd $(daemon_pid libvirtd)"
  echo "virtlogd $(daemon_pid virtlogd)"
  echo "guest $("${VIRSH[@]}" domstate "$GUEST")"
  echo "port $(bridge -d link show dev "$TAP")"
  bridge fdb show br "$BRIDGE" brport "$TAP" | sort | sed 's/^/fdb /'
  echo "watcher $watcher $(tr '\0' ' ' < "/proc/$watcher/cmdline" 2> /dev/null || echo gone)"
}

stop() {
  "${VIRSH[@]}" destroy "$GUEST" > /dev/null 2>&1 || true
  if [ -f "$STATE/watch.pid" ]; then
    kill "$(cat "$STATE/watch.pid")" 2> /dev/null || true
    until_ok 10 sh -c "! kill -0 $(cat "$STATE/watch.pid")" || true
  fi
  # The package goes while libvirtd still runs: its prerm takes the hook away and reloads it.
  mkdir -p "$STATE" # gone with /run after a reboot, while the package stayed
  apt purge -y -q mactable > "$STATE/purge.log" 2>&1 || { cat "$STATE/purge.log" >&2; return 1; }
  for daemon in libvirtd virtlogd; do
    pid=$(daemon_pid "$daemon")
    if [ -n "$pid" ]; then
      kill "$pid"
      until_ok 30 sh -c "! kill -0 $pid"
    fi
  done
  ip link del "$BRIDGE" 2> /dev/null || true
  rm -rf "$STATE"
}

clear() {
  local package
  package=$(dpkg-query -W -f '${db:Status-Status}' mactable 2> /dev/null || true) # installed, or half-way when apt was killed
  if [ -d "$STATE" ] || [ -e /run/mactable ] || ip link show "$BRIDGE" > /dev/null 2>&1 || [ -n "${package#not-installed}" ]; then
    echo "host-state: an earlier CI run did not finish; taking down its host (guest, watcher, package ${package:-absent}, daemons, $BRIDGE)" >&2
    dpkg --configure -a # an apt that was killed leaves dpkg interrupted, and apt refuses to run until this
    stop
    rm -rf /run/mactable # the killed watcher's runtime directory
  fi
}

"$1"
