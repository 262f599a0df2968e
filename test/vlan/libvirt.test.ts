import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, boxMissing } from '../helpers/box.js';
import { readPortState } from '../helpers/netns.js';
import { canRun, uniqueSuffix } from '../helpers/sh.js';
import { vlanSuite, WATCH_MS } from '../helpers/vlan-kernel.js';
import { eventually } from '../helpers/wait.js';

// libvirt 9.0 (this machine's) in a box on a kernel with bridge VLAN filtering: a network with
// macTableManager='libvirt' starts there (libvirt turns vlan_filtering on itself, and refuses where the kernel
// cannot), and its guest's port stays as libvirt makes it, which `mactable status` calls ok.
const ID = `mtv${uniqueSuffix()}`;
const NET = `${ID}-n`;
const BRIDGE = `${ID}-b`;
const GUEST = `${ID}-g`;
const MAC = '52:54:00:4c:00:01';
// forward mode 'open' with DNS off: no firewall rules (the kernel harness has no nftables) and no dnsmasq.
const NETWORK = `<network><name>${NET}</name><forward mode='open'/><dns enable='no'/><bridge name='${BRIDGE}' macTableManager='libvirt'/><ip address='10.97.0.1' netmask='255.255.255.0'/></network>`;

// What `bridge -j fdb show` says of one static entry: no `vlan` for vid 0.
interface Entry {
  mac: string;
  ifname: string;
  vlan?: number;
  state: string;
  flags?: string[];
}

let box: Box;
const measured: string[] = [];

async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await step();
  measured.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

// The guest's static entries on its tap: [vid, flags] with vid 0 for the entry without a VLAN, sorted.
async function entriesOn(tap: string): Promise<[number, string[]][]> {
  const entries = JSON.parse(await box.exec('bridge', '-j', 'fdb', 'show', 'br', BRIDGE, 'brport', tap)) as Entry[];
  return entries
    .filter((entry) => entry.mac === MAC && entry.state === 'static')
    .map((entry): [number, string[]] => [entry.vlan ?? 0, entry.flags ?? []])
    .sort(([a], [b]) => a - b);
}

const LIBVIRTS_ENTRIES: [number, string[]][] = [
  [0, []],
  [1, []],
]; // libvirt adds the entry without a VLAN: the kernel makes it for vid 0 and the port's VLAN 1 (pvid)

describe.skipIf(!(vlanSuite('test/vlan/libvirt.test.ts') && canRun('libvirt on the VLAN kernel (test/vlan/libvirt.test.ts)', boxMissing())))(
  "libvirt 9.0's own macTableManager='libvirt' network on a kernel with bridge VLAN filtering",
  () => {
    let tap: string;

    beforeAll(async () => {
      box = await timed('box (virtlogd, libvirtd probing QEMU)', () => Box.create({ mactable: { bridges: [] } }));
      await timed('network start', () => box.network(NET, NETWORK));
      await timed('guest start (virsh start, TCG)', () => box.guest({ name: GUEST, nics: [`<interface type='network'><mac address='${MAC}'/><source network='${NET}'/><model type='virtio'/></interface>`] }));
      tap = await box.tapOf(GUEST, MAC);
    }, 600_000);

    afterAll(async () => {
      await box?.destroy();
    });

    it('libvirt starts the network with vlan_filtering on, and its guest runs', async ({ task }) => {
      task.meta.measured = measured.join(', ');
      expect(await box.exec('cat', `/sys/class/net/${BRIDGE}/bridge/vlan_filtering`)).toBe('1');
      expect(await box.virsh('domstate', GUEST)).toBe('running');
    });

    it('the port is as libvirt made it (learning and flooding off, its entry on vid 0 and VLAN 1) and status says ok', async () => {
      expect(await readPortState(box.exec, tap)).toEqual({ learning: false, flood: false });
      expect(await entriesOn(tap)).toEqual(LIBVIRTS_ENTRIES);
      const status = await box.mactable('status', '--json', GUEST);
      expect(status.code, status.stderr).toBe(0);
      const [port] = (JSON.parse(status.stdout) as { ports: { tap: string; manage: boolean; verdict: string; reason: string }[] }).ports;
      expect(port).toMatchObject({ tap, manage: true, verdict: 'ok', reason: `network ${NET} has macTableManager='libvirt'` });
    });

    // libvirt deletes its entry when the vCPUs stop and adds it again with NLM_F_EXCL when they start: an entry of
    // ours while the guest is paused would make the resume fail.
    it('suspend and resume with the watcher running: no entry of ours while paused (repair adds none), libvirt resumes the guest, status ok', async () => {
      const watcher = await box.startWatcher();
      try {
        await box.virsh('suspend', GUEST);
        expect(await eventually(async () => (await entriesOn(tap)).length === 0, 10)).toBe(true);
        expect(await box.mactable('repair', '--all')).toEqual({ code: 0, stdout: '', stderr: '' });
        expect((await box.mactable('status', GUEST)).code).toBe(0);
        expect(await entriesOn(tap)).toEqual([]);
        await timed('resume', () => box.virsh('resume', GUEST));
        expect(await box.virsh('domstate', GUEST)).toBe('running');
        expect(await eventually(async () => JSON.stringify(await entriesOn(tap)) === JSON.stringify(LIBVIRTS_ENTRIES), WATCH_MS / 1000)).toBe(true);
        expect(await readPortState(box.exec, tap)).toEqual({ learning: false, flood: false });
        expect((await box.mactable('status', GUEST)).code).toBe(0);
      } finally {
        await watcher.stop();
      }
    }, 120_000);
  },
);
