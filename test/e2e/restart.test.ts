import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, boxMissing } from '../helpers/box.js';
import { asLibvirtLeavesIt, portsProblems } from '../helpers/netns.js';
import { canRun, uniqueSuffix } from '../helpers/sh.js';
import { eventually, timeUntil } from '../helpers/wait.js';
import { BLIND_BRIDGE, type Watcher } from '../helpers/watcher.js';

const ID = `mtr${uniqueSuffix()}`;
const GUESTS = 20;
const mac = (i: number) => `52:54:00:e5:00:${i.toString(16).padStart(2, '0')}`;

// A libvirtd restart runs `reconnect` for every running guest at once; beside a running watcher hooks/qemu ends each
// in the shell, and the watcher makes the ports right from the status files libvirt rewrites at reconnect. Every
// port drifts while the daemon is down, and the watcher's kernel monitor is a stand-in that sees nothing: only the
// restart's own cues (the status files, the daemon's socket) can make it look, and without it only the hooks.
describe.skipIf(!canRun('e2e tests (test/e2e/restart.test.ts)', boxMissing()))(`a daemon restart with ${GUESTS} guests and the watcher`, () => {
  let box: Box;
  let watcher: Watcher;
  let calls: string;
  let dir: string;

  beforeAll(async () => {
    // The Node.js the hook runs is a wrapper that writes down every start, so the hook's Node processes are counted.
    dir = `/tmp/${ID}`;
    mkdirSync(dir, { recursive: true });
    calls = `${dir}/node-calls`;
    writeFileSync(calls, '');
    const wrapper = `${dir}/node`;
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    box = await Box.create({ mactable: { bridges: ['br0'] }, node: wrapper });
    await box.bridge('br0');
    const blind = `${dir}/bridge`;
    writeFileSync(blind, BLIND_BRIDGE, { mode: 0o755 });
    watcher = await box.startWatcher(['--interval', '3600'], { MACTABLE_BRIDGE: blind });
    for (let i = 0; i < GUESTS; i++) {
      await box.guest({ name: `${ID}-${i}`, nics: [`<interface type='bridge'><mac address='${mac(i)}'/><source bridge='br0'/><model type='virtio'/></interface>`] });
    }
  });

  afterAll(async () => {
    await watcher?.kill();
    await box?.destroy();
    rmSync(`/tmp/${ID}`, { recursive: true, force: true });
  });

  // Every guest's tap: learning and flooding off, the guest's static entry on it.
  const allRight = async (taps: Map<string, string>) => (await portsProblems(box.exec, 'br0', [...taps].map(([mac, tap]) => ({ tap, mac })))).size === 0;

  // Every port as libvirt leaves a tap: learning and flooding on, no static entry.
  const driftAll = (taps: Map<string, string>) => {
    writeFileSync(`${dir}/drift`, asLibvirtLeavesIt([...taps].map(([address, tap]) => ({ tap, mac: address }))));
    return box.exec('bridge', '-batch', `${dir}/drift`);
  };

  it('no Node process for reconnect, every port right within 1 s of the daemon answering again', async () => {
    const taps = new Map<string, string>();
    for (let i = 0; i < GUESTS; i++) taps.set(mac(i), await box.tapOf(`${ID}-${i}`, mac(i)));
    expect(await eventually(() => allRight(taps), 10)).toBe(true);
    const reconnects = () => readFileSync(calls, 'utf8').split('\n').filter((line) => line.includes('reconnect')).length;
    await box.restartLibvirtd(async () => {
      await driftAll(taps);
      expect(await allRight(taps)).toBe(false);
    });
    expect(await timeUntil(() => allRight(taps), 1)).not.toBeNull();
    expect(reconnects()).toBe(0);
    // Every guest still runs: a reconnect hook that failed would have made libvirt kill its guest.
    expect((await box.virsh('list', '--name')).split('\n').filter(Boolean)).toHaveLength(GUESTS);

    // The control: without the watcher the same restart does start Node for the reconnects (one reconnect-all, here).
    await watcher.stop();
    await box.restartLibvirtd(() => driftAll(taps));
    expect(await eventually(() => reconnects() > 0, 10)).toBe(true);
    expect(await eventually(() => allRight(taps), 10)).toBe(true);
  });
});
