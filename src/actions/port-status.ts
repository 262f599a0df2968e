import type { Config } from '../config/config.js';
import { ifnameProblem, macProblem } from '../domain/names.js';
import { desiredFor } from '../plan/desired.js';
import { runningTaps, straysAmong, verdictOf, type PortStatus } from '../plan/diff.js';
import type { Plan, PortPlan } from '../plan/plan.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { HostFs } from '../runtime/fs.js';
import { lockMatters } from '../host/fdb.js';
import { observePorts } from '../host/observe.js';
import { macsOf, type PortRef } from '../model/port.js';
import { findStaticEntries, placed, type Lookup } from '../host/moved-entries.js';
import { entryGoal } from './apply.js';
import type { PortState } from '../model/state.js';

// A port whose MAC, tap and bridge are all known and valid can be looked at, managed or not.
function portRef({ mac, extraMacs, tap, bridge }: PortPlan): PortRef | null {
  if (mac === null || tap === null || bridge === null) return null;
  if (macProblem(mac) || ifnameProblem(tap) || ifnameProblem(bridge)) return null;
  return { mac, extraMacs, tap, bridge };
}

// Every NIC of the given plans with its verdict; the entries are read per port, in one `bridge` process, and a
// paused guest's MACs looked up on their bridge in one more. `everyone` gives every running guest's plan (null:
// unknown), asked only when such an entry is found elsewhere: never is one on a running managed guest's tap a stray.
export async function portStatuses(host: HostFs, bridge: BridgeRunner, plans: Plan[], config: Config, everyone: Plan[] | null): Promise<PortStatus[]> {
  const ports = plans.flatMap((plan) => plan.ports.map((port) => ({ plan, port, want: desiredFor(plan.run, port, config), ref: portRef(port) })));
  const looked = ports.flatMap(({ port, want, ref }) => (ref === null ? [] : [{ port, want, ref }]));
  const observed = await observePorts(host, bridge, looked.map(({ port, want, ref }) => ({ port: ref, withLock: port.manage && lockMatters(entryGoal(want)) })));
  const paused = looked.filter(({ port, want, ref }) => port.manage && !want.entry && observed.get(ref)?.master === port.bridge);
  const lookups = new Map(paused.map(({ ref }) => [ref, macsOf(ref).map((mac): Lookup => ({ bridge: ref.bridge, mac }))]));
  const found = await findStaticEntries(bridge, [...lookups.values()].flat());
  const mine = (ref: PortRef) => placed((lookups.get(ref) ?? []).map((lookup) => found.get(lookup)));
  const away = paused.some(({ ref }) => straysAmong(mine(ref), new Set(), ref.tap).length > 0);
  const keep = away && everyone !== null ? runningTaps(everyone) : null;
  const stateOf = (ref: PortRef | null): PortState | null => {
    const state = ref === null ? null : (observed.get(ref) ?? null);
    if (ref === null || state === null || keep === null || !lookups.has(ref)) return state;
    return { ...state, strays: straysAmong(mine(ref), keep, ref.tap) };
  };
  return ports.map(({ plan, port, want, ref }) => {
    const state = stateOf(ref);
    return { guest: plan.domain, port, want, state, ...verdictOf(plan.run, port, want, state) };
  });
}
