import { describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { planOf } from '../helpers/plan.js';
import { FIXTURES } from '../helpers/runtime.js';

const SAMPLES = `${FIXTURES}libvirt-9.0/`;

const port = (mac: string, tap: string | null, bridge: string | null, network: string | null, type: string, manage: boolean, reason: string) => ({
  mac,
  extraMacs: [],
  tap,
  bridge,
  network,
  type,
  manage,
  reason,
});

describe('libvirt 9.0 samples, guest1: network mtm, bridge br-plain, network hostbr', () => {
  const root = `${SAMPLES}guest1/root`;
  const cfg = `${FIXTURES}config/samples-guest1.json`;
  const managed = [
    port('52:54:00:aa:00:01', 'vnet11', 'virbr9', 'mtm', 'network', true, `network mtm matches 'mtm' in ${cfg}`),
    port('52:54:00:aa:00:02', 'vnet12', 'br-plain', null, 'bridge', true, `bridge br-plain matches 'br-plain' in ${cfg}`),
    port('52:54:00:aa:00:03', 'vnet13', 'br-plain', 'hostbr', 'bridge', true, `network hostbr matches 'hostbr' in ${cfg}`),
  ];

  it('manages all three ports with the config', async () => {
    expect(await planOf(runDist, `${SAMPLES}guest1/hook-stdin/started-begin.xml`, root, `${FIXTURES}config/samples-guest1.json`)).toEqual({ domain: 'guest1', problems: [], ports: managed });
  });

  it('gives the same ports from the status XML', async () => {
    expect(await planOf(runDist, `${root}/run/libvirt/qemu/guest1.xml`, root, `${FIXTURES}config/samples-guest1.json`)).toEqual({ domain: 'guest1', problems: [], ports: managed });
  });

  it.each(['start-begin', 'reconnect-begin'])('gives the same ports at %s (the taps exist from start on)', async (op) => {
    expect(await planOf(runDist, `${SAMPLES}guest1/hook-stdin/${op}.xml`, root, `${FIXTURES}config/samples-guest1.json`)).toEqual({ domain: 'guest1', problems: [], ports: managed });
  });

  it('manages nothing without a config', async () => {
    const missing = `${root}/etc/libvirt/mactable.json (no such file)`;
    expect(await planOf(runDist, `${SAMPLES}guest1/hook-stdin/started-begin.xml`, root)).toEqual({
      domain: 'guest1',
      problems: [],
      ports: [
        port('52:54:00:aa:00:01', 'vnet11', 'virbr9', 'mtm', 'network', false, `not selected: network mtm and bridge virbr9 are not listed in ${missing}`),
        port('52:54:00:aa:00:02', 'vnet12', 'br-plain', null, 'bridge', false, `not selected: bridge br-plain is not listed in ${missing}`),
        port('52:54:00:aa:00:03', 'vnet13', 'br-plain', 'hostbr', 'bridge', false, `not selected: network hostbr and bridge br-plain are not listed in ${missing}`),
      ],
    });
  });

  it.each(['prepare-begin', 'stopped-end', 'release-end'])('%s has no taps to manage', async (op) => {
    const plan = await planOf(runDist, `${SAMPLES}guest1/hook-stdin/${op}.xml`, root, `${FIXTURES}config/samples-guest1.json`);
    expect(plan.ports.map((p: { tap: string | null; manage: boolean }) => [p.tap, p.manage])).toEqual([
      [null, false],
      [null, false],
      [null, false],
    ]);
  });
});

describe('libvirt 9.0 samples, guest2: br-vlan, a pre-made tap, a custom tap name, user networking', () => {
  it('manages vnet14 and custom-tap7, skips mytap0 and the user NIC', async () => {
    const cfg = `${FIXTURES}config/samples-guest2.json`;
    expect(await planOf(runDist, `${SAMPLES}guest2/hook-stdin/started-begin.xml`, `${SAMPLES}guest2/root`, `${FIXTURES}config/samples-guest2.json`)).toEqual({
      domain: 'guest2',
      problems: [],
      ports: [
        port('52:54:00:bb:00:01', 'vnet14', 'br-vlan', null, 'bridge', true, `bridge br-vlan matches 'br-*' in ${cfg}`),
        port('52:54:00:bb:00:02', 'mytap0', null, null, 'ethernet', false, 'tap mytap0 is not attached to a bridge'),
        port('52:54:00:bb:00:03', 'custom-tap7', 'br-plain', null, 'bridge', true, `bridge br-plain matches 'br-*' in ${cfg}`),
        port('52:54:00:bb:00:04', null, null, null, 'user', false, "type 'user' is not a bridge port"),
      ],
    });
  });
});

// The same guest captured under Debian 12's libvirt 9.0 and Debian 13's libvirt 11.3: the same plans, but for the
// names the daemon gave the taps.
describe.each([
  ['libvirt 9.0', 'captured', ['vnet15', 'vnet16', 'vnet17', 'macvtap3']],
  ['libvirt 11.3', 'libvirt-11.3', ['vnet0', 'vnet1', 'vnet2', 'macvtap0']],
] as const)('captured by test/capture/capture.ts under %s: seven kinds of NIC on one guest', (_libvirt, dir, [tap1, tap2, tap3, macvtap]) => {
  const CAPTURED = `${FIXTURES}${dir}/mtcap-g1/`;
  const root = `${CAPTURED}root`;
  const cfg = `${FIXTURES}config/captured.json`;
  const running = [
    port('52:54:00:cc:00:01', tap1, 'mtcap-virbr', 'mtcap-iso', 'network', true, `network mtcap-iso matches 'mtcap-iso' in ${cfg}`),
    port('52:54:00:cc:00:02', tap2, 'mtcap-br', null, 'bridge', true, `bridge mtcap-br matches 'mtcap-br' in ${cfg}`),
    port('52:54:00:cc:00:03', tap3, 'mtcap-br', 'mtcap-hostbr', 'bridge', true, `bridge mtcap-br matches 'mtcap-br' in ${cfg}`),
    port('52:54:00:cc:00:04', 'mtcap-tap0', 'mtcap-br', null, 'ethernet', true, `bridge mtcap-br matches 'mtcap-br' in ${cfg}`),
    port('52:54:00:cc:00:05', 'mtcap-ctap', 'mtcap-br', null, 'bridge', true, `bridge mtcap-br matches 'mtcap-br' in ${cfg}`),
    port('52:54:00:cc:00:06', macvtap, null, null, 'direct', false, "type 'direct' (macvtap) is not a bridge port"),
    port('52:54:00:cc:00:07', null, null, null, 'user', false, "type 'user' is not a bridge port"),
  ];

  it.each([
    ['hook input at started', 'hook-stdin/started-begin.xml'],
    ['hook input at reconnect', 'hook-stdin/reconnect-begin.xml'],
    ['virsh dumpxml of the running guest', 'virsh/dumpxml-live.xml'],
    ['the daemon status file', 'root/run/libvirt/qemu/mtcap-g1.xml'],
  ])('%s', async (_what, file) => {
    expect(await planOf(runDist, `${CAPTURED}${file}`, root, `${FIXTURES}config/captured.json`)).toEqual({ domain: 'mtcap-g1', problems: [], ports: running });
  });

  it.each([
    ['virsh dumpxml --inactive', 'virsh/dumpxml-inactive.xml', 'network'],
    ['hook input at release', 'hook-stdin/release-end.xml', 'network'],
  ])('%s: only the taps named in the XML remain', async (_what, file, hostbrType) => {
    const noTap = 'no tap named in the XML (<target dev>): the guest is not running';
    expect(await planOf(runDist, `${CAPTURED}${file}`, root, `${FIXTURES}config/captured.json`)).toEqual({
      domain: 'mtcap-g1',
      problems: [],
      ports: [
        port('52:54:00:cc:00:01', null, 'mtcap-virbr', 'mtcap-iso', 'network', false, noTap),
        port('52:54:00:cc:00:02', null, 'mtcap-br', null, 'bridge', false, noTap),
        port('52:54:00:cc:00:03', null, 'mtcap-br', 'mtcap-hostbr', hostbrType, false, noTap),
        running[3],
        running[4],
        port('52:54:00:cc:00:06', null, null, null, 'direct', false, "type 'direct' (macvtap) is not a bridge port"),
        running[6],
      ],
    });
  });
});
