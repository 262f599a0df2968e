# Shared by the maintainer scripts (packaging/debian/build.sh puts it where #MACTABLE_LIB# stands).
HOOK=/etc/libvirt/hooks/qemu.d/mactable
TEMPLATE=/usr/lib/mactable/hooks/qemu
MARKER='# installed by mactable install.sh'

# Make a running libvirtd or virtqemud read its hooks again: a reload under systemd, else SIGHUP.
# The pid file must name a live process of that name: a stale pid may belong to anything.
reload_libvirt() {
  for daemon in libvirtd virtqemud; do
    for pidfile in "/run/$daemon.pid" "/run/libvirt/$daemon.pid"; do
      pid=$(cat "$pidfile" 2> /dev/null) || continue
      [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$daemon" ] || continue
      if [ -d /run/systemd/system ]; then
        deb-systemd-invoke reload "$daemon.service" || echo "mactable: reload $daemon by hand: systemctl reload $daemon" >&2
      else
        kill -HUP "$pid" || echo "mactable: reload $daemon by hand: kill -HUP $pid" >&2
      fi
      break
    done
  done
}

# Take mactable's hook away, never someone else's file of that name.
remove_hook() {
  if [ -f "$HOOK" ] && grep -qF "$MARKER" "$HOOK"; then
    rm -f "$HOOK"
    reload_libvirt
  fi
}
