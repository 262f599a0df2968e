import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, boxMissing, joinBridges, migrate } from '../helpers/box.js';
import { canRun, sh, uniqueSuffix } from '../helpers/sh.js';

const ID = `mtm${uniqueSuffix()}`;
const BR = 'br0';
const MAC = '52:54:00:e4:00:01';

// The scaffold of the two-host suite: two libvirt hosts on one machine, their bridges joined, a live migration each way.
describe.skipIf(!canRun('e2e tests (test/e2e/migration.test.ts)', boxMissing()))('live migration between two libvirt hosts', () => {
  const boxes: Box[] = [];
  let addresses: [string, string];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const box = await Box.create({ mactable: { bridges: [BR] } });
      boxes.push(box);
      await box.bridge(BR);
    }
    addresses = await joinBridges(boxes[0] as Box, boxes[1] as Box, BR);
  });

  afterAll(async () => {
    for (const box of boxes.splice(0)) await box.destroy();
    expect((await sh('ip', ['-br', 'link'])).split('\n').filter((line) => line.includes('uplink') || line.includes(ID))).toEqual([]);
  });

  it('migrates a running guest A→B→A with `virsh migrate --live`', async () => {
    const [a, b] = boxes as [Box, Box];
    const name = `${ID}-g`;
    await a.guest({ name, nics: [`<interface type='bridge'><mac address='${MAC}'/><source bridge='${BR}'/><model type='virtio'/></interface>`] });
    await migrate(a, b, name, addresses[1]);
    expect((await b.virsh('domstate', name)).trim()).toBe('running');
    expect((await a.virsh('list', '--name')).trim()).toBe('');
    await migrate(b, a, name, addresses[0]);
    expect((await a.virsh('domstate', name)).trim()).toBe('running');
    expect((await b.virsh('list', '--name')).trim()).toBe('');
  });
});
