import type { Config } from '../config/config.js';
import { printable } from '../domain/names.js';
import type { Domain, RunState } from '../model/domain.js';
import type { HostFacts } from '../model/facts.js';
import { macsOf } from '../model/port.js';
import { decide } from './policy.js';
import { resolveNic } from './resolve.js';

// One entry per <interface>, in document order; `manage` entries have mac, tap and bridge set and valid.
export interface PortPlan {
  mac: string | null;
  extraMacs: string[]; // from the guest's metadata; only on managed ports
  tap: string | null;
  bridge: string | null;
  network: string | null;
  type: string | null;
  tapManaged: boolean;
  libvirtTable: boolean; // its network has macTableManager='libvirt': libvirt keeps its flags and entry itself
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
    const { mac, tap, bridge, network, type, tapManaged, macTableManager } = resolved;
    const libvirtTable = network !== null && macTableManager === 'libvirt';
    return { mac, extraMacs: manage ? (choice?.extraMacs ?? []) : [], tap, bridge, network, type, tapManaged, libvirtTable, manage, reason };
  });
  const { shared, problems } = refuseShared([{ guest: domain.name, ports }]);
  return {
    domain: domain.name,
    run: domain.run ?? facts.run,
    ports: withoutShared(ports, shared),
    problems: [...choices.problems.map((problem) => `${printable(domain.name)}: ${problem}`), ...(problems.get(domain.name) ?? [])],
  };
}

// An extra MAC that two managed ports of one bridge want (as an extra or as their own) is taken off every port
// that has it as an extra: a static entry sits on one port, and the last one written would silently win. Every
// guest that wants it gets the problem; the ports are named with their guests when more than one is involved.
// Returns the refused `${bridge} ${mac}` keys and each guest's problems; changes nothing.
function refuseShared(guests: { guest: string; ports: PortPlan[] }[]): { shared: Set<string>; problems: Map<string, string[]> } {
  const wanting = new Map<string, { guest: string; tap: string }[]>(); // `${bridge} ${mac}` → who wants it
  for (const { guest, ports } of guests) {
    for (const port of ports.filter((candidate): candidate is ManagedPort => candidate.manage)) {
      for (const mac of macsOf(port)) {
        const key = `${port.bridge} ${mac}`;
        wanting.set(key, [...(wanting.get(key) ?? []), { guest, tap: port.tap }]);
      }
    }
  }
  const shared = new Set<string>();
  const problems = new Map<string, Set<string>>();
  for (const port of guests.flatMap(({ ports }) => ports)) {
    for (const mac of port.extraMacs) {
      const key = `${port.bridge} ${mac}`;
      const wanters = wanting.get(key) ?? [];
      if (wanters.length < 2) continue;
      shared.add(key);
      const names = new Set(wanters.map(({ guest }) => guest));
      const who = wanters.map(({ guest, tap }) => (names.size > 1 ? `${printable(guest)}/${tap}` : tap)).join(', ');
      const problem = `extra MAC ${mac} refused on bridge ${port.bridge}: ports ${who} all want it, and a MAC can have a static entry on one port only`;
      for (const guest of names) problems.set(guest, (problems.get(guest) ?? new Set()).add(`${printable(guest)}: ${problem}`));
    }
  }
  return { shared, problems: new Map([...problems].map(([guest, set]) => [guest, [...set]])) };
}

const withoutShared = (ports: PortPlan[], shared: Set<string>): PortPlan[] =>
  ports.map((port) => ({ ...port, extraMacs: port.extraMacs.filter((mac) => !shared.has(`${port.bridge} ${mac}`)) }));

// The same rule across guests, for the commands that see every running guest (status, repair, the watcher):
// within one guest planDomain has applied it already. New plans; the given ones are left as they are.
export function refuseSharedAcrossGuests(plans: Plan[]): Plan[] {
  const { shared, problems } = refuseShared(plans.map((plan) => ({ guest: plan.domain, ports: plan.ports })));
  return plans.map((plan) => ({ ...plan, ports: withoutShared(plan.ports, shared), problems: [...plan.problems, ...(problems.get(plan.domain) ?? [])] }));
}

// A port of a guest that has left: its MACs and bridge (its tap, when libvirt's XML still names it).
export interface LeftPort {
  mac: string;
  extraMacs: string[];
  tap: string | null;
  bridge: string;
}

// The ports a guest that left had where mactable managed them, from libvirt's XML at `release` (which names no taps):
// their MACs may have static entries left on other ports of their bridges. Pure, like planDomain.
export function leftPorts(domain: Domain, facts: HostFacts, config: Config): LeftPort[] {
  const { choices } = domain;
  return domain.nics.flatMap((nic): LeftPort[] => {
    const resolved = resolveNic(nic, facts, { gone: true });
    const choice = resolved.mac === null ? undefined : choices.nics.get(resolved.mac);
    const { manage } = decide(resolved, config, { nic: choice?.manage ?? null, guest: choices.manage });
    const { mac, tap, bridge } = resolved;
    return manage && mac !== null && bridge !== null ? [{ mac, extraMacs: choice?.extraMacs ?? [], tap, bridge }] : [];
  });
}

export function managedPorts(plan: Plan): ManagedPort[] {
  return plan.ports.filter((port): port is ManagedPort => port.manage);
}
