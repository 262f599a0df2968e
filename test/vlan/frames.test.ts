import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { countFrames } from '../helpers/tcpdump.js';
import { TempDir } from '../helpers/temp.js';
import { addVlans, endWith, entryVlans, rootFor } from '../helpers/vlan-bridge.js';
import { vlanSuite, WATCH_MS } from '../helpers/vlan-kernel.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { liveDomain, writeStatus } from '../helpers/xml.js';

const GUEST1 = '52:54:00:00:0b:01';
const GUEST2 = '52:54:00:00:0b:02';
const UNKNOWN = '02:00:00:00:0b:99';

// Guest NICs as veth ports (libvirt's type='ethernet' with a tap made beforehand): frames the bridge sends a guest
// are seen on its port with tcpdump.
const nic = (mac: string, port: string) => `<interface type='ethernet'><mac address='${mac}'/><target dev='${port}' managed='no'/></interface>`;

// The end of every count: a broadcast from the uplink's far end, untagged (VLAN 1, which every port keeps untagged).
const MARKER_NET = '10.0.1';

// One namespace: the VLAN-filtering bridge br0 with the managed ports vg1 (guest1: VLANs 1 untagged, 10, 20) and vg2
// (guest2: 10), a learning port vl3 on VLAN 10 mactable does not manage, and the uplink up0 (10, 20, 30) whose far
// end upx has VLAN interfaces that send to the guests' MACs through permanent neighbour entries (no ARP).
describe.skipIf(!vlanSuite('test/vlan/frames.test.ts', { tcpdump: 'tcpdump', ping: 'iputils-ping' }))('frames on a VLAN-filtering bridge with managed ports', () => {
  const temp = new TempDir();
  const { config, root, qemu, env } = rootFor(temp, ['br0']);
  let ns: Netns;
  let watcher: Watcher | null = null;

  const started = async (name: string, mac: string, port: string) => {
    writeStatus(qemu, name, [nic(mac, port)]);
    const result = await runDist(['hook', 'qemu', name, 'started', 'begin', '-'], { netns: ns, stdin: liveDomain([nic(mac, port)], name), env });
    expect(result.code, result.stderr).toBe(0);
  };
  // Frames on VLAN `vid` to `ip` (its neighbour entry names the MAC) that cross each port, in order vg1, vg2, vl3.
  const reaching = async (vid: number, ip: string, mac: string) => {
    const ping = () => ns.tryExec('ping', '-c', '3', '-i', '0.2', '-W', '1', '-I', `upx.${vid}`, ip);
    const counts: number[] = [];
    for (const port of ['vg1', 'vg2', 'vl3']) counts.push(await countFrames(ns, port, `vlan ${vid} and ether dst ${mac}`, ping, { from: ns, broadcast: `${MARKER_NET}.255`, dev: 'upx' }));
    return counts;
  };

  beforeAll(async () => {
    ns = await Netns.create();
    await ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
    await ns.bridge('br0', 'vlan_filtering', '1');
    for (const [port, peer, mac] of [['vg1', 'eg1', GUEST1], ['vg2', 'eg2', GUEST2], ['vl3', 'el3', '02:00:00:00:0b:03'], ['up0', 'upx', '02:00:00:00:0b:04']] as const) {
      await ns.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', peer);
      await ns.ip('link', 'set', peer, 'address', mac, 'up');
      await ns.ip('link', 'set', port, 'master', 'br0', 'up');
    }
    await ns.ip('addr', 'add', `${MARKER_NET}.1/24`, 'dev', 'upx');
    await addVlans(ns, 'vg1', 10, 20);
    await addVlans(ns, 'vg2', 10);
    await addVlans(ns, 'vl3', 10);
    await addVlans(ns, 'up0', 10, 20, 30);
    for (const vid of [10, 30]) {
      await ns.ip('link', 'add', 'link', 'upx', 'name', `upx.${vid}`, 'type', 'vlan', 'id', String(vid));
      await ns.ip('addr', 'add', `10.0.${vid}.1/24`, 'dev', `upx.${vid}`);
      await ns.ip('link', 'set', `upx.${vid}`, 'up');
      await ns.ip('neigh', 'replace', `10.0.${vid}.2`, 'lladdr', GUEST1, 'dev', `upx.${vid}`, 'nud', 'permanent');
      await ns.ip('neigh', 'replace', `10.0.${vid}.99`, 'lladdr', UNKNOWN, 'dev', `upx.${vid}`, 'nud', 'permanent');
    }
    await started('guest1', GUEST1, 'vg1');
    await started('guest2', GUEST2, 'vg2');
  });
  afterAll(async () => {
    try {
      await endWith(watcher, ns);
    } finally {
      temp.cleanup();
    }
  });

  it("a frame tagged VLAN 10 for guest1's MAC, in on the uplink, reaches guest1's port and no other", async () => {
    expect(await reaching(10, '10.0.10.2', GUEST1)).toEqual([3, 0, 0]);
  });

  it('a frame for an unknown MAC on VLAN 10 reaches no managed port (the learning port, which floods, gets it)', async () => {
    expect(await reaching(10, '10.0.10.99', UNKNOWN)).toEqual([0, 0, 3]);
  });

  it("VLAN 30 added to guest1's port: nothing on it reaches the guest until the watcher's round gives it its entry", async () => {
    await addVlans(ns, 'vg1', 30);
    expect(await reaching(30, '10.0.30.2', GUEST1)).toEqual([0, 0, 0]);
    watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
    expect(await eventually(async () => (await entryVlans(ns, 'br0', 'vg1', GUEST1)).includes(30), (WATCH_MS * 5) / 1000), watcher.lines.join('\n')).toBe(true);
    expect(await reaching(30, '10.0.30.2', GUEST1)).toEqual([3, 0, 0]);
  });
});
