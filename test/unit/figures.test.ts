import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { knownFigures, quotedFigures, unknownFigures } from '../helpers/figures.js';
import { readResults } from '../helpers/results.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const PAGES = ['README.md', ...readdirSync(`${ROOT}docs`).filter((file) => file.endsWith('.md')).sort().map((file) => `docs/${file}`)];

// Figures that measure nothing: the program's constants and the tests' bounds and loads, each with where it is set.
const NOT_MEASURED: Record<string, string> = {
  '0.25 s': "the kernel monitor's first restart delay (src/watch/events.ts BACKOFF_MS)",
  '0.5 s': "the kernel monitor's restart delays (src/watch/events.ts BACKOFF_MS)",
  '1 s': 'the bound "right within 1 s" of the kernel, e2e and soak tests; the monitor and queue backoffs',
  '2 s': "the kernel monitor's restart delays (src/watch/events.ts BACKOFF_MS)",
  '5 s': "the kernel monitor's restart delays (src/watch/events.ts BACKOFF_MS)",
  '10 s': "the waiter's poll (src/watch/waiter.ts); the monitor's restart delays",
  '30 s': "the kernel monitor's longest restart delay; the idle test's length (test/kernel/watch.test.ts)",
  '60 s': "a monitor's steady time (src/watch/events.ts STEADY_MS), --interval's default, how long left guests' MACs are remembered",
  '50 ms': "the work queue's debounce (src/watch/queue.ts)",
  '10 minutes': 'the soak\'s length: MACTABLE_SOAK_SECONDS=600',
  '10 MB': "the soak's bound on RSS growth",
  '20 MB': 'the junk input of test/unit/hostile-input.test.ts',
  '64 MB': "the unit's --max-old-space-size (packaging/mactable.service)",
  '0.05': "how near its target a ratio moves across runs (docs/performance.md's judgement, no measurement)",
  '18.19': 'a Node.js version',
  '18.20': "Debian 12's Node.js version",
  '20.19': "Debian 13's Node.js version",
  '2.14': "Debian 12's ansible version",
  '15 minutes': "the uplink alert's `for` (packaging/prometheus/mactable.rules.yml)",
  '20 minutes': "the failing-repairs alert's window (packaging/prometheus/mactable.rules.yml)",
  '120 s': "virtqemud's idle exit under systemd (its --timeout)",
  '2.116': "lintian's version",
};

const known = knownFigures(readResults());
const check = (page: string, text: string, results = known) =>
  unknownFigures(quotedFigures(page, text), results, new Set(Object.keys(NOT_MEASURED))).map((figure) => `${figure.page}:${figure.line}: ${figure.text}`);

describe('every figure the README and docs/ quote is in docs/results.json', () => {
  it.each(PAGES)('%s', (page) => {
    expect(check(page, readFileSync(`${ROOT}${page}`, 'utf8'))).toEqual([]);
  });
});

describe('the figure check', () => {
  const results = knownFigures({
    bench: { rows: { 'started, 1 managed NIC': { mactableMs: 100.54, baselineMs: 56.8, ratio: 1.7702 } }, gaps: { sticky: { aToBFrames: [51, 33] } } },
    soak: { events: 16507, rightAfterLastEventMs: 264, rssAtEndMB: 72.1, cpuS: 147.8 },
    tests: { npmTestS: 1123 },
    previous: { ratio: 1.88 },
  });

  it('catches a stale figure: a ratio, a time, a size or a count the results file does not hold', () => {
    const page = ['started, 1 NIC: 1.77 × (100.5 ms); the soak: 16 507 events, right 264 ms after, 72.1 MB.', '', 'Stale: 1.79 ×, 101.5 ms, 16 503 events, 72.2 MB, 265 ms.'].join('\n');
    expect(check('stale.md', page, results)).toEqual(['stale.md:3: 1.79 ×', 'stale.md:3: 101.5 ms', 'stale.md:3: 16 503 events', 'stale.md:3: 72.2 MB', 'stale.md:3: 265 ms']);
  });

  it('reads figures in other units, ranges and changes, bare ratios, gap tables; a past run only where the page says so', () => {
    const page = [
      'npm test took 19 minutes (1123 s); CPU 147.8 s; 0.9 s off; RSS 72.1 → 99.9 MB; 1.77 and 1.78.',
      '',
      '| mode | A→B |',
      '|---|---|',
      '| sticky | 51, 33 |',
      '| sticky | 52 |',
      '',
      'It was 1.88 before. Now 1.88 again.',
      '',
      'Alone: 1.88.',
    ].join('\n');
    expect(check('forms.md', page, results)).toEqual(['forms.md:1: 0.9 s', 'forms.md:1: 99.9 MB', 'forms.md:1: 1.78', 'forms.md:6: 52', 'forms.md:10: 1.88']);
  });

  it('leaves versions, code and the allowlist alone', () => {
    const page = ['Linux >= 4.20, Node.js >= 18.19, libvirt 9.0, Node v20.20.2; `sleep 3.25 s`; the debounce: 50 ms.', '```', 'took 123 ms', '```'].join('\n');
    expect(check('versions.md', page, results)).toEqual([]);
  });
});
