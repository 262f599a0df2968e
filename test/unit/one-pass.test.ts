import { mkdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rootedFs, type HostFs } from '../../src/runtime/fs.js';
import { FakeBridge } from '../helpers/fake-bridge.js';
import { FakeSys } from '../helpers/fake-sys.js';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain, writeStatus } from '../helpers/xml.js';

const mac = (i: number) => `52:54:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

// A file system that counts, per tap, every read and write of the files below /sys/class/net that name it.
function counting(counts: Map<string, Map<string, number>>) {
  return (root: string): HostFs => {
    const fs = rootedFs(root);
    const count = (what: string, path: string) => {
      const tap = /\/sys\/class\/net\/(?:[^/]+\/brif\/)?(vnet\d+)(?:\/(\w+))?/u.exec(path);
      if (tap === null) return;
      const key = `${what} ${tap[2] ?? ''}`.trim();
      const mine = counts.get(tap[1] as string) ?? new Map<string, number>();
      counts.set(tap[1] as string, mine.set(key, (mine.get(key) ?? 0) + 1));
    };
    return {
      ...fs,
      readText: (path) => (count('read', path), fs.readText(path)),
      readLink: (path) => (count('readlink', path), fs.readLink(path)),
      exists: (path) => (count('exists', path), fs.exists(path)),
      update: (path, value) => (count('update', path), fs.update(path, value)),
    };
  };
}

// What one port cost in a round: each file read once, each flag written once (read back through the same descriptor).
const ONCE = new Map([
  ['exists', 1],
  ['readlink master', 1],
  ['read learning', 1],
  ['read unicast_flood', 1],
  ['update learning', 1],
  ['update unicast_flood', 1],
]);

// A watcher round and the hook's `started` are one pass: observe every port once, diff, apply, read back once. The
// watcher observes in one `bridge` process and writes in one more; the hook, whose start-up is libvirt's wait, reads
// each port's entries in its one `bridge` process, right before the writes. Every port drifted: as libvirt made it.
describe.each([1, 64])('one pass over %i drifted ports', (n) => {
  let temp: TempDir;
  let bridge: FakeBridge;
  let counts: Map<string, Map<string, number>>;
  const taps = Array.from({ length: n }, (_, i) => `vnet${i}`);
  const env = () => ({ MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) });

  beforeEach(() => {
    temp = new TempDir();
    const sys = new FakeSys(temp.path);
    sys.bridge('br0');
    for (const tap of taps) sys.port('br0', tap);
    mkdirSync(`${temp.path}/run/libvirt/qemu`, { recursive: true });
    bridge = new FakeBridge();
    counts = new Map();
  });
  afterEach(() => temp.cleanup());

  // Each port's own lines in the batches: its observation, its entry, its read-back.
  const linesOf = (tap: string) => bridge.calls.map((call) => call.filter((line) => line.split(' ').includes(tap)));
  const expectOnePass = (hook: boolean) => {
    expect(bridge.calls).toHaveLength(hook ? 1 : 2);
    for (const [i, tap] of taps.entries()) {
      const [show, write] = [`fdb show br br0 brport ${tap}`, `fdb replace ${mac(i)} dev ${tap} master static`];
      expect(linesOf(tap)).toEqual(hook ? [[show, write, show]] : [[show], [write, show]]);
      // The tap's existence, its master and its two flags read once; each flag written once.
      expect(new Map([...(counts.get(tap) ?? [])].map(([what, times]) => [what.replace(/^exists( \w+)?$/u, 'exists'), times]))).toEqual(ONCE);
    }
  };

  it('a watcher round', async () => {
    for (const [i, tap] of taps.entries()) writeStatus(`${temp.path}/run/libvirt/qemu`, `g${i}`, [bridgeNic(mac(i), 'br0', tap)]);
    const run = await runFake(['watch', '--once'], { env: env(), bridge: bridge.run, hostFs: counting(counts) });
    expect(run.code).toBe(0);
    expectOnePass(false);
  });

  it("the hook's started", async () => {
    const xml = liveDomain(taps.map((tap, i) => bridgeNic(mac(i), 'br0', tap)), 'g');
    const run = await runFake(['hook', 'qemu', 'g', 'started', 'begin', '-'], { stdin: xml, env: env(), bridge: bridge.run, hostFs: counting(counts) });
    expect(run).toMatchObject({ code: 0, stdout: '' });
    expectOnePass(true);
  });
});
