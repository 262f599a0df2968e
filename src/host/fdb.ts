import type { Desired } from '../plan/desired.js';
import type { PortRef } from '../plan/plan.js';
import type { BridgeRunner } from '../runtime.js';
import { runBatch, type BatchCommand, type BatchResult } from './batch.js';

// The guest MAC's entry on its port, as the kernel shows it.
export interface EntryState {
  state: string;
  flags: string[];
}

// One port's entry and lock, as one batch saw them.
export interface PortView {
  entry: EntryState | null;
  locked: boolean | null; // null: the kernel does not report it
}

// What an `ensure*` did to one port: the changes in words, and the step that failed, if one did.
export interface FdbOutcome {
  changes: string[];
  error: string | null;
}

// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ mac, tap }: PortRef, sticky: boolean): BatchCommand => ({ line: `fdb replace ${mac} dev ${tap} master static${sticky ? ' sticky' : ''}`, shows: false });
const remove = ({ mac, tap }: PortRef): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master`, shows: false });
const lock = ({ tap }: PortRef, on: boolean): BatchCommand => ({ line: `link set dev ${tap} locked ${on ? 'on' : 'off'}`, shows: false });
// One port's entries and link details: the cost does not grow with the other entries the bridge holds.
const showEntries = ({ bridge, tap }: PortRef): BatchCommand => ({ line: `fdb show br ${bridge} brport ${tap}`, shows: true });
const showLink = ({ tap }: PortRef): BatchCommand => ({ line: `link show dev ${tap}`, shows: true });
const view = (port: PortRef) => [showEntries(port), showLink(port)];

// The guest MAC's entry in a `fdb show br BR brport TAP` result (the bridge's own, not a `self` one), whatever its state.
export function entryIn(output: unknown, { mac, bridge }: PortRef): EntryState | null {
  const entry = Array.isArray(output) ? (output.find((item: { mac?: unknown; master?: unknown }) => item.mac === mac && item.master === bridge) as Record<string, unknown> | undefined) : undefined;
  if (entry === undefined) return null;
  return { state: String(entry.state ?? 'unknown'), flags: Array.isArray(entry.flags) ? entry.flags.map(String) : [] };
}

// Whether a `link show dev TAP` result says the port is locked; null when the kernel does not say.
function lockedIn(output: unknown): boolean | null {
  const locked = Array.isArray(output) ? (output[0] as { locked?: unknown } | undefined)?.locked : undefined;
  return typeof locked === 'boolean' ? locked : null;
}

function readView([entries, link]: BatchResult[], port: PortRef): PortView | string {
  if (!entries?.ok) return entries?.error ?? 'no answer';
  return { entry: entryIn(entries.output, port), locked: link?.ok ? lockedIn(link.output) : null };
}

// Whether an entry is the static one mactable keeps (sticky when asked).
export function entryRight(entry: EntryState | null, sticky: boolean): boolean {
  return entry?.state === 'static' && (!sticky || entry.flags.includes('sticky'));
}

// Per port: its view, its changes, its view again. One batch for all ports, so one `bridge` process.
async function viewAround(bridge: BridgeRunner, ports: PortRef[], changes: (port: PortRef, i: number) => BatchCommand[]) {
  const perPort = ports.map((port, i) => [...view(port), ...changes(port, i), ...view(port)]);
  const results = await runBatch(bridge, perPort.flat());
  if (typeof results === 'string') return results;
  let cursor = 0;
  return ports.map((port, i) => {
    const mine = results.slice(cursor, (cursor += (perPort[i] as BatchCommand[]).length));
    return { before: readView(mine.slice(0, 2), port), changes: mine.slice(2, -2), after: readView(mine.slice(-2), port) };
  });
}

// Each port's entry and lock, in one `bridge` process; a string per port that could not be read, or for all.
export async function readPortViews(bridge: BridgeRunner, ports: PortRef[]): Promise<(PortView | string)[] | string> {
  if (ports.length === 0) return [];
  const results = await runBatch(bridge, ports.flatMap(view));
  if (typeof results === 'string') return results;
  return ports.map((port, i) => readView(results.slice(2 * i, 2 * i + 2), port));
}

const failed = (result: BatchResult | undefined): string | null => (result && !result.ok ? result.error : null);

// Make each port's entry what `want` says: present (sticky when asked) while the guest runs, absent and the port
// unlocked while it is paused. Then lock the ports that want it, but only those whose entry is verified: a locked
// port without its entry drops every frame of the guest.
export async function ensureEntries(bridge: BridgeRunner, items: { port: PortRef; want: Desired }[]): Promise<FdbOutcome[]> {
  const ports = items.map((item) => item.port);
  const wants = items.map((item) => item.want);
  const kind = (want: Desired) => (want.sticky ? 'static sticky entry' : 'static entry');
  const results = await viewAround(bridge, ports, (port, i) => ((wants[i] as Desired).entry ? [replace(port, (wants[i] as Desired).sticky)] : [remove(port), lock(port, false)]));
  if (typeof results === 'string') return items.map(({ want }) => ({ changes: [], error: `cannot ${want.entry ? `add the ${kind(want)}` : 'delete the entry'}: ${results}` }));
  const outcomes = results.map(({ before, changes: [first, second], after }, i): FdbOutcome => {
    const { port, want } = items[i] as { port: PortRef; want: Desired };
    const was = typeof before === 'string' ? null : before;
    if (want.entry) {
      const error = failed(first);
      if (error !== null) return { changes: [], error: `cannot add the ${kind(want)}: ${error}` };
      if (typeof after === 'string') return { changes: [], error: `cannot read the entry back: ${after}` };
      if (!entryRight(after.entry, want.sticky)) return { changes: [], error: `the ${kind(want)} is not there after bridge fdb replace` };
      return { changes: entryRight(was?.entry ?? null, want.sticky) ? [] : [`${kind(want)} ${port.mac} added`], error: null };
    }
    const existed = was?.entry != null;
    const wasLocked = was?.locked === true;
    const changes = [...(existed ? [`entry ${port.mac} deleted`] : []), ...(wasLocked ? ['port unlocked'] : [])];
    // Deleting an entry that is not there fails; that is the state we want.
    if (existed && failed(first) !== null) return { changes: [], error: `cannot delete the entry: ${failed(first)}` };
    if (wasLocked && failed(second) !== null) return { changes: [], error: `cannot unlock the port: ${failed(second)}` };
    if (typeof after === 'string') return { changes: [], error: `cannot read the entry back: ${after}` };
    if (after.entry !== null) return { changes: [], error: 'the entry is still there after bridge fdb del' };
    if (wasLocked && after.locked !== false) return { changes: [], error: 'the port is still locked after bridge link set' };
    return { changes, error: null };
  });
  const toLock = items.flatMap(({ port, want }, i) => {
    const after = (results[i] as { after: PortView | string }).after;
    return want.lock && (outcomes[i] as FdbOutcome).error === null && typeof after !== 'string' && after.locked !== true ? [i] : [];
  });
  if (toLock.length > 0) await lockPorts(bridge, toLock.map((i) => ports[i] as PortRef), toLock.map((i) => outcomes[i] as FdbOutcome));
  return outcomes;
}

// Lock ports whose entries are verified, in one more `bridge` process, and read the lock back.
async function lockPorts(bridge: BridgeRunner, ports: PortRef[], outcomes: FdbOutcome[]): Promise<void> {
  const results = await runBatch(bridge, ports.flatMap((port) => [lock(port, true), showLink(port)]));
  outcomes.forEach((outcome, i) => {
    const [set, shown] = typeof results === 'string' ? [] : results.slice(2 * i, 2 * i + 2);
    const error = typeof results === 'string' ? results : failed(set);
    if (error !== null) outcome.error = `cannot lock the port: ${error}`;
    else if (!shown?.ok || lockedIn(shown.output) !== true) outcome.error = 'the port is not locked after bridge link set';
    else outcome.changes.push('port locked');
  });
}

// Make each port's entry absent and the port unlocked (undo), in one `bridge` process. Already so is fine.
export function ensureNoEntries(bridge: BridgeRunner, ports: PortRef[]): Promise<FdbOutcome[]> {
  return ensureEntries(bridge, ports.map((port) => ({ port, want: { entry: false, sticky: false, lock: false } })));
}
