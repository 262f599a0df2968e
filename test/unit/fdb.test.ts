import { describe, expect, it } from 'vitest';
import { entriesIn, runEntryOperations } from '../../src/host/fdb.js';
import { observePorts } from '../../src/host/observe.js';
import type { Operation } from '../../src/model/operations.js';
import type { PortRef } from '../../src/model/port.js';
import type { PortState } from '../../src/model/state.js';
import { asLibvirtMadeIt, operationsFor, unlistedMacs } from '../../src/plan/diff.js';
import type { HostFs } from '../../src/runtime/fs.js';
import type { BridgeRunner } from '../../src/runtime/runtime.js';
import { FakeBridge } from '../helpers/fake-bridge.js';

const PORT = { mac: '52:54:00:00:00:01', extraMacs: [], tap: 'tap0', bridge: 'br0' };
const RUNNING = { learning: false, entry: true, sticky: false, lock: false };
const PAUSED = { learning: true, entry: false, sticky: false, lock: false };
// Every tap is a port of br0 with its flags already right: these tests are about the entries.
const SYS = { exists: () => true, readLink: () => '../br0', readText: () => '0\n' } as unknown as HostFs;

const runnerOf = (fake: FakeBridge): BridgeRunner => async (args, input) => fake.run(args, input);
// Observe each port, diff it against `want`, run the bridge part: the outcomes in the order of the ports.
async function ensure(runner: BridgeRunner, ports: PortRef[], want: typeof RUNNING, ops = operationsFor) {
  const states = await observePorts(SYS, runner, ports.map((port) => ({ port, withLock: want.lock || !want.entry, moved: false })));
  const work = ports.map((port) => ({ port, operations: ops(port, states.get(port) as PortState, want, null).filter((op) => op.op !== 'flag') }));
  const outcomes = await runEntryOperations(runner, work);
  return ports.map((port) => outcomes.get(port));
}
const undo = (port: PortRef, state: PortState): Operation[] => asLibvirtMadeIt(port, state);

describe('what counts as the guest MAC entry', () => {
  it.each([
    [[{ mac: PORT.mac, master: 'br0', state: 'static', flags: [] }], [{ mac: PORT.mac, vlan: null, state: 'static', flags: [] }]],
    [[{ mac: PORT.mac, master: 'br0', state: 'permanent' }], [{ mac: PORT.mac, vlan: null, state: 'permanent', flags: [] }]],
    [[{ mac: PORT.mac, master: 'br0', state: 'static', vlan: 10 }], [{ mac: PORT.mac, vlan: 10, state: 'static', flags: [] }]],
    [[{ mac: PORT.mac, state: 'permanent', flags: ['self'] }], []],
    [[{ mac: PORT.mac, master: 'br1', state: 'static' }], []],
    ['not a list', []],
  ])('%j → %j', (output, entries) => {
    expect(entriesIn(output, 'br0')).toEqual(entries);
  });
});

describe('one observation, then the operations in one batch with one read-back', () => {
  it("observes only each port's own entries, sends `replace ... master static`, never a bare add, and reads back once", async () => {
    const fake = new FakeBridge();
    const ports = ['tap0', 'tap1'].map((tap, i) => ({ mac: `52:54:00:00:00:0${i}`, extraMacs: [], tap, bridge: 'br0' }));
    const results = await ensure(runnerOf(fake), ports, RUNNING);
    expect(fake.calls).toEqual([
      ports.map(({ tap }) => `fdb show br br0 brport ${tap}`),
      ports.flatMap(({ mac, tap }) => [`fdb replace ${mac} dev ${tap} master static`, `fdb show br br0 brport ${tap}`]),
    ]);
    expect(results).toEqual(ports.map(({ mac }) => ({ changes: [`static entry ${mac} added`], failure: null })));
  });

  it.each([
    ['already there', [{ mac: PORT.mac, state: 'static', flags: [] }], null, { changes: [], failure: null }],
    ['a local entry turned static', [{ mac: PORT.mac, state: 'permanent', flags: [] }], null, { changes: [`static entry ${PORT.mac} added`], failure: null }],
    ['replace refused', [], 'RTNETLINK answers: Operation not permitted', { changes: [], failure: 'cannot add the static entry: RTNETLINK answers: Operation not permitted' }],
  ])('%s', async (_case, before, refusal, expected) => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', before);
    fake.fail = (line) => (line.startsWith('fdb replace') ? refusal : null);
    expect(await ensure(runnerOf(fake), [PORT], RUNNING)).toEqual([expected]);
  });

  it('fails when the entry is missing afterwards', async () => {
    const fake = new FakeBridge();
    const runner: BridgeRunner = async (args, input) => fake.run(args, input.replace(/^fdb replace.*\n/mu, ''));
    expect(await ensure(runner, [PORT], RUNNING)).toEqual([{ changes: [], failure: 'the static entry is not there after bridge fdb replace' }]);
  });

  it('fails every port when bridge cannot run', async () => {
    const runner: BridgeRunner = async () => ({ exitCode: null, stdout: '', stderr: '', failure: 'spawn bridge ENOENT', timedOut: false });
    const failure = 'cannot add the static entry: cannot run bridge: spawn bridge ENOENT';
    expect(await ensure(runner, [PORT, { ...PORT, tap: 'tap1' }], RUNNING)).toEqual([
      { changes: [], failure },
      { changes: [], failure },
    ]);
  });

  it('a paused guest: the entry deleted and the port unlocked; already so is nothing to do', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: [] }]);
    fake.locked.set('tap0', true);
    expect(await ensure(runnerOf(fake), [PORT], PAUSED)).toEqual([{ changes: [`entry ${PORT.mac} deleted`, 'port unlocked'], failure: null }]);
    expect(fake.calls[1]).toEqual([`fdb del ${PORT.mac} dev tap0 master`, 'link set dev tap0 locked off', 'fdb show br br0 brport tap0', 'link show dev tap0']);
    expect(await ensure(runnerOf(fake), [PORT], PAUSED)).toEqual([{ changes: [], failure: null }]);
    expect(fake.calls).toHaveLength(3);
  });

  it('an entry that went between the observation and the delete is no failure and no change', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: [] }]);
    const runner: BridgeRunner = async (args, input) => (input.startsWith('fdb del') ? (fake.entries.set('tap0', []), fake.run(args, input)) : fake.run(args, input));
    expect(await ensure(runner, [PORT], PAUSED)).toEqual([{ changes: [], failure: null }]);
  });
});

describe('sticky entries and locked ports, when the config asks', () => {
  const LOCKED = { learning: false, entry: true, sticky: true, lock: true };

  it('adds `sticky`, then locks the port in a second batch once the entry is verified, and reads the lock back', async () => {
    const fake = new FakeBridge();
    expect(await ensure(runnerOf(fake), [PORT], LOCKED)).toEqual([{ changes: [`static sticky entry ${PORT.mac} added`, 'port locked'], failure: null }]);
    expect(fake.calls[1]).toContain(`fdb replace ${PORT.mac} dev tap0 master static sticky`);
    expect(fake.calls[2]).toEqual(['link set dev tap0 locked on', 'link show dev tap0']);
  });

  it('never locks a port whose entry failed: the message names the entry, the port stays unlocked', async () => {
    const fake = new FakeBridge();
    fake.fail = (line) => (line.startsWith('fdb replace') ? 'RTNETLINK answers: Invalid argument' : null);
    expect(await ensure(runnerOf(fake), [PORT], LOCKED)).toEqual([{ changes: [], failure: 'cannot add the static sticky entry: RTNETLINK answers: Invalid argument' }]);
    expect(fake.calls).toHaveLength(2);
    expect(fake.locked.get('tap0')).toBeUndefined();
  });

  it('fails when the entry is static but not sticky', async () => {
    const fake = new FakeBridge();
    const runner: BridgeRunner = async (args, input) => fake.run(args, input.replace(' sticky', ''));
    expect(await ensure(runner, [PORT], LOCKED)).toEqual([{ changes: [], failure: 'the static sticky entry is not there after bridge fdb replace' }]);
  });

  it('a refused lock is named, with the entry that was added', async () => {
    const fake = new FakeBridge();
    fake.fail = (line) => (line === 'link set dev tap0 locked on' ? 'RTNETLINK answers: Operation not supported' : null);
    expect(await ensure(runnerOf(fake), [PORT], LOCKED)).toEqual([
      { changes: [`static sticky entry ${PORT.mac} added`], failure: 'cannot lock the port: RTNETLINK answers: Operation not supported' },
    ]);
  });
});

describe('observePorts', () => {
  it('reads each port once in one batch; a failed read ends that port only and names its bridge, tap and command', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: ['sticky'] }]);
    fake.fail = (line) => (line.endsWith('tap1') ? 'Cannot find device "tap1"' : null);
    const ports = [PORT, { ...PORT, tap: 'tap1' }, { ...PORT, tap: 'tap2' }];
    const states = await observePorts(SYS, runnerOf(fake), ports.map((port, i) => ({ port, withLock: i < 2, moved: false })));
    expect(ports.map((port) => { const { entries, locked, failure } = states.get(port) as PortState; return { entries, locked, failure }; })).toEqual([
      { entries: [{ mac: PORT.mac, vlan: null, state: 'static', flags: ['sticky'] }], locked: false, failure: null },
      { entries: [], locked: null, failure: 'cannot read the entries of tap1 on br0 (bridge fdb show br br0 brport tap1): Cannot find device "tap1"' },
      { entries: [], locked: null, failure: null },
    ]);
    expect(fake.calls).toEqual([['fdb show br br0 brport tap0', 'link show dev tap0', 'fdb show br br0 brport tap1', 'link show dev tap1', 'fdb show br br0 brport tap2']]);
  });

  it('a flag that cannot be read ends that port only, naming its bridge, tap and file', async () => {
    const sys = { ...SYS, readText: (path: string) => { if (path.includes('tap1')) throw Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' }); return '0\n'; } } as HostFs;
    const ports = [PORT, { ...PORT, tap: 'tap1' }];
    const states = await observePorts(sys, runnerOf(new FakeBridge()), ports.map((port) => ({ port, withLock: false, moved: false })));
    expect(ports.map((port) => states.get(port)?.failure)).toEqual([null, 'cannot read learning of tap1 on br0 (/sys/class/net/br0/brif/tap1/learning): Permission denied (EACCES)']);
  });
});

describe("extra MACs: every MAC of a port, the guest's own first", () => {
  const VRRP = '00:00:5e:00:01:0a';
  const ROUTER = { ...PORT, extraMacs: [VRRP] };

  it('adds the guest MAC and each extra MAC in the same batch, and deletes the unlisted ones named', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: '02:00:00:00:00:09', state: 'static', flags: [] }]);
    expect(await ensure(runnerOf(fake), [ROUTER], RUNNING)).toEqual([
      { changes: [`static entry ${PORT.mac} added`, `static entry ${VRRP} added`, 'entry 02:00:00:00:00:09 deleted'], failure: null },
    ]);
    expect(fake.calls[1]).toEqual([
      `fdb replace ${PORT.mac} dev tap0 master static`,
      `fdb replace ${VRRP} dev tap0 master static`,
      'fdb del 02:00:00:00:00:09 dev tap0 master',
      'fdb show br br0 brport tap0',
    ]);
  });

  it('a paused guest loses its extra entries too', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: [] }, { mac: VRRP, state: 'static', flags: [] }]);
    expect(await ensure(runnerOf(fake), [ROUTER], PAUSED)).toEqual([{ changes: [`entry ${PORT.mac} deleted`, `entry ${VRRP} deleted`], failure: null }]);
    expect(fake.entries.get('tap0')).toEqual([]);
  });

  it('undo deletes the extra entries', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: VRRP, state: 'static', flags: [] }]);
    expect(await ensure(runnerOf(fake), [ROUTER], PAUSED, undo)).toEqual([{ changes: [`entry ${VRRP} deleted`], failure: null }]);
  });

  it('never locks a port whose extra entry failed; the message names the extra MAC', async () => {
    const fake = new FakeBridge();
    fake.fail = (line) => (line.startsWith(`fdb replace ${VRRP}`) ? 'RTNETLINK answers: Invalid argument' : null);
    expect(await ensure(runnerOf(fake), [ROUTER], { learning: false, entry: true, sticky: true, lock: true })).toEqual([
      { changes: [`static sticky entry ${PORT.mac} added`], failure: `cannot add the static sticky entry for ${VRRP}: RTNETLINK answers: Invalid argument` },
    ]);
    expect(fake.calls).toHaveLength(2);
  });

  it('locks once every entry of the port is verified', async () => {
    const fake = new FakeBridge();
    expect(await ensure(runnerOf(fake), [ROUTER], { learning: false, entry: true, sticky: false, lock: true })).toEqual([
      { changes: [`static entry ${PORT.mac} added`, `static entry ${VRRP} added`, 'port locked'], failure: null },
    ]);
  });

  it('an unlisted entry that will not go is named', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: '02:00:00:00:00:09', state: 'static', flags: [] }]);
    fake.fail = (line) => (line.startsWith('fdb del') ? 'RTNETLINK answers: Operation not permitted' : null);
    expect(await ensure(runnerOf(fake), [PORT], RUNNING)).toEqual([
      { changes: [`static entry ${PORT.mac} added`], failure: 'cannot delete the entry for 02:00:00:00:00:09: RTNETLINK answers: Operation not permitted' },
    ]);
  });

  it("unlisted: static entries for MACs that are neither the guest's nor an extra; the kernel's own and learned ones never", () => {
    const entries = [
      { mac: PORT.mac, state: 'static', flags: [] },
      { mac: VRRP, state: 'static', flags: ['sticky'] },
      { mac: '02:00:00:00:00:09', state: 'static', flags: [] },
      { mac: 'fe:54:00:00:00:01', state: 'permanent', flags: [] },
      { mac: '02:00:00:00:00:07', state: '', flags: [] },
      { mac: '02:00:00:00:00:08', state: '', flags: ['extern_learn'] },
    ].map((entry) => ({ ...entry, vlan: null }));
    const state = { entries } as PortState;
    expect(unlistedMacs(ROUTER, state)).toEqual(['02:00:00:00:00:09']);
    expect(unlistedMacs(PORT, state)).toEqual([VRRP, '02:00:00:00:00:09']);
  });
});
