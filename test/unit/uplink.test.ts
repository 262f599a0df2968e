import { describe, expect, it } from 'vitest';
import type { BridgeMode } from '../../src/model/bridge-mode.js';
import { uplinkVerdict } from '../../src/plan/uplink.js';

const port = (name: string, auto: boolean, promiscuous = auto, driver: string | null = 'veth') => ({ name, auto, promiscuous, driver });
const mode = (overrides: Partial<BridgeMode>): BridgeMode => ({ bridge: 'br0', vlanFiltering: true, promiscuous: false, ports: [port('up0', true, false, 'macvlan'), port('tap0', false)], ...overrides });

describe("the uplink's promiscuous mode: whether the kernel takes it out, and why not", () => {
  it.each<[string, Partial<BridgeMode>, string[]]>([
    ['one auto port, filtered', {}, []],
    ['no auto port at all', { ports: [port('tap0', false)] }, []],
    ['a kernel without VLAN filtering', { vlanFiltering: null, ports: [port('up0', true), port('tap0', false)] }, ['this kernel has no bridge VLAN filtering']],
    ['VLAN filtering off', { vlanFiltering: false, ports: [port('up0', true), port('tap0', false)] }, ['VLAN filtering is off']],
    ['the bridge promiscuous', { promiscuous: true, ports: [port('up0', true), port('tap0', false)] }, ['br0 is promiscuous itself']],
    ['two auto ports, named in order', { ports: [port('up0', true), port('lv0', true), port('tap0', false)] }, ['more than one auto port: lv0, up0']],
    ['every reason at once', { vlanFiltering: false, promiscuous: true, ports: [port('up0', true), port('lv0', true)] }, ['VLAN filtering is off', 'br0 is promiscuous itself', 'more than one auto port: lv0, up0']],
    // Only when nothing else keeps it promiscuous does its staying so show the driver has no unicast filter.
    ['the one auto port still promiscuous: its driver', { ports: [port('up0', true, true, 'veth'), port('tap0', false)] }, ['up0 has no unicast filtering (veth)']],
    ['a driver sysfs cannot name', { ports: [port('up0', true, true, null)] }, ['up0 has no unicast filtering']],
  ])('%s', (_case, overrides, why) => {
    const verdict = uplinkVerdict(mode(overrides));
    expect(verdict.why.map((reason) => reason.says)).toEqual(why);
    expect(verdict.uplinkFiltered).toBe(why.length === 0);
    expect(verdict.autoPorts).toEqual((overrides.ports ?? mode({}).ports).filter((p) => p.auto).map((p) => p.name).sort());
  });
});

it('each reason has its one-line fix', () => {
  const verdict = uplinkVerdict(mode({ vlanFiltering: false, promiscuous: true, ports: [port('up0', true), port('lv0', true)] }));
  expect(verdict.why.map((reason) => reason.fix)).toEqual([
    'give the ports their VLANs, then ip link set br0 type bridge vlan_filtering 1',
    'ip link set br0 promisc off, or stop the capture on br0',
    'bridge link set dev PORT learning off flood off for each of lv0, up0 but the uplink, or let mactable manage it',
  ]);
  expect(uplinkVerdict(mode({ ports: [port('up0', true, true, 'veth')] })).why[0]?.fix).toBe('an uplink whose driver filters unicast (most physical NICs, virtio-net, a macvlan), not a veth or tap, in place of up0');
});
