import { describe, expect, it } from 'vitest';
import { ensureEntries as ensureByWork, ensureNoEntries as ensureNoneByPort, entriesIn, entryOf, readPortViews, staleMacs, type EntryWork } from '../../src/host/fdb.js';
import type { PortRef } from '../../src/model/port.js';
import type { BridgeRunner } from '../../src/runtime/runtime.js';
import { FakeBridge } from '../helpers/fake-bridge.js';

const PORT = { mac: '52:54:00:00:00:01', extraMacs: [], tap: 'tap0', bridge: 'br0' };
const RUNNING = { present: true, sticky: false, lock: false };
const PAUSED = { present: false, sticky: false, lock: false };

const runnerOf = (fake: FakeBridge): BridgeRunner => async (args, input) => fake.run(args, input);
// The outcomes in the order of the work (the host answers by item).
const ensureEntries = async (runner: BridgeRunner, work: EntryWork[]) => {
  const outcomes = await ensureByWork(runner, work);
  return work.map((item) => outcomes.get(item));
};
const ensureNoEntries = async (runner: BridgeRunner, ports: PortRef[]) => {
  const outcomes = await ensureNoneByPort(runner, ports);
  return ports.map((port) => outcomes.get(port));
};

describe('what counts as the guest MAC entry', () => {
  it.each([
    [[{ mac: PORT.mac, master: 'br0', state: 'static', flags: [] }], { state: 'static', flags: [] }],
    [[{ mac: PORT.mac, master: 'br0', state: 'permanent' }], { state: 'permanent', flags: [] }],
    [[{ mac: PORT.mac, state: 'permanent', flags: ['self'] }], null],
    [[{ mac: PORT.mac, master: 'br1', state: 'static' }], null],
    [[{ mac: '52:54:00:00:00:02', master: 'br0', state: 'static' }], null],
    ['not a list', null],
  ])('%j → %j', (output, entry) => {
    expect(entryOf(entriesIn(output, 'br0'), PORT.mac)).toEqual(entry);
  });
});

describe('ensureEntries: per port view, change, view, in one batch', () => {
  it('reads only each port\'s own entries (its link only when the lock matters), sends `replace ... master static`, never a bare add', async () => {
    const fake = new FakeBridge();
    const ports = ['tap0', 'tap1'].map((tap, i) => ({ mac: `52:54:00:00:00:0${i}`, extraMacs: [], tap, bridge: 'br0' }));
    const results = await ensureEntries(runnerOf(fake), ports.map((port) => ({ port, goal: RUNNING, stale: [] })));
    expect(fake.calls).toEqual([
      ports.flatMap(({ mac, tap }) => [`fdb show br br0 brport ${tap}`, `fdb replace ${mac} dev ${tap} master static`, `fdb show br br0 brport ${tap}`]),
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
    expect(await ensureEntries(runnerOf(fake), [{ port: PORT, goal: RUNNING, stale: [] }])).toEqual([expected]);
  });

  it('fails when the entry is missing afterwards', async () => {
    const fake = new FakeBridge();
    const runner: BridgeRunner = async (args, input) => fake.run(args, input.replace(/^fdb replace.*\n/mu, ''));
    expect(await ensureEntries(runner, [{ port: PORT, goal: RUNNING, stale: [] }])).toEqual([{ changes: [], failure: 'the static entry is not there after bridge fdb replace' }]);
  });

  it('fails every port when bridge cannot run', async () => {
    const runner: BridgeRunner = async () => ({ exitCode: null, stdout: '', stderr: '', failure: 'spawn bridge ENOENT', timedOut: false });
    const failure = 'cannot add the static entry: cannot run bridge: spawn bridge ENOENT';
    expect(await ensureEntries(runner, [{ port: PORT, goal: RUNNING, stale: [] }, { port: PORT, goal: RUNNING, stale: [] }])).toEqual([
      { changes: [], failure },
      { changes: [], failure },
    ]);
  });

  it('a paused guest: the entry deleted and the port unlocked; already so is fine, though del complains', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: [] }]);
    fake.locked.set('tap0', true);
    expect(await ensureEntries(runnerOf(fake), [{ port: PORT, goal: PAUSED, stale: [] }])).toEqual([{ changes: [`entry ${PORT.mac} deleted`, 'port unlocked'], failure: null }]);
    expect(fake.calls[0]).toEqual(['fdb show br br0 brport tap0', 'link show dev tap0', `fdb del ${PORT.mac} dev tap0 master`, 'link set dev tap0 locked off', 'fdb show br br0 brport tap0', 'link show dev tap0']);
    expect(await ensureNoEntries(runnerOf(fake), [PORT])).toEqual([{ changes: [], failure: null }]);
  });
});

describe('sticky entries and locked ports, when the config asks', () => {
  const LOCKED = { present: true, sticky: true, lock: true };

  it('adds `sticky`, then locks the port in a second batch once the entry is verified, and reads the lock back', async () => {
    const fake = new FakeBridge();
    expect(await ensureEntries(runnerOf(fake), [{ port: PORT, goal: LOCKED, stale: [] }])).toEqual([{ changes: [`static sticky entry ${PORT.mac} added`, 'port locked'], failure: null }]);
    expect(fake.calls[0]).toContain(`fdb replace ${PORT.mac} dev tap0 master static sticky`);
    expect(fake.calls[1]).toEqual(['link set dev tap0 locked on', 'link show dev tap0']);
  });

  it('never locks a port whose entry failed: the message names the entry, the port stays unlocked', async () => {
    const fake = new FakeBridge();
    fake.fail = (line) => (line.startsWith('fdb replace') ? 'RTNETLINK answers: Invalid argument' : null);
    expect(await ensureEntries(runnerOf(fake), [{ port: PORT, goal: LOCKED, stale: [] }])).toEqual([{ changes: [], failure: 'cannot add the static sticky entry: RTNETLINK answers: Invalid argument' }]);
    expect(fake.calls).toHaveLength(1);
    expect(fake.locked.get('tap0')).toBeUndefined();
  });

  it('fails when the entry is static but not sticky', async () => {
    const fake = new FakeBridge();
    const runner: BridgeRunner = async (args, input) => fake.run(args, input.replace(' sticky', ''));
    expect(await ensureEntries(runner, [{ port: PORT, goal: LOCKED, stale: [] }])).toEqual([{ changes: [], failure: 'the static sticky entry is not there after bridge fdb replace' }]);
  });

  it('a refused lock is named, with the entry that was added', async () => {
    const fake = new FakeBridge();
    fake.fail = (line) => (line === 'link set dev tap0 locked on' ? 'RTNETLINK answers: Operation not supported' : null);
    expect(await ensureEntries(runnerOf(fake), [{ port: PORT, goal: LOCKED, stale: [] }])).toEqual([
      { changes: [`static sticky entry ${PORT.mac} added`], failure: 'cannot lock the port: RTNETLINK answers: Operation not supported' },
    ]);
  });
});

describe('readPortViews', () => {
  it('reads each port in one batch, a failed read named per port', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: ['sticky'] }]);
    fake.fail = (line) => (line.endsWith('tap1') ? 'Cannot find device "tap1"' : null);
    const ports = [PORT, { ...PORT, tap: 'tap1' }, { ...PORT, tap: 'tap2' }];
    const read = await readPortViews(runnerOf(fake), ports.map((port, i) => ({ port, withLock: i < 2 })));
    expect(read.failure === null && ports.map((port) => read.views.get(port))).toEqual([
      { failure: null, entries: [{ mac: PORT.mac, state: 'static', flags: ['sticky'] }], locked: false },
      { failure: 'Cannot find device "tap1"' },
      { failure: null, entries: [], locked: null },
    ]);
    expect(fake.calls).toEqual([['fdb show br br0 brport tap0', 'link show dev tap0', 'fdb show br br0 brport tap1', 'link show dev tap1', 'fdb show br br0 brport tap2']]);
  });
});

describe('extra MACs: every MAC of a port, the guest\'s own first', () => {
  const VRRP = '00:00:5e:00:01:0a';
  const ROUTER = { ...PORT, extraMacs: [VRRP] };

  it('adds the guest MAC and each extra MAC in the same batch, and deletes the stale ones named', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: '02:00:00:00:00:09', state: 'static', flags: [] }]);
    expect(await ensureEntries(runnerOf(fake), [{ port: ROUTER, goal: RUNNING, stale: ['02:00:00:00:00:09'] }])).toEqual([
      { changes: [`static entry ${PORT.mac} added`, `static entry ${VRRP} added`, 'entry 02:00:00:00:00:09 deleted'], failure: null },
    ]);
    expect(fake.calls).toEqual([
      [
        'fdb show br br0 brport tap0',
        `fdb replace ${PORT.mac} dev tap0 master static`,
        `fdb replace ${VRRP} dev tap0 master static`,
        'fdb del 02:00:00:00:00:09 dev tap0 master',
        'fdb show br br0 brport tap0',
      ],
    ]);
  });

  it('a paused guest loses its extra entries too', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: PORT.mac, state: 'static', flags: [] }, { mac: VRRP, state: 'static', flags: [] }]);
    expect(await ensureEntries(runnerOf(fake), [{ port: ROUTER, goal: PAUSED, stale: [] }])).toEqual([{ changes: [`entry ${PORT.mac} deleted`, `entry ${VRRP} deleted`], failure: null }]);
    expect(fake.entries.get('tap0')).toEqual([]);
  });

  it('undo deletes the extra entries', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: VRRP, state: 'static', flags: [] }]);
    expect(await ensureNoEntries(runnerOf(fake), [ROUTER])).toEqual([{ changes: [`entry ${VRRP} deleted`], failure: null }]);
  });

  it('never locks a port whose extra entry failed; the message names the extra MAC', async () => {
    const fake = new FakeBridge();
    fake.fail = (line) => (line.startsWith(`fdb replace ${VRRP}`) ? 'RTNETLINK answers: Invalid argument' : null);
    expect(await ensureEntries(runnerOf(fake), [{ port: ROUTER, goal: { present: true, sticky: true, lock: true }, stale: [] }])).toEqual([
      { changes: [`static sticky entry ${PORT.mac} added`], failure: `cannot add the static sticky entry for ${VRRP}: RTNETLINK answers: Invalid argument` },
    ]);
    expect(fake.calls).toHaveLength(1);
  });

  it('locks once every entry of the port is verified', async () => {
    const fake = new FakeBridge();
    const results = await ensureEntries(runnerOf(fake), [{ port: ROUTER, goal: { present: true, sticky: false, lock: true }, stale: [] }]);
    expect(results).toEqual([{ changes: [`static entry ${PORT.mac} added`, `static entry ${VRRP} added`, 'port locked'], failure: null }]);
  });

  it('a stale entry that will not go is named', async () => {
    const fake = new FakeBridge();
    fake.entries.set('tap0', [{ mac: '02:00:00:00:00:09', state: 'static', flags: [] }]);
    fake.fail = (line) => (line.startsWith('fdb del') ? 'RTNETLINK answers: Operation not permitted' : null);
    expect(await ensureEntries(runnerOf(fake), [{ port: PORT, goal: RUNNING, stale: ['02:00:00:00:00:09'] }])).toEqual([
      { changes: [`static entry ${PORT.mac} added`], failure: 'cannot delete the entry for 02:00:00:00:00:09: RTNETLINK answers: Operation not permitted' },
    ]);
  });

  it('stale: static entries for MACs that are neither the guest\'s nor an extra; the kernel\'s own and learned ones never', () => {
    const entries = [
      { mac: PORT.mac, state: 'static', flags: [] },
      { mac: VRRP, state: 'static', flags: ['sticky'] },
      { mac: '02:00:00:00:00:09', state: 'static', flags: [] },
      { mac: 'fe:54:00:00:00:01', state: 'permanent', flags: [] },
      { mac: '02:00:00:00:00:07', state: '', flags: [] },
      { mac: '02:00:00:00:00:08', state: '', flags: ['extern_learn'] },
    ];
    expect(staleMacs(entries, ROUTER)).toEqual(['02:00:00:00:00:09']);
    expect(staleMacs(entries, PORT)).toEqual([VRRP, '02:00:00:00:00:09']);
  });
});
