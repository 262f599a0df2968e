import type { BridgeRunner } from '../runtime.js';
import { runBatch, type BatchCommand, type BatchResult } from './batch.js';

// A guest port's FDB entry: MAC on TAP, whose master is BRIDGE. Names are validated before they get here.
export interface FdbTarget {
  mac: string;
  tap: string;
  bridge: string;
}

export type FdbOutcome = { changed: boolean } | { error: string };

// An entry as `bridge -j fdb show` prints it.
export interface FdbEntry {
  mac?: unknown;
  ifname?: unknown;
  master?: unknown;
  state?: unknown;
  flags?: unknown;
}

// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ mac, tap }: FdbTarget): BatchCommand => ({ line: `fdb replace ${mac} dev ${tap} master static`, shows: false });
const remove = ({ mac, tap }: FdbTarget): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master`, shows: false });
const show = (bridge: string): BatchCommand => ({ line: `fdb show br ${bridge}`, shows: true });

// The entry for MAC on TAP, whose master is BR, in a `fdb show br BR` result, whatever its state.
export function findEntry(output: unknown, { mac, tap, bridge }: FdbTarget): FdbEntry | undefined {
  if (!Array.isArray(output)) return undefined;
  return output.find((entry: FdbEntry) => entry.mac === mac && entry.ifname === tap && entry.master === bridge);
}

// Whether a `fdb show br BR` result holds MAC as a static entry on TAP, whose master is BR.
export function hasStaticEntry(output: unknown, target: FdbTarget): boolean {
  return findEntry(output, target)?.state === 'static';
}

// The FDB of each bridge, in one `bridge` process; a string when it could not be read.
export async function readFdbs(bridge: BridgeRunner, bridges: string[]): Promise<Map<string, unknown> | string> {
  const results = await runBatch(bridge, bridges.map(show));
  if (typeof results === 'string') return results;
  const failed = results.findIndex((result) => !result.ok);
  const failure = results[failed];
  if (failure && !failure.ok) return `cannot read the FDB of ${bridges[failed]}: ${failure.error}`;
  return new Map(bridges.map((name, i) => [name, (results[i] as { output: unknown }).output]));
}

// One batch for all targets: the FDB of each bridge once before, one change per target, each FDB once after.
// Two dumps per bridge, however many ports: the cost stays flat in the number of ports.
async function batchAround(
  bridge: BridgeRunner,
  targets: FdbTarget[],
  change: (target: FdbTarget) => BatchCommand,
): Promise<{ before: BatchResult; change: BatchResult; after: BatchResult }[] | string> {
  const bridges = [...new Set(targets.map((target) => target.bridge))];
  const results = await runBatch(bridge, [...bridges.map(show), ...targets.map(change), ...bridges.map(show)]);
  if (typeof results === 'string') return results;
  const dump = (offset: number, target: FdbTarget) => results[offset + bridges.indexOf(target.bridge)] as BatchResult;
  return targets.map((target, i) => ({
    before: dump(0, target),
    change: results[bridges.length + i] as BatchResult,
    after: dump(bridges.length + targets.length, target),
  }));
}

// Make each target's static entry present, in one `bridge` process: show, replace, show again to verify.
export async function ensureFdbEntries(bridge: BridgeRunner, targets: FdbTarget[]): Promise<FdbOutcome[]> {
  const results = await batchAround(bridge, targets, replace);
  if (typeof results === 'string') return targets.map(() => ({ error: `cannot add the static entry: ${results}` }));
  return results.map(({ before, change, after }, i) => {
    const target = targets[i] as FdbTarget;
    if (!change.ok) return { error: `cannot add the static entry: ${change.error}` };
    if (!after.ok) return { error: `cannot read the entry back: ${after.error}` };
    if (!hasStaticEntry(after.output, target)) return { error: 'the static entry is not there after bridge fdb replace' };
    return { changed: !(before.ok && hasStaticEntry(before.output, target)) };
  });
}

// Make each target's entry absent, in one `bridge` process: show, delete, show again to verify. Already absent is fine.
export async function ensureNoFdbEntries(bridge: BridgeRunner, targets: FdbTarget[]): Promise<FdbOutcome[]> {
  const results = await batchAround(bridge, targets, remove);
  if (typeof results === 'string') return targets.map(() => ({ error: `cannot delete the entry: ${results}` }));
  return results.map(({ before, change, after }, i) => {
    const target = targets[i] as FdbTarget;
    const existed = before.ok && hasStaticEntry(before.output, target);
    if (!change.ok && existed) return { error: `cannot delete the entry: ${change.error}` };
    if (!after.ok) return { error: `cannot read the entry back: ${after.error}` };
    if (hasStaticEntry(after.output, target)) return { error: 'the entry is still there after bridge fdb del' };
    return { changed: existed };
  });
}
