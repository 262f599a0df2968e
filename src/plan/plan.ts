import type { Config } from '../config.js';
import { printable } from '../names.js';
import type { Domain, RunState } from '../domain/types.js';
import type { HostFacts } from './facts.js';
import { decide } from './policy.js';
import { resolveNic } from './resolve.js';

// A guest port as the kernel knows it: the guest's MAC and the extra MACs on TAP, whose master is BRIDGE (validated).
export interface PortRef {
  mac: string;
  extraMacs: string[];
  tap: string;
  bridge: string;
}

// Every MAC a port has a static entry for: the guest's own first, then the extras.
export const macsOf = (port: PortRef): string[] => [port.mac, ...port.extraMacs];

// One entry per <interface>, in document order; `manage` entries have mac, tap and bridge set and valid.
export interface PortPlan {
  mac: string | null;
  extraMacs: string[]; // from the guest's metadata; only on managed ports
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
  problems: string[]; // each names the guest; the plan stands without what they are about
}

// Domain + host facts + config → the plan. Pure: reads nothing.
export function planDomain(domain: Domain, facts: HostFacts, config: Config): Plan {
  const { choices } = domain;
  const ports = domain.nics.map((nic): PortPlan => {
    const resolved = resolveNic(nic, facts);
    const choice = resolved.mac === null ? undefined : choices.nics.get(resolved.mac);
    const { manage, reason } = decide(resolved, config, { nic: choice?.manage ?? null, guest: choices.manage });
    const { mac, tap, bridge, network, type, tapManaged } = resolved;
    return { mac, extraMacs: manage ? (choice?.extraMacs ?? []) : [], tap, bridge, network, type, tapManaged, manage, reason };
  });
  const guest = printable(domain.name);
  const problems = [...choices.problems, ...refuseShared(ports)].map((problem) => `${guest}: ${problem}`);
  return { domain: domain.name, run: domain.run ?? facts.run, ports, problems };
}

// An extra MAC that two managed ports of one bridge want (as an extra or as their own) is taken off every port
// that has it as an extra: a static entry sits on one port, and the last one written would silently win.
function refuseShared(ports: PortPlan[]): string[] {
  const wanting = new Map<string, string[]>(); // `${bridge} ${mac}` → taps
  for (const port of ports) {
    if (!port.manage) continue;
    for (const mac of macsOf(port as ManagedPort)) {
      const key = `${port.bridge} ${mac}`;
      wanting.set(key, [...(wanting.get(key) ?? []), port.tap as string]);
    }
  }
  const problems = new Set<string>();
  for (const port of ports) {
    const shared = port.extraMacs.filter((mac) => (wanting.get(`${port.bridge} ${mac}`) ?? []).length > 1);
    for (const mac of shared) {
      const taps = wanting.get(`${port.bridge} ${mac}`) as string[];
      problems.add(`extra MAC ${mac} refused on bridge ${port.bridge}: ports ${taps.join(', ')} all want it, and a MAC can have a static entry on one port only`);
    }
    port.extraMacs = port.extraMacs.filter((mac) => !shared.includes(mac));
  }
  return [...problems];
}

// The same rule across guests, for the commands that see every running guest (status, repair, the watcher's
// resync): an extra MAC another guest's port on that bridge also wants is taken off, and both guests are told.
export function refuseSharedAcrossGuests(plans: Plan[]): void {
  const wanting = new Map<string, { plan: Plan; tap: string }[]>(); // `${bridge} ${mac}` → who wants it
  for (const plan of plans) {
    for (const port of managedPorts(plan)) {
      for (const mac of macsOf(port)) wanting.set(`${port.bridge} ${mac}`, [...(wanting.get(`${port.bridge} ${mac}`) ?? []), { plan, tap: port.tap }]);
    }
  }
  for (const [key, wanters] of wanting) {
    const owners = new Set(wanters.map(({ plan }) => plan));
    if (owners.size < 2) continue;
    const [bridge, mac] = key.split(' ') as [string, string];
    const who = wanters.map(({ plan, tap }) => `${printable(plan.domain)}/${tap}`).join(', ');
    for (const plan of owners) {
      for (const port of plan.ports) if (port.bridge === bridge) port.extraMacs = port.extraMacs.filter((extra) => extra !== mac);
      plan.problems.push(`${printable(plan.domain)}: extra MAC ${mac} refused on bridge ${bridge}: ports ${who} all want it, and a MAC can have a static entry on one port only`);
    }
  }
}

export function managedPorts(plan: Plan): ManagedPort[] {
  return plan.ports.filter((port): port is ManagedPort => port.manage);
}
