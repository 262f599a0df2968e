import { entryAsAsked, type Operation } from '../model/operations.js';
import { onVlan, sameKey, type EntryKey, type PortRef, type Vlan } from '../model/port.js';
import type { Result } from '../model/result.js';
import type { MovedEntry, ObservedEntry } from '../model/state.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { answerOf, runBatch, type BatchAnswer, type BatchCommand } from './batch.js';
import { deleteMoved, getEntry, movedGoneOutcome } from './moved-entries.js';

// What running one port's operations did: the changes in words, and the step that failed, if one did.
export interface FdbOutcome {
  changes: string[];
  failure: string | null;
}

// One port's answers in a batch, by command name.
type Answers = Map<string, BatchAnswer> | undefined;

const vlanWords = (vlan: EntryKey['vlan']) => (vlan === null ? '' : ` vlan ${vlan}`);
// Always `master static`: without a state iproute2 makes a local entry, which delivers the guest's frames to the host.
const replace = ({ tap }: PortRef, { mac, vlan }: EntryKey, sticky: boolean): BatchCommand => ({ line: `fdb replace ${mac} dev ${tap} master static${sticky ? ' sticky' : ''}${vlanWords(vlan)}`, shows: false });
const remove = ({ tap }: PortRef, { mac, vlan }: EntryKey): BatchCommand => ({ line: `fdb del ${mac} dev ${tap} master${vlanWords(vlan)}`, shows: false });
// The one way to a static entry in a VLAN the port no longer has: `fdb del ... vlan V` refuses an unconfigured VLAN.
const flushVlan = ({ tap }: PortRef, vlan: Vlan): BatchCommand => ({ line: `fdb flush dev ${tap} master vlan ${vlan ?? 0} static`, shows: false });
const lock = ({ tap }: PortRef, on: boolean): BatchCommand => ({ line: `link set dev ${tap} locked ${on ? 'on' : 'off'}`, shows: false });
// One port's entries: the cost does not grow with the other entries the bridge holds.
export const showEntries = ({ bridge, tap }: PortRef): BatchCommand => ({ line: `fdb show br ${bridge} brport ${tap}`, shows: true });
// `link show dev TAP` lists every link of the host and filters afterwards: asked only when the lock matters.
export const showLink = ({ tap }: PortRef): BatchCommand => ({ line: `link show dev ${tap}`, shows: true });

// The bridge's own entries in a `fdb show br BR brport TAP` result (not the `self` ones), whatever their state.
export function entriesIn(output: unknown, bridge: string): ObservedEntry[] {
  if (!Array.isArray(output)) return [];
  return (output as { mac?: unknown; master?: unknown; state?: unknown; flags?: unknown; vlan?: unknown }[])
    .filter((item) => item.master === bridge && typeof item.mac === 'string')
    .map((item) => ({
      mac: item.mac as string,
      vlan: typeof item.vlan === 'number' && item.vlan !== 0 ? item.vlan : null,
      state: String(item.state ?? 'unknown'),
      flags: Array.isArray(item.flags) ? item.flags.map(String) : [],
    }));
}

// Whether a `link show dev TAP` result says the port is locked; null when the kernel does not say.
function lockedIn(output: unknown): boolean | null {
  const locked = Array.isArray(output) ? (output[0] as { locked?: unknown } | undefined)?.locked : undefined;
  return typeof locked === 'boolean' ? locked : null;
}

// A port's entries (and its lock, when `link` was asked) from its answers; why not, naming the command.
export function readBack(answers: Answers, port: PortRef, names: { entries: string; link: string }): Result<{ entries: ObservedEntry[]; locked: boolean | null }> {
  const shown = answerOf(answers, names.entries);
  if (shown.failure !== null) return { failure: `cannot read the entries of ${port.tap} on ${port.bridge} (bridge ${showEntries(port).line}): ${shown.failure}` };
  const link = answers?.get(names.link);
  return { failure: null, entries: entriesIn(shown.output, port.bridge), locked: link?.failure === null ? lockedIn(link.output) : null };
}

const kind = (sticky: boolean) => (sticky ? 'static sticky entry' : 'static entry');
const bridgeOps = (ops: Operation[]) => ops.filter((op) => op.op !== 'flag' && !(op.op === 'lock' && op.on));

// A port's bridge operations, then its read-back: the port's entries, and its link when its lock matters; with
// `readFirst` (the hook, which observes in its one batch) the same read before them. Command names are unique within
// the port's step.
function commandsOf(port: PortRef, all: Operation[], readFirst: boolean): Record<string, BatchCommand> {
  const ops = bridgeOps(all);
  const withLink = all.some((op) => op.op === 'lock');
  const commands: Record<string, BatchCommand> = {};
  if (readFirst) {
    commands['before entries'] = showEntries(port);
    if (withLink) commands['before link'] = showLink(port);
  }
  for (const op of ops) {
    if (op.op === 'add') commands[`add ${op.mac} ${op.vlan ?? 0}`] = replace(port, op, op.sticky);
    else if (op.op === 'delete' && op.why === 'vlan') commands[`flush ${op.vlan ?? 0}`] = flushVlan(port, op.vlan);
    else if (op.op === 'delete') commands[`delete ${op.mac} ${op.vlan ?? 0}`] = remove(port, op);
    else if (op.op === 'lock') commands.unlock = lock(port, false);
  }
  commands['after entries'] = showEntries(port);
  if (withLink) commands['after link'] = showLink(port);
  return commands;
}

// Moved entries, each deleted and looked up again, ahead of every `fdb show ... brport` in the batch: iproute2 (6.1)
// keeps that port as a filter for the `fdb get`s after it, which then find nothing elsewhere.
const movedSteps = (work: { operations: Operation[] }[]) =>
  work.flatMap(({ operations }) => operations.flatMap((op) => (op.op === 'delete-moved' ? [{ key: op.entry, commands: { delete: deleteMoved(op.entry), get: getEntry(op.entry) } }] : [])));

// What the read before the writes saw (`readFirst`): each operation's `was`, so that the words count only changes.
function seenBefore(port: PortRef, ops: Operation[], answers: Answers): Operation[] {
  const before = readBack(answers, port, { entries: 'before entries', link: 'before link' });
  if (before.failure !== null) return ops;
  return ops.map((op) => {
    if (op.op === 'add') return { ...op, was: before.entries.find((entry) => sameKey(entry, op)) ?? null };
    return op.op === 'lock' ? { ...op, was: before.locked } : op;
  });
}

// The words for the entries added for one MAC: "static entry M added", "static entry M on VLAN 30 added", and for vid 0
// with VLANs (a port's first entries on a filtering bridge) "static entry M added, also on VLANs 1, 10".
function addedWords(what: string, vlans: Vlan[]): string {
  const tagged = vlans.filter((vlan) => vlan !== null);
  const list = `VLAN${tagged.length > 1 ? 's' : ''} ${tagged.join(', ')}`;
  if (tagged.length === 0) return `${what} added`;
  return vlans.includes(null) ? `${what} added, also on ${list}` : `${what} on ${list} added`;
}

// What a port's answers say was done, each operation checked against the read-back; the first that did not take
// ends the port. The guest's own entry keeps its short name; an extra one is named by its MAC; one in a VLAN says it.
// A delete without a VLAN took the MAC's entries in every VLAN: none may be left.
function outcomeOf(port: PortRef, ops: Operation[], answers: Answers, movedAnswers: (entry: MovedEntry) => Answers): FdbOutcome {
  const the = (noun: string, { mac, vlan }: EntryKey) => `${mac === port.mac ? `the ${noun}` : `the ${noun} for ${mac}`}${onVlan(vlan)}`;
  const after = readBack(answers, port, { entries: 'after entries', link: 'after link' });
  const entry = (key: EntryKey) => (after.failure === null ? after.entries.find((each) => (key.vlan === null ? each.mac === key.mac : sameKey(each, key))) : undefined);
  const failed = (name: string) => answers?.get(name)?.failure ?? null;
  const changes: string[] = [];
  const added = new Map<string, Vlan[]>(); // by the words for the entry, the VLANs added, in order
  const words = () => changes.map((change) => (added.has(change) ? addedWords(change, added.get(change) as Vlan[]) : change));
  const fail = (failure: string): FdbOutcome => ({ changes: words(), failure });
  for (const op of ops) {
    if (op.op === 'add') {
      const error = failed(`add ${op.mac} ${op.vlan ?? 0}`);
      if (error !== null) return fail(`cannot add ${the(kind(op.sticky), op)}: ${error}`);
      if (after.failure !== null) return fail(after.failure);
      if (!entryAsAsked(after.entries.find((each) => sameKey(each, op)), op.sticky)) return fail(`${the(kind(op.sticky), op)} is not there after bridge fdb replace`);
      const what = `${kind(op.sticky)} ${op.mac}`;
      if (!entryAsAsked(op.was, op.sticky)) {
        if (!added.has(what)) changes.push(what); // its place among the changes; the words come once all are known
        added.set(what, [...(added.get(what) ?? []), op.vlan]);
      }
    } else if (op.op === 'delete') {
      // Deleting an entry that is gone already fails; that is the state we want.
      const error = failed(op.why === 'vlan' ? `flush ${op.vlan ?? 0}` : `delete ${op.mac} ${op.vlan ?? 0}`);
      if (after.failure !== null) return fail(after.failure);
      if (entry(op) !== undefined) return fail(error === null ? `${the('entry', op)} is still there after bridge fdb del` : `cannot delete ${the('entry', op)}: ${error}`);
      if (error === null) changes.push(`entry ${op.mac}${onVlan(op.vlan)} deleted`);
    } else if (op.op === 'lock' && op.was === true) {
      const error = failed('unlock');
      if (error !== null) return fail(`cannot unlock the port: ${error}`);
      if (after.failure !== null || after.locked !== false) return fail('the port is still locked after bridge link set');
      changes.push('port unlocked');
    } else if (op.op === 'delete-moved') {
      const mine = movedAnswers(op.entry);
      const moved = movedGoneOutcome(op.entry, answerOf(mine, 'delete'), answerOf(mine, 'get'));
      changes.push(...moved.changes);
      if (moved.failure !== null) return fail(moved.failure);
    }
  }
  return { changes: words(), failure: null };
}

// Why a port's whole step failed with its batch: named by its first bridge operation.
function batchFailure(ops: Operation[], why: string): string {
  const first = bridgeOps(ops)[0];
  if (first?.op === 'add') return `cannot add the ${kind(first.sticky)}: ${why}`;
  if (first?.op === 'lock') return `cannot unlock the port: ${why}`;
  return `cannot delete the entry: ${why}`;
}

// Run every port's bridge operations (entries added and deleted, unlocked, moved entries deleted) in one `bridge`
// process with one read-back per port; then lock, in one more, the ports that want it and whose entries are all
// verified and not locked already: a locked port drops frames from a MAC without its entry. It decides nothing:
// plan/diff.ts did. With `readFirst` each port is read before its writes, in the same batch. An outcome per port.
export async function runEntryOperations(bridge: BridgeRunner, work: { port: PortRef; operations: Operation[] }[], { readFirst = false } = {}): Promise<Map<PortRef, FdbOutcome>> {
  const busy = work.filter(({ operations }) => operations.some((op) => op.op !== 'flag'));
  const outcomes = new Map(work.map(({ port }): [PortRef, FdbOutcome] => [port, { changes: [], failure: null }]));
  const lockedAfter = new Set<PortRef>();
  if (busy.length > 0) {
    const batch = await runBatch<PortRef | MovedEntry>(bridge, [...movedSteps(busy), ...busy.map(({ port, operations }) => ({ key: port, commands: commandsOf(port, operations, readFirst) }))]);
    for (const { port, operations } of busy) {
      if (batch.failure !== null) {
        outcomes.set(port, { changes: [], failure: batchFailure(operations, batch.failure) });
        continue;
      }
      const answers = batch.answers.get(port);
      const ops = readFirst ? seenBefore(port, bridgeOps(operations), answers) : bridgeOps(operations);
      outcomes.set(port, outcomeOf(port, ops, answers, (entry) => batch.answers.get(entry)));
      const after = readBack(answers, port, { entries: 'after entries', link: 'after link' });
      if (after.failure === null && after.locked === true) lockedAfter.add(port);
    }
  }
  const toLock = work.filter(({ port, operations }) => outcomes.get(port)?.failure === null && !lockedAfter.has(port) && operations.some((op) => op.op === 'lock' && op.on));
  if (toLock.length > 0) await ensureLocked(bridge, toLock.map(({ port }) => ({ port, outcome: outcomes.get(port) as FdbOutcome })));
  return outcomes;
}

// Lock ports whose entries are verified, in one more `bridge` process, and read the lock back.
async function ensureLocked(bridge: BridgeRunner, ports: { port: PortRef; outcome: FdbOutcome }[]): Promise<void> {
  const batch = await runBatch(bridge, ports.map(({ port }) => ({ key: port, commands: { lock: lock(port, true), link: showLink(port) } })));
  for (const { port, outcome } of ports) {
    const answers = batch.failure === null ? batch.answers.get(port) : undefined;
    const error = batch.failure ?? answers?.get('lock')?.failure ?? null;
    const shown = answerOf(answers, 'link');
    if (error !== null) outcome.failure = `cannot lock the port: ${error}`;
    else if (shown.failure !== null || lockedIn(shown.output) !== true) outcome.failure = 'the port is not locked after bridge link set';
    else outcome.changes.push('port locked');
  }
}
