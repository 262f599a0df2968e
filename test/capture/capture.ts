// Capture real libvirt hook input and /run/libvirt files for replay fixtures.
// Run as root on a test machine: npx tsx test/capture/capture.ts [OUTDIR]   (default test/fixtures/captured)
// It starts libvirtd if needed, creates objects named mtcap*, starts guests, and removes all of it again.
import { cp, lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab, reloadLibvirt, restartLibvirt, startLibvirt, virsh } from '../helpers/libvirt.js';
import { sh } from '../helpers/sh.js';

const OUT = process.argv[2] ?? new URL('../fixtures/captured/', import.meta.url).pathname;
const HOOK = '/etc/libvirt/hooks/qemu.d/mtcap-capture';
const SPOOL = '/run/mtcap-capture';

// A hook that saves its arguments and stdin for guests named mtcap*; it ignores everything else.
const CAPTURE_HOOK = `#!/bin/sh
case "$1" in mtcap*) ;; *) exit 0 ;; esac
echo "$1/hook-stdin/$2-$3.xml  <-  qemu hook args: $*" >> ${SPOOL}/ARGS.txt
mkdir -p ${SPOOL}/$1/hook-stdin
cat > ${SPOOL}/$1/hook-stdin/$2-$3.xml
`;

const NETWORKS = {
  iso: `<network><name>mtcap-iso</name><bridge name='mtcap-virbr'/></network>`,
  hostbr: `<network><name>mtcap-hostbr</name><forward mode='bridge'/><bridge name='mtcap-br'/></network>`,
  // Defined, never started: libvirt cannot start it on kernels without VLAN filtering; its config file is the fixture.
  mtm: `<network><name>mtcap-mtm</name><bridge name='mtcap-mtmbr' macTableManager='libvirt'/></network>`,
};

const NICS = [
  `<interface type='network'><mac address='52:54:00:cc:00:01'/><source network='mtcap-iso'/><model type='virtio'/></interface>`,
  `<interface type='bridge'><mac address='52:54:00:cc:00:02'/><source bridge='mtcap-br'/><model type='virtio'/></interface>`,
  `<interface type='network'><mac address='52:54:00:cc:00:03'/><source network='mtcap-hostbr'/><model type='virtio'/></interface>`,
  `<interface type='ethernet'><mac address='52:54:00:cc:00:04'/><target dev='mtcap-tap0' managed='no'/><model type='virtio'/></interface>`,
  `<interface type='bridge'><mac address='52:54:00:cc:00:05'/><source bridge='mtcap-br'/><target dev='mtcap-ctap'/><model type='virtio'/></interface>`,
  `<interface type='direct'><mac address='52:54:00:cc:00:06'/><source dev='mtcap-v0' mode='bridge'/><model type='virtio'/></interface>`,
  `<interface type='user'><mac address='52:54:00:cc:00:07'/><model type='virtio'/></interface>`,
];

// Copy a host file into the fixture root at the same path.
async function keep(root: string, path: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await cp(path, join(root, path), { recursive: true });
}

// Recreate /sys/class/net/TAP/master and the master's bridge/ directory (with one attribute, so git keeps it):
// the two facts mactable reads for a pre-made tap.
async function keepTapMaster(root: string, tap: string): Promise<void> {
  const link = await readlink(`/sys/class/net/${tap}/master`);
  const master = link.slice(link.lastIndexOf('/') + 1);
  await mkdir(join(root, 'sys/class/net', tap), { recursive: true });
  await symlink(`../${master}`, join(root, 'sys/class/net', tap, 'master'));
  const isBridge = await lstat(`/sys/class/net/${master}/bridge`).then(() => true, () => false);
  if (isBridge) {
    await mkdir(join(root, 'sys/class/net', master, 'bridge'), { recursive: true });
    // fs.copyFile never finishes on sysfs files (their size reads as 4096): read and write instead.
    await writeFile(join(root, 'sys/class/net', master, 'bridge', 'bridge_id'), await readFile(`/sys/class/net/${master}/bridge/bridge_id`));
  }
}

const step = (what: string) => process.stderr.write(`capture: ${what}\n`);

async function capture(lab: Lab): Promise<void> {
  step('starting libvirtd');
  await startLibvirt();
  await rm(SPOOL, { recursive: true, force: true });
  await mkdir(SPOOL, { recursive: true });
  await mkdir(dirname(HOOK), { recursive: true });
  await writeFile(HOOK, CAPTURE_HOOK, { mode: 0o755 });
  lab.onCleanup(async () => {
    await rm(HOOK, { force: true });
    await reloadLibvirt();
  });
  await reloadLibvirt();

  step('creating bridges, networks and the guest');
  await lab.bridge('mtcap-br');
  await lab.tap('mtcap-tap0', 'mtcap-br');
  await lab.veth('mtcap-v0', 'mtcap-v1');
  await lab.network('mtcap-iso', NETWORKS.iso);
  await lab.network('mtcap-hostbr', NETWORKS.hostbr);
  await lab.network('mtcap-mtm', NETWORKS.mtm, false);
  await lab.guest({ name: 'mtcap-g1', nics: NICS });

  step('saving virsh dumpxml and /run/libvirt files');
  const guestDir = join(OUT, 'mtcap-g1');
  const root = join(guestDir, 'root');
  await rm(OUT, { recursive: true, force: true });
  await mkdir(join(guestDir, 'virsh'), { recursive: true });
  await writeFile(join(guestDir, 'virsh', 'dumpxml-live.xml'), await virsh('dumpxml', 'mtcap-g1'));
  await writeFile(join(guestDir, 'virsh', 'dumpxml-inactive.xml'), await virsh('dumpxml', '--inactive', 'mtcap-g1'));
  await keep(root, '/run/libvirt/qemu/mtcap-g1.xml');
  for (const net of ['mtcap-iso', 'mtcap-hostbr']) {
    await keep(root, `/run/libvirt/network/${net}.xml`);
    await keep(root, `/run/libvirt/network/${net}`);
  }
  for (const net of ['mtcap-iso', 'mtcap-hostbr', 'mtcap-mtm']) await keep(root, `/etc/libvirt/qemu/networks/${net}.xml`);
  await keepTapMaster(root, 'mtcap-tap0');

  step('restarting libvirtd for reconnect');
  // A daemon restart runs `reconnect` for the running guest.
  await restartLibvirt();
  await sleep(1000);
  step('destroying the guest for stopped and release');
  await virsh('destroy', 'mtcap-g1');
  await cp(SPOOL, OUT, { recursive: true });
  const files = await readdir(join(guestDir, 'hook-stdin'));
  process.stdout.write(`captured ${files.length} hook inputs (${files.join(', ')}) into ${OUT}\n`);
  const args = await readFile(join(OUT, 'ARGS.txt'), 'utf8');
  process.stdout.write(args);
}

const lab = new Lab();
// An interrupted capture still removes what it made.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void lab.cleanup().finally(() => process.exit(130)));
}
try {
  await capture(lab);
} finally {
  step('cleaning up');
  await lab.cleanup();
  await rm(SPOOL, { recursive: true, force: true });
  await sh('ip', ['-br', 'link']).then((links) => {
    if (links.includes('mtcap')) process.stderr.write(`left behind:\n${links}\n`);
  });
}
