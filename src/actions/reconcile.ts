import { ensurePorts, type PortOutcome } from './apply.js';
import type { Config } from '../config/config.js';
import type { HostFs } from '../runtime/fs.js';
import { portStatuses } from './port-status.js';
import type { ManagedPort, Plan } from '../plan/plan.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { PortStatus } from '../plan/diff.js';

// What one reconcile saw and did: every port's status before, and an outcome for each port that drifted.
interface Reconciled {
  statuses: PortStatus[];
  fixed: { guest: string; outcome: PortOutcome }[];
}

// Observe, compare with the plan, fix the difference: `repair` and the watcher. Ports that are right are not
// written to; the drifted ones of every guest go through one `ensurePorts`, with a failed port put back as
// libvirt made it (these run beside a running guest).
export async function reconcile(host: HostFs, bridge: BridgeRunner, plans: Plan[], config: Config, everyone: Plan[] | null): Promise<Reconciled> {
  const statuses = await portStatuses(host, bridge, plans, config, everyone);
  const drifted = statuses.filter((status) => status.verdict === 'drift');
  if (drifted.length === 0) return { statuses, fixed: [] };
  const outcomes = await ensurePorts(host, bridge, drifted.map(({ port, want, state }) => ({ port: port as ManagedPort, want, stale: state?.stale ?? [], strays: state?.strays ?? [] })), true);
  return { statuses, fixed: outcomes.map((outcome, i) => ({ guest: (drifted[i] as PortStatus).guest, outcome })) };
}
