import type { PortRef } from '../model/port.js';
import type { RunState } from '../model/domain.js';
import { pausedWords, vcpusRun } from './desired.js';
import { managedPorts, type ManagedPort, type Plan, type PortPlan } from './plan.js';
import type { PortState, Placed, Desired } from '../model/state.js';

const PAUSED = ' while the guest is paused';

// A flag that differs from what it should be, in words ("learning on"; "... while the guest is paused" when the
// rule for a paused guest is what it breaks).
function flagDrift(name: string, value: boolean | null, want: boolean, paused: boolean): string[] {
  if (value === want) return [];
  return [value === null ? `${name} unknown` : `${name} ${value ? 'on' : 'off'}${paused ? PAUSED : ''}`];
}

// How a managed port's kernel state differs from what it should be, in words; empty when it does not. A paused
// guest's port as libvirt made it does not differ.
export function driftOf(port: PortRef, state: PortState, want: Desired): string[] {
  if (!state.tapExists) return [`tap ${port.tap} does not exist`];
  if (state.master !== port.bridge) {
    return [state.master === null ? `tap ${port.tap} is not attached to any bridge` : `tap ${port.tap} is a port of ${state.master}, not of ${port.bridge}`];
  }
  const paused = !want.entry;
  const drift = [...flagDrift('learning', state.learning, want.learning, paused), ...flagDrift('unicast flooding', state.flood, want.learning, paused)];
  if (state.failure !== null) return [...drift, state.failure];
  const entries = [{ mac: port.mac, entry: state.entry }, ...state.extraEntries];
  if (want.entry) {
    for (const { mac, entry } of entries) {
      if (entry === null) drift.push(`no entry for ${mac}`);
      else if (entry.state !== 'static') drift.push(`entry for ${mac} is ${entry.state}, not static`);
      else if (want.sticky && !entry.flags.includes('sticky')) drift.push(`entry for ${mac} is not sticky`);
    }
    if (want.lock && state.locked !== true) drift.push(state.locked === null ? 'lock unknown' : 'port not locked');
  } else {
    for (const { mac } of entries.filter(({ entry }) => entry !== null)) drift.push(`entry for ${mac}${PAUSED}`);
    if (state.locked === true) drift.push(`port locked${PAUSED}`);
  }
  for (const mac of state.stale) drift.push(`unlisted static entry ${mac}`);
  for (const { mac, port: other } of state.strays) drift.push(`static entry for ${mac} on ${other}${PAUSED}`);
  return drift;
}

export type Verdict = 'ok' | 'drift' | 'unmanaged';

// One NIC of a running guest: its plan entry, the state it should have, the kernel's state (when its tap and
// bridge are known), the verdict, and a note on a paused guest's port.
export interface PortStatus {
  guest: string;
  port: PortPlan;
  want: Desired;
  state: PortState | null;
  verdict: Verdict;
  drift: string[];
  note: string | null;
}

// A port's verdict against its plan: unmanaged, or ok or drift (with how it differs), and a note on a paused guest's
// port. `state` is known for every managed port (its MAC, tap and bridge are).
export function verdictOf(run: RunState | null, port: PortPlan, want: Desired, state: PortState | null): { verdict: Verdict; drift: string[]; note: string | null } {
  if (!port.manage) return { verdict: 'unmanaged', drift: [], note: null };
  const drift = driftOf(port as ManagedPort, state as PortState, want);
  const note = vcpusRun(run) ? null : `guest ${pausedWords(run)}: the port as libvirt made it until its vCPUs run`;
  return { verdict: drift.length > 0 ? 'drift' : 'ok', drift, note };
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
export function straysAmong(found: Placed[], keep: Set<string>, ownTap: string | null): Placed[] {
  return found.filter(({ bridge, port }) => port !== ownTap && !keep.has(`${bridge} ${port}`));
}
