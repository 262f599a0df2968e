import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, joinBridges } from '../helpers/box.js';
import type { DebianRoot } from '../helpers/debian-root.js';
import { libvirtRootMissing, makeLibvirtRoot, packageTime } from '../helpers/libvirt-root.js';
import { GAP_MODES, RATE, roundTrip } from '../helpers/gap.js';
import { canRun, sh } from '../helpers/sh.js';

const MAC = '52:54:00:e8:00:01';
// As test/e2e/migration.test.ts holds libvirt 9.0 to.
const MAX_GAP = 5;
// The plain bridge (the control: the meter sees no gap where nothing is managed), mactable as installed (the hook and
// the waiter it leaves), and with the watcher, whose source side reads libvirt 11's status files through the switch-over.
const MODES = GAP_MODES.filter((mode) => ['plain bridge', 'hook + waiter', 'watcher in both hosts'].includes(mode.name));

// Two Debian 13 libvirt hosts (boxes running the root's libvirtd 11.3 and QEMU 10), their bridges joined by a veth
// pair; a diskless guest migrated A→B→A with the root's `virsh migrate --live` while frames at 1 kHz are counted.
describe.skipIf(!canRun('Debian 13 e2e tests (test/e2e-trixie/migration.test.ts)', libvirtRootMissing()))("live migration between two hosts with Debian 13's libvirt 11.3", () => {
  let root: DebianRoot | undefined;
  const boxes: Box[] = [];
  let addresses: [string, string];
  const table: string[] = [];

  beforeAll(async () => {
    const made = await makeLibvirtRoot();
    root = made.root;
    process.stderr.write(`e2e-trixie: ${packageTime(made.packageMs)}\n`);
    for (let i = 0; i < 2; i++) {
      boxes.push(await Box.create({ root: root.path, mactable: { bridges: [] } }));
      await (boxes[i] as Box).bridge('br0');
    }
    addresses = await joinBridges(boxes[0] as Box, boxes[1] as Box, 'br0');
  });

  afterAll(async () => {
    if (table.length > 0) process.stderr.write(`libvirt 11.3 switch-over gaps at ${RATE} frames/s (missed / reached neither tap):\n${table.join('\n')}\n`);
    try {
      for (const box of boxes.splice(0)) await box.destroy();
    } finally {
      await root?.cleanup();
    }
    expect((await sh('ip', ['-br', 'link'])).split('\n').filter((line) => line.includes('uplink'))).toEqual([]);
  });

  it.each(MODES)('$name: A→B→A, at most 5 frames missed a switch-over; 1 s after each no entry left on the source, the destination managed', async (mode) => {
    const [a, b] = boxes as [Box, Box];
    const { gaps, settled, home } = await roundTrip([a, b], addresses, mode, `mtt-mig-${MODES.indexOf(mode)}`, MAC);
    table.push(...gaps.map((gap) => `  ${mode.name}, ${gap.from}→${gap.to}: ${gap.lost} / ${gap.neither} (migration ${gap.seconds.toFixed(1)} s)`));
    expect(home).toBe('running');
    expect((await b.virsh('list', '--name')).trim()).toBe('');
    if (mode.config.bridges.length > 0) expect(settled).toEqual([{ source: true, destination: true }, { source: true, destination: true }]);
    for (const gap of gaps) expect(gap.lost, `${gap.from}→${gap.to}`).toBeLessThanOrEqual(MAX_GAP);
  });
});
