import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { parseDomain, parseRunState } from '../../src/domain/parse.js';
import { desiredFor } from '../../src/plan/desired.js';
import { FIXTURES } from '../helpers/runtime.js';

const MIGRATION = `${FIXTURES}libvirt-9.0/migration/`;
const STICKY = { sticky: true, lockPorts: false } as Config;

// The status files libvirt 9.0 wrote on both hosts through one `virsh migrate --live` (test/capture/migration.ts),
// in the order it wrote them: the async job is what tells a migration away from a pause or a start.
describe('libvirt 9.0 status files through a live migration: the run state, its job, and whether entries are sticky', () => {
  it.each([
    ['source-starting.xml', { state: 'paused', reason: 'starting up', job: 'start' }, null],
    ['source-begin3.xml', { state: 'running', reason: 'booted', job: 'migration out' }, false],
    ['source-perform3.xml', { state: 'running', reason: 'booted', job: 'migration out' }, false],
    ['source-paused-perform3.xml', { state: 'paused', reason: 'migration', job: 'migration out' }, null],
    ['source-confirm3.xml', { state: 'paused', reason: 'migration', job: 'migration out' }, null],
    ['destination-prepare.xml', { state: 'paused', reason: 'migration', job: 'migration in' }, null],
    ['destination-finish3.xml', { state: 'running', reason: 'migrated', job: 'migration in' }, true],
    ['destination-done.xml', { state: 'running', reason: 'migrated' }, true],
  ] as const)('%s: %j, sticky %s (null: no entry, the guest is paused)', (file, run, sticky) => {
    const xml = readFileSync(`${MIGRATION}${file}`, 'utf8');
    // The watcher parses the whole file; the hook reads its head: both see the same.
    expect(parseDomain(xml, file).run).toEqual(run);
    expect(parseRunState(xml)).toEqual(run);
    const want = desiredFor(run, { libvirtTable: false }, STICKY);
    expect(want.entry ? want.sticky : null).toBe(sticky);
  });
});
