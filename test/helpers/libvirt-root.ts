import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { DebianRoot } from './debian-root.js';
import { isRoot, missingTool } from './sh.js';

// What a Debian 13 host needs to run guests: built once per test run on the trixie root (root-cache.ts).
const LIBVIRT = ['libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86'];

// The variable in which test/harness/vlan.test.ts passes such a root's path to test/vlan/libvirt-trixie.test.ts,
// which runs its libvirtd inside the VLAN kernel (the root is built on this machine first: apt needs its network).
export const TRIXIE_ROOT_VARIABLE = 'MACTABLE_VLAN_TRIXIE_ROOT';

// Why a libvirt root cannot be made and run here, or null.
export function libvirtRootMissing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap, chroot and namespaces';
  return missingTool({ debootstrap: 'debootstrap', unshare: 'util-linux', nsenter: 'util-linux', chroot: 'coreutils', 'dpkg-deb': 'dpkg', python3: 'python3' });
}

// A private copy of the run's Debian 13 root with trixie's libvirt 11.3 and QEMU 10, and mactable's package built
// from this checkout installed by apt, for boxes whose daemons are the root's (box.ts). The link ROOT/ROOT -> /
// makes a path under the root name the same file inside it and outside. cleanup() removes it.
export async function makeLibvirtRoot(): Promise<{ root: DebianRoot; packageMs: number }> {
  const root = new DebianRoot('trixie', LIBVIRT);
  try {
    await root.create(); // says on stderr how long the root took
    const started = Date.now();
    const deb = await root.addPackage();
    const apt = await root.run(`apt-get install -y -q --no-install-recommends ${deb}`);
    if (apt.code !== 0) throw new Error(`apt install ${deb} in the Debian 13 root failed: ${apt.stderr}`);
    const link = `${root.path}${root.path}`;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), root.path), link);
    return { root, packageMs: Date.now() - started };
  } catch (error) {
    await root.cleanup();
    throw error;
  }
}

// For the suites' stderr: how long mactable's package took into the root (create() says the rest).
export const packageTime = (packageMs: number): string => `mactable's package built and installed in the Debian 13 root in ${(packageMs / 1000).toFixed(1)} s`;
