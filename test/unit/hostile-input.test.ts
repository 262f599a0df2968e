import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootedFs, type HostFs } from '../../src/runtime/fs.js';
import { ifnameProblem, macProblem } from '../../src/domain/names.js';
import { hostileDomain } from '../helpers/hostile-xml.js';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';

// Property runs (the README's Safety section quotes these numbers).
export const PLAN_RUNS = 1000;
export const HOOK_RUNS = 1000;

const SYSFS_WRITE = /^\/sys\/class\/net\/([^/]+)\/brif\/([^/]+)\/(learning|unicast_flood)$/u;
const BATCH_LINE =
  /^(fdb show br (\S+) brport (\S+)|link show dev (\S+)|fdb replace [0-9a-f:]{17} dev (\S+) master static( sticky)?|fdb del [0-9a-f:]{17} dev (\S+) master|link set dev (\S+) locked (on|off))$/u;

describe('hostile and broken domain XML', () => {
  const temp = new TempDir();
  const config = temp.json('cfg.json', { bridges: ['*'], networks: ['*'] });

  // A saved host tree: bridges br0 and br1, taps tap0 and tap1 on br0, vnet0 on br1, sysfs flags on.
  beforeAll(() => {
    for (const bridge of ['br0', 'br1']) mkdirSync(`${temp.path}/sys/class/net/${bridge}/bridge`, { recursive: true });
    for (const [tap, bridge] of [['tap0', 'br0'], ['tap1', 'br0'], ['vnet0', 'br1']] as const) {
      mkdirSync(`${temp.path}/sys/class/net/${tap}`, { recursive: true });
      symlinkSync(`../${bridge}`, `${temp.path}/sys/class/net/${tap}/master`);
      mkdirSync(`${temp.path}/sys/class/net/${bridge}/brif/${tap}`, { recursive: true });
      for (const flag of ['learning', 'unicast_flood']) writeFileSync(`${temp.path}/sys/class/net/${bridge}/brif/${tap}/${flag}`, '1\n');
    }
  });
  afterAll(() => temp.cleanup());

  it(`mactable plan: a plan or a one-line refusal, never a crash (${PLAN_RUNS} documents)`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileDomain, async (xml) => {
        const result = await runFake(['plan', '--json', '--root', temp.path, '--config', config, '-'], { stdin: xml });
        expect([0, 2]).toContain(result.code);
        if (result.code === 2) {
          expect(result.stdout).toBe('');
          expect(result.stderr).toMatch(/^mactable: [^\n]+\n$/u);
          expect(result.stderr).not.toContain('internal error');
          return;
        }
        expect(result.stderr).toBe('');
        for (const port of JSON.parse(result.stdout).ports as { manage: boolean; mac: string; tap: string; bridge: string }[]) {
          if (!port.manage) continue;
          expect([macProblem(port.mac), ifnameProblem(port.tap), ifnameProblem(port.bridge)]).toEqual([null, null, null]);
        }
      }),
      { numRuns: PLAN_RUNS },
    );
  }, 120_000);

  const stats = { managed: 0, refused: 0 };
  it(`hook started: no stdout, documented exit codes, writes only to validated sysfs flags, names never options (${HOOK_RUNS} documents)`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileDomain, async (xml) => {
        const writes: string[] = [];
        const recording = (root: string): HostFs => {
          const real = rootedFs(root);
          return { ...real, update: (path, value) => (writes.push(path), real.update(path, value)) };
        };
        const result = await runFake(['hook', 'qemu', 'guest', 'started', 'begin', '-'], {
          stdin: xml,
          env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: config },
          hostFs: recording,
        });
        if (result.bridgeCalls.length > 0) stats.managed += 1;
        if (result.code === 2) stats.refused += 1;
        expect([0, 1, 2]).toContain(result.code);
        expect(result.stdout).toBe('');
        expect(result.stderr).not.toContain('internal error');
        for (const line of result.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^mactable: /u);
        for (const path of writes) {
          const [, bridge, tap] = SYSFS_WRITE.exec(path) ?? [];
          expect([path, ifnameProblem(bridge ?? ''), ifnameProblem(tap ?? '')]).toEqual([path, null, null]);
        }
        for (const call of result.bridgeCalls) {
          expect(call.args).toEqual(['-j', '-d', '-force', '-batch', '-']);
          for (const line of call.input.split('\n').filter(Boolean)) {
            const match = BATCH_LINE.exec(line);
            expect(match, line).not.toBeNull();
            for (const name of (match ?? []).slice(2).filter((part) => part !== undefined && !/^( sticky|on|off)$/u.test(part))) {
              expect(ifnameProblem(name as string), line).toBeNull();
            }
          }
        }
      }),
      { numRuns: HOOK_RUNS },
    );
    // The generator must reach the interesting paths, not only refusals.
    expect(stats.managed).toBeGreaterThan(HOOK_RUNS / 20);
    expect(stats.refused).toBeGreaterThan(HOOK_RUNS / 20);
  }, 120_000);
});

describe('huge and deep documents', () => {
  it('plans a domain with 5000 NICs', async () => {
    const temp = new TempDir();
    const mac = (i: number) => `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const nics = Array.from({ length: 5000 }, (_, i) => `<interface type='bridge'><mac address='${mac(i)}'/><source bridge='br0'/><target dev='vnet${i}'/></interface>`);
    const result = await runFake(['plan', '--json', '--root', temp.path, '-'], { stdin: `<domain id='1'><name>big</name><devices>${nics.join('')}</devices></domain>` });
    temp.cleanup();
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).ports).toHaveLength(5000);
  });

  it.each([
    ['nesting 10 000 elements deep', `<domain><name>d</name>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</domain>`],
    ['20 MB of junk', 'x'.repeat(20 << 20)],
    ['an entity expansion attempt', `<!DOCTYPE d [<!ENTITY a "${'x'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><domain><name>&b;</name></domain>`],
  ])('refuses %s in one line', async (_what, xml) => {
    const result = await runFake(['plan', '-'], { stdin: xml });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^mactable: stdin: [^\n]+\n$/u);
    expect(result.stderr).not.toContain('internal error');
  });
});
