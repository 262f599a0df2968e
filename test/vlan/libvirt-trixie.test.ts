import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Holder } from '../helpers/holder.js';
import { canRun, uniqueSuffix } from '../helpers/sh.js';
import { TRIXIE_ROOT_VARIABLE } from '../helpers/libvirt-root.js';
import { vlanSuite } from '../helpers/vlan-kernel.js';
import { eventually } from '../helpers/wait.js';

// Debian 13's libvirt (11.3) puts `<vlan>` tags on a guest's tap on a plain Linux bridge, which needs VLAN filtering.
// Its libvirtd and QEMU run from a Debian 13 root with the package installed (the harness builds it on the
// machine: test/helpers/libvirt-root.ts), chrooted inside namespaces of their own in the VLAN kernel; mactable
// manages the bridge by its config. The guest's port has its entries on every VLAN libvirt gave it.
const ROOT = process.env[TRIXIE_ROOT_VARIABLE] ?? '';
const ID = `mtt${uniqueSuffix()}`;
const BRIDGE = `${ID}-b`;
const GUEST = `${ID}-g`;
const MAC = '52:54:00:4c:00:13';
const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';
const URI = 'qemu:///system';
const GUEST_XML = `<domain type='qemu'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'><mac address='${MAC}'/><source bridge='${BRIDGE}'/><vlan trunk='yes'><tag id='10'/><tag id='20'/></vlan><model type='virtio'/></interface>
  </devices></domain>`;

interface Entry {
  mac: string;
  vlan?: number;
  state: string;
}

let holder: Holder;
let madeMountPoint = false;
const measured: string[] = [];

// A command in the Debian 13 root, in the namespaces of the holder, with a clean environment.
const inRoot = (command: string, ...args: string[]) => holder.exec('chroot', ROOT, '/usr/bin/env', '-i', PATH, 'LC_ALL=C.UTF-8', command, ...args);
const write = (file: string, text: string) => inRoot('sh', '-c', 'printf %s "$1" > "$2"', 'sh', text, file);
const virsh = (...args: string[]) => inRoot('virsh', '-q', '-c', URI, ...args);

async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await step();
  measured.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

// The VLANs of a port: `bridge -j vlan show` gives [{ifname, vlans: [{vlan, flags?}]}].
async function vlansOf(tap: string): Promise<number[]> {
  const [port] = JSON.parse(await inRoot('bridge', '-j', 'vlan', 'show', 'dev', tap)) as { vlans: { vlan: number }[] }[];
  return (port?.vlans ?? []).map(({ vlan }) => vlan).sort((a, b) => a - b);
}

// The VLANs (0 for the entry without one) of the guest's static entries on its tap.
async function entryVlans(tap: string): Promise<number[]> {
  const entries = JSON.parse(await inRoot('bridge', '-j', 'fdb', 'show', 'br', BRIDGE, 'brport', tap)) as Entry[];
  return entries
    .filter((entry) => entry.mac === MAC && entry.state === 'static')
    .map((entry) => entry.vlan ?? 0)
    .sort((a, b) => a - b);
}

const missing = ROOT === '' ? `${TRIXIE_ROOT_VARIABLE} names no Debian 13 root (test/harness/vlan.test.ts builds it)` : null;

describe.skipIf(!(vlanSuite('test/vlan/libvirt-trixie.test.ts') && canRun("Debian 13's libvirt on the VLAN kernel (test/vlan/libvirt-trixie.test.ts)", missing)))(
  "Debian 13's libvirt 11.3: a guest with <vlan> tags on a plain VLAN-filtering bridge that mactable manages",
  () => {
    let tap: string;

    beforeAll(async () => {
      holder = await Holder.create();
      if (!existsSync(`${ROOT}/usr/bin/virsh`)) {
        // The VLAN kernel's /tmp is its own: the machine's root comes in by hostfs, in the holder's mounts only.
        mkdirSync(ROOT, { recursive: true });
        madeMountPoint = true;
        await holder.exec('mount', '-t', 'hostfs', 'none', ROOT, '-o', ROOT);
      }
      // The holder's own /proc, /sys and /dev for the root, and a fresh /run (the mounts end with the holder).
      await holder.exec('sh', '-c', 'mount --rbind /proc "$0/proc" && mount --rbind /sys "$0/sys" && mount --rbind /dev "$0/dev" && mount -t tmpfs tmpfs "$0/run"', ROOT);
      await write('/etc/libvirt/qemu.conf', 'cgroup_controllers = [ ]\n');
      await write('/etc/libvirt/mactable.json', `${JSON.stringify({ bridges: [BRIDGE] })}\n`);
      await inRoot('ip', 'link', 'add', BRIDGE, 'type', 'bridge', 'vlan_filtering', '1');
      await inRoot('ip', 'link', 'set', BRIDGE, 'up');
      await timed('libvirtd 11.3 start (probing QEMU 10)', async () => {
        await inRoot('virtlogd', '-d');
        await inRoot('libvirtd', '-d');
        const answers = async () => (await holder.run('chroot', ROOT, '/usr/bin/env', '-i', PATH, 'virsh', '-q', '-c', URI, 'version')).code === 0;
        if (!(await eventually(answers, 180, 200))) throw new Error("Debian 13's libvirtd did not answer within 180 s");
      });
      await write('/tmp/guest.xml', GUEST_XML);
      await virsh('define', '/tmp/guest.xml');
      // More than sh's 2 minutes when the machine is busy (98 s measured on a quiet one).
      const [file, ...args] = holder.enter('chroot', ROOT, '/usr/bin/env', '-i', PATH, 'virsh', '-q', '-c', URI, 'start', GUEST) as [string, ...string[]];
      await timed('guest start (virsh start, TCG)', () => execa(file, args, { timeout: 400_000 }));
      tap = /<target dev='([^']+)'/u.exec(await virsh('dumpxml', GUEST))?.[1] ?? '';
    }, 600_000);

    afterAll(async () => {
      await holder?.destroy();
      if (madeMountPoint) rmdirSync(ROOT);
    });

    it('libvirt gives the tap VLANs 10 and 20, and the guest runs', async ({ task }) => {
      task.meta.measured = measured.join(', ');
      expect(await inRoot('libvirtd', '--version')).toMatch(/ 11\.\d+\.\d+$/u);
      expect(await virsh('domstate', GUEST)).toBe('running');
      expect(await vlansOf(tap)).toEqual(expect.arrayContaining([10, 20]));
    });

    it("the hook's started: the guest's MAC has a static entry on each of the port's VLANs and without one, learning and flooding off; status ok", async () => {
      expect(await entryVlans(tap)).toEqual([0, ...(await vlansOf(tap))]);
      expect(await inRoot('cat', `/sys/class/net/${BRIDGE}/brif/${tap}/learning`, `/sys/class/net/${BRIDGE}/brif/${tap}/unicast_flood`)).toBe('0\n0');
      const status = await holder.run('chroot', ROOT, '/usr/bin/env', '-i', PATH, 'mactable', 'status', '--json', GUEST);
      expect(status.code, status.stderr).toBe(0);
      const [port] = (JSON.parse(status.stdout) as { ports: { tap: string; manage: boolean; verdict: string }[] }).ports;
      expect(port).toMatchObject({ tap, manage: true, verdict: 'ok' });
    });
  },
);
