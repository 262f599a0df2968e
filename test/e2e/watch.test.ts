import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Box, boxMissing } from '../helpers/box.js';
import { Holder } from '../helpers/holder.js';
import { portProblem, readPortState, readStaticEntries } from '../helpers/netns.js';
import { canRun, sh, uniqueSuffix } from '../helpers/sh.js';
import { eventually, timeUntil } from '../helpers/wait.js';
import type { Watcher } from '../helpers/watcher.js';

const ID = `mtw${uniqueSuffix()}`;
const BR = `${ID}-b`;
const UPLINK = `${ID}-u`;
const mac = (guest: number, nic: number) => `52:54:00:e3:${guest.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;
let box: Box;
const nic = (address: string) => `<interface type='bridge'><mac address='${address}'/><source bridge='${BR}'/><model type='virtio'/></interface>`;

const staticOn = async (tap: string, address: string) => (await readStaticEntries(box.exec, BR)).some((e) => e.mac === address && e.ifname === tap);
const entryAnywhere = async (address: string) => (await readStaticEntries(box.exec, BR)).some((e) => e.mac === address);
// As libvirt makes a plain bridge's port, and as mactable leaves it while the guest is paused.
const flagsOn = async (tap: string) => {
  const state = await readPortState(box.exec, tap);
  return state.learning && state.flood;
};

describe.skipIf(!canRun('e2e tests (test/e2e/watch.test.ts)', boxMissing()))(
  'the watcher and paused guests under a real libvirtd',
  () => {
    let uplink: Holder | undefined;
    let watcher: Watcher | null = null;
    const gaps: string[] = [];

    beforeAll(async () => {
      box = await Box.create({ mactable: { bridges: [BR] } });
      await box.bridge(BR);
      // The host's uplink: a veth port on the bridge whose peer, in a namespace of ours, sends as a guest still on its source host would.
      uplink = await Holder.create();
      await box.holder.netExec('ip', 'link', 'add', UPLINK, 'type', 'veth', 'peer', 'name', 'mtwpeer', 'netns', String(uplink.pid));
      await box.exec('ip', 'link', 'set', UPLINK, 'master', BR, 'up');
      await uplink.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
      await uplink.exec('ip', 'addr', 'add', '10.255.255.2/24', 'dev', 'mtwpeer');
      await uplink.exec('ip', 'link', 'set', 'mtwpeer', 'up');
    });
    afterEach(async () => {
      await watcher?.kill();
      watcher = null;
    });
    // The box goes with everything in it; the machine never had any of it.
    afterAll(async () => {
      if (gaps.length > 0) process.stderr.write(`${gaps.join('\n')}\n`);
      const waiters = async () => (await box.holder.run('pgrep', '-f', `until-running=${ID}`)).stdout;
      try {
        expect(await eventually(async () => (await waiters()) === '', 5)).toBe(true);
      } finally {
        await uplink?.destroy();
        await box?.destroy();
      }
      expect((await sh('ip', ['-br', 'link'])).split('\n').filter((line) => line.includes(ID))).toEqual([]);
    });

    const startWatcher = async () => (watcher = await box.startWatcher());
    // A paused guest's port as libvirt made it: learning and flooding on, no static entry for its MAC anywhere. Returns the tap.
    const pausedWithoutEntry = async (name: string, address: string) => {
      const tap = await box.tapOf(name, address);
      expect(await flagsOn(tap)).toBe(true);
      expect(await entryAnywhere(address)).toBe(false);
      return tap;
    };
    // `virsh resume`, then how long until the tap has its static entry (flags still off): at most 1 s.
    const resumeUntilEntry = async (name: string, tap: string, address: string) => {
      await box.virsh('resume', name);
      const took = await timeUntil(async () => (await portProblem(box.exec, BR, tap, [address])) === null);
      expect(took).not.toBeNull();
      return took;
    };
    // A broadcast from the uplink with the guest's MAC as its source: the bridge learns the MAC there.
    const frameFromUplink = async (address: string) => {
      await uplink?.exec('ip', 'link', 'set', 'mtwpeer', 'address', address);
      await uplink?.run('arping', '-c', '1', '-w', '1', '-I', 'mtwpeer', '10.255.255.1'); // nobody answers: only the request matters
    };

    it('with the watcher: a NIC hot-plugged with virsh attach-interface is right within 1 s; detach-interface leaves nothing of ours', async () => {
      await startWatcher();
      const name = `${ID}-hot`;
      await box.guest({ name, acpi: true, nics: [nic(mac(1, 1))] });
      // A USB NIC: its unplug needs no guest OS to acknowledge it, so detach-interface really removes it here.
      await box.virsh('attach-interface', name, 'bridge', BR, '--mac', mac(1, 2), '--model', 'usb-net', '--live');
      const tap = await box.tapOf(name, mac(1, 2));
      const took = await timeUntil(async () => (await portProblem(box.exec, BR, tap, [mac(1, 2)])) === null);
      expect(took).not.toBeNull();
      gaps.push(`hot-plug: right ${took} ms after attach-interface returned`);
      await box.virsh('detach-interface', name, 'bridge', '--mac', mac(1, 2), '--live');
      expect(await eventually(async () => !(await entryAnywhere(mac(1, 2))) && !(await box.exec('ip', '-br', 'link')).includes(tap), 2)).toBe(true);
      await box.virsh('destroy', name);
    });

    it.each([
      ['with the watcher', true],
      ['without it: the waiter the hook left', false],
    ])('virsh save + restore --paused (a migration\'s destination): no entry while paused, the guest\'s MAC heard on the uplink, resume: the entry on the tap within 1 s, %s', async (how, withWatcher) => {
      if (withWatcher) await startWatcher();
      const name = `${ID}-m${withWatcher ? 'w' : 'n'}`;
      const address = mac(2, withWatcher ? 1 : 2);
      const image = `${box.path}/${name}.save`;
      await box.guest({ name, nics: [nic(address)] });
      try {
        await box.virsh('save', name, image);
        await box.virsh('restore', image, '--paused');
      } finally {
        rmSync(image, { force: true });
      }
      const tap = await pausedWithoutEntry(name, address);
      await frameFromUplink(address);
      const onUplink = async () => JSON.parse(await box.exec('bridge', '-j', 'fdb', 'show', 'br', BR, 'brport', UPLINK)).some((e: { mac: string }) => e.mac === address);
      expect(await eventually(async () => !(await entryAnywhere(address)) && onUplink(), 2)).toBe(true);
      gaps.push(`restore --paused, ${how}: entry on the tap ${await resumeUntilEntry(name, tap, address)} ms after resume returned`);
      await box.virsh('destroy', name);
    });

    it.each([
      ['with the watcher', true],
      ['without it: the waiter the hook left', false],
    ])('virsh start --paused, then resume: the entry within 1 s, %s', async (how, withWatcher) => {
      if (withWatcher) await startWatcher();
      const name = `${ID}-p${withWatcher ? 'w' : 'n'}`;
      const address = mac(3, withWatcher ? 1 : 2);
      await box.guest({ name, nics: [nic(address)] }, false);
      await box.virsh('start', name, '--paused');
      const tap = await pausedWithoutEntry(name, address);
      gaps.push(`start --paused, ${how}: entry ${await resumeUntilEntry(name, tap, address)} ms after resume returned`);
      await box.virsh('destroy', name);
    });

    it('with the watcher: an extra MAC set with `virsh metadata --live` is applied within 1 s, and removed within 1 s once cleared', async () => {
      await startWatcher();
      const name = `${ID}-x`;
      const address = mac(5, 1);
      const vrrp = '00:00:5e:00:01:0b';
      const key = ['--uri', 'urn:mactable:1', '--key', 'mactable'];
      await box.guest({ name, nics: [nic(address)] });
      const tap = await box.tapOf(name, address);
      expect(await timeUntil(() => staticOn(tap, address), 5)).not.toBeNull();
      await box.virsh('metadata', name, '--live', ...key, '--set', `<mactable><interface mac="${address}"><mac address="${vrrp}"/></interface></mactable>`);
      const added = await timeUntil(() => staticOn(tap, vrrp));
      expect(added).not.toBeNull();
      await box.virsh('metadata', name, '--live', ...key, '--remove');
      const removed = await timeUntil(async () => !(await entryAnywhere(vrrp)));
      expect(removed).not.toBeNull();
      expect(await staticOn(tap, address)).toBe(true);
      gaps.push(`virsh metadata --live: extra entry ${added} ms after it returned; gone ${removed} ms after --remove`);
      await box.virsh('destroy', name);
    });

    it('with the watcher: virsh suspend deletes the entry within 1 s, resume restores it within 1 s', async () => {
      await startWatcher();
      const name = `${ID}-s`;
      const address = mac(4, 1);
      await box.guest({ name, nics: [nic(address)] });
      const tap = await box.tapOf(name, address);
      expect(await timeUntil(() => staticOn(tap, address), 5)).not.toBeNull();
      await box.virsh('suspend', name);
      const gone = await timeUntil(async () => !(await entryAnywhere(address)));
      expect(gone).not.toBeNull();
      await box.virsh('resume', name);
      const back = await timeUntil(() => staticOn(tap, address));
      expect(back).not.toBeNull();
      gaps.push(`suspend: entry gone ${gone} ms after suspend returned; resume: back after ${back} ms`);
      await box.virsh('destroy', name);
    });
  },
);
