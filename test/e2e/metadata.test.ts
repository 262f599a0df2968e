import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstalledMactable } from '../helpers/installed.js';
import { Lab, virsh } from '../helpers/libvirt.js';
import { hostExec, readPortState, readStaticEntries } from '../helpers/netns.js';
import { canRun, isRoot, sh, uniqueSuffix } from '../helpers/sh.js';

const ID = `mte${uniqueSuffix()}`; // 8 characters: every name below stays within 15
const BRIDGE = `${ID}-m`;
const VRRP = '00:00:5e:00:01:0a';
const KEY = ['--uri', 'urn:mactable:1', '--key', 'mactable'];

const nic = (mac: string) => `<interface type='bridge'><mac address='${mac}'/><source bridge='${BRIDGE}'/><model type='virtio'/></interface>`;

// The tap of a running guest's only NIC, from its live XML.
async function tapOf(guest: string): Promise<string> {
  const tap = /<target dev='([^']+)'/u.exec(await virsh('dumpxml', guest))?.[1];
  if (tap === undefined) throw new Error(`${guest} has no tap`);
  return tap;
}

async function entriesOn(tap: string): Promise<string[]> {
  return (await readStaticEntries(hostExec, BRIDGE)).filter((entry) => entry.ifname === tap).map((entry) => entry.mac);
}

describe.skipIf(!canRun('e2e tests (test/e2e)', isRoot ? null : 'they need root to run libvirtd and install the hook'))(
  "the guest's own choices in its <metadata>, under a real libvirtd",
  () => {
    const lab = new Lab();
    const mactable = new InstalledMactable(`/tmp/${ID}`);

    beforeAll(async () => {
      await mactable.install();
      mactable.configure({ bridges: [BRIDGE] });
      await lab.bridge(BRIDGE);
    });

    afterAll(async () => {
      await lab.cleanup();
      await mactable.uninstall();
      const leftovers = [...(await sh('ip', ['-br', 'link'])).split('\n'), ...(await virsh('list', '--all', '--name')).split('\n')].filter((line) => line.includes(ID));
      expect(leftovers).toEqual([]);
    });

    it('a guest with manage="no" starts on a managed bridge and its port keeps learning and flooding on', async () => {
      const name = `${ID}-off`;
      await lab.guest({ name, nics: [nic('52:54:00:e3:00:01')] }, false);
      await virsh('metadata', name, '--config', ...KEY, '--set', '<mactable manage="no"/>');
      await virsh('start', name);
      const tap = await tapOf(name);
      expect(await readPortState(hostExec, tap)).toEqual({ learning: true, flood: true });
      expect(await entriesOn(tap)).toEqual([]);
      const status = await mactable.run('status', '--json', name);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).ports[0]).toMatchObject({ verdict: 'unmanaged', reason: "manage='no' for the whole guest in its metadata" });
      await virsh('destroy', name);
    });

    it('an extra MAC set with `virsh metadata --live` is applied by repair, and removed by repair once cleared', async () => {
      const name = `${ID}-vr`;
      const mac = '52:54:00:e3:00:02';
      await lab.guest({ name, nics: [nic(mac)] });
      const tap = await tapOf(name);
      expect(await entriesOn(tap)).toEqual([mac]);

      await virsh('metadata', name, '--live', ...KEY, '--set', `<mactable><interface mac="${mac}"><mac address="${VRRP}"/></interface></mactable>`);
      expect((await mactable.run('status', name)).code).toBe(1);
      expect(await mactable.run('repair', name)).toEqual({ code: 0, stdout: `${name}: ${tap} on ${BRIDGE}: static entry ${VRRP} added`, stderr: '' });
      expect((await entriesOn(tap)).sort()).toEqual([VRRP, mac]);
      expect((await mactable.run('status', name)).code).toBe(0);

      await virsh('metadata', name, '--live', ...KEY, '--remove');
      expect(await mactable.run('repair', name)).toEqual({ code: 0, stdout: `${name}: ${tap} on ${BRIDGE}: entry ${VRRP} deleted`, stderr: '' });
      expect(await entriesOn(tap)).toEqual([mac]);
      await virsh('destroy', name);
    });
  },
);
