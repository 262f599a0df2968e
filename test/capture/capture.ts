// Capture real libvirt hook input and /run/libvirt files for replay fixtures.
// Run as root: npx tsx test/capture/capture.ts [OUTDIR]   (default test/fixtures/captured)
// It makes a box (a libvirtd of its own, test/helpers/box.ts), creates objects named mtcap* in it, starts a
// guest, and destroys the box again; the machine's libvirt is never touched.
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Box } from '../helpers/box.js';
import { eventually } from '../helpers/wait.js';

const OUT = process.argv[2] ?? new URL('../fixtures/captured/', import.meta.url).pathname;
const HOOK = '/etc/libvirt/hooks/qemu.d/mtcap-capture';
const SPOOL = '/run/mtcap-capture'; // inside the box

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

// Copy a file of the box's /etc/libvirt or /run (their bind mounts' sources) into the fixture root at the same path.
async function keep(box: Box, root: string, path: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await cp(`${box.path}${path}`, join(root, path), { recursive: true });
}

// Recreate /sys/class/net/TAP/master and the master's bridge/ directory (with one attribute, so git keeps it):
// the two facts mactable reads for a pre-made tap. The box's /sys is read inside it.
async function keepTapMaster(box: Box, root: string, tap: string): Promise<void> {
  const link = (await box.exec('readlink', `/sys/class/net/${tap}/master`)).trim();
  const master = link.slice(link.lastIndexOf('/') + 1);
  await mkdir(join(root, 'sys/class/net', tap), { recursive: true });
  await symlink(`../${master}`, join(root, 'sys/class/net', tap, 'master'));
  const bridgeId = await box.exec('cat', `/sys/class/net/${master}/bridge/bridge_id`).catch(() => null);
  if (bridgeId !== null) {
    await mkdir(join(root, 'sys/class/net', master, 'bridge'), { recursive: true });
    await writeFile(join(root, 'sys/class/net', master, 'bridge', 'bridge_id'), `${bridgeId}\n`);
  }
}

const step = (what: string) => process.stderr.write(`capture: ${what}\n`);

async function capture(box: Box): Promise<void> {
  step('installing the capture hook; libvirtd reads its hooks when it starts');
  await mkdir(`${box.path}${SPOOL}`, { recursive: true });
  await mkdir(dirname(`${box.path}${HOOK}`), { recursive: true });
  await writeFile(`${box.path}${HOOK}`, CAPTURE_HOOK, { mode: 0o755 });
  await box.restartLibvirtd();

  step('creating bridges, networks and the guest');
  await box.bridge('mtcap-br');
  await box.tap('mtcap-tap0', 'mtcap-br');
  await box.exec('ip', 'link', 'add', 'mtcap-v0', 'type', 'veth', 'peer', 'name', 'mtcap-v1');
  await box.exec('ip', 'link', 'set', 'mtcap-v0', 'up');
  await box.network('mtcap-iso', NETWORKS.iso);
  await box.network('mtcap-hostbr', NETWORKS.hostbr);
  await box.network('mtcap-mtm', NETWORKS.mtm, false);
  await box.guest({ name: 'mtcap-g1', nics: NICS });

  step('saving virsh dumpxml and /run/libvirt files');
  const guestDir = join(OUT, 'mtcap-g1');
  const root = join(guestDir, 'root');
  await rm(OUT, { recursive: true, force: true });
  await mkdir(join(guestDir, 'virsh'), { recursive: true });
  await writeFile(join(guestDir, 'virsh', 'dumpxml-live.xml'), await box.virsh('dumpxml', 'mtcap-g1'));
  await writeFile(join(guestDir, 'virsh', 'dumpxml-inactive.xml'), await box.virsh('dumpxml', '--inactive', 'mtcap-g1'));
  await keep(box, root, '/run/libvirt/qemu/mtcap-g1.xml');
  for (const net of ['mtcap-iso', 'mtcap-hostbr']) {
    await keep(box, root, `/run/libvirt/network/${net}.xml`);
    await keep(box, root, `/run/libvirt/network/${net}`);
  }
  for (const net of ['mtcap-iso', 'mtcap-hostbr', 'mtcap-mtm']) await keep(box, root, `/etc/libvirt/qemu/networks/${net}.xml`);
  await keepTapMaster(box, root, 'mtcap-tap0');

  step('restarting libvirtd for reconnect');
  // A daemon restart runs `reconnect` for the running guest.
  await box.restartLibvirtd();
  // Its input saved by the capture hook: the reconnect has run.
  if (!(await eventually(() => existsSync(`${box.path}${SPOOL}/mtcap-g1/hook-stdin/reconnect-begin.xml`), 30))) throw new Error('libvirtd ran no reconnect hook within 30 s of its restart');
  step('destroying the guest for stopped and release');
  await box.virsh('destroy', 'mtcap-g1');
  await cp(`${box.path}${SPOOL}`, OUT, { recursive: true });
  const files = await readdir(join(guestDir, 'hook-stdin'));
  process.stdout.write(`captured ${files.length} hook inputs (${files.join(', ')}) into ${OUT}\n`);
  const args = await readFile(join(OUT, 'ARGS.txt'), 'utf8');
  process.stdout.write(args);
}

const box = await Box.create();
// An interrupted capture still removes the box (it also dies with this process).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void box.destroy().finally(() => process.exit(130)));
}
try {
  await capture(box);
} finally {
  step('destroying the box');
  await box.destroy();
}
