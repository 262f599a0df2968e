import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, boxMissing } from '../helpers/box.js';
import { portProblem, readPortState, readStaticEntries, type PortState } from '../helpers/netns.js';
import { eventually } from '../helpers/wait.js';
import { canRun, sh, uniqueSuffix } from '../helpers/sh.js';

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

let box: Box;

const tapsOf = (guest: string) => box.tapsOf(guest);

async function hasEntry(bridge: string, tap: string, address: string): Promise<boolean> {
  return (await readStaticEntries(box.exec, bridge)).some((entry) => entry.mac === address && entry.ifname === tap);
}

describe.skipIf(!canRun('e2e tests (test/e2e/guests.test.ts)', boxMissing()))(
  'mactable as the qemu hook of a real libvirtd',
  () => {
    const kinds = `${ID}-kinds`;

    beforeAll(async () => {
      box = await Box.create({ mactable: { networks: [FWD_NET, ISO_NET], bridges: [LISTED] } });
      await box.bridge(LISTED);
      await box.bridge(UNLISTED);
      await box.bridge(HOSTBR);
      await box.tap(PREMADE, LISTED);
      await box.network(FWD_NET, `<network><name>${FWD_NET}</name><forward mode='bridge'/><bridge name='${HOSTBR}'/></network>`);
      await box.network(ISO_NET, `<network><name>${ISO_NET}</name><bridge name='${ISOBR}'/></network>`);
    });

    // The box goes with everything in it; the machine never had any of it.
    afterAll(async () => {
      await box?.destroy();
      expect((await sh('ip', ['-br', 'link'])).split('\n').filter((line) => line.includes(ID))).toEqual([]);
    });

    it('manages listed networks and bridges and a pre-made tap, leaves the rest alone', async () => {
      const [netFwd, netIso, onListed, onUnlisted, premade, user] = [1, 2, 3, 4, 5, 6].map((n) => mac(1, n)) as string[];
      await box.guest({
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
        expect(await portProblem(box.exec, bridge, tap, [address]), `${tap} on ${bridge}`).toBeNull();
      }
      const untouched = taps.get(onUnlisted as string) as string;
      expect(await readPortState(box.exec, untouched)).toEqual(ON);
      expect(await hasEntry(UNLISTED, untouched, onUnlisted as string)).toBe(false);
      expect(taps.has(user as string)).toBe(false);

      // The daemon's status file gives the same answer, with the user NIC skipped and why.
      const plan = await box.mactable('plan', '--json', `/run/libvirt/qemu/${kinds}.xml`);
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
      await box.exec('bridge', 'link', 'set', 'dev', tap, 'learning', 'on', 'flood', 'on');
      await box.exec('bridge', 'fdb', 'del', address, 'dev', tap, 'master');
      expect(await readPortState(box.exec, tap)).toEqual(ON);
      await box.restartLibvirtd();
      const restored = await eventually(async () => (await portProblem(box.exec, LISTED, tap, [address])) === null, 30);
      expect(restored).toBe(true);
      expect((await box.virsh('domstate', kinds)).trim()).toBe('running');
    });

    it('gives the pre-made tap back as it was after `virsh destroy`', async () => {
      await box.virsh('destroy', kinds);
      expect(await readPortState(box.exec, PREMADE)).toEqual(ON);
      expect(await hasEntry(LISTED, PREMADE, mac(1, 5))).toBe(false);
    });

    it('manages all 8 NICs of a guest on one bridge', async () => {
      const name = `${ID}-eight`;
      const macs = Array.from({ length: 8 }, (_, i) => mac(2, i + 1));
      await box.guest({ name, nics: macs.map((address) => nic('bridge', address, `<source bridge='${LISTED}'/>`)) });
      const taps = await tapsOf(name);
      expect(taps.size).toBe(8);
      for (const address of macs) {
        const tap = taps.get(address) as string;
        expect(await portProblem(box.exec, LISTED, tap, [address])).toBeNull();
      }
      await box.virsh('destroy', name);
    });

    it('a hot-plugged NIC drifts until `mactable repair`; then status exits 0', async () => {
      const name = `${ID}-hot`;
      const [first, plugged] = [mac(4, 1), mac(4, 2)];
      await box.guest({ name, acpi: true, nics: [nic('bridge', first, `<source bridge='${LISTED}'/>`)] });
      // No hook runs on hot-plug: the new port keeps the kernel's defaults.
      await box.virsh('attach-interface', name, 'bridge', LISTED, '--mac', plugged, '--model', 'virtio', '--live');
      const tap = (await tapsOf(name)).get(plugged) as string;
      expect(await readPortState(box.exec, tap)).toEqual(ON);

      const drifted = await box.mactable('status', '--json', name);
      expect(drifted.code).toBe(1);
      expect(JSON.parse(drifted.stdout).ports.map((p: { tap: string; verdict: string }) => [p.tap, p.verdict])).toEqual([
        [(await tapsOf(name)).get(first), 'ok'],
        [tap, 'drift'],
      ]);

      const repaired = await box.mactable('repair', name);
      expect(repaired).toEqual({ code: 0, stdout: `${name}: ${tap} on ${LISTED}: static entry ${plugged} added, learning off, unicast flooding off`, stderr: '' });
      expect(await readPortState(box.exec, tap)).toEqual(OFF);
      expect((await box.mactable('status', name)).code).toBe(0);
      await box.virsh('destroy', name);
    });

    it(`starts ${PARALLEL_E2E} guests at once: every port managed`, async () => {
      const names = Array.from({ length: PARALLEL_E2E }, (_, g) => `${ID}-p${g}`);
      const macOf = (g: number, n: number) => mac(5 + g, n + 1);
      await Promise.all(
        names.map((name, g) => box.guest({ name, nics: [0, 1].map((n) => nic('bridge', macOf(g, n), `<source bridge='${LISTED}'/>`)) })),
      );
      for (const [g, name] of names.entries()) {
        const taps = await tapsOf(name);
        for (const n of [0, 1]) {
          const tap = taps.get(macOf(g, n)) as string;
          expect(await portProblem(box.exec, LISTED, tap, [macOf(g, n)]), `${name} ${tap}`).toBeNull();
        }
      }
      await Promise.all(names.map((name) => box.virsh('destroy', name)));
    });

    it('starts a guest untouched while the config names a bridge that does not exist', async () => {
      box.configure({ bridges: [`${ID}-nx`] });
      const name = `${ID}-nx`;
      const address = mac(3, 1);
      await box.guest({ name, nics: [nic('bridge', address, `<source bridge='${UNLISTED}'/>`)] });
      expect((await box.virsh('domstate', name)).trim()).toBe('running');
      const tap = (await tapsOf(name)).get(address) as string;
      expect(await readPortState(box.exec, tap)).toEqual(ON);
      await box.virsh('destroy', name);
    });
  },
);
