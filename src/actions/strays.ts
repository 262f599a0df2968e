import { runningTaps, straysAmong } from '../plan/diff.js';
import { macsOf } from '../host/port.js';
import type { LeftPort, Plan } from '../plan/plan.js';
import { ensureStraysGone, findStaticEntries, placed } from '../host/strays.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { Outcome } from '../report/report.js';

// A guest that left (the hook's `release`, or the watcher saw its status file go): static entries for its ports'
// MACs on other ports of their bridges (moved off the tap by learning, e.g. the destination's announce, before the
// tap went) are deleted, never one on a running managed guest's tap; one on the port's own tap is the undo's. One
// outcome per port that had one; one `bridge` process to look them up (one lookup per MAC, whatever the bridge
// holds) and one to delete them.
export async function removeLeftEntries(bridge: BridgeRunner, ports: LeftPort[], everyone: () => Plan[] | null): Promise<Outcome[]> {
  const lookups = ports.map((port) => macsOf(port).map((mac) => ({ bridge: port.bridge, mac })));
  const answers = await findStaticEntries(bridge, lookups.flat());
  let next = 0;
  const perPort = ports.map((port, i) => {
    const mine = answers.slice(next, (next += (lookups[i] as unknown[]).length));
    return { port, away: straysAmong(placed(mine), new Set(), port.tap), failures: mine.filter((answer): answer is string => typeof answer === 'string') };
  });
  const all = perPort.some(({ away }) => away.length > 0) ? everyone() : null;
  const keep = all === null ? null : runningTaps(all);
  const strays = perPort.map(({ port, away }) => (keep === null ? [] : straysAmong(away, keep, port.tap)));
  const gone = await ensureStraysGone(bridge, strays.flat());
  let done = 0;
  return perPort.flatMap(({ port, away, failures }, i): Outcome[] => {
    const results = gone.slice(done, (done += (strays[i] as unknown[]).length));
    const outcome: Outcome = { port, changes: results.flatMap(({ changes }) => changes), failure: null, note: null };
    const problems = [...failures, ...results.flatMap(({ error }) => (error === null ? [] : [error]))];
    if (keep === null && away.length > 0) problems.push('the running guests cannot be read, so no entry the guest left behind is deleted');
    if (problems.length > 0) outcome.failure = problems.join('; ');
    return outcome.changes.length > 0 || outcome.failure !== null ? [outcome] : [];
  });
}
