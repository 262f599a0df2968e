import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box, boxMissing } from '../helpers/box.js';
import { readPortState, readStaticEntries } from '../helpers/netns.js';
import { canRun, sh, uniqueSuffix } from '../helpers/sh.js';

const ID = `mte${uniqueSuffix()}`; // 8 characters: every name below stays within 15
const BRIDGE = `${ID}-m`;
const VRRP = '00:00:5e:00:01:0a';
const KEY = ['--uri', 'urn:mactable:1', '--key', 'mactable'];

let box: Box;
const nic = (mac: string) => `<interface type='bridge'><mac address='${mac}'/><source bridge='${BRIDGE}'/><model type='virtio'/></interface>`;

async function entriesOn(tap: string): Promise<string[]> {
  return (await readStaticEntries(box.exec, BRIDGE)).filter((entry) => entry.ifname === tap).map((entry) => entry.mac);
}

describe.skipIf(!canRun('e2e tests (test/e2e/metadata.test.ts)', boxMissing()))(
  "the guest's own choices in its <metadata>, under a real libvirtd",
  () => {
    beforeAll(async () => {
      box = await Box.create({ mactable: { bridges: [BRIDGE] } });
      await box.bridge(BRIDGE);
    });

    // The box goes with everything in it; the machine never had any of it.
    afterAll(async () => {
      await box?.destroy();
      expect((await sh('ip', ['-br', 'link'])).split('\n').filter((line) => line.includes(ID))).toEqual([]);
    });

    it('a guest with manage="no" starts on a managed bridge and its port keeps learning and flooding on', async () => {
      const name = `${ID}-off`;
      await box.guest({ name, nics: [nic('52:54:00:e3:00:01')] }, false);
      await box.virsh('metadata', name, '--config', ...KEY, '--set', '<mactable manage="no"/>');
      await box.virsh('start', name);
      const tap = await box.tapOf(name);
      expect(await readPortState(box.exec, tap)).toEqual({ learning: true, flood: true });
      expect(await entriesOn(tap)).toEqual([]);
      const status = await box.mactable('status', '--json', name);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).ports[0]).toMatchObject({ verdict: 'unmanaged', reason: "manage='no' for the whole guest in its metadata" });
      await box.virsh('destroy', name);
    });

    it('an extra MAC set with `virsh metadata --live` is applied by repair, and removed by repair once cleared', async () => {
      const name = `${ID}-vr`;
      const mac = '52:54:00:e3:00:02';
      await box.guest({ name, nics: [nic(mac)] });
      const tap = await box.tapOf(name);
      expect(await entriesOn(tap)).toEqual([mac]);

      await box.virsh('metadata', name, '--live', ...KEY, '--set', `<mactable><interface mac="${mac}"><mac address="${VRRP}"/></interface></mactable>`);
      expect((await box.mactable('status', name)).code).toBe(1);
      expect(await box.mactable('repair', name)).toEqual({ code: 0, stdout: `${name}: ${tap} on ${BRIDGE}: static entry ${VRRP} added`, stderr: '' });
      expect((await entriesOn(tap)).sort()).toEqual([VRRP, mac]);
      expect((await box.mactable('status', name)).code).toBe(0);

      await box.virsh('metadata', name, '--live', ...KEY, '--remove');
      expect(await box.mactable('repair', name)).toEqual({ code: 0, stdout: `${name}: ${tap} on ${BRIDGE}: entry ${VRRP} deleted`, stderr: '' });
      expect(await entriesOn(tap)).toEqual([mac]);
      await box.virsh('destroy', name);
    });
  },
);
