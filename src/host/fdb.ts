import type { Result } from '../model/result.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { answerOf, runBatch, type BatchAnswer, type BatchCommand } from './batch.js';
import { macsOf, type PortRef } from '../model/port.js';
import type { EntryState } from '../model/state.js';

// One of the bridge's own entries on a port (not a `self` one).
interface PortEntry extends EntryState {
  mac: string;
}

// One port's entries and lock, as one batch saw them, or why they could not be read.
type PortView = Result<{
  entries: PortEntry[];
  locked: boolean | null; // null: the kernel does not report it
}>;

// A port to read, and whether its lock matters (then its link is read too).
export interface ViewAsk {
  port: PortRef;
  withLock: boolean;
}

// What an `ensure*` did to one port: the changes in words, and the step that failed, if one did.
export interface FdbOutcome {
  changes: string[];
  failure: string | null;
}

// What one port's entries should be; host/ knows no plan: actions/ makes this from the plan's `want`.
export interface EntryGoal {
  present: boolean; // static entries for the port's MACs (its guest's vCPUs run); false: none, and the port unlocked
  sticky: boolean;
  lock: boolean; // locked once its entries are verified
}

// A port, the goal for its entries, and the static entries it has that nobody wants (see staleMacs).
export interface EntryWork {
  port: PortRef;
  goal: EntryGoal;
  stale: string[];
}

// One port's answers in a batch, by command name.
type Answers = Map<string, BatchAnswer> | undefined;

// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ tap }: PortRef, mac: string, sticky: boolean): BatchCommand => ({ line: `fdb replace ${mac} dev ${tap} master static${sticky ? ' sticky' : ''}`, shows: false });
const remove = ({ tap }: PortRef, mac: string): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master`, shows: false });
const lock = ({ tap }: PortRef, on: boolean): BatchCommand => ({ line: `link set dev ${tap} locked ${on ? 'on' : 'off'}`, shows: false });
// One port's entries and link details: the cost does not grow with the other entries the bridge holds.
const showEntries = ({ bridge, tap }: PortRef): BatchCommand => ({ line: `fdb show br ${bridge} brport ${tap}`, shows: true });
// `link show dev TAP` lists every link of the host and filters afterwards: asked only when the lock matters.
const showLink = ({ tap }: PortRef): BatchCommand => ({ line: `link show dev ${tap}`, shows: true });
// A port's view, its commands named `WHEN entries` and `WHEN link`.
const view = (port: PortRef, withLock: boolean, when: string): Record<string, BatchCommand> =>
  withLock ? { [`${when} entries`]: showEntries(port), [`${when} link`]: showLink(port) } : { [`${when} entries`]: showEntries(port) };

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

// The view a port's answers give at `when`.
function readView(answers: Answers, when: string, port: PortRef): PortView {
  const entries = answerOf(answers, `${when} entries`);
  if (entries.failure !== null) return entries;
  const link = answers?.get(`${when} link`);
  return { failure: null, entries: entriesIn(entries.output, port.bridge), locked: link?.failure === null ? lockedIn(link.output) : null };
}

// Whether an entry is the static one mactable keeps (sticky when asked).
function entryRight(entry: EntryState | null, sticky: boolean): boolean {
  return entry?.state === 'static' && (!sticky || entry.flags.includes('sticky'));
}

// Each port's view (its entries, its lock where asked), in one `bridge` process, by port; fails as a whole only
// when the process does.
export async function readPortViews(bridge: BridgeRunner, asks: ViewAsk[]): Promise<Result<{ views: Map<PortRef, PortView> }>> {
  if (asks.length === 0) return { failure: null, views: new Map() };
  const batch = await runBatch(bridge, asks.map(({ port, withLock }) => ({ key: port, commands: view(port, withLock, 'now') })));
  if (batch.failure !== null) return batch;
  return { failure: null, views: new Map(asks.map(({ port }) => [port, readView(batch.answers.get(port), 'now', port)])) };
}

// Whether the lock matters for a port: it wants one, or it must lose one (a paused guest, an undo).
export const lockMatters = (goal: EntryGoal) => goal.lock || !goal.present;

// Why the command `name` failed, or null.
const failed = (answers: Answers, name: string): string | null => answers?.get(name)?.failure ?? null;

// The MACs a port keeps and the ones it loses: all of its own while the guest runs, none while it is paused.
function split({ port, goal, stale }: EntryWork): { keep: string[]; drop: string[] } {
  const keep = goal.present ? macsOf(port) : [];
  return { keep, drop: [...new Set([...(goal.present ? [] : macsOf(port)), ...stale])].filter((mac) => !keep.includes(mac)) };
}

const kind = (goal: EntryGoal) => (goal.sticky ? 'static sticky entry' : 'static entry');

// A port's view, its changes, its view again: its step in the one batch of ensureEntries.
function entryCommands(work: EntryWork): Record<string, BatchCommand> {
  const { port, goal } = work;
  const { keep, drop } = split(work);
  const withLock = lockMatters(goal);
  return {
    ...view(port, withLock, 'before'),
    ...Object.fromEntries(keep.map((mac) => [`add ${mac}`, replace(port, mac, goal.sticky)])),
    ...Object.fromEntries(drop.map((mac) => [`delete ${mac}`, remove(port, mac)])),
    ...(goal.present ? {} : { unlock: lock(port, false) }),
    ...view(port, withLock, 'after'),
  };
}

// What a port's answers say was done, and the first step that did not take, each read back from the view after.
function entriesOutcome(work: EntryWork, answers: Answers): FdbOutcome {
  const { port, goal } = work;
  const { keep, drop } = split(work);
  // The guest's own entry keeps its short name; an extra one is named by its MAC.
  const the = (noun: string, mac: string) => (mac === port.mac ? `the ${noun}` : `the ${noun} for ${mac}`);
  const before = readView(answers, 'before', port);
  const after = readView(answers, 'after', port);
  const was = before.failure === null ? before : null;
  const changes: string[] = [];
  const fail = (failure: string): FdbOutcome => ({ changes, failure });
  for (const mac of keep) {
    const error = failed(answers, `add ${mac}`);
    if (error !== null) return fail(`cannot add ${the(kind(goal), mac)}: ${error}`);
    if (after.failure !== null) return fail(`cannot read the entry back: ${after.failure}`);
    if (!entryRight(entryOf(after.entries, mac), goal.sticky)) return fail(`${the(kind(goal), mac)} is not there after bridge fdb replace`);
    if (!entryRight(was && entryOf(was.entries, mac), goal.sticky)) changes.push(`${kind(goal)} ${mac} added`);
  }
  for (const mac of drop) {
    const existed = was !== null && entryOf(was.entries, mac) !== null;
    // Deleting an entry that is not there fails; that is the state we want.
    const error = failed(answers, `delete ${mac}`);
    if (existed && error !== null) return fail(`cannot delete ${the('entry', mac)}: ${error}`);
    if (after.failure !== null) return fail(`cannot read the entry back: ${after.failure}`);
    if (entryOf(after.entries, mac) !== null) return fail(`${the('entry', mac)} is still there after bridge fdb del`);
    if (existed) changes.push(`entry ${mac} deleted`);
  }
  if (!goal.present && was?.locked === true) {
    const error = failed(answers, 'unlock');
    if (error !== null) return fail(`cannot unlock the port: ${error}`);
    if (after.failure !== null || after.locked !== false) return fail('the port is still locked after bridge link set');
    changes.push('port unlocked');
  }
  return { changes, failure: null };
}

// Make each port's entries what its goal says: the guest's MAC and its extra MACs present (sticky when asked) while
// the guest runs, absent and the port unlocked while it is paused; stale entries deleted. All ports in one `bridge`
// process. Then lock the ports that want it, but only those whose entries are all verified: a locked port drops
// frames from a MAC without its entry. An outcome per work item.
export async function ensureEntries(bridge: BridgeRunner, work: EntryWork[]): Promise<Map<EntryWork, FdbOutcome>> {
  const batch = await runBatch(bridge, work.map((item) => ({ key: item, commands: entryCommands(item) })));
  if (batch.failure !== null) {
    const why = batch.failure;
    return new Map(work.map((item) => [item, { changes: [], failure: `cannot ${item.goal.present ? `add the ${kind(item.goal)}` : 'delete the entry'}: ${why}` }]));
  }
  const outcomes = new Map(work.map((item) => [item, entriesOutcome(item, batch.answers.get(item))]));
  const toLock = work.filter((item) => {
    const after = readView(batch.answers.get(item), 'after', item.port);
    return item.goal.lock && outcomes.get(item)?.failure === null && after.failure === null && after.locked !== true;
  });
  if (toLock.length > 0) await ensureLocked(bridge, toLock.map((item) => ({ port: item.port, outcome: outcomes.get(item) as FdbOutcome })));
  return outcomes;
}

// Lock ports whose entries are verified, in one more `bridge` process, and read the lock back.
async function ensureLocked(bridge: BridgeRunner, ports: { port: PortRef; outcome: FdbOutcome }[]): Promise<void> {
  const batch = await runBatch(bridge, ports.map(({ port, outcome }) => ({ key: outcome, commands: { lock: lock(port, true), link: showLink(port) } })));
  for (const { outcome } of ports) {
    const answers = batch.failure === null ? batch.answers.get(outcome) : undefined;
    const error = batch.failure ?? failed(answers, 'lock');
    const shown = answerOf(answers, 'link');
    if (error !== null) outcome.failure = `cannot lock the port: ${error}`;
    else if (shown.failure !== null || lockedIn(shown.output) !== true) outcome.failure = 'the port is not locked after bridge link set';
    else outcome.changes.push('port locked');
  }
}

// Make each port's entries absent and the port unlocked (undo), in one `bridge` process. Already so is fine.
export async function ensureNoEntries(bridge: BridgeRunner, ports: PortRef[]): Promise<Map<PortRef, FdbOutcome>> {
  const work = ports.map((port) => ({ port, goal: { present: false, sticky: false, lock: false }, stale: [] }));
  const outcomes = await ensureEntries(bridge, work);
  return new Map(work.map((item) => [item.port, outcomes.get(item) as FdbOutcome]));
}
