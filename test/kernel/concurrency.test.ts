import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

// Hook processes started at once, as libvirt does for guests starting together (the README's Safety section quotes this).
export const PARALLEL_GUESTS = 20;
const NICS_PER_GUEST = 2;

describe.skipIf(!kernelSuite('test/kernel/concurrency.test.ts'))(
  `${PARALLEL_GUESTS} hooks for ${PARALLEL_GUESTS} guests on one bridge, all at once`,
  () => {
    const temp = new TempDir();
    const { env } = temp.hostRoot();
    let ns: Netns;
    const mac = (guest: number, nic: number) => `52:54:00:77:${guest.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;
    const tap = (guest: number, nic: number) => `t${guest}n${nic}`;
    const guests = Array.from({ length: PARALLEL_GUESTS }, (_, g) => g);
    const nics = Array.from({ length: NICS_PER_GUEST }, (_, n) => n);

    beforeAll(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      for (const g of guests) for (const n of nics) await ns.tap(tap(g, n), 'br0');
    });
    afterAll(async () => {
      await ns?.remove();
      temp.cleanup();
    });

    it('every port ends correct and every entry is present', async () => {
      const config = temp.json('cfg.json', { bridges: ['br0'] });
      const results = await Promise.all(
        guests.map((g) =>
          runDist(['hook', 'qemu', `guest${g}`, 'started', 'begin', '-'], {
            netns: ns,
            stdin: liveDomain(nics.map((n) => bridgeNic(mac(g, n), 'br0', tap(g, n))), `guest${g}`),
            env: { ...env, MACTABLE_CONFIG: config },
          }),
        ),
      );
      expect(results.map((result) => [result.code, result.stdout])).toEqual(guests.map(() => [0, '']));
      for (const g of guests) for (const n of nics) expect(await ns.portState(tap(g, n)), tap(g, n)).toEqual({ learning: false, flood: false });
      const entries = (await ns.staticEntries('br0')).map((entry) => `${entry.mac} ${entry.ifname}`).sort();
      expect(entries).toEqual(guests.flatMap((g) => nics.map((n) => `${mac(g, n)} ${tap(g, n)}`)).sort());
    }, 60_000);
  },
);
