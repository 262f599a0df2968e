import type { Desired } from '../plan/desired.js';
import { macsOf, type PortRef } from './port.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { runBatch, type BatchCommand, type BatchResult } from './batch.js';

// An entry on a port, as the kernel shows it.
export interface EntryState {
  state: string;
  flags: string[];
}

// One of the bridge's own entries on a port (not a `self` one).
interface PortEntry extends EntryState {
  mac: string;
}

// One port's entries and lock, as one batch saw them.
interface PortView {
  entries: PortEntry[];
  locked: boolean | null; // null: the kernel does not report it
}

// What an `ensure*` did to one port: the changes in words, and the step that failed, if one did.
export interface FdbOutcome {
  changes: string[];
  error: string | null;
}

// A port, the state it should reach, and the static entries it has that nobody wants (see staleMacs).
interface EntryWork {
  port: PortRef;
  want: Desired;
  stale: string[];
}

// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ tap }: PortRef, mac: string, sticky: boolean): BatchCommand => ({ line: `fdb replace ${mac} dev ${tap} master static${sticky ? ' sticky' : ''}`, shows: false });
const remove = ({ tap }: PortRef, mac: string): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master`, shows: false });
const lock = ({ tap }: PortRef, on: boolean): BatchCommand => ({ line: `link set dev ${tap} locked ${on ? 'on' : 'off'}`, shows: false });
// One port's entries and link details: the cost does not grow with the other entries the bridge holds.
const showEntries = ({ bridge, tap }: PortRef): BatchCommand => ({ line: `fdb show br ${bridge} brport ${tap}`, shows: true });
// `link show dev TAP` lists every link of the host and filters afterwards: asked only when the lock matters.
const showLink = ({ tap }: PortRef): BatchCommand => ({ line: `link show dev ${tap}`, shows: true });
const view = (port: PortRef, links: boolean) => (links ? [showEntries(port), showLink(port)] : [showEntries(port)]);

// The bridge's own entries in a `fdb show br BR brport TAP` result (not the `self` ones), whatever their state.
export function entriesIn(output: unknown, bridge: string): PortEntry[] {
  if (!Array.isArray(output)) return [];
  return (output as { mac?: unknown; master?: unknown; state?: unknown; flags?: unknown }[])
    .filter((item) => item.master === bridge && typeof item.mac === 'string')
    .map((item) => ({ mac: item.mac as string, state: String(item.state ?? 'unknown'), flags: Array.isArray(item.flags) ? item.flags.map(String) : [] }));
}

// The entry for `mac` among a port's entries, if any.
export function entryOf(entries: PortEntry[], mac: string): EntryState | null {
  const entry = entries.find((item) => item.mac === mac);
  return entry === undefined ? null : { state: entry.state, flags: entry.flags };
}

// Static entries on a managed port for MACs it should not have: extra MACs the metadata no longer lists. Learning is
// off there and mactable writes its entries there, so a static entry that is neither the guest's MAC nor an extra
// one is taken as a leftover; the kernel's permanent and learned entries are never touched.
export function staleMacs(entries: PortEntry[], port: PortRef): string[] {
  const wanted = macsOf(port);
  return [...new Set(entries.filter((entry) => entry.state === 'static' && !wanted.includes(entry.mac)).map((entry) => entry.mac))];
}

// Whether a `link show dev TAP` result says the port is locked; null when the kernel does not say.
function lockedIn(output: unknown): boolean | null {
  const locked = Array.isArray(output) ? (output[0] as { locked?: unknown } | undefined)?.locked : undefined;
  return typeof locked === 'boolean' ? locked : null;
}

function readView([entries, link]: BatchResult[], port: PortRef): PortView | string {
  if (!entries?.ok) return entries?.error ?? 'no answer';
  return { entries: entriesIn(entries.output, port.bridge), locked: link?.ok ? lockedIn(link.output) : null };
}

// Whether an entry is the static one mactable keeps (sticky when asked).
function entryRight(entry: EntryState | null, sticky: boolean): boolean {
  return entry?.state === 'static' && (!sticky || entry.flags.includes('sticky'));
}

// Per port: its view, its changes, its view again. One batch for all ports, so one `bridge` process.
async function viewAround(bridge: BridgeRunner, ports: PortRef[], links: boolean[], changes: (port: PortRef, i: number) => BatchCommand[]) {
  const perPort = ports.map((port, i) => [...view(port, links[i] as boolean), ...changes(port, i), ...view(port, links[i] as boolean)]);
  const results = await runBatch(bridge, perPort.flat());
  if (typeof results === 'string') return results;
  let cursor = 0;
  return ports.map((port, i) => {
    const mine = results.slice(cursor, (cursor += (perPort[i] as BatchCommand[]).length));
    const size = links[i] ? 2 : 1;
    return { before: readView(mine.slice(0, size), port), changes: mine.slice(size, -size), after: readView(mine.slice(-size), port) };
  });
}

// Each port's entries (and its lock where `links` asks), in one `bridge` process; a string per port that could not
// be read, or for all.
export async function readPortViews(bridge: BridgeRunner, ports: PortRef[], links: boolean[]): Promise<(PortView | string)[] | string> {
  if (ports.length === 0) return [];
  const results = await runBatch(bridge, ports.flatMap((port, i) => view(port, links[i] as boolean)));
  if (typeof results === 'string') return results;
  let cursor = 0;
  return ports.map((port, i) => readView(results.slice(cursor, (cursor += links[i] ? 2 : 1)), port));
}

// Whether the lock matters for a port: it wants one, or it must lose one (a paused guest, an undo).
export const lockMatters = (want: Desired) => want.lock || !want.entry;

const failed = (result: BatchResult | undefined): string | null => (result && !result.ok ? result.error : null);

// The MACs a port keeps and the ones it loses: all of its own while the guest runs, none while it is paused.
function split({ port, want, stale }: EntryWork): { keep: string[]; drop: string[] } {
  const keep = want.entry ? macsOf(port) : [];
  return { keep, drop: [...new Set([...(want.entry ? [] : macsOf(port)), ...stale])].filter((mac) => !keep.includes(mac)) };
}

// Make each port's entries what `want` says: the guest's MAC and its extra MACs present (sticky when asked) while
// the guest runs, absent and the port unlocked while it is paused; stale entries deleted. Then lock the ports that
// want it, but only those whose entries are all verified: a locked port drops frames from a MAC without its entry.
export async function ensureEntries(bridge: BridgeRunner, items: EntryWork[]): Promise<FdbOutcome[]> {
  const ports = items.map((item) => item.port);
  const splits = items.map(split);
  const kind = (want: Desired) => (want.sticky ? 'static sticky entry' : 'static entry');
  const results = await viewAround(bridge, ports, items.map(({ want }) => lockMatters(want)), (port, i) => {
    const { keep, drop } = splits[i] as { keep: string[]; drop: string[] };
    const { want } = items[i] as EntryWork;
    return [...keep.map((mac) => replace(port, mac, want.sticky)), ...drop.map((mac) => remove(port, mac)), ...(want.entry ? [] : [lock(port, false)])];
  });
  if (typeof results === 'string') return items.map(({ want }) => ({ changes: [], error: `cannot ${want.entry ? `add the ${kind(want)}` : 'delete the entry'}: ${results}` }));
  const outcomes = results.map(({ before, changes: done, after }, i) => {
    const { port, want } = items[i] as EntryWork;
    const { keep, drop } = splits[i] as { keep: string[]; drop: string[] };
    // The guest's own entry keeps its short name; an extra one is named by its MAC.
    const the = (noun: string, mac: string) => (mac === port.mac ? `the ${noun}` : `the ${noun} for ${mac}`);
    const was = typeof before === 'string' ? null : before;
    const changes: string[] = [];
    const fail = (error: string): FdbOutcome => ({ changes, error });
    for (const [k, mac] of keep.entries()) {
      const error = failed(done[k]);
      if (error !== null) return fail(`cannot add ${the(kind(want), mac)}: ${error}`);
      if (typeof after === 'string') return fail(`cannot read the entry back: ${after}`);
      if (!entryRight(entryOf(after.entries, mac), want.sticky)) return fail(`${the(kind(want), mac)} is not there after bridge fdb replace`);
      if (!entryRight(was && entryOf(was.entries, mac), want.sticky)) changes.push(`${kind(want)} ${mac} added`);
    }
    for (const [k, mac] of drop.entries()) {
      const existed = was !== null && entryOf(was.entries, mac) !== null;
      // Deleting an entry that is not there fails; that is the state we want.
      if (existed && failed(done[keep.length + k]) !== null) return fail(`cannot delete ${the('entry', mac)}: ${failed(done[keep.length + k])}`);
      if (typeof after === 'string') return fail(`cannot read the entry back: ${after}`);
      if (entryOf(after.entries, mac) !== null) return fail(`${the('entry', mac)} is still there after bridge fdb del`);
      if (existed) changes.push(`entry ${mac} deleted`);
    }
    if (!want.entry && was?.locked === true) {
      const error = failed(done[keep.length + drop.length]);
      if (error !== null) return fail(`cannot unlock the port: ${error}`);
      if (typeof after === 'string' || after.locked !== false) return fail('the port is still locked after bridge link set');
      changes.push('port unlocked');
    }
    return { changes, error: null };
  });
  const toLock = items.flatMap(({ want }, i) => {
    const after = (results[i] as { after: PortView | string }).after;
    return want.lock && (outcomes[i] as FdbOutcome).error === null && typeof after !== 'string' && after.locked !== true ? [i] : [];
  });
  if (toLock.length > 0) await ensureLocked(bridge, toLock.map((i) => ports[i] as PortRef), toLock.map((i) => outcomes[i] as FdbOutcome));
  return outcomes;
}

// Lock ports whose entries are verified, in one more `bridge` process, and read the lock back.
async function ensureLocked(bridge: BridgeRunner, ports: PortRef[], outcomes: FdbOutcome[]): Promise<void> {
  const results = await runBatch(bridge, ports.flatMap((port) => [lock(port, true), showLink(port)]));
  outcomes.forEach((outcome, i) => {
    const [set, shown] = typeof results === 'string' ? [] : results.slice(2 * i, 2 * i + 2);
    const error = typeof results === 'string' ? results : failed(set);
    if (error !== null) outcome.error = `cannot lock the port: ${error}`;
    else if (!shown?.ok || lockedIn(shown.output) !== true) outcome.error = 'the port is not locked after bridge link set';
    else outcome.changes.push('port locked');
  });
}

// Make each port's entries absent and the port unlocked (undo), in one `bridge` process. Already so is fine.
export function ensureNoEntries(bridge: BridgeRunner, ports: PortRef[]): Promise<FdbOutcome[]> {
  return ensureEntries(bridge, ports.map((port) => ({ port, want: { learning: true, entry: false, sticky: false, lock: false }, stale: [] })));
}
