#!/bin/sh
# The Debian packages the test suites use, installed when missing (npm test runs this once, as root, where apt is).
# No daemon starts meanwhile: a policy-rc.d that refuses every start is in place for the install only, unless
# the administrator has one. Prints nothing when every package is there.
set -eu
# ip, bridge, logger, ping, arping, tcpdump: kernel suites; time, python3: the benchmark; promtool (prometheus):
# the watcher's metrics and the alert rules; libvirt, QEMU, systemd-analyze: e2e; debootstrap and its keyring,
# systemd-nspawn, ansible (with community.general and community.docker): distro; ansible-lint: the role; lintian: CI;
# user-mode-linux (Debian's kernel as a program: bridge VLAN filtering where this kernel lacks it) and kmod (its
# modprobe): the VLAN suites.
PACKAGES='iproute2 bsdutils util-linux iputils-ping arping tcpdump time python3 prometheus
  libvirt-daemon-system libvirt-clients qemu-system-x86 systemd systemd-container debootstrap debian-archive-keyring lintian
  ansible ansible-lint user-mode-linux kmod'
POLICY=/usr/sbin/policy-rc.d

missing=''
for package in $PACKAGES; do
  status=$(dpkg-query -W -f '${db:Status-Status}' "$package" 2> /dev/null || true)
  [ "$status" = installed ] || missing="$missing $package"
done
[ -n "$missing" ] || exit 0
echo "test packages: installing$missing" >&2

if [ ! -e "$POLICY" ]; then
  trap 'rm -f "$POLICY"' EXIT
  trap 'exit 130' INT TERM
  printf '#!/bin/sh\n# npm test installs packages: no service starts meanwhile (removed after)\nexit 101\n' > "$POLICY"
  chmod 755 "$POLICY"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q > /dev/null
# shellcheck disable=SC2086 # one word per package
apt-get install -y -q --no-install-recommends $missing > /dev/null
