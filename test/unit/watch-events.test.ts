import { describe, expect, it } from 'vitest';
import { deviceOf } from '../../src/watch/events.js';
import { renderMetrics } from '../../src/report/metrics.js';
import { runFake } from '../helpers/runtime.js';

// Lines as `bridge monitor fdb link vlan` prints them (iproute2 6.1), and the device the watcher takes from each.
describe('the device a kernel monitor line names', () => {
  it.each([
    ['3: vnet0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br0 state forwarding priority 32 cost 100', 'vnet0'],
    ['Deleted 3: vnet0: <BROADCAST,MULTICAST> mtu 1500 master br0 state disabled priority 32 cost 100', 'vnet0'],
    ['7: veth1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br0 state forwarding', 'veth1'],
    ['52:54:00:00:00:01 dev vnet0 master br0 static', 'vnet0'],
    ['Deleted 52:54:00:00:00:01 dev vnet0 master br0 static', 'vnet0'],
    ['33:33:00:00:00:01 dev br0 self permanent', 'br0'],
    ['52:54:00:00:00:01 dev vnet0 vlan 30 master br0 static', 'vnet0'],
    ['vnet0             30', 'vnet0'],
    ['Deleted vnet0             30', 'vnet0'],
    ['vnet0             40-42', 'vnet0'],
    ['                    state forwarding mcast_router 1 ', null],
    ['', null],
  ])('%j → %s', (line, device) => {
    expect(deviceOf(line)).toBe(device);
  });
});

describe('metrics', () => {
  it('escapes label values as the exposition format asks', () => {
    const port = { mac: null, extraMacs: [], tap: null, network: null, type: 'bridge', tapManaged: true, libvirtTable: false, manage: false, reason: '', bridge: 'a"b\\c' };
    const text = renderMetrics([{ guest: 'g', port, want: { learning: false, entry: true, sticky: false, lock: false }, state: null, verdict: 'unmanaged', drift: [], note: null }], [{ bridge: 'a"b\\c', vlanFiltering: true, autoPorts: ['up0'], uplinkFiltered: true, why: [] }], null);
    expect(text).toContain('mactable_ports{bridge="a\\"b\\\\c",verdict="unmanaged"} 1\n');
    expect(text).toContain('mactable_bridge_auto_ports{bridge="a\\"b\\\\c"} 1\n');
    expect(text).not.toContain('mactable_repairs_total');
  });
});

describe('watch arguments', () => {
  it.each([
    [['watch', '--interval', '0'], 'mactable: --interval must be a number of seconds above 0 and at most 2000000, not 0\n'],
    [['watch', '--until-running', 'g', '--bound', '3000000'], 'mactable: --bound must be a number of seconds above 0 and at most 2000000, not 3000000\n'],
  ])('%j: exit 2 with the reason', async (argv, stderr) => {
    expect(await runFake(argv)).toMatchObject({ code: 2, stdout: '', stderr });
  });
});
