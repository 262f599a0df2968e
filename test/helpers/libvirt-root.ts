import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import { DEB, PATH } from './debian-root.js';
import { SOURCE } from './installed.js';
import { isRoot, missingTool, sh } from './sh.js';

// What the root's libvirt host needs besides the package (which brings nodejs and iproute2).
const LIBVIRT = 'libvirt-daemon-system libvirt-clients qemu-system-x86';
const ENTER =
  'mount -t proc proc "$0/proc" && mount -t sysfs -o ro sysfs "$0/sys" && mount --rbind /dev "$0/dev" && ' +
  `exec chroot "$0" /usr/bin/env -i ${PATH} LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive sh -c "$1"`;

// Why a libvirt root cannot be made here, or null.
export function libvirtRootMissing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap, chroot and namespaces';
  return missingTool({ debootstrap: 'debootstrap', unshare: 'util-linux', nsenter: 'util-linux', chroot: 'coreutils', 'dpkg-deb': 'dpkg' });
}

async function inRoot(path: string, script: string): Promise<void> {
  const result = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', ENTER, path, script], { reject: false, timeout: 900_000 });
  if (result.exitCode !== 0) throw new Error(`in the libvirt root: ${script} failed: ${String(result.stderr).trim().split('\n').slice(-5).join('; ')}`);
}

// A Debian 13 root with trixie's libvirt, QEMU and mactable's package built from this checkout, for boxes whose
// daemons are the root's (box.ts). No daemon starts while it is made (a policy-rc.d refuses them); the link
// ROOT/ROOT -> / makes a path under the root name the same file inside and outside it. Returns its path.
export async function makeLibvirtRoot(): Promise<string> {
  const path = mkdtempSync(join(tmpdir(), 'mactable-libvirt-'));
  try {
    chmodSync(path, 0o755);
    await execa('debootstrap', ['--variant=minbase', 'trixie', path, 'http://deb.debian.org/debian'], { timeout: 600_000 });
    writeFileSync(`${path}/usr/sbin/policy-rc.d`, '#!/bin/sh\n# no daemon of this root starts outside a box\nexit 101\n', { mode: 0o755 });
    const built = await execa('sh', [`${SOURCE}packaging/debian/build.sh`], { reject: false });
    if (built.exitCode !== 0) throw new Error(`npm run package failed: ${built.stderr}`);
    await sh('cp', [`${SOURCE}dist/${DEB}`, `${path}/tmp/${DEB}`]);
    await inRoot(path, `apt-get update -q && apt-get install -y -q --no-install-recommends ${LIBVIRT} /tmp/${DEB}`);
    const link = `${path}${path}`;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), path), link);
    return path;
  } catch (error) {
    removeLibvirtRoot(path);
    throw error;
  }
}

// Boxes are gone by now (each holds its mounts in a namespace of its own): nothing is mounted below it.
export function removeLibvirtRoot(path: string): void {
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
}

