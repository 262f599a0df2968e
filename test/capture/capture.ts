// Capture real libvirt hook input and /run/libvirt files for replay fixtures.
// Run as root: npx tsx test/capture/capture.ts [--trixie] [OUTDIR]
// It makes a box (a libvirtd of its own, test/helpers/box.ts), creates objects named mtcap* in it, starts a
// guest, and destroys the box again; the machine's libvirt is never touched. Then a guest paused, resumed, saved
// and restored paused, given a NIC, and one migrated to a second box. With --trixie the boxes run the libvirt 11.3
// of a Debian 13 root made for the capture (test/helpers/libvirt-root.ts; default OUTDIR test/fixtures/libvirt-11.3),
// else the machine's (default test/fixtures/captured).
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Box, joinBridges, migrate } from '../helpers/box.js';
import { makeLibvirtRoot } from '../helpers/libvirt-root.js';
import { eventually } from '../helpers/wait.js';

const TRIXIE = process.argv.includes('--trixie');
const OUT = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? new URL(`../fixtures/${TRIXIE ? 'libvirt-11.3' : 'captured'}/`, import.meta.url).pathname;
const HOOK = '/etc/libvirt/hooks/qemu.d/mtcap-capture';
const SPOOL = '/run/mtcap-capture'; // inside the box

// A hook that saves its arguments and stdin for guests named mtcap*, and the daemon's status file as the call
// found it; it ignores everything else.
const CAPTURE_HOOK = `#!/bin/sh
case "$1" in mtcap*) ;; *) exit 0 ;; esac
echo "$1/hook-stdin/$2-$3.xml  <-  qemu hook args: $*" >> ${SPOOL}/ARGS.txt
mkdir -p ${SPOOL}/$1/hook-stdin ${SPOOL}/$1/status
cat > ${SPOOL}/$1/hook-stdin/$2-$3.xml
[ ! -f /run/libvirt/qemu/$1.xml ] || cp /run/libvirt/qemu/$1.xml ${SPOOL}/$1/status/at-$2-$3.xml
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

async function installCaptureHook(box: Box): Promise<void> {
  await mkdir(`${box.path}${SPOOL}`, { recursive: true });
  await mkdir(dirname(`${box.path}${HOOK}`), { recursive: true });
  await writeFile(`${box.path}${HOOK}`, CAPTURE_HOOK, { mode: 0o755 });
  await box.restartLibvirtd();
}

// The status file of a guest as it is now, into DIR/status/NAME.xml.
async function keepStatus(box: Box, guest: string, dir: string, name: string): Promise<void> {
  await mkdir(join(dir, 'status'), { recursive: true });
  await cp(`${box.path}/run/libvirt/qemu/${guest}.xml`, join(dir, 'status', `${name}.xml`));
}

async function capture(box: Box): Promise<void> {
  step('installing the capture hook; libvirtd reads its hooks when it starts');
  await installCaptureHook(box);

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
  // What an earlier capture wrote; a README beside it stays.
  for (const entry of ['ARGS.txt', 'mtcap-g1', 'mtcap-g2', 'mtcap-g3', 'migration-destination']) await rm(join(OUT, entry), { recursive: true, force: true });
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
  await capturePaused(box);
  await captureMigration(box);
  await cp(`${box.path}${SPOOL}`, OUT, { recursive: true });
  const files = await readdir(join(guestDir, 'hook-stdin'));
  process.stdout.write(`captured ${files.length} hook inputs (${files.join(', ')}) into ${OUT}\n`);
  const args = await readFile(join(OUT, 'ARGS.txt'), 'utf8');
  process.stdout.write(args);
}

// mtcap-g2: suspend and resume, a NIC hot-plugged, save and restore --paused.
async function capturePaused(box: Box): Promise<void> {
  const guest = 'mtcap-g2';
  const dir = join(OUT, guest);
  step(`${guest}: suspend, resume, attach-interface, save, restore --paused, resume`);
  await box.guest({ name: guest, acpi: true, nics: [NICS[1] as string] });
  await box.virsh('suspend', guest);
  await keepStatus(box, guest, dir, 'suspended');
  await box.virsh('resume', guest);
  await keepStatus(box, guest, dir, 'resumed');
  await box.virsh('attach-interface', guest, 'bridge', 'mtcap-br', '--mac', '52:54:00:cc:00:08', '--model', 'virtio', '--live');
  await keepStatus(box, guest, dir, 'attached');
  // Under the box's directory: the same path for a daemon chrooted in a root (box.ts).
  const image = `${box.path}/${guest}.save`;
  await box.virsh('save', guest, image);
  await box.virsh('restore', image, '--paused');
  await rm(image, { force: true });
  await keepStatus(box, guest, dir, 'restored-paused');
  await box.virsh('resume', guest);
  await keepStatus(box, guest, dir, 'restored-resumed');
  await box.virsh('destroy', guest);
}

// mtcap-g3: a live migration to a second box (its hook's captures go to OUT/migration-destination), the source's
// status file kept the first time it names the migration job.
async function captureMigration(box: Box): Promise<void> {
  const guest = 'mtcap-g3';
  step(`${guest}: virsh migrate --live to a second box`);
  const other = await Box.create({ root: box.root ?? undefined });
  try {
    await installCaptureHook(other);
    await other.bridge('mtcap-br');
    const [, address] = await joinBridges(box, other, 'mtcap-br');
    await box.guest({ name: guest, nics: [NICS[1] as string] });
    const status = `${box.path}/run/libvirt/qemu/${guest}.xml`;
    let during: string | null = null;
    const migrating = migrate(box, other, guest, address);
    let done = false;
    void migrating.finally(() => (done = true)).catch(() => undefined);
    while (!done && during === null) {
      const text = await readFile(status, 'utf8').catch(() => '');
      if (text.includes('migration out')) during = text;
      await sleep(10);
    }
    await migrating;
    if (during !== null) {
      await mkdir(join(OUT, guest, 'status'), { recursive: true });
      await writeFile(join(OUT, guest, 'status', 'source-during-migration.xml'), during);
    }
    await keepStatus(other, guest, join(OUT, 'migration-destination', guest), 'running');
    await other.virsh('destroy', guest);
    await cp(`${other.path}${SPOOL}`, join(OUT, 'migration-destination'), { recursive: true });
  } finally {
    await other.destroy();
  }
}

const root = TRIXIE ? (await makeLibvirtRoot()).root : undefined;
const box = await Box.create({ root: root?.path });
// An interrupted capture still removes the box (it also dies with this process).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void box.destroy().then(() => root?.cleanup()).finally(() => process.exit(130)));
}
try {
  await capture(box);
} finally {
  step('destroying the box');
  await box.destroy();
  await root?.cleanup();
}
