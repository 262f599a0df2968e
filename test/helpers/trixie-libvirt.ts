import { DebianRoot, DEB } from './debian-root.js';

// Debian 13's libvirt (11.3: `<vlan>` tags on plain Linux bridges) and QEMU, with this tree's package installed, in a
// Debian root built on this machine (apt needs its network) before the VLAN kernel boots. The harness passes its
// path in this variable; test/vlan/libvirt-trixie.test.ts runs libvirtd from it there.
export const TRIXIE_ROOT_VARIABLE = 'MACTABLE_VLAN_TRIXIE_ROOT';
export const TRIXIE_SUITE = 'test/vlan/libvirt-trixie.test.ts';
const PACKAGES = ['libvirt-daemon', 'libvirt-daemon-driver-qemu', 'libvirt-clients', 'qemu-system-x86', 'ipxe-qemu', 'iproute2'];

export interface TrixieLibvirt {
  root: DebianRoot;
  ms: number; // building (or taking from the run's cache) and copying the root, and installing the package
}

export async function trixieLibvirtRoot(): Promise<TrixieLibvirt> {
  const started = Date.now();
  const root = new DebianRoot('trixie', PACKAGES);
  try {
    await root.create();
    await root.addPackage();
    const apt = await root.run(`apt-get install -y -q --no-install-recommends /tmp/${DEB} > /tmp/apt.log 2>&1 || { cat /tmp/apt.log >&2; exit 1; }`);
    if (apt.code !== 0) throw new Error(`installing ${DEB} in the trixie root failed: ${apt.stderr}`);
  } catch (error) {
    await root.cleanup();
    throw error;
  }
  return { root, ms: Date.now() - started };
}
