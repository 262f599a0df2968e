import type { Config } from '../config/config.js';
import { ifnameProblem, macProblem } from '../domain/names.js';
import type { PortRef } from '../model/port.js';
import { observePorts } from '../host/observe.js';
import { desiredFor } from '../plan/desired.js';
import { runningTaps, statusOf, type PortStatus } from '../plan/diff.js';
import type { ManagedPort, Plan, PortPlan } from '../plan/plan.js';
import type { HostFs } from '../runtime/fs.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { applyOperations, type PortOutcome } from './apply.js';

// What one reconcile saw and did: every port's status before, and an outcome for each port that drifted.
interface Reconciled {
  statuses: PortStatus[];
  fixed: { guest: string; outcome: PortOutcome }[];
}

// A port whose MAC, tap and bridge are all known and valid can be looked at, managed or not.
function portRef({ mac, extraMacs, tap, bridge }: PortPlan): PortRef | null {
  if (mac === null || tap === null || bridge === null) return null;
  if (macProblem(mac) || ifnameProblem(tap) || ifnameProblem(bridge)) return null;
  return { mac, extraMacs, tap, bridge };
}

// Every NIC of the given plans (only the managed ones with `managedOnly`) with its status: each port observed once
// (sysfs, and one `bridge` process for every port's entries, lock and moved entries), then diffed. `everyone` gives
// every running guest's plan (null: unknown, then no moved entry is looked for or deleted): never is an entry on a
// running managed guest's tap a moved one.
export async function portStatuses(host: HostFs, bridge: BridgeRunner, plans: Plan[], config: Config, everyone: Plan[] | null, { managedOnly = false, readEntries = true } = {}): Promise<PortStatus[]> {
  const ports = plans.flatMap((plan) => plan.ports.filter((port) => port.manage || !managedOnly).map((port) => ({ plan, port, want: desiredFor(plan.run, port, config), ref: portRef(port) })));
  const asks = ports.flatMap(({ port, want, ref }) => (ref === null ? [] : [{ port: ref, withLock: port.manage && (want.lock || !want.entry), moved: port.manage && !want.entry && everyone !== null, entries: readEntries }]));
  const observed = await observePorts(host, bridge, asks);
  const keep = everyone === null ? null : runningTaps(everyone);
  return ports.map(({ plan, port, want, ref }) => statusOf(plan.domain, plan.run, port, want, ref === null ? null : (observed.get(ref) ?? null), keep));
}

// The operations of every port that needs any, in one pass: `repair`, the watcher, the hook's `started`. With
// `putBack` a port that failed is left as libvirt made it. `all`: every managed port gets an outcome, ok ones too;
// `readFirst`: entries not observed yet are read in the same batch, before the writes.
export async function applyStatuses(host: HostFs, bridge: BridgeRunner, statuses: PortStatus[], { putBack, all = false, readFirst = false }: { putBack: boolean; all?: boolean; readFirst?: boolean }): Promise<{ guest: string; outcome: PortOutcome }[]> {
  const due = statuses.filter((status) => status.port.manage && (all || status.verdict === 'drift'));
  const outcomes = await applyOperations(host, bridge, due.map(({ port, operations, problem }) => ({ port: port as ManagedPort, operations, problem })), { putBack, readFirst });
  return outcomes.map((outcome, i) => ({ guest: (due[i] as PortStatus).guest, outcome }));
}

// Observe, diff, fix the difference: `repair` and the watcher. Ports that are right are not written to; the drifted
// ones of every guest go through one pass, with a failed port put back as libvirt made it (these run beside a
// running guest).
export async function reconcile(host: HostFs, bridge: BridgeRunner, plans: Plan[], config: Config, everyone: Plan[] | null): Promise<Reconciled> {
  const statuses = await portStatuses(host, bridge, plans, config, everyone);
  return { statuses, fixed: await applyStatuses(host, bridge, statuses, { putBack: true }) };
}
