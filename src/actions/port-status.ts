import type { Config } from '../config/config.js';
import { ifnameProblem, macProblem } from '../domain/names.js';
import { desiredFor, pausedWords, vcpusRun, type Desired } from '../plan/desired.js';
import { driftOf, runningTaps, straysAmong } from '../plan/diff.js';
import type { ManagedPort, Plan, PortPlan } from '../plan/plan.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { HostFs } from '../host/fs.js';
import { lockMatters } from '../host/fdb.js';
import { observePorts, type PortState } from '../host/observe.js';
import { macsOf, type PortRef } from '../host/port.js';
import { findStaticEntries, placed } from '../host/strays.js';

type Verdict = 'ok' | 'drift' | 'unmanaged';

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
  const looked = ports.filter(({ ref }) => ref !== null);
  const links = looked.map(({ port, want }) => port.manage && lockMatters(want));
  // observePorts answers in the order of `looked`: hand the states out in that order again.
  const states = new Map(looked.map((item, i) => [item, i]));
  const observed = await observePorts(host, bridge, looked.map(({ ref }) => ref as PortRef), links);
  const stateOf = (item: (typeof ports)[number]) => (states.has(item) ? (observed[states.get(item) as number] as PortState) : null);
  const paused = looked.filter((item) => item.port.manage && !item.want.entry && stateOf(item)?.master === item.port.bridge);
  const found = placed(await findStaticEntries(bridge, paused.flatMap(({ ref }) => macsOf(ref as PortRef).map((mac) => ({ bridge: (ref as PortRef).bridge, mac })))));
  const mine = ({ port, ref }: (typeof ports)[number]) => found.filter(({ bridge: br, mac }) => br === port.bridge && macsOf(ref as PortRef).includes(mac));
  const away = paused.some((item) => straysAmong(mine(item), new Set(), item.port.tap).length > 0);
  const all = away ? everyone : null;
  const keep = all === null ? null : runningTaps(all);
  if (keep !== null) for (const item of paused) (stateOf(item) as PortState).strays = straysAmong(mine(item), keep, item.port.tap);
  return ports.map((item) => {
    const { plan, port, want } = item;
    const state = stateOf(item);
    const base = { guest: plan.domain, port, want, state, note: null };
    if (!port.manage) return { ...base, verdict: 'unmanaged', drift: [] };
    const drift = driftOf(port as ManagedPort, state as PortState, want);
    const note = vcpusRun(plan.run) ? null : `guest ${pausedWords(plan.run)}: the port as libvirt made it until its vCPUs run`;
    return { ...base, verdict: drift.length > 0 ? 'drift' : 'ok', drift, note };
  });
}
