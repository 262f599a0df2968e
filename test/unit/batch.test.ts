import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/host/batch.js';
import { ensureFdbEntries, ensureNoFdbEntries, hasStaticEntry } from '../../src/host/fdb.js';
import type { BridgeRunner, CommandResult } from '../../src/runtime.js';

const runner = (result: Partial<CommandResult>, calls: string[][] = []): BridgeRunner => async (args, input) => {
  calls.push([...args, input]);
  return { exitCode: 0, stdout: '', stderr: '', failure: null, ...result };
};

const entry = (mac: string, state = 'static', master = 'br0', ifname = 'tap0') => ({ mac, ifname, flags: [], master, state });
const TARGET = { mac: '52:54:00:00:00:01', tap: 'tap0', bridge: 'br0' };
const PLAIN = { sticky: false, lock: false };

describe('runBatch: one bridge process, results matched back to commands', () => {
  it('gives each show its JSON line and each failed command its error text', async () => {
    const calls: string[][] = [];
    const results = await runBatch(
      runner(
        {
          exitCode: 1,
          stdout: '[{"mac":"a"}]\n[]\n',
          stderr: 'Cannot find device "tapX"\nCommand failed -:2\nRTNETLINK answers: Invalid argument\nCommand failed -:4\n',
        },
        calls,
      ),
      [
        { line: 'fdb show br br0 brport tap0', shows: true },
        { line: 'fdb replace m dev tapX master static', shows: false },
        { line: 'fdb show br br0 brport tap1', shows: true },
        { line: 'fdb replace m dev tap1 master static', shows: false },
      ],
    );
    expect(calls).toEqual([
      ['-j', '-d', '-force', '-batch', '-', 'fdb show br br0 brport tap0\nfdb replace m dev tapX master static\nfdb show br br0 brport tap1\nfdb replace m dev tap1 master static\n'],
    ]);
    expect(results).toEqual([
      { ok: true, output: [{ mac: 'a' }] },
      { ok: false, error: 'Cannot find device "tapX"' },
      { ok: true, output: [] },
      { ok: false, error: 'RTNETLINK answers: Invalid argument' },
    ]);
  });

  it('reports a bridge that did not run, or failed without saying which command', async () => {
    expect(await runBatch(runner({ exitCode: null, failure: 'timed out after 10 s' }), [])).toBe('cannot run bridge: timed out after 10 s');
    expect(await runBatch(runner({ exitCode: 255, stderr: 'Option "-j" is unknown\n' }), [])).toBe('bridge failed (exit 255): Option "-j" is unknown');
  });
});

describe('what counts as a verified entry', () => {
  it.each([
    [[entry(TARGET.mac)], true],
    [[entry(TARGET.mac, 'permanent')], false],
    [[entry(TARGET.mac, 'static', 'br1')], false],
    [[entry(TARGET.mac, 'static', 'br0', 'tap1')], false],
    [[entry('52:54:00:00:00:02')], false],
    [[], false],
    ['not a list', false],
  ])('%j → %s', (output, verified) => {
    expect(hasStaticEntry(output, TARGET)).toBe(verified);
  });
});

describe('ensureFdbEntries: show, replace, show', () => {
  const shows = (before: unknown[], after: unknown[]) => `${JSON.stringify(before)}\n${JSON.stringify(after)}\n`;

  it('sends `replace ... master static`, never a bare add', async () => {
    const calls: string[][] = [];
    await ensureFdbEntries(runner({ stdout: shows([], [entry(TARGET.mac)]) }, calls), [TARGET], PLAIN);
    expect(calls[0]?.[5]).toBe(
      'fdb show br br0\nfdb replace 52:54:00:00:00:01 dev tap0 master static\nfdb show br br0\n',
    );
  });

  it('dumps each bridge once before and once after, however many ports', async () => {
    const calls: string[][] = [];
    const targets = ['tap0', 'tap1', 'tap2'].map((tap, i) => ({ mac: `52:54:00:00:00:0${i}`, tap, bridge: i < 2 ? 'br0' : 'br1' }));
    const after = [...targets.map((t) => entry(t.mac, 'static', t.bridge, t.tap))];
    const results = await ensureFdbEntries(runner({ stdout: `[]\n[]\n${JSON.stringify(after)}\n${JSON.stringify(after)}\n` }, calls), targets, PLAIN);
    expect(calls[0]?.[5]?.split('\n')).toEqual([
      'fdb show br br0',
      'fdb show br br1',
      'fdb replace 52:54:00:00:00:00 dev tap0 master static',
      'fdb replace 52:54:00:00:00:01 dev tap1 master static',
      'fdb replace 52:54:00:00:00:02 dev tap2 master static',
      'fdb show br br0',
      'fdb show br br1',
      '',
    ]);
    expect(results).toEqual(targets.map((t) => ({ changes: [`static entry ${t.mac} added`] })));
  });

  it.each([
    ['added', shows([], [entry(TARGET.mac)]), '', 0, { changes: [`static entry ${TARGET.mac} added`] }],
    ['already there', shows([entry(TARGET.mac)], [entry(TARGET.mac)]), '', 0, { changes: [] }],
    ['a local entry turned static', shows([entry(TARGET.mac, 'permanent')], [entry(TARGET.mac)]), '', 0, { changes: [`static entry ${TARGET.mac} added`] }],
    ['replace refused', shows([], []), 'RTNETLINK answers: Operation not permitted\nCommand failed -:2\n', 1, { error: 'cannot add the static entry: RTNETLINK answers: Operation not permitted' }],
    ['missing afterwards', shows([], []), '', 0, { error: 'the static entry is not there after bridge fdb replace' }],
  ])('%s', async (_case, stdout, stderr, exitCode, expected) => {
    expect(await ensureFdbEntries(runner({ stdout, stderr, exitCode }), [TARGET], PLAIN)).toEqual([expected]);
  });

  it('fails every port when bridge cannot run', async () => {
    expect(await ensureFdbEntries(runner({ exitCode: null, failure: 'spawn bridge ENOENT' }), [TARGET, TARGET], PLAIN)).toEqual([
      { error: 'cannot add the static entry: cannot run bridge: spawn bridge ENOENT' },
      { error: 'cannot add the static entry: cannot run bridge: spawn bridge ENOENT' },
    ]);
  });
});

describe('ensureNoFdbEntries: view, del and unlock, view', () => {
  const link = (locked: boolean) => JSON.stringify([{ ifname: 'tap0', master: 'br0', locked }]);

  it('deletes a present entry and unlocks a locked port', async () => {
    const calls: string[][] = [];
    const stdout = `${JSON.stringify([entry(TARGET.mac)])}\n${link(true)}\n[]\n${link(false)}\n`;
    expect(await ensureNoFdbEntries(runner({ stdout }, calls), [TARGET])).toEqual([{ changes: [`entry ${TARGET.mac} deleted`, 'port unlocked'] }]);
    expect(calls[0]?.[5]?.split('\n')).toEqual([
      'fdb show br br0',
      'link show master br0',
      `fdb del ${TARGET.mac} dev tap0 master`,
      'link set dev tap0 locked off',
      'fdb show br br0',
      'link show master br0',
      '',
    ]);
  });

  it('takes an absent entry as done, though del complains', async () => {
    const result = runner({ stdout: `[]\n${link(false)}\n[]\n${link(false)}\n`, stderr: 'RTNETLINK answers: No such file or directory\nCommand failed -:3\n', exitCode: 1 });
    expect(await ensureNoFdbEntries(result, [TARGET])).toEqual([{ changes: [] }]);
  });
});

describe('sticky entries and locked ports, when the config asks', () => {
  it('adds `sticky`, locks the port, and verifies both', async () => {
    const calls: string[][] = [];
    const sticky = { ...entry(TARGET.mac), flags: ['sticky'] };
    const stdout = `[]\n${JSON.stringify([{ ifname: 'tap0', locked: false }])}\n${JSON.stringify([sticky])}\n${JSON.stringify([{ ifname: 'tap0', locked: true }])}\n`;
    const results = await ensureFdbEntries(runner({ stdout }, calls), [TARGET], { sticky: true, lock: true });
    expect(calls[0]?.[5]).toContain(`fdb replace ${TARGET.mac} dev tap0 master static sticky\nlink set dev tap0 locked on\n`);
    expect(results).toEqual([{ changes: [`static sticky entry ${TARGET.mac} added`, 'port locked'] }]);
  });

  it('fails when the entry is static but not sticky', async () => {
    const stdout = `[]\n${JSON.stringify([entry(TARGET.mac)])}\n`;
    expect(await ensureFdbEntries(runner({ stdout }), [TARGET], { sticky: true, lock: false })).toEqual([
      { error: 'the static sticky entry is not there after bridge fdb replace' },
    ]);
  });
});
