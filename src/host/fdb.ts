import type { BridgeRunner } from '../runtime.js';
import { runBatch, type BatchCommand, type BatchResult } from './batch.js';

// A guest port's FDB entry: MAC on TAP, whose master is BRIDGE. Names are validated before they get here.
export interface FdbTarget {
  mac: string;
  tap: string;
  bridge: string;
}

// What `ensure*` did to one target: the changes in words, or the step that failed.
export type FdbOutcome = { changes: string[] } | { error: string };

// An entry as `bridge -j fdb show` prints it, and a port as `bridge -j -d link show` does.
export interface FdbEntry {
  mac?: unknown;
  ifname?: unknown;
  master?: unknown;
  state?: unknown;
  flags?: unknown;
}

interface LinkEntry {
  ifname?: unknown;
  locked?: unknown;
}

// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ mac, tap }: FdbTarget, sticky: boolean): BatchCommand => ({
  line: `fdb replace ${mac} dev ${tap} master static${sticky ? ' sticky' : ''}`,
  shows: false,
});
const remove = ({ mac, tap }: FdbTarget): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master`, shows: false });
const lock = ({ tap }: FdbTarget, on: boolean): BatchCommand => ({ line: `link set dev ${tap} locked ${on ? 'on' : 'off'}`, shows: false });
const showFdb = (bridge: string): BatchCommand => ({ line: `fdb show br ${bridge}`, shows: true });
const showLinks = (bridge: string): BatchCommand => ({ line: `link show master ${bridge}`, shows: true });

// The entry for MAC on TAP, whose master is BR, in a `fdb show br BR` result, whatever its state.
export function findEntry(output: unknown, { mac, tap, bridge }: FdbTarget): FdbEntry | undefined {
  if (!Array.isArray(output)) return undefined;
  return output.find((entry: FdbEntry) => entry.mac === mac && entry.ifname === tap && entry.master === bridge);
}

export function entryFlags(entry: FdbEntry | undefined): string[] {
  return Array.isArray(entry?.flags) ? entry.flags.map(String) : [];
}

// Whether a `fdb show br BR` result holds MAC as a static entry on TAP (a sticky one, if asked), whose master is BR.
export function hasStaticEntry(output: unknown, target: FdbTarget, sticky = false): boolean {
  const entry = findEntry(output, target);
  return entry?.state === 'static' && (!sticky || entryFlags(entry).includes('sticky'));
}

// Whether the port is locked, from a `link show master BR` result; null when the kernel does not say.
export function isLocked(output: unknown, { tap }: FdbTarget): boolean | null {
  if (!Array.isArray(output)) return null;
  const locked = output.find((link: LinkEntry) => link.ifname === tap)?.locked;
  return typeof locked === 'boolean' ? locked : null;
}

// A bridge as one batch sees it: its FDB and, when asked, its ports' link details.
interface BridgeView {
  fdb: BatchResult;
  links: BatchResult | null;
}

// What one target saw and did in a batch.
interface TargetResults {
  before: BridgeView;
  changes: BatchResult[];
  after: BridgeView;
}

// One batch for all targets: each bridge viewed once before, the changes of each target, each bridge once after.
// Two views per bridge, however many ports: the cost stays flat in the number of ports.
async function batchAround(
  bridge: BridgeRunner,
  targets: FdbTarget[],
  changes: (target: FdbTarget) => BatchCommand[],
  withLinks: boolean,
): Promise<TargetResults[] | string> {
  const bridges = [...new Set(targets.map((target) => target.bridge))];
  const views = bridges.flatMap((name) => (withLinks ? [showFdb(name), showLinks(name)] : [showFdb(name)]));
  const perTarget = targets.map(changes);
  const changeCount = perTarget.reduce((sum, list) => sum + list.length, 0);
  const results = await runBatch(bridge, [...views, ...perTarget.flat(), ...views]);
  if (typeof results === 'string') return results;
  const view = (offset: number, target: FdbTarget): BridgeView => {
    const at = offset + bridges.indexOf(target.bridge) * (withLinks ? 2 : 1);
    return { fdb: results[at] as BatchResult, links: withLinks ? (results[at + 1] as BatchResult) : null };
  };
  let cursor = views.length;
  return targets.map((target, i) => {
    const count = (perTarget[i] as BatchCommand[]).length;
    const mine = results.slice(cursor, cursor + count);
    cursor += count;
    return { before: view(0, target), changes: mine, after: view(views.length + changeCount, target) };
  });
}

export interface EntryOptions {
  sticky: boolean;
  lock: boolean;
}

// Make each target's static entry present (sticky, and the port locked, when asked), in one `bridge` process:
// view, change, view again to verify.
export async function ensureFdbEntries(bridge: BridgeRunner, targets: FdbTarget[], options: EntryOptions): Promise<FdbOutcome[]> {
  const changes = (target: FdbTarget) => [replace(target, options.sticky), ...(options.lock ? [lock(target, true)] : [])];
  const results = await batchAround(bridge, targets, changes, options.lock);
  if (typeof results === 'string') return targets.map(() => ({ error: `cannot add the static entry: ${results}` }));
  return results.map(({ before, changes: [added, locked], after }, i): FdbOutcome => {
    const target = targets[i] as FdbTarget;
    const kind = options.sticky ? 'static sticky entry' : 'static entry';
    if (added && !added.ok) return { error: `cannot add the ${kind}: ${added.error}` };
    if (locked && !locked.ok) return { error: `cannot lock the port: ${locked.error}` };
    if (!after.fdb.ok) return { error: `cannot read the entry back: ${after.fdb.error}` };
    if (!hasStaticEntry(after.fdb.output, target, options.sticky)) return { error: `the ${kind} is not there after bridge fdb replace` };
    const done: string[] = [];
    if (!(before.fdb.ok && hasStaticEntry(before.fdb.output, target, options.sticky))) done.push(`${kind} ${target.mac} added`);
    if (options.lock) {
      if (!after.links?.ok || isLocked(after.links.output, target) !== true) return { error: 'the port is not locked after bridge link set' };
      if (!(before.links?.ok && isLocked(before.links.output, target) === true)) done.push('port locked');
    }
    return { changes: done };
  });
}

// Make each target's entry absent and its port unlocked, in one `bridge` process: view, change, view again.
// Already absent or unlocked is fine.
export async function ensureNoFdbEntries(bridge: BridgeRunner, targets: FdbTarget[]): Promise<FdbOutcome[]> {
  const results = await batchAround(bridge, targets, (target) => [remove(target), lock(target, false)], true);
  if (typeof results === 'string') return targets.map(() => ({ error: `cannot delete the entry: ${results}` }));
  return results.map(({ before, changes: [removed, unlocked], after }, i): FdbOutcome => {
    const target = targets[i] as FdbTarget;
    const existed = before.fdb.ok && hasStaticEntry(before.fdb.output, target);
    const wasLocked = before.links?.ok === true && isLocked(before.links.output, target) === true;
    if (removed && !removed.ok && existed) return { error: `cannot delete the entry: ${removed.error}` };
    if (unlocked && !unlocked.ok && wasLocked) return { error: `cannot unlock the port: ${unlocked.error}` };
    if (!after.fdb.ok) return { error: `cannot read the entry back: ${after.fdb.error}` };
    if (hasStaticEntry(after.fdb.output, target)) return { error: 'the entry is still there after bridge fdb del' };
    if (wasLocked && after.links?.ok && isLocked(after.links.output, target) !== false) return { error: 'the port is still locked after bridge link set' };
    return { changes: [...(existed ? [`entry ${target.mac} deleted`] : []), ...(wasLocked ? ['port unlocked'] : [])] };
  });
}

// The FDB and port details of each bridge, in one `bridge` process; a string when they could not be read.
export async function readBridges(bridge: BridgeRunner, bridges: string[]): Promise<Map<string, { fdb: unknown; links: unknown }> | string> {
  const results = await runBatch(bridge, bridges.flatMap((name) => [showFdb(name), showLinks(name)]));
  if (typeof results === 'string') return results;
  const views = new Map<string, { fdb: unknown; links: unknown }>();
  for (const [i, name] of bridges.entries()) {
    const [fdb, links] = [results[2 * i] as BatchResult, results[2 * i + 1] as BatchResult];
    if (!fdb.ok) return `cannot read the FDB of ${name}: ${fdb.error}`;
    views.set(name, { fdb: fdb.output, links: links.ok ? links.output : null });
  }
  return views;
}
