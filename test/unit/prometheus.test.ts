import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/report/metrics.js';
import { SOURCE } from '../helpers/installed.js';
import { canRun, missingTool } from '../helpers/sh.js';

const DIR = `${SOURCE}packaging/prometheus/`;
const RULES = readFileSync(`${DIR}mactable.rules.yml`, 'utf8');
// One managed bridge whose uplink stays promiscuous, so the per-bridge gauges are written too.
const BRIDGE = { bridge: 'br0', vlanFiltering: false, autoPorts: ['up0'], uplinkFiltered: false, why: [] };

describe('the alert rules (packaging/prometheus)', () => {
  const written = [...renderMetrics([], [BRIDGE], { reconciles: 1, repairs: 0, failures: 0, lastReconcile: { at: 0, seconds: 0 }, lastResyncSeconds: 0 }).matchAll(/^# TYPE (\S+) /gmu)].map(
    (match) => match[1],
  );

  it('name only metrics the watcher writes', () => {
    const named = [...new Set([...RULES.matchAll(/\bmactable_\w+/gu)].map((match) => match[0]))].sort();
    expect(named.filter((name) => !written.includes(name))).toEqual([]);
  });

  it.skipIf(!canRun('the alert rules test (test/unit/prometheus.test.ts)', missingTool({ promtool: 'prometheus' })))(
    'pass promtool check rules and promtool test rules (stale file, drift that lasts and that heals, a watcher restart)',
    async () => {
      const check = await execa('promtool', ['check', 'rules', 'mactable.rules.yml'], { cwd: DIR, reject: false });
      expect(check.exitCode, `${check.stdout}${check.stderr}`).toBe(0);
      const test = await execa('promtool', ['test', 'rules', 'mactable.rules.test.yml'], { cwd: DIR, reject: false });
      expect(test.exitCode, `${test.stdout}${test.stderr}`).toBe(0);
    },
  );
});
