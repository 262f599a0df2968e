import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Box } from '../helpers/box.js';
import type { DebianRoot } from '../helpers/debian-root.js';
import { libvirtRootMissing, makeLibvirtRoot, packageTime } from '../helpers/libvirt-root.js';
import { lockedExclusively } from '../helpers/lock-holder.js';
import { readPortState, readStaticEntries, type PortState } from '../helpers/netns.js';
import { canRun, sh, uniqueSuffix } from '../helpers/sh.js';
import { eventually, timeUntil } from '../helpers/wait.js';
import type { Watcher } from '../helpers/watcher.js';

const ID = `mtt${uniqueSuffix()}`;
const BR = `${ID}-b`;
const OFF: PortState = { learning: false, flood: false };
// As libvirt makes a plain bridge's port, and as mactable leaves it while the guest's vCPUs do not run.
const ON: PortState = { learning: true, flood: true };
const mac = (guest: number, nic: number) => `52:54:00:e7:${guest.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;
const nic = (address: string) => `<interface type='bridge'><mac address='${address}'/><source bridge='${BR}'/><model type='virtio'/></interface>`;

// Debian 13's own libvirtd 11.3, virtlogd and QEMU 10, chrooted in a box, with mactable's package on the root's Node.js 20.
describe.skipIf(!canRun('Debian 13 e2e tests (test/e2e-trixie/guests.test.ts)', libvirtRootMissing()))("mactable under Debian 13's libvirt 11.3", () => {
  let root: DebianRoot | undefined;
  let box: Box;
  let watcher: Watcher | null = null;
  const timings: string[] = [];

  const entryOn = async (tap: string, address: string) => (await readStaticEntries(box.exec, BR)).some((e) => e.mac === address && e.ifname === tap);
  const entryAnywhere = async (address: string) => (await readStaticEntries(box.exec, BR)).some((e) => e.mac === address);
  const flags = async (tap: string, want: PortState) => {
    const { learning, flood } = await readPortState(box.exec, tap);
    return learning === want.learning && flood === want.flood;
  };
  const managed = async (tap: string, address: string) => (await entryOn(tap, address)) && flags(tap, OFF);
  // The vCPU rule's other half: the port as libvirt made it, and no entry for the guest's MAC anywhere on the bridge.
  const asLibvirtMadeIt = async (tap: string, address: string) => !(await entryAnywhere(address)) && flags(tap, ON);

  beforeAll(async () => {
    const made = await makeLibvirtRoot();
    root = made.root;
    process.stderr.write(`e2e-trixie: ${packageTime(made.packageMs)}\n`);
    box = await Box.create({ root: root.path, mactable: { bridges: [BR] } });
    await box.bridge(BR);
  });
  afterEach(async () => {
    await watcher?.kill();
    watcher = null;
  });
  // The box goes with everything in it; the machine never had any of it.
  afterAll(async () => {
    if (timings.length > 0) process.stderr.write(`libvirt 11.3: ${timings.join('; ')}\n`);
    try {
      await box?.destroy();
    } finally {
      await root?.cleanup();
    }
    expect((await sh('ip', ['-br', 'link'])).split('\n').filter((line) => line.includes(ID))).toEqual([]);
  });

  it('a guest started with virsh start is managed by the hook; status agrees, exit 0', async () => {
    const name = `${ID}-s`;
    await box.guest({ name, nics: [nic(mac(1, 1)), nic(mac(1, 2))] });
    for (const address of [mac(1, 1), mac(1, 2)]) {
      const tap = await box.tapOf(name, address);
      expect(await readPortState(box.exec, tap), tap).toEqual(OFF);
      expect(await entryOn(tap, address), `entry for ${address} on ${tap}`).toBe(true);
    }
    expect((await box.mactable('status', name)).code).toBe(0);
    await box.virsh('destroy', name);
  });

  it("doctor in the box finds Node.js 20, libvirt 11.3 and the package's hook, which the running libvirtd has", async () => {
    const doctor = (await box.mactable('doctor')).stdout;
    // Debian 13's Node.js major; a point release of Debian may bring a newer 20.x.
    expect(doctor).toMatch(/^Node\.js +ok +20\./mu);
    expect(doctor).toMatch(/^libvirt +ok +11\.3\./mu);
    expect(doctor).toMatch(/^hook +ok +\/etc\/libvirt\/hooks\/qemu\.d\/mactable runs \/usr\/bin\/node /mu);
    expect(doctor).toMatch(/^daemon has the hook +ok +the daemon \(pid \d+\) started after the hook was installed$/mu);
  });

  it('with the watcher: a NIC hot-plugged with attach-interface is managed within 1 s; detach-interface leaves no entry', async () => {
    watcher = await box.startWatcher();
    const name = `${ID}-h`;
    await box.guest({ name, acpi: true, nics: [nic(mac(2, 1))] });
    // A USB NIC: its unplug needs no guest OS to acknowledge it.
    await box.virsh('attach-interface', name, 'bridge', BR, '--mac', mac(2, 2), '--model', 'usb-net', '--live');
    const attached = Date.now();
    // Counted from attach-interface's return, the tap's lookup included.
    const tap = await box.tapOf(name, mac(2, 2));
    const right = await eventually(() => managed(tap, mac(2, 2)), 2);
    const took = Date.now() - attached;
    expect([right, took <= 1000], `${took} ms`).toEqual([true, true]);
    timings.push(`hot-plug managed ${took} ms after attach-interface returned`);
    await box.virsh('detach-interface', name, 'bridge', '--mac', mac(2, 2), '--live');
    expect(await timeUntil(async () => !(await entryAnywhere(mac(2, 2))), 2)).not.toBeNull();
    await box.virsh('destroy', name);
  });

  it('with the watcher: suspend leaves the port as libvirt made it within 1 s, resume makes it managed within 1 s', async () => {
    watcher = await box.startWatcher();
    const name = `${ID}-p`;
    const address = mac(3, 1);
    await box.guest({ name, nics: [nic(address)] });
    const tap = await box.tapOf(name, address);
    expect(await timeUntil(() => managed(tap, address), 5)).not.toBeNull();
    await box.virsh('suspend', name);
    const paused = await timeUntil(() => asLibvirtMadeIt(tap, address));
    expect(paused).not.toBeNull();
    await box.virsh('resume', name);
    const resumed = await timeUntil(() => managed(tap, address));
    expect(resumed).not.toBeNull();
    timings.push(`suspend: as libvirt made it after ${paused} ms; resume: managed after ${resumed} ms`);
    await box.virsh('destroy', name);
  });

  it.each([
    ['the waiter the hook left', false],
    ['the watcher', true],
  ])('virsh save + restore --paused: as libvirt made it while paused; resume: managed within 1 s, by %s', async (by, withWatcher) => {
    if (withWatcher) watcher = await box.startWatcher();
    const name = `${ID}-r${withWatcher ? 'w' : 'n'}`;
    const address = mac(4, withWatcher ? 1 : 2);
    // Under the root's /tmp: the same path for the chrooted daemon.
    const image = `${box.path}/${name}.save`;
    await box.guest({ name, nics: [nic(address)] });
    await box.virsh('save', name, image);
    await box.virsh('restore', image, '--paused');
    expect((await box.virsh('domstate', name)).trim()).toBe('paused');
    const tap = await box.tapOf(name, address);
    expect(await asLibvirtMadeIt(tap, address)).toBe(true);
    // Without a watcher the hook's `started` left a waiter for the paused guest: resumed once it holds its lock (on a
    // busy machine its Node.js takes up to a second to start; a migration's memory transfer gives it longer).
    if (!withWatcher) expect(await eventually(() => lockedExclusively(`${box.path}/run/mactable/waiters/${name}.lock`), 10)).toBe(true);
    await box.virsh('resume', name);
    const took = await timeUntil(() => managed(tap, address));
    expect(took).not.toBeNull();
    timings.push(`restore --paused, ${by}: managed ${took} ms after resume returned`);
    await box.virsh('destroy', name);
  });
});
