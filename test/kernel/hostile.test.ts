import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { hostileDomain } from '../helpers/hostile-xml.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';

// Runs of the built hook on generated documents (the README's Safety section quotes this number).
export const BINARY_RUNS = 60;

describe.skipIf(!kernelSuite('test/kernel/hostile.test.ts'))(
  'the built hook on hostile XML, in a throwaway namespace',
  () => {
    const temp = new TempDir();
    const { env } = temp.hostRoot();
    let ns: Netns;
    const devices = async () => (JSON.parse(await ns.ip('-j', 'link', 'show')) as { ifname: string }[]).map((link) => link.ifname).sort();
    let before: string[] = [];

    beforeAll(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      await ns.bridge('br1');
      await ns.tap('tap0', 'br0');
      await ns.tap('tap1', 'br0');
      await ns.tap('vnet0', 'br1');
      before = await devices();
    });
    afterAll(async () => {
      await ns.remove();
      temp.cleanup();
    });

    it(`exits 0, 1 or 2, never writes stdout, and leaves the namespace's devices as they were (${BINARY_RUNS} documents)`, async () => {
      const config = temp.json('cfg.json', { bridges: ['*'], networks: ['*'] });
      await fc.assert(
        fc.asyncProperty(hostileDomain, async (xml) => {
          const result = await runDist(['hook', 'qemu', 'guest', 'started', 'begin', '-'], { netns: ns, stdin: xml, env: { ...env, MACTABLE_CONFIG: config } });
          expect([0, 1, 2]).toContain(result.code);
          expect(result.stdout).toBe('');
          expect(result.stderr).not.toContain('internal error');
        }),
        { numRuns: BINARY_RUNS },
      );
      expect(await devices()).toEqual(before);
      const entries = [...(await ns.staticEntries('br0')), ...(await ns.staticEntries('br1'))];
      for (const entry of entries) expect(['tap0', 'tap1', 'vnet0']).toContain(entry.ifname);
    }, 120_000);
  },
);
