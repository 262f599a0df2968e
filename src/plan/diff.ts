import type { RunState } from '../model/domain.js';
import { entryAsAsked, type Operation } from '../model/operations.js';
import { keysOf, keyVlansOf, macsOf, onVlan, sameKey, type EntryKey, type PortRef } from '../model/port.js';
import type { Desired, MovedEntry, PortState } from '../model/state.js';
import { pausedWords, vcpusRun } from './desired.js';
import { managedPorts, type ManagedPort, type Plan, type PortPlan } from './plan.js';

const PAUSED = ' while the guest is paused';
const FLAG_NAMES = { learning: 'learning', unicast_flood: 'unicast flooding' } as const;

export type Verdict = 'ok' | 'drift' | 'unmanaged';

// One NIC of a running guest: its plan entry, the state it should have, the kernel's state (when its tap and
// bridge are known), the verdict, the operations that make it right (none when it cannot be fixed now: `problem`
// says why), and a note on a paused guest's port.
export interface PortStatus {
  guest: string;
  port: PortPlan;
  want: Desired;
  state: PortState | null;
  verdict: Verdict;
  drift: string[];
  operations: Operation[];
  problem: string | null;
  note: string | null;
}

// Why the port cannot be worked on (checked before anything is written): its tap, its bridge, the tap's master.
export function placeProblem({ tap, bridge }: PortRef, state: PortState): string | null {
  if (!state.tapExists) return `tap ${tap} does not exist`;
  if (state.bridge !== 'linux') return state.bridge === 'other' ? `${bridge} is not a Linux bridge` : `bridge ${bridge} does not exist`;
  return masterProblem({ tap, bridge }, state);
}

function masterProblem({ tap, bridge }: { tap: string; bridge: string }, { master }: PortState): string | null {
  if (master === null) return `tap ${tap} is not attached to any bridge`;
  return master === bridge ? null : `tap ${tap} is a port of ${master}, not of ${bridge}`;
}

// On a bridge that filters VLANs, whether an entry is in a VLAN the port no longer has (the kernel keeps static
// entries when a VLAN leaves the port, and deletes them only by a flush of that VLAN).
const offVlans = ({ vlan }: EntryKey, { vlans }: PortState): boolean => vlans !== null && vlan !== null && !vlans.includes(vlan);

// Static entries on a managed port for MACs it should not have: extra MACs the metadata no longer lists. Learning is
// off there and mactable writes its entries there, so a static entry that is neither the guest's MAC nor an extra
// one is taken as a leftover; the kernel's permanent and learned entries are never touched. Those in VLANs the port
// left are entriesOffVlans'.
export function unlistedMacs(port: PortRef, state: PortState): string[] {
  const wanted = macsOf(port);
  return [...new Set((state.entries ?? []).filter((entry) => entry.state === 'static' && !wanted.includes(entry.mac) && !offVlans(entry, state)).map((entry) => entry.mac))];
}

// Static entries on a managed port in VLANs it no longer has, whoever's.
const entriesOffVlans = (state: PortState): EntryKey[] => (state.entries ?? []).filter((entry) => entry.state === 'static' && offVlans(entry, state)).map(({ mac, vlan }) => ({ mac, vlan }));

// The operations that take a port on its bridge from its observed state to the one it should have, in the order of
// the drift's words: the flags, each entry (each MAC in vid 0 and in each of the port's VLANs, on a bridge that
// filters them), the lock, unlisted entries and entries in VLANs the port left, moved entries (`keep`: the taps
// where an entry for a managed guest's MAC may stay; null: unknown, nothing moved is deleted). A delete without a
// VLAN takes the MAC's entries in every VLAN. Entries that could not be read (`failure`) are written as if absent, or deleted
// as if there, and so are entries not read (the hook's: its one batch reads them before its writes, and the words
// count only what was not so already): the write then says what is wrong, or fixes it.
export function operationsFor(port: PortRef, state: PortState, want: Desired, keep: Set<string> | null): Operation[] {
  const ops: Operation[] = [];
  const entries = state.entries ?? [];
  const known = state.failure === null && state.entries !== null;
  if (state.learning !== want.learning) ops.push({ op: 'flag', flag: 'learning', on: want.learning, was: state.learning });
  if (state.flood !== want.learning) ops.push({ op: 'flag', flag: 'unicast_flood', on: want.learning, was: state.flood });
  for (const key of want.entry ? keyVlansOf(port, state) : []) {
    const was = entries.find((entry) => sameKey(entry, key)) ?? null;
    if (!entryAsAsked(was, want.sticky)) ops.push({ op: 'add', ...key, sticky: want.sticky, was });
  }
  for (const key of want.entry ? [] : keysOf(port)) {
    if (!known || entries.some((entry) => entry.mac === key.mac)) ops.push({ op: 'delete', ...key, why: 'paused' });
  }
  if (want.entry && want.lock && state.locked !== true) ops.push({ op: 'lock', on: true, was: state.locked });
  if (!want.entry && (state.locked === true || !known)) ops.push({ op: 'lock', on: false, was: state.locked });
  for (const mac of unlistedMacs(port, state)) ops.push({ op: 'delete', mac, vlan: null, why: 'unlisted' });
  for (const key of want.entry ? entriesOffVlans(state) : []) ops.push({ op: 'delete', ...key, why: 'vlan' });
  for (const entry of keep === null ? [] : straysAmong(state.moved, keep, port.tap)) ops.push({ op: 'delete-moved', entry });
  return ops;
}

// A port as libvirt leaves it (undo at release, the put-back after a failure): learning and flooding on, none of its
// MACs' entries, unlocked.
export function asLibvirtMadeIt(port: PortRef, state: PortState): Operation[] {
  const ops: Operation[] = [];
  if (state.learning !== true) ops.push({ op: 'flag', flag: 'learning', on: true, was: state.learning });
  if (state.flood !== true) ops.push({ op: 'flag', flag: 'unicast_flood', on: true, was: state.flood });
  for (const key of keysOf(port)) if (state.failure !== null || (state.entries ?? [key]).some((entry) => entry.mac === key.mac)) ops.push({ op: 'delete', ...key, why: 'undo' });
  // Unlocked whatever was seen: only a lock seen is checked and said.
  ops.push({ op: 'lock', on: false, was: state.locked });
  return ops;
}

// An operation as drift, in words: what is wrong that it puts right ("learning on"; "... while the guest is paused"
// when the rule for a paused guest is what it breaks).
function operationWords(op: Operation, paused: boolean, tap: string): string {
  const when = paused ? PAUSED : '';
  switch (op.op) {
    case 'flag':
      return op.was === null ? `${FLAG_NAMES[op.flag]} unknown` : `${FLAG_NAMES[op.flag]} ${op.was ? 'on' : 'off'}${when}`;
    case 'add': {
      const entry = `${op.mac}${onVlan(op.vlan)}`;
      if (op.was === null) return `no entry for ${entry}`;
      return op.was.state === 'static' ? `entry for ${entry} is not sticky` : `entry for ${entry} is ${op.was.state}, not static`;
    }
    case 'delete':
      if (op.why === 'vlan') return `static entry ${op.mac}${onVlan(op.vlan)}, which ${tap} does not have`;
      return op.why === 'unlisted' ? `unlisted static entry ${op.mac}` : `entry for ${op.mac}${when}`;
    case 'lock':
      return op.on ? (op.was === null ? 'lock unknown' : 'port not locked') : `port locked${when}`;
    case 'delete-moved':
      return `static entry for ${op.entry.mac} on ${op.entry.port}${onVlan(op.entry.vlan)}${when}`;
  }
}

// How a managed port's kernel state differs from what it should be, in words; empty when it does not. A paused
// guest's port as libvirt made it does not differ.
export function driftOf(port: PortRef, state: PortState, want: Desired, keep: Set<string> | null = null): string[] {
  if (!state.tapExists) return [`tap ${port.tap} does not exist`];
  const place = masterProblem(port, state);
  if (place !== null) return [place];
  const ops = operationsFor(port, state, want, keep);
  const paused = !want.entry;
  const flags = ops.filter((op) => op.op === 'flag').map((op) => operationWords(op, paused, port.tap));
  if (state.failure !== null) return [...flags, state.failure];
  return ops.map((op) => operationWords(op, paused, port.tap));
}

// A port's status against its plan: unmanaged, or ok or drift (with how it differs and the operations that fix it),
// and a note on a paused guest's port. `state` is known for every managed port (its MAC, tap and bridge are).
export function statusOf(guest: string, run: RunState | null, port: PortPlan, want: Desired, state: PortState | null, keep: Set<string> | null): PortStatus {
  const status = { guest, port, want, state, operations: [], problem: null, note: null };
  if (!port.manage || state === null) return { ...status, verdict: 'unmanaged', drift: [] };
  const managed = port as ManagedPort;
  const drift = driftOf(managed, state, want, keep);
  const problem = placeProblem(managed, state);
  const note = vcpusRun(run) ? null : `guest ${pausedWords(run)}: the port as libvirt made it until its vCPUs run`;
  return { ...status, verdict: drift.length > 0 ? 'drift' : 'ok', drift, operations: problem === null ? operationsFor(managed, state, want, keep) : [], problem, note };
}

// The ports where a static entry for a managed guest's MAC may stay whatever else is true: the taps of the managed
// ports of guests whose vCPUs run, as "BRIDGE TAP".
export function runningTaps(plans: Plan[]): Set<string> {
  return new Set(
    plans.filter((plan) => vcpusRun(plan.run)).flatMap((plan) => managedPorts(plan).map(({ bridge, tap }) => `${bridge} ${tap}`)),
  );
}

// A static entry for a managed guest's MAC lives only on that guest's tap: found on another port (moved there by
// learning, e.g. a migrated guest's announce on the uplink) while the guest is paused or gone, it is deleted, unless
// that port is a running managed guest's tap (`keep`) or the guest's own (its own entries follow its port's rule).
export function straysAmong(found: MovedEntry[], keep: Set<string>, ownTap: string | null): MovedEntry[] {
  return found.filter(({ bridge, port }) => port !== ownTap && !keep.has(`${bridge} ${port}`));
}
