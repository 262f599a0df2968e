import { rmSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InstalledMactable } from '../helpers/installed.js';
import { Lab, virsh } from '../helpers/libvirt.js';
import { hostExec, Netns, readPortState, readStaticEntries } from '../helpers/netns.js';
import { canRun, isRoot, sh, uniqueSuffix } from '../helpers/sh.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';

const ID = `mtw${uniqueSuffix()}`;
const BR = `${ID}-b`;
const UPLINK = `${ID}-u`;
const mac = (guest: number, nic: number) => `52:54:00:e3:${guest.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;
const nic = (address: string) => `<interface type='bridge'><mac address='${address}'/><source bridge='${BR}'/><model type='virtio'/></interface>`;

// MAC → tap of a running guest, from its live XML.
async function tapOf(guest: string, address: string): Promise<string> {
  const xml = await virsh('dumpxml', guest);
  const block = [...xml.matchAll(/<interface[^>]*>([^]*?)<\/interface>/gu)].map((m) => m[1] ?? '').find((b) => b.includes(address));
  const tap = /<target dev='([^']+)'/u.exec(block ?? '')?.[1];
  if (!tap) throw new Error(`${guest} has no tap for ${address}`);
  return tap;
}

const staticOn = async (tap: string, address: string) => (await readStaticEntries(hostExec, BR)).some((e) => e.mac === address && e.ifname === tap);
const entryAnywhere = async (address: string) => (await readStaticEntries(hostExec, BR)).some((e) => e.mac === address);
const flagsOff = async (tap: string) => {
  const state = await readPortState(hostExec, tap);
  return !state.learning && !state.flood;
};
// As libvirt makes a plain bridge's port, and as mactable leaves it while the guest is paused.
const flagsOn = async (tap: string) => {
  const state = await readPortState(hostExec, tap);
  return state.learning && state.flood;
};
// How long until the condition holds, or null when it did not within `seconds`.
async function timeUntil(check: () => Promise<boolean>, seconds = 1): Promise<number | null> {
  const started = Date.now();
  return (await eventually(check, seconds)) ? Date.now() - started : null;
}

describe.skipIf(!canRun('e2e tests (test/e2e/watch.test.ts)', isRoot ? null : 'they need root to run libvirtd and install the hook'))(
  'the watcher and paused guests under a real libvirtd',
  () => {
    const lab = new Lab();
    const mactable = new InstalledMactable(`/tmp/${ID}`);
    let uplinkNs: Netns;
    let watcher: Watcher | null = null;
    const gaps: string[] = [];

    beforeAll(async () => {
      await mactable.install();
      mactable.configure({ bridges: [BR] });
      await lab.bridge(BR);
      // The host's uplink: a veth port on the bridge whose peer, in a namespace of ours, sends as a guest still on its source host would.
      uplinkNs = await Netns.create();
      lab.onCleanup(() => uplinkNs.remove());
      await lab.veth(UPLINK, 'mtwpeer');
      await sh('ip', ['link', 'set', UPLINK, 'master', BR]);
      await sh('ip', ['link', 'set', 'mtwpeer', 'netns', uplinkNs.name]);
      await uplinkNs.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
      await uplinkNs.ip('addr', 'add', '10.255.255.2/24', 'dev', 'mtwpeer');
      await uplinkNs.ip('link', 'set', 'mtwpeer', 'up');
    });
    afterEach(async () => {
      await watcher?.kill();
      watcher = null;
    });
    afterAll(async () => {
      await lab.cleanup();
      await mactable.uninstall();
      if (gaps.length > 0) process.stderr.write(`${gaps.join('\n')}\n`);
      const leftovers = [...(await sh('ip', ['-br', 'link'])).split('\n'), ...(await virsh('list', '--all', '--name')).split('\n')].filter((line) => line.includes(ID));
      expect(leftovers).toEqual([]);
      expect((await execa('pgrep', ['-f', `until-running=${ID}`], { reject: false })).stdout).toBe('');
    });

    const startWatcher = () => (watcher = Watcher.start([`${mactable.prefix}/bin/mactable`, 'watch']));
    // A paused guest's port as libvirt made it: learning and flooding on, no static entry for its MAC anywhere. Returns the tap.
    const pausedWithoutEntry = async (name: string, address: string) => {
      const tap = await tapOf(name, address);
      expect(await flagsOn(tap)).toBe(true);
      expect(await entryAnywhere(address)).toBe(false);
      return tap;
    };
    // `virsh resume`, then how long until the tap has its static entry (flags still off): at most 1 s.
    const resumeUntilEntry = async (name: string, tap: string, address: string) => {
      await virsh('resume', name);
      const took = await timeUntil(async () => (await flagsOff(tap)) && staticOn(tap, address));
      expect(took).not.toBeNull();
      return took;
    };
    // A broadcast from the uplink with the guest's MAC as its source: the bridge learns the MAC there.
    const frameFromUplink = async (address: string) => {
      await uplinkNs.ip('link', 'set', 'mtwpeer', 'address', address);
      await uplinkNs.tryExec('arping', '-c', '1', '-w', '1', '-I', 'mtwpeer', '10.255.255.1'); // nobody answers: only the request matters
    };

    it('with the watcher: a NIC hot-plugged with virsh attach-interface is right within 1 s; detach-interface leaves nothing of ours', async () => {
      startWatcher();
      const name = `${ID}-hot`;
      await lab.guest({ name, acpi: true, nics: [nic(mac(1, 1))] });
      // A USB NIC: its unplug needs no guest OS to acknowledge it, so detach-interface really removes it here.
      await virsh('attach-interface', name, 'bridge', BR, '--mac', mac(1, 2), '--model', 'usb-net', '--live');
      const tap = await tapOf(name, mac(1, 2));
      const took = await timeUntil(async () => (await flagsOff(tap)) && staticOn(tap, mac(1, 2)));
      expect(took).not.toBeNull();
      gaps.push(`hot-plug: right ${took} ms after attach-interface returned`);
      await virsh('detach-interface', name, 'bridge', '--mac', mac(1, 2), '--live');
      expect(await eventually(async () => !(await entryAnywhere(mac(1, 2))) && !(await sh('ip', ['-br', 'link'])).includes(tap), 2)).toBe(true);
      await virsh('destroy', name);
    });

    it.each([
      ['with the watcher', true],
      ['without it: the waiter the hook left', false],
    ])('virsh save + restore --paused (a migration\'s destination): no entry while paused, the guest\'s MAC heard on the uplink, resume: the entry on the tap within 1 s, %s', async (how, withWatcher) => {
      if (withWatcher) startWatcher();
      const name = `${ID}-m${withWatcher ? 'w' : 'n'}`;
      const address = mac(2, withWatcher ? 1 : 2);
      const image = `/tmp/${name}.save`;
      await lab.guest({ name, nics: [nic(address)] });
      try {
        await virsh('save', name, image);
        await virsh('restore', image, '--paused');
      } finally {
        rmSync(image, { force: true });
      }
      const tap = await pausedWithoutEntry(name, address);
      await frameFromUplink(address);
      const onUplink = async () => JSON.parse(await sh('bridge', ['-j', 'fdb', 'show', 'br', BR, 'brport', UPLINK])).some((e: { mac: string }) => e.mac === address);
      expect(await eventually(async () => !(await entryAnywhere(address)) && onUplink(), 2)).toBe(true);
      gaps.push(`restore --paused, ${how}: entry on the tap ${await resumeUntilEntry(name, tap, address)} ms after resume returned`);
      await virsh('destroy', name);
    });

    it.each([
      ['with the watcher', true],
      ['without it: the waiter the hook left', false],
    ])('virsh start --paused, then resume: the entry within 1 s, %s', async (how, withWatcher) => {
      if (withWatcher) startWatcher();
      const name = `${ID}-p${withWatcher ? 'w' : 'n'}`;
      const address = mac(3, withWatcher ? 1 : 2);
      await lab.guest({ name, nics: [nic(address)] }, false);
      await virsh('start', name, '--paused');
      const tap = await pausedWithoutEntry(name, address);
      gaps.push(`start --paused, ${how}: entry ${await resumeUntilEntry(name, tap, address)} ms after resume returned`);
      await virsh('destroy', name);
    });

    it('with the watcher: an extra MAC set with `virsh metadata --live` is applied within 1 s, and removed within 1 s once cleared', async () => {
      startWatcher();
      const name = `${ID}-x`;
      const address = mac(5, 1);
      const vrrp = '00:00:5e:00:01:0b';
      const key = ['--uri', 'urn:mactable:1', '--key', 'mactable'];
      await lab.guest({ name, nics: [nic(address)] });
      const tap = await tapOf(name, address);
      expect(await timeUntil(() => staticOn(tap, address), 5)).not.toBeNull();
      await virsh('metadata', name, '--live', ...key, '--set', `<mactable><interface mac="${address}"><mac address="${vrrp}"/></interface></mactable>`);
      const added = await timeUntil(() => staticOn(tap, vrrp));
      expect(added).not.toBeNull();
      await virsh('metadata', name, '--live', ...key, '--remove');
      const removed = await timeUntil(async () => !(await entryAnywhere(vrrp)));
      expect(removed).not.toBeNull();
      expect(await staticOn(tap, address)).toBe(true);
      gaps.push(`virsh metadata --live: extra entry ${added} ms after it returned; gone ${removed} ms after --remove`);
      await virsh('destroy', name);
    });

    it('with the watcher: virsh suspend deletes the entry within 1 s, resume restores it within 1 s', async () => {
      startWatcher();
      const name = `${ID}-s`;
      const address = mac(4, 1);
      await lab.guest({ name, nics: [nic(address)] });
      const tap = await tapOf(name, address);
      expect(await timeUntil(() => staticOn(tap, address), 5)).not.toBeNull();
      await virsh('suspend', name);
      const gone = await timeUntil(async () => !(await entryAnywhere(address)));
      expect(gone).not.toBeNull();
      await virsh('resume', name);
      const back = await timeUntil(() => staticOn(tap, address));
      expect(back).not.toBeNull();
      gaps.push(`suspend: entry gone ${gone} ms after suspend returned; resume: back after ${back} ms`);
      await virsh('destroy', name);
    });
  },
);
