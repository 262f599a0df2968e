import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/host/batch.js';
import type { BridgeRunner, CommandResult } from '../../src/runtime/runtime.js';

const runner = (result: Partial<CommandResult>, calls: string[][] = []): BridgeRunner => async (args, input) => {
  calls.push([...args, input]);
  return { exitCode: 0, stdout: '', stderr: '', failure: null, timedOut: false, ...result };
};


describe('runBatch: one bridge process, answers by step and command name', () => {
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
        { key: 'tap0', commands: { show: { line: 'fdb show br br0 brport tap0', shows: true }, replace: { line: 'fdb replace m dev tapX master static', shows: false } } },
        { key: 'tap1', commands: { show: { line: 'fdb show br br0 brport tap1', shows: true }, replace: { line: 'fdb replace m dev tap1 master static', shows: false } } },
      ],
    );
    expect(calls).toEqual([
      ['-j', '-d', '-force', '-batch', '-', 'fdb show br br0 brport tap0\nfdb replace m dev tapX master static\nfdb show br br0 brport tap1\nfdb replace m dev tap1 master static\n'],
    ]);
    expect(results).toEqual({
      failure: null,
      answers: new Map([
        ['tap0', new Map([['show', { failure: null, output: [{ mac: 'a' }] }], ['replace', { failure: 'Cannot find device "tapX"' }]])],
        ['tap1', new Map([['show', { failure: null, output: [] }], ['replace', { failure: 'RTNETLINK answers: Invalid argument' }]])],
      ]),
    });
  });

  it('reports a bridge that did not run, or failed without saying which command', async () => {
    expect(await runBatch(runner({ exitCode: null, failure: 'timed out after 10 s' }), [])).toEqual({ failure: 'cannot run bridge: timed out after 10 s' });
    expect(await runBatch(runner({ exitCode: 255, stderr: 'Option "-j" is unknown\n' }), [])).toEqual({ failure: 'bridge failed (exit 255): Option "-j" is unknown' });
  });
});

