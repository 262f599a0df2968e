import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { InstalledMactable } from '../helpers/installed.js';
import { Lab, restartLibvirt, virsh } from '../helpers/libvirt.js';
import { hostExec, readPortState, readStaticEntries, type PortState } from '../helpers/netns.js';
import { eventually } from '../helpers/wait.js';
import { canRun, isRoot, sh, uniqueSuffix } from '../helpers/sh.js';

const ID = `mte${uniqueSuffix()}`; // 8 characters: every name below stays within 15
const LISTED = `${ID}-l`;
const UNLISTED = `${ID}-u`;
const HOSTBR = `${ID}-h`;
const ISOBR = `${ID}-i`;
const PREMADE = `${ID}-t`;
const FWD_NET = `${ID}-fwd`;
const ISO_NET = `${ID}-iso`;
const OFF: PortState = { learning: false, flood: false };
// Guests started at once with `virsh start` (the README's Safety section quotes this).
export const PARALLEL_E2E = 4;
const ON: PortState = { learning: true, flood: true };

const mac = (guest: number, nic: number) => `52:54:00:e2:${guest.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;
const nic = (type: string, macAddress: string, inner: string) =>
  `<interface type='${type}'><mac address='${macAddress}'/>${inner}<model type='virtio'/></interface>`;

// MAC → tap of a running guest, from its live XML.
async function tapsOf(guest: string): Promise<Map<string, string>> {
  const xml = await virsh('dumpxml', guest);
  const taps = new Map<string, string>();
  for (const [, block] of xml.matchAll(/<interface[^>]*>([^]*?)<\/interface>/gu)) {
    const address = /<mac address='([^']+)'/u.exec(block ?? '')?.[1];
    const tap = /<target dev='([^']+)'/u.exec(block ?? '')?.[1];
    if (address && tap) taps.set(address, tap);
  }
  return taps;
}

async function hasEntry(bridge: string, tap: string, address: string): Promise<boolean> {
  return (await readStaticEntries(hostExec, bridge)).some((entry) => entry.mac === address && entry.ifname === tap);
}

describe.skipIf(!canRun('e2e tests (test/e2e)', isRoot ? null : 'they need root to run libvirtd and install the hook'))(
  'mactable as the qemu hook of a real libvirtd',
  () => {
    const lab = new Lab();
    const mactable = new InstalledMactable(`/tmp/${ID}`);
    const kinds = `${ID}-kinds`;

    beforeAll(async () => {
      await mactable.install();
      mactable.configure({ networks: [FWD_NET, ISO_NET], bridges: [LISTED] });
      await lab.bridge(LISTED);
      await lab.bridge(UNLISTED);
      await lab.bridge(HOSTBR);
      await lab.tap(PREMADE, LISTED);
      await lab.network(FWD_NET, `<network><name>${FWD_NET}</name><forward mode='bridge'/><bridge name='${HOSTBR}'/></network>`);
      await lab.network(ISO_NET, `<network><name>${ISO_NET}</name><bridge name='${ISOBR}'/></network>`);
    });

    afterAll(async () => {
      await lab.cleanup();
      await mactable.uninstall();
      const leftovers = [
        ...(await sh('ip', ['-br', 'link'])).split('\n'),
        ...(await virsh('list', '--all', '--name')).split('\n'),
        ...(await virsh('net-list', '--all', '--name')).split('\n'),
      ].filter((line) => line.includes(ID));
      expect(leftovers).toEqual([]);
    });

    it('manages listed networks and bridges and a pre-made tap, leaves the rest alone', async () => {
      const [netFwd, netIso, onListed, onUnlisted, premade, user] = [1, 2, 3, 4, 5, 6].map((n) => mac(1, n)) as string[];
      await lab.guest({
        name: kinds,
        nics: [
          nic('network', netFwd as string, `<source network='${FWD_NET}'/>`),
          nic('network', netIso as string, `<source network='${ISO_NET}'/>`),
          nic('bridge', onListed as string, `<source bridge='${LISTED}'/>`),
          nic('bridge', onUnlisted as string, `<source bridge='${UNLISTED}'/>`),
          nic('ethernet', premade as string, `<target dev='${PREMADE}' managed='no'/>`),
          nic('user', user as string, ''),
        ],
      });
      const taps = await tapsOf(kinds);
      const managed: [string, string][] = [
        [netFwd as string, HOSTBR],
        [netIso as string, ISOBR],
        [onListed as string, LISTED],
        [premade as string, LISTED],
      ];
      for (const [address, bridge] of managed) {
        const tap = taps.get(address) as string;
        expect(await readPortState(hostExec, tap), `${tap} on ${bridge}`).toEqual(OFF);
        expect(await hasEntry(bridge, tap, address), `entry for ${address} on ${tap}`).toBe(true);
      }
      const untouched = taps.get(onUnlisted as string) as string;
      expect(await readPortState(hostExec, untouched)).toEqual(ON);
      expect(await hasEntry(UNLISTED, untouched, onUnlisted as string)).toBe(false);
      expect(taps.has(user as string)).toBe(false);

      // The daemon's status file gives the same answer, with the user NIC skipped and why.
      const plan = await runDist(['plan', '--json', `/run/libvirt/qemu/${kinds}.xml`]);
      expect(JSON.parse(plan.stdout).ports.map((p: { manage: boolean; reason: string }) => [p.manage, p.reason.split(':')[0]])).toEqual([
        [true, `network ${FWD_NET} matches '${FWD_NET}' in /etc/libvirt/mactable.json`],
        [true, `network ${ISO_NET} matches '${ISO_NET}' in /etc/libvirt/mactable.json`],
        [true, `bridge ${LISTED} matches '${LISTED}' in /etc/libvirt/mactable.json`],
        [false, 'not selected'],
        [true, `bridge ${LISTED} matches '${LISTED}' in /etc/libvirt/mactable.json`],
        [false, "type 'user' is not a bridge port"],
      ]);
    });

    it('restores drift when libvirtd restarts and reconnects, and the guest keeps running', async () => {
      const address = mac(1, 3);
      const tap = (await tapsOf(kinds)).get(address) as string;
      await sh('bridge', ['link', 'set', 'dev', tap, 'learning', 'on', 'flood', 'on']);
      await sh('bridge', ['fdb', 'del', address, 'dev', tap, 'master']);
      expect(await readPortState(hostExec, tap)).toEqual(ON);
      await restartLibvirt();
      const restored = await eventually(async () => (await hasEntry(LISTED, tap, address)) && (await readPortState(hostExec, tap)).learning === false, 30);
      expect(restored).toBe(true);
      expect(await readPortState(hostExec, tap)).toEqual(OFF);
      expect((await virsh('domstate', kinds)).trim()).toBe('running');
    });

    it('gives the pre-made tap back as it was after `virsh destroy`', async () => {
      await virsh('destroy', kinds);
      expect(await readPortState(hostExec, PREMADE)).toEqual(ON);
      expect(await hasEntry(LISTED, PREMADE, mac(1, 5))).toBe(false);
    });

    it('manages all 8 NICs of a guest on one bridge', async () => {
      const name = `${ID}-eight`;
      const macs = Array.from({ length: 8 }, (_, i) => mac(2, i + 1));
      await lab.guest({ name, nics: macs.map((address) => nic('bridge', address, `<source bridge='${LISTED}'/>`)) });
      const taps = await tapsOf(name);
      expect(taps.size).toBe(8);
      for (const address of macs) {
        const tap = taps.get(address) as string;
        expect(await readPortState(hostExec, tap)).toEqual(OFF);
        expect(await hasEntry(LISTED, tap, address)).toBe(true);
      }
      await virsh('destroy', name);
    });

    it('a hot-plugged NIC drifts until `mactable repair`; then status exits 0', async () => {
      const name = `${ID}-hot`;
      const [first, plugged] = [mac(4, 1), mac(4, 2)];
      await lab.guest({ name, acpi: true, nics: [nic('bridge', first, `<source bridge='${LISTED}'/>`)] });
      // No hook runs on hot-plug: the new port keeps the kernel's defaults.
      await virsh('attach-interface', name, 'bridge', LISTED, '--mac', plugged, '--model', 'virtio', '--live');
      const tap = (await tapsOf(name)).get(plugged) as string;
      expect(await readPortState(hostExec, tap)).toEqual(ON);

      const drifted = await mactable.run('status', '--json', name);
      expect(drifted.code).toBe(1);
      expect(JSON.parse(drifted.stdout).ports.map((p: { tap: string; verdict: string }) => [p.tap, p.verdict])).toEqual([
        [(await tapsOf(name)).get(first), 'ok'],
        [tap, 'drift'],
      ]);

      const repaired = await mactable.run('repair', name);
      expect(repaired).toEqual({ code: 0, stdout: `${name}: ${tap} on ${LISTED}: learning off, unicast flooding off, static entry ${plugged} added`, stderr: '' });
      expect(await readPortState(hostExec, tap)).toEqual(OFF);
      expect((await mactable.run('status', name)).code).toBe(0);
      await virsh('destroy', name);
    });

    it(`starts ${PARALLEL_E2E} guests at once: every port managed`, async () => {
      const names = Array.from({ length: PARALLEL_E2E }, (_, g) => `${ID}-p${g}`);
      const macOf = (g: number, n: number) => mac(5 + g, n + 1);
      await Promise.all(
        names.map((name, g) => lab.guest({ name, nics: [0, 1].map((n) => nic('bridge', macOf(g, n), `<source bridge='${LISTED}'/>`)) })),
      );
      for (const [g, name] of names.entries()) {
        const taps = await tapsOf(name);
        for (const n of [0, 1]) {
          const tap = taps.get(macOf(g, n)) as string;
          expect(await readPortState(hostExec, tap), `${name} ${tap}`).toEqual(OFF);
          expect(await hasEntry(LISTED, tap, macOf(g, n))).toBe(true);
        }
      }
      await Promise.all(names.map((name) => virsh('destroy', name)));
    });

    it('starts a guest untouched while the config names a bridge that does not exist', async () => {
      mactable.configure({ bridges: [`${ID}-nx`] });
      const name = `${ID}-nx`;
      const address = mac(3, 1);
      await lab.guest({ name, nics: [nic('bridge', address, `<source bridge='${UNLISTED}'/>`)] });
      expect((await virsh('domstate', name)).trim()).toBe('running');
      const tap = (await tapsOf(name)).get(address) as string;
      expect(await readPortState(hostExec, tap)).toEqual(ON);
      await virsh('destroy', name);
    });
  },
);
