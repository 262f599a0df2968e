import type { Config } from '../config/config.js';
import { ifnameProblem, macProblem } from '../domain/names.js';
import { desiredFor, type Desired } from '../plan/desired.js';
import type { ManagedPort, Plan, PortPlan, PortRef } from '../plan/plan.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { HostFs } from './fs.js';
import { lockMatters } from './fdb.js';
import { observePorts, type PortState } from './observe.js';

type Verdict = 'ok' | 'drift' | 'unmanaged';

// One NIC of a running guest: its plan entry, the state it should have, the kernel's state (when its tap and
// bridge are known) and the verdict.
export interface PortStatus {
  guest: string;
  port: PortPlan;
  want: Desired;
  state: PortState | null;
  verdict: Verdict;
  drift: string[];
}

// How a managed port's kernel state differs from what it should be, in words; empty when it does not.
function driftOf(port: PortRef, state: PortState, want: Desired): string[] {
  if (!state.tapExists) return [`tap ${port.tap} does not exist`];
  if (state.master !== port.bridge) {
    return [state.master === null ? `tap ${port.tap} is not attached to any bridge` : `tap ${port.tap} is a port of ${state.master}, not of ${port.bridge}`];
  }
  const drift: string[] = [];
  if (state.learning !== false) drift.push(state.learning === null ? 'learning unknown' : 'learning on');
  if (state.flood !== false) drift.push(state.flood === null ? 'unicast flooding unknown' : 'unicast flooding on');
  if (state.problem !== null) return [...drift, state.problem];
  const entries = [{ mac: port.mac, entry: state.entry }, ...state.extraEntries];
  if (want.entry) {
    for (const { mac, entry } of entries) {
      if (entry === null) drift.push(`no entry for ${mac}`);
      else if (entry.state !== 'static') drift.push(`entry for ${mac} is ${entry.state}, not static`);
      else if (want.sticky && !entry.flags.includes('sticky')) drift.push(`entry for ${mac} is not sticky`);
    }
    if (want.lock && state.locked !== true) drift.push(state.locked === null ? 'lock unknown' : 'port not locked');
  } else {
    for (const { mac } of entries.filter(({ entry }) => entry !== null)) drift.push(`entry for ${mac} while the guest is paused`);
    if (state.locked === true) drift.push('port locked while the guest is paused');
  }
  for (const mac of state.stale) drift.push(`unlisted static entry ${mac}`);
  return drift;
}

// A port whose MAC, tap and bridge are all known and valid can be looked at, managed or not.
function portRef({ mac, extraMacs, tap, bridge }: PortPlan): PortRef | null {
  if (mac === null || tap === null || bridge === null) return null;
  if (macProblem(mac) || ifnameProblem(tap) || ifnameProblem(bridge)) return null;
  return { mac, extraMacs, tap, bridge };
}

// Every NIC of the given plans with its verdict; the entries are read per port, in one `bridge` process.
export async function portStatuses(host: HostFs, bridge: BridgeRunner, plans: Plan[], config: Config): Promise<PortStatus[]> {
  const ports = plans.flatMap((plan) => plan.ports.map((port) => ({ guest: plan.domain, port, want: desiredFor(plan.run, config), ref: portRef(port) })));
  const looked = ports.filter(({ ref }) => ref !== null);
  const links = looked.map(({ port, want }) => port.manage && lockMatters(want));
  // observePorts answers in the order of `looked`: hand the states out in that order again.
  const states = (await observePorts(host, bridge, looked.map(({ ref }) => ref as PortRef), links)).values();
  return ports.map(({ guest, port, want, ref }) => {
    const state = ref ? (states.next().value as PortState) : null;
    if (!port.manage) return { guest, port, want, state, verdict: 'unmanaged', drift: [] };
    const drift = driftOf(port as ManagedPort, state as PortState, want);
    return { guest, port, want, state, verdict: drift.length > 0 ? 'drift' : 'ok', drift };
  });
}
