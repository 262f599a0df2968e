import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { TempDir } from '../helpers/temp.js';
import { addVlans, endWith, rootFor } from '../helpers/vlan-bridge.js';
import { vlanSuite, WATCH_MS } from '../helpers/vlan-kernel.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { bridgeNic, writeStatus } from '../helpers/xml.js';

const MAC1 = '52:54:00:00:0c:01';
const MAC2 = '52:54:00:00:0c:02';

interface BridgeStatus {
  bridge: string;
  vlanFiltering: boolean;
  autoPorts: string[];
  uplinkFiltered: boolean;
  why: string[];
}

// The kernel takes a bridge's uplink out of promiscuous mode (and puts the static entries in its unicast filter) only
// when the bridge filters VLANs, is not promiscuous itself, has at most one "auto" port (learning or flooding on),
// and that port's driver has unicast filtering: a macvlan has, a veth has not. One namespace: br0 with a macvlan
// uplink mv0 (on a veth) and guest1's tap t1; br1 with a veth uplink up1 and guest2's tap t2; both filter VLANs.
describe.skipIf(!vlanSuite('test/vlan/promiscuity.test.ts', { promtool: 'prometheus' }))("the uplink's promiscuous mode, said per managed bridge", () => {
  const temp = new TempDir();
  const { config, root, qemu, env } = rootFor(temp, ['br0', 'br1']);
  const metricsFile = `${temp.path}/mactable.prom`;
  let ns: Netns;
  let watcher: Watcher | null = null;

  const cli = (...argv: string[]) => runDist(argv, { netns: ns, env });
  const promiscuity = async (dev: string) => (JSON.parse(await ns.ip('-d', '-j', 'link', 'show', 'dev', dev)) as { promiscuity: number }[])[0]?.promiscuity;
  const bridges = async () => (JSON.parse((await cli('status', '--json')).stdout) as { bridges: BridgeStatus[] }).bridges;
  const metric = (text: string, name: string, bridge: string) => new RegExp(`^${name}\\{bridge="${bridge}"\\} (\\d+)$`, 'mu').exec(text)?.[1];
  const prometheus = async () => (await cli('status', '--format', 'prometheus')).stdout;
  const readMetrics = () => {
    try {
      return readFileSync(metricsFile, 'utf8');
    } catch {
      return '';
    }
  };

  beforeAll(async () => {
    ns = await Netns.create();
    for (const bridge of ['br0', 'br1']) await ns.bridge(bridge, 'vlan_filtering', '1');
    await ns.ip('link', 'add', 'low0', 'type', 'veth', 'peer', 'name', 'lowx');
    await ns.ip('link', 'set', 'low0', 'up');
    await ns.ip('link', 'add', 'mv0', 'link', 'low0', 'type', 'macvlan', 'mode', 'bridge');
    await ns.ip('link', 'add', 'up1', 'type', 'veth', 'peer', 'name', 'upx');
    for (const [uplink, tap, bridge] of [['mv0', 't1', 'br0'], ['up1', 't2', 'br1']] as const) {
      await ns.ip('link', 'set', uplink, 'master', bridge, 'up');
      await addVlans(ns, uplink, 10);
      await ns.tap(tap, bridge);
      await addVlans(ns, tap, 10);
    }
    writeStatus(qemu, 'guest1', [bridgeNic(MAC1, 'br0', 't1')]);
    writeStatus(qemu, 'guest2', [bridgeNic(MAC2, 'br1', 't2')], 'running', 'booted');
  });
  afterAll(async () => {
    try {
      await endWith(watcher, ns);
    } finally {
      temp.cleanup();
    }
  });

  it('before mactable: two auto ports on each bridge, both uplinks promiscuous, and status names the ports', async () => {
    expect(await promiscuity('mv0')).toBe(1);
    expect(await bridges()).toEqual([
      { bridge: 'br0', vlanFiltering: true, autoPorts: ['mv0', 't1'], uplinkFiltered: false, why: ['more than one auto port: mv0, t1'] },
      { bridge: 'br1', vlanFiltering: true, autoPorts: ['t2', 'up1'], uplinkFiltered: false, why: ['more than one auto port: t2, up1'] },
    ]);
  });

  it("every other port managed: the macvlan uplink leaves promiscuous mode with the guest's MAC in its unicast filter; the veth uplink cannot, and status says why", async () => {
    expect((await cli('repair', '--all')).code).toBe(0);
    expect(await eventually(async () => (await promiscuity('mv0')) === 0, 2)).toBe(true);
    const filter = JSON.parse(await ns.exec('bridge', '-j', 'fdb', 'show', 'dev', 'mv0')) as { mac: string; flags: string[]; state: string }[];
    expect(filter).toContainEqual(expect.objectContaining({ mac: MAC1, flags: ['self'], state: 'permanent' }));
    expect(await promiscuity('up1')).toBe(1);
    expect(await bridges()).toEqual([
      { bridge: 'br0', vlanFiltering: true, autoPorts: ['mv0'], uplinkFiltered: true, why: [] },
      { bridge: 'br1', vlanFiltering: true, autoPorts: ['up1'], uplinkFiltered: false, why: ['up1 has no unicast filtering'] },
    ]);
    const table = (await cli('status')).stdout;
    expect(table).toContain('br0: VLAN filtering on, auto ports: mv0, the uplink out of promiscuous mode');
    expect(table).toContain('br1: VLAN filtering on, auto ports: up1, the uplink promiscuous: up1 has no unicast filtering');
    const text = await prometheus();
    expect([metric(text, 'mactable_bridge_vlan_filtering', 'br0'), metric(text, 'mactable_bridge_auto_ports', 'br0'), metric(text, 'mactable_bridge_uplink_filtered', 'br0')]).toEqual(['1', '1', '1']);
    expect(metric(text, 'mactable_bridge_uplink_filtered', 'br1')).toBe('0');
  });

  it('a veth with learning on added to br0: the uplink promiscuous again; status names both auto ports, the metrics count 1 then 2 (status and the watcher)', async () => {
    watcher = Watcher.inNetns(ns, ['--root', root, '--config', config, '--metrics-file', metricsFile], env);
    expect(await eventually(() => metric(readMetrics(), 'mactable_bridge_auto_ports', 'br0') === '1', (WATCH_MS * 5) / 1000), watcher.lines.join('\n')).toBe(true);
    await ns.ip('link', 'add', 'lv0', 'type', 'veth', 'peer', 'name', 'lvx');
    await ns.ip('link', 'set', 'lv0', 'master', 'br0', 'up');
    expect(await eventually(async () => (await promiscuity('mv0')) === 1, 2)).toBe(true);
    expect((await bridges())[0]).toEqual({ bridge: 'br0', vlanFiltering: true, autoPorts: ['lv0', 'mv0'], uplinkFiltered: false, why: ['more than one auto port: lv0, mv0'] });
    expect(metric(await prometheus(), 'mactable_bridge_auto_ports', 'br0')).toBe('2');
    expect(await eventually(() => metric(readMetrics(), 'mactable_bridge_auto_ports', 'br0') === '2', (WATCH_MS * 5) / 1000)).toBe(true);
    expect(metric(readMetrics(), 'mactable_bridge_uplink_filtered', 'br0')).toBe('0');
    const lint = await execa('promtool', ['check', 'metrics'], { input: readMetrics(), reject: false });
    expect([lint.exitCode, lint.stdout, lint.stderr]).toEqual([0, '', '']);
  });

  it('br1 made promiscuous itself, and a bridge without VLAN filtering: each reason named', async () => {
    await ns.ip('link', 'set', 'br1', 'promisc', 'on');
    // Its driver's missing filter shows only once nothing else keeps the uplink promiscuous.
    expect((await bridges())[1]?.why).toEqual(['br1 is promiscuous itself']);
    await ns.ip('link', 'set', 'br1', 'promisc', 'off');
    await ns.ip('link', 'set', 'br1', 'type', 'bridge', 'vlan_filtering', '0');
    expect((await bridges())[1]).toEqual({ bridge: 'br1', vlanFiltering: false, autoPorts: ['up1'], uplinkFiltered: false, why: ['VLAN filtering is off'] });
    expect(metric(await prometheus(), 'mactable_bridge_vlan_filtering', 'br1')).toBe('0');
  });
});
