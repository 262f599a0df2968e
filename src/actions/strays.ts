import { runningTaps, straysAmong } from '../plan/diff.js';
import { macsOf, type ManagedPort, type Plan } from '../plan/plan.js';
import { ensureStraysGone, findStaticEntries, placed } from '../host/strays.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { PortOutcome } from './apply.js';

// A guest that left (the hook's `release`, or the watcher saw its status file go): static entries for its ports'
// MACs still on their bridges (moved off the tap by learning, e.g. the destination's announce, before the tap went)
// are deleted, never one on a running managed guest's tap. One outcome per port that had one; one `bridge` process
// to look them up (a lookup per MAC, whatever the bridge holds) and one to delete them.
export async function removeLeftEntries(bridge: BridgeRunner, ports: ManagedPort[], everyone: () => Plan[] | null): Promise<PortOutcome[]> {
  const lookups = ports.map((port) => macsOf(port).map((mac) => ({ bridge: port.bridge, mac })));
  const answers = await findStaticEntries(bridge, lookups.flat());
  const found = placed(answers);
  const all = found.length > 0 ? everyone() : null;
  const strays = all === null ? [] : straysAmong(found, runningTaps(all), null);
  const gone = await ensureStraysGone(bridge, strays);
  let next = 0;
  return ports.flatMap((port, p): PortOutcome[] => {
    const mine = answers.slice(next, (next += (lookups[p] as unknown[]).length));
    const outcome: PortOutcome = { port, changes: [], failure: null, note: null };
    const failures = mine.filter((answer): answer is string => typeof answer === 'string');
    strays.forEach((stray, i) => {
      if (stray.bridge !== port.bridge || !macsOf(port).includes(stray.mac)) return;
      outcome.changes.push(...(gone[i] as { changes: string[] }).changes);
      const error = (gone[i] as { error: string | null }).error;
      if (error !== null) failures.push(error);
    });
    if (all === null && placed(mine).length > 0) failures.push('the running guests cannot be read, so no entry the guest left behind is deleted');
    if (failures.length > 0) outcome.failure = failures.join('; ');
    return outcome.changes.length > 0 || outcome.failure !== null ? [outcome] : [];
  });
}
