import { mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { desiredFor } from '../../src/plan/desired.js';
import { driftOf, runningTaps, straysAmong } from '../../src/plan/diff.js';
import type { Plan, PortPlan } from '../../src/plan/plan.js';
import { monitorEntry as entryOf } from '../../src/watch/events.js';
import { FakeBridge } from '../helpers/fake-bridge.js';
import { FakeSys } from '../helpers/fake-sys.js';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';
import type { PortState } from '../../src/model/state.js';

const MAC = '52:54:00:00:0a:01';
const config = (sticky: boolean, lockPorts: boolean) => ({ sticky, lockPorts }) as Config;
const PLAIN = { libvirtTable: false };
const MTM = { libvirtTable: true };
const RUNNING = { state: 'running', reason: 'migrated' };
const PAUSED = { state: 'paused', reason: 'migration' };

describe("the one rule: mactable's state exists exactly while the vCPUs run", () => {
  it.each([
    ['running, plain bridge', RUNNING, PLAIN, config(false, false), { learning: false, entry: true, sticky: false, lock: false }],
    ['running, sticky and locked', RUNNING, PLAIN, config(true, true), { learning: false, entry: true, sticky: true, lock: true }],
    ['no status file (a replay): taken as running', null, PLAIN, config(false, true), { learning: false, entry: true, sticky: false, lock: true }],
    ['paused, plain bridge: as libvirt made it', PAUSED, PLAIN, config(true, true), { learning: true, entry: false, sticky: true, lock: false }],
    ["paused, macTableManager='libvirt': libvirt's own flags (off), no entry", PAUSED, MTM, config(false, true), { learning: false, entry: false, sticky: false, lock: false }],
    ["running, macTableManager='libvirt'", RUNNING, MTM, config(false, false), { learning: false, entry: true, sticky: false, lock: false }],
  ] as const)('%s', (_case, run, port, cfg, want) => {
    expect(desiredFor(run, port, cfg)).toEqual(want);
  });
});

const REF = { mac: MAC, extraMacs: [], tap: 'vnet5', bridge: 'br0' };
// The observed state, keyed by (MAC, VLAN): `entry` is the guest MAC's, `strays` its moved entries.
const state = ({ entry, strays, ...over }: Partial<PortState> & { entry?: { state: string; flags: string[] }; strays?: { bridge: string; mac: string; port: string }[] }): PortState => ({
  tapExists: true,
  master: 'br0',
  bridge: 'linux',
  learning: true,
  flood: true,
  locked: false,
  entries: entry ? [{ mac: MAC, vlan: null, ...entry }] : [],
  vlans: null,
  moved: (strays ?? []).map((moved) => ({ ...moved, vlan: null })),
  failure: null,
  ...over,
});
const STATIC = { state: 'static', flags: [] };

describe('drift: how a port differs from the rule, in words', () => {
  const paused = desiredFor(PAUSED, PLAIN, config(false, true));
  const running = desiredFor(RUNNING, PLAIN, config(false, true));
  it.each([
    ['paused, as libvirt made it: no drift', paused, state({}), []],
    ['paused, still tight from before the pause', paused, state({ learning: false, flood: false, entry: STATIC, locked: true }), [
      'learning off while the guest is paused',
      'unicast flooding off while the guest is paused',
      `entry for ${MAC} while the guest is paused`,
      'port locked while the guest is paused',
    ]],
    ['paused, its entry moved to the uplink by learning', paused, state({ strays: [{ bridge: 'br0', mac: MAC, port: 'up0' }] }), [`static entry for ${MAC} on up0 while the guest is paused`]],
    ['running and tight: no drift', running, state({ learning: false, flood: false, entry: STATIC, locked: true }), []],
    ['running, still as libvirt made it', running, state({}), ['learning on', 'unicast flooding on', `no entry for ${MAC}`, 'port not locked']],
    ["paused on a macTableManager='libvirt' network, libvirt's flags: no drift", desiredFor(PAUSED, MTM, config(false, false)), state({ learning: false, flood: false }), []],
  ] as const)('%s', (_case, want, observed, drift) => {
    expect(driftOf(REF, observed, want, new Set())).toEqual(drift);
  });
});

describe('stray entries: a managed guest MAC lives only on its own tap', () => {
  const found = [
    { bridge: 'br0', mac: MAC, port: 'up0', vlan: null },
    { bridge: 'br0', mac: MAC, port: 'vnet5', vlan: null },
    { bridge: 'br0', mac: MAC, port: 'vnet9', vlan: null },
  ];
  it('deletes those elsewhere, never on the port\'s own tap or a running managed guest\'s tap', () => {
    expect(straysAmong(found, new Set(['br0 vnet9']), 'vnet5')).toEqual([{ bridge: 'br0', mac: MAC, port: 'up0', vlan: null }]);
  });

  it('the taps kept are those of managed ports of guests whose vCPUs run', () => {
    const port = (tap: string, manage: boolean): PortPlan => ({ mac: MAC, extraMacs: [], tap, bridge: 'br0', network: null, type: 'bridge', tapManaged: true, libvirtTable: false, manage, reason: '' });
    const plans: Plan[] = [
      { domain: 'a', run: RUNNING, ports: [port('vnet1', true), port('vnet2', false)], problems: [] },
      { domain: 'b', run: PAUSED, ports: [port('vnet3', true)], problems: [] },
      { domain: 'c', run: null, ports: [port('vnet4', true)], problems: [] },
    ];
    expect(runningTaps(plans)).toEqual(new Set(['br0 vnet1', 'br0 vnet4']));
  });
});

describe("the MAC and bridge of a kernel monitor's entry line", () => {
  it.each([
    [`${MAC} dev up0 master br0 static`, { mac: MAC, bridge: 'br0' }],
    [`Deleted ${MAC} dev vnet5 sticky master br0 static`, { mac: MAC, bridge: 'br0' }],
    [`${MAC} dev up0 master br0`, { mac: MAC, bridge: 'br0' }],
    ['33:33:00:00:00:01 dev br0 self permanent', null],
    ['3: vnet0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br0 state forwarding priority 32 cost 100', null],
  ])('%j', (line, entry) => {
    expect(entryOf(line)).toEqual(entry);
  });
});

// A paused guest whose port is as libvirt made it but still has its entry (the watcher's round at the pause): the
// destination's announce moves the entry to the uplink between the watcher's read and its fix.
describe('the watcher at a migration source: the entry moves while it fixes the port', () => {
  let temp: TempDir;
  let bridge: FakeBridge;
  const run = () =>
    runFake(['watch', '--once'], {
      env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) },
      bridge: bridge.run,
    });

  beforeEach(() => {
    temp = new TempDir();
    const sys = new FakeSys(temp.path);
    sys.bridge('br0');
    sys.port('br0', 'vnet5');
    mkdirSync(`${temp.path}/run/libvirt/qemu`, { recursive: true });
    writeFileSync(`${temp.path}/run/libvirt/qemu/g1.xml`, statusDomain([bridgeNic(MAC, 'br0', 'vnet5')], 'g1').replace("state='running' reason='booted'", "state='paused' reason='migration'"));
    bridge = new FakeBridge();
    bridge.entries.set('vnet5', [{ mac: MAC, ...STATIC }]);
  });
  afterEach(() => temp.cleanup());

  it('writes no line when the fix found nothing left to do (it wrote "g1: vnet5 on br0:  (watch)")', async () => {
    let batches = 0;
    let last = -1;
    bridge.fail = () => {
      if (bridge.calls.length !== last) (last = bridge.calls.length), (batches += 1);
      // The second batch is the fix (the first observed the port and looked its MAC up): the entry has moved to the
      // uplink just before it.
      if (batches === 2 && bridge.entries.get('vnet5')?.length) {
        bridge.entries.set('vnet5', []);
        bridge.entries.set('up0', [{ mac: MAC, ...STATIC }]);
      }
      return null;
    };
    expect(await run()).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(bridge.calls).toHaveLength(2);
    bridge.fail = () => null;
    // The next round (the kernel's line for the move) finds it on the uplink and deletes it.
    expect(await run()).toMatchObject({ code: 0, stdout: `g1: vnet5 on br0: static entry ${MAC} on up0 deleted\n`, stderr: `mactable: g1: vnet5 on br0: static entry ${MAC} on up0 deleted (watch)\n` });
    expect(bridge.entries.get('up0')).toEqual([]);
  });

  it("status: a paused guest's port as libvirt made it is not drift, and it says why", async () => {
    bridge.entries.set('vnet5', []);
    const result = await runFake(['status', '--format', 'json'], { env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) }, bridge: bridge.run });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).ports[0]).toMatchObject({
      verdict: 'ok',
      drift: [],
      note: 'guest paused (migration): the port as libvirt made it until its vCPUs run',
      state: { learning: true, flood: true, entry: null, strays: [] },
    });
  });
});
