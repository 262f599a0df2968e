import type { Config } from '../config.js';
import type { Domain, RunState } from '../domain/types.js';
import type { HostFacts } from './facts.js';
import { decide } from './policy.js';
import { resolveNic } from './resolve.js';

// A guest port as the kernel knows it: the guest's MAC on TAP, whose master is BRIDGE (names validated).
export interface PortRef {
  mac: string;
  tap: string;
  bridge: string;
}

// One entry per <interface>, in document order; `manage` entries have mac, tap and bridge set and valid.
export interface PortPlan {
  mac: string | null;
  tap: string | null;
  bridge: string | null;
  network: string | null;
  type: string | null;
  tapManaged: boolean;
  manage: boolean;
  reason: string;
}

export interface ManagedPort extends PortPlan {
  mac: string;
  tap: string;
  bridge: string;
  manage: true;
}

export interface Plan {
  domain: string;
  run: RunState | null; // null: no status file, taken as running
  ports: PortPlan[];
}

// Domain + host facts + config → the plan. Pure: reads nothing.
export function planDomain(domain: Domain, facts: HostFacts, config: Config): Plan {
  const ports = domain.nics.map((nic): PortPlan => {
    const resolved = resolveNic(nic, facts);
    const { manage, reason } = decide(resolved, config);
    const { mac, tap, bridge, network, type, tapManaged } = resolved;
    return { mac, tap, bridge, network, type, tapManaged, manage, reason };
  });
  return { domain: domain.name, run: domain.run ?? facts.run, ports };
}

export function managedPorts(plan: Plan): ManagedPort[] {
  return plan.ports.filter((port): port is ManagedPort => port.manage);
}
