import type { BridgeRunner } from '../runtime.js';
import { runBatch, type BatchCommand, type BatchResult } from './batch.js';

// A guest port's FDB entry: MAC on TAP, whose master is BRIDGE. Names are validated before they get here.
export interface FdbTarget {
  mac: string;
  tap: string;
  bridge: string;
}

export type FdbOutcome = { changed: boolean } | { error: string };

interface FdbEntry {
  mac?: unknown;
  master?: unknown;
  state?: unknown;
}

// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ mac, tap }: FdbTarget): BatchCommand => ({ line: `fdb replace ${mac} dev ${tap} master static`, shows: false });
const remove = ({ mac, tap }: FdbTarget): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master`, shows: false });
const show = ({ bridge, tap }: FdbTarget): BatchCommand => ({ line: `fdb show br ${bridge} brport ${tap}`, shows: true });

// Whether a `fdb show br BR brport TAP` result holds MAC as a static entry of BR.
export function hasStaticEntry(output: unknown, { mac, bridge }: FdbTarget): boolean {
  return (
    Array.isArray(output) &&
    output.some((entry: FdbEntry) => entry.mac === mac && entry.master === bridge && entry.state === 'static')
  );
}

// The three results of each target in a batch laid out as [all before..., all changes..., all after...].
function perTarget<T>(results: BatchResult[], count: number, decide: (before: BatchResult, change: BatchResult, after: BatchResult, i: number) => T): T[] {
  return Array.from({ length: count }, (_, i) => decide(results[i] as BatchResult, results[count + i] as BatchResult, results[2 * count + i] as BatchResult, i));
}

// Make each target's static entry present, in one `bridge` process: show, replace, show again to verify.
export async function ensureFdbEntries(bridge: BridgeRunner, targets: FdbTarget[]): Promise<FdbOutcome[]> {
  const results = await runBatch(bridge, [...targets.map(show), ...targets.map(replace), ...targets.map(show)]);
  if (typeof results === 'string') return targets.map(() => ({ error: `cannot add the static entry: ${results}` }));
  return perTarget(results, targets.length, (before, change, after, i) => {
    const target = targets[i] as FdbTarget;
    if (!change.ok) return { error: `cannot add the static entry: ${change.error}` };
    if (!after.ok) return { error: `cannot read the entry back: ${after.error}` };
    if (!hasStaticEntry(after.output, target)) return { error: 'the static entry is not there after bridge fdb replace' };
    return { changed: !(before.ok && hasStaticEntry(before.output, target)) };
  });
}

// Make each target's entry absent, in one `bridge` process: show, delete, show again to verify. Already absent is fine.
export async function ensureNoFdbEntries(bridge: BridgeRunner, targets: FdbTarget[]): Promise<FdbOutcome[]> {
  const results = await runBatch(bridge, [...targets.map(show), ...targets.map(remove), ...targets.map(show)]);
  if (typeof results === 'string') return targets.map(() => ({ error: `cannot delete the entry: ${results}` }));
  return perTarget(results, targets.length, (before, change, after, i) => {
    const target = targets[i] as FdbTarget;
    const existed = before.ok && hasStaticEntry(before.output, target);
    if (!change.ok && existed) return { error: `cannot delete the entry: ${change.error}` };
    if (!after.ok) return { error: `cannot read the entry back: ${after.error}` };
    if (hasStaticEntry(after.output, target)) return { error: 'the entry is still there after bridge fdb del' };
    return { changed: existed };
  });
}
