import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { TempDir } from '../helpers/temp.js';
import { addVlans, announceOn, endWith, entryVlans, rootFor } from '../helpers/vlan-bridge.js';
import { vlanSuite, WATCH_MS } from '../helpers/vlan-kernel.js';
import { eventually, timeUntil } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { bridgeNic, liveDomain, writeStatus } from '../helpers/xml.js';

const MAC = '52:54:00:00:0a:01';
const OTHER = '02:00:00:00:0a:99';

// A VLAN-filtering bridge br0: the guest's tap t1 with VLANs 1 (its untagged pvid), 10 and 20, and the uplink up0
// (a veth whose far end upx stands for the rest of the network) with 10 and 20.
describe.skipIf(!vlanSuite('test/vlan/entries.test.ts', { python3: 'python3' }))("a guest's entries on a VLAN-filtering bridge: one per VLAN of its port", () => {
  const temp = new TempDir();
  const { config, root, qemu, env } = rootFor(temp, ['br0']);
  let ns: Netns;
  let watcher: Watcher | null = null;

  const status = (state = 'running', reason = 'booted') => writeStatus(qemu, 'guest1', [bridgeNic(MAC, 'br0', 't1')], state, reason);
  const hook = (op: string, subop: string, nic = bridgeNic(MAC, 'br0', 't1')) =>
    runDist(['hook', 'qemu', 'guest1', op, subop, '-'], { netns: ns, stdin: liveDomain([nic]), env });
  const cli = (...argv: string[]) => runDist(argv, { netns: ns, env });
  const vlansOn = (port: string, mac = MAC) => entryVlans(ns, 'br0', port, mac);
  const same = (wanted: number[]) => async () => JSON.stringify(await vlansOn('t1')) === JSON.stringify(wanted);

  beforeEach(async () => {
    ns = await Netns.create();
    await ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
    await ns.bridge('br0', 'vlan_filtering', '1');
    await ns.tap('t1', 'br0');
    await addVlans(ns, 't1', 10, 20);
    await ns.ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'upx');
    await ns.ip('link', 'set', 'up0', 'master', 'br0', 'up');
    await ns.ip('link', 'set', 'upx', 'up');
    await addVlans(ns, 'up0', 10, 20);
    // A static entry of a MAC no guest has, on the uplink: never ours to delete.
    await ns.exec('bridge', 'fdb', 'add', OTHER, 'dev', 'up0', 'master', 'static', 'vlan', '10');
    status();
  });
  afterEach(async () => {
    try {
      await endWith(watcher, ns);
    } finally {
      watcher = null;
      rmSync(qemu, { recursive: true, force: true });
      mkdirSync(qemu, { recursive: true });
    }
  });
  afterAll(() => temp.cleanup());

  it('`started` leaves entries on VLANs 1, 10 and 20 and on vid 0, learning and flooding off; status says ok', async () => {
    expect(await hook('started', 'begin')).toMatchObject({ code: 0, stdout: '' });
    expect(await vlansOn('t1')).toEqual([0, 1, 10, 20]);
    expect(await ns.portState('t1')).toEqual({ learning: false, flood: false });
    expect(await cli('status', '--json')).toMatchObject({ code: 0 });
  });

  it('a VLAN added to the port: status exits 1 naming it, repair adds its entry; a VLAN removed: its entry is drift, repair deletes it', async () => {
    expect((await hook('started', 'begin')).code).toBe(0);
    await addVlans(ns, 't1', 30);
    const drifted = await cli('status', '--json');
    expect(drifted.code).toBe(1);
    expect(JSON.parse(drifted.stdout).ports[0]).toMatchObject({ tap: 't1', verdict: 'drift', drift: [`no entry for ${MAC} on VLAN 30`] });
    expect((await cli('status')).stdout).toContain(`drift: no entry for ${MAC} on VLAN 30`);
    expect(await cli('repair', 'guest1')).toEqual({ code: 0, stdout: `guest1: t1 on br0: static entry ${MAC} on VLAN 30 added\n`, stderr: '' });
    expect(await vlansOn('t1')).toEqual([0, 1, 10, 20, 30]);
    expect((await cli('status', '--json')).code).toBe(0);

    // The kernel keeps a static entry when its VLAN leaves the port.
    await ns.exec('bridge', 'vlan', 'del', 'dev', 't1', 'vid', '20');
    expect(await vlansOn('t1')).toEqual([0, 1, 10, 20, 30]);
    const stale = await cli('status', '--json');
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stdout).ports[0]).toMatchObject({ verdict: 'drift', drift: [`static entry ${MAC} on VLAN 20, which t1 does not have`] });
    expect(await cli('repair', 'guest1')).toEqual({ code: 0, stdout: `guest1: t1 on br0: entry ${MAC} on VLAN 20 deleted\n`, stderr: '' });
    expect(await vlansOn('t1')).toEqual([0, 1, 10, 30]);
    expect((await cli('status', '--json')).code).toBe(0);
  });

  it(`the watcher: a VLAN added to the port has its entry, and a VLAN removed has none of ours, within ${WATCH_MS} ms`, async (context) => {
    watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
    expect(await eventually(same([0, 1, 10, 20]), 10), watcher.lines.join('\n')).toBe(true);
    await addVlans(ns, 't1', 40);
    const added = await timeUntil(same([0, 1, 10, 20, 40]), 10);
    await ns.exec('bridge', 'vlan', 'del', 'dev', 't1', 'vid', '40');
    const removed = await timeUntil(same([0, 1, 10, 20]), 10);
    context.task.meta.measured = `VLAN added: entry after ${added} ms; VLAN removed: entry gone after ${removed} ms`;
    expect(added).not.toBeNull();
    expect(added).toBeLessThanOrEqual(WATCH_MS);
    expect(removed).not.toBeNull();
    expect(removed).toBeLessThanOrEqual(WATCH_MS);
    expect(await watcher.waitForLine(new RegExp(`^mactable: guest1: t1 on br0: static entry ${MAC} on VLAN 40 added \\(watch\\)$`, 'u'))).toBe(true);
    expect(await vlansOn('up0', OTHER)).toEqual([10]);
  });

  it("without a watcher: the guest's entry on VLAN 10 moved to the uplink after the guest left is gone after `release end`, nothing else", async () => {
    expect((await hook('started', 'begin')).code).toBe(0);
    status('paused', 'migration'); // the guest migrates away: its destination announces it on VLAN 10
    await announceOn(ns, 'upx', MAC, 10);
    expect(await eventually(async () => JSON.stringify(await vlansOn('up0')) === '[10]', 2)).toBe(true);
    expect(await vlansOn('t1')).toEqual([0, 1, 20]);
    rmSync(`${qemu}/guest1.xml`);
    await ns.ip('link', 'del', 't1'); // QEMU exits, its tap goes
    // libvirt's XML at release names no tap any more.
    const released = `<interface type='bridge'><mac address='${MAC}'/><source bridge='br0'/></interface>`;
    expect(await hook('release', 'end', released)).toEqual({ code: 0, stdout: '', stderr: `mactable: guest1: ${MAC} on br0: static entry ${MAC} on up0 on VLAN 10 deleted\n` });
    expect(await vlansOn('up0')).toEqual([]);
    expect(await vlansOn('up0', OTHER)).toEqual([10]);
  });

  it("with the watcher: the guest's entry on VLAN 10 moved to the uplink after the guest left is gone", async () => {
    watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
    expect(await eventually(same([0, 1, 10, 20]), 10), watcher.lines.join('\n')).toBe(true);
    rmSync(`${qemu}/guest1.xml`);
    await announceOn(ns, 'upx', MAC, 10);
    expect(await eventually(async () => (await vlansOn('up0')).length === 0, WATCH_MS / 1000)).toBe(true);
    expect(await watcher.waitForLine(new RegExp(`^mactable: guest1: t1 on br0: static entry ${MAC} on up0 on VLAN 10 deleted; the guest left this host \\(watch\\)$`, 'u'))).toBe(true);
    expect(await vlansOn('up0', OTHER)).toEqual([10]);
  });
});
