import { runningTaps, straysAmong } from '../plan/diff.js';
import { keysOf } from '../model/port.js';
import type { LeftPort, Plan } from '../plan/plan.js';
import { ensureMovedGone, findStaticEntries, movedAmong, type Lookup } from '../host/moved-entries.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { HostFs } from '../runtime/fs.js';
import { bridgeKeyVlans, readPortVlans } from '../host/vlans.js';
import type { Outcome } from '../model/outcome.js';

// A guest that left (the hook's `release`, or the watcher saw its status file go): static entries for its ports'
// MACs on other ports of their bridges (moved off the tap by learning, e.g. the destination's announce, before the
// tap went) are deleted, never one on a running managed guest's tap; one on the port's own tap is the undo's. One
// outcome per port that had one; one `bridge` process to look them up (one lookup per MAC, whatever the bridge
// holds) and one to delete them. On a bridge that filters VLANs each MAC is looked up in vid 0 and in every VLAN a
// port of the bridge has (the guest's tap, and with it its own VLANs, may be gone): one more process reads them.
export async function ensureLeftEntriesGone(host: HostFs, bridge: BridgeRunner, ports: LeftPort[], everyone: () => Plan[] | null): Promise<Outcome[]> {
  const vlans = await readPortVlans(host, bridge, [...new Set(ports.map((port) => port.bridge))]);
  const lookups = new Map(ports.map((port) => [port, keysOf(port, vlans.failure === null ? bridgeKeyVlans(host, vlans.vlans, port.bridge) : [null]).map((key): Lookup => ({ ...key, bridge: port.bridge }))]));
  const answers = await findStaticEntries(bridge, [...lookups.values()].flat());
  const perPort = ports.map((port) => {
    const mine = (lookups.get(port) ?? []).map((lookup) => answers.get(lookup));
    const failures = mine.flatMap((answer) => (answer !== undefined && answer.failure !== null ? [answer.failure] : []));
    return { port, away: straysAmong(movedAmong(mine), new Set(), port.tap), failures: vlans.failure === null ? failures : [`${vlans.failure}: only vid 0 was looked at`, ...failures] };
  });
  const all = perPort.some(({ away }) => away.length > 0) ? everyone() : null;
  const keep = all === null ? null : runningTaps(all);
  const moved = new Map(perPort.map(({ port, away }) => [port, keep === null ? [] : straysAmong(away, keep, port.tap)]));
  const gone = await ensureMovedGone(bridge, [...moved.values()].flat());
  return perPort.flatMap(({ port, away, failures }): Outcome[] => {
    const results = (moved.get(port) ?? []).flatMap((entry) => gone.get(entry) ?? []);
    const outcome: Outcome = { port, changes: results.flatMap(({ changes }) => changes), failure: null, note: null };
    const problems = [...failures, ...results.flatMap(({ failure }) => (failure === null ? [] : [failure]))];
    if (keep === null && away.length > 0) problems.push('the running guests cannot be read, so no entry the guest left behind is deleted');
    if (problems.length > 0) outcome.failure = problems.join('; ');
    return outcome.changes.length > 0 || outcome.failure !== null ? [outcome] : [];
  });
}
