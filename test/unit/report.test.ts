import { describe, expect, it } from 'vitest';
import type { PortOutcome } from '../../src/actions/apply.js';
import type { ManagedPort } from '../../src/plan/plan.js';
import { outcomeLine, syslogLines } from '../../src/report/report.js';

const port: ManagedPort = { mac: '52:54:00:00:00:01', extraMacs: [], tap: 'vnet3', bridge: 'br0', network: null, type: 'bridge', tapManaged: true, libvirtTable: false, manage: true, reason: '' };
const outcome = (changes: string[], failure: string | null = null, note: string | null = null): PortOutcome => ({ port, changes, failure, note });

describe('one line per port naming guest, tap, bridge and what happened', () => {
  it.each([
    [outcome(['learning off', 'unicast flooding off']), 'guest1: vnet3 on br0: learning off, unicast flooding off'],
    [outcome([]), 'guest1: vnet3 on br0: already in place'],
    [outcome([], 'cannot turn learning off: Permission denied (EACCES)'), 'guest1: vnet3 on br0: cannot turn learning off: Permission denied (EACCES)'],
    [outcome(['learning off'], 'cannot turn unicast flooding off: x'), 'guest1: vnet3 on br0: cannot turn unicast flooding off: x (done before that: learning off)'],
    [outcome([], null, 'tap already gone, nothing to undo'), 'guest1: vnet3 on br0: tap already gone, nothing to undo'],
  ])('%#', (input, line) => {
    expect(outcomeLine('guest1', input, 'already in place')).toBe(line);
  });

  it('escapes a hostile guest name', () => {
    expect(outcomeLine('g\nx', outcome([]), 'already in place')).toBe('g\\x0ax: vnet3 on br0: already in place');
  });

  it('logs changes and failures, not ports already in place', () => {
    expect(syslogLines('g', [outcome([]), outcome(['learning off']), outcome([], 'boom')], 'already in place', 'err', 'started')).toEqual([
      { level: 'info', text: 'g: vnet3 on br0: learning off (started)' },
      { level: 'err', text: 'g: vnet3 on br0: boom (started)' },
    ]);
  });
});
