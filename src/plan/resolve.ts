import type { Result } from '../model/result.js';
import type { Nic } from '../model/domain.js';
import { ifnameProblem, macProblem, networkNameProblem, portIdProblem, quote } from '../domain/names.js';
import { portKey, type HostFacts, type NetworkDef, type PortPlug } from '../model/facts.js';

// A NIC with its actual bridge and tap worked out, or the reason it is not a Linux bridge port we can manage.
export interface ResolvedNic {
  type: string | null;
  mac: string | null;
  tap: string | null;
  bridge: string | null;
  network: string | null;
  tapManaged: boolean;
  macTableManager: string | null; // the network's, when one is known
  problem: string | null;
}

// Plain words for the NIC types that never sit on a Linux bridge.
const TYPE_NOTES: Record<string, string> = {
  direct: ' (macvtap)',
  hostdev: ' (PCI passthrough)',
  vhostuser: ' (vhost-user socket)',
  vdpa: ' (vDPA device)',
};

// Network forward modes that give guests macvtap or passthrough devices instead of bridge ports.
const NON_BRIDGE_FORWARD = new Set(['private', 'vepa', 'passthrough', 'hostdev']);
const BRIDGE_PLUGS = new Set(['network', 'bridge']);

// `gone`: the guest has left (libvirt's XML at `release` names no taps any more): a bridge or network NIC is resolved
// without one, for the entries its MAC may have left behind on its bridge.
export function resolveNic(nic: Nic, facts: HostFacts, { gone = false } = {}): ResolvedNic {
  const type = nic.actual?.type ?? nic.type;
  const base: ResolvedNic = {
    type,
    mac: nic.mac === null || macProblem(nic.mac) ? nic.mac : nic.mac.toLowerCase(),
    tap: nic.tap,
    bridge: nic.actual?.bridge ?? nic.source.bridge,
    network: nic.source.network,
    tapManaged: nic.tapManaged,
    macTableManager: null,
    problem: null,
  };
  const fail = (problem: string): ResolvedNic => ({ ...base, problem });

  if (type === null) return fail('the interface has no type');
  if (type !== 'bridge' && type !== 'network' && type !== 'ethernet') {
    return fail(`type ${quote(type)}${TYPE_NOTES[type] ?? ''} is not a bridge port`);
  }
  if (nic.virtualport !== null) return fail(virtualportProblem(nic.virtualport));

  let resolved = base;
  if (base.network !== null) {
    const fromNetwork = networkView(base.network, nic.source.portid, facts);
    if (fromNetwork.failure !== null) return fail(fromNetwork.failure);
    resolved = { ...base, bridge: base.bridge ?? fromNetwork.bridge, macTableManager: fromNetwork.macTableManager };
  }

  if (nic.mac === null) return { ...resolved, problem: 'no MAC address' };
  const badMac = macProblem(nic.mac);
  if (badMac) return { ...resolved, problem: `MAC ${quote(nic.mac)} ${badMac}` };

  if (nic.tap === null && !(gone && type !== 'ethernet')) return { ...resolved, problem: 'no tap named in the XML (<target dev>): the guest is not running' };
  const badTap = nic.tap === null ? null : ifnameProblem(nic.tap);
  if (badTap) return { ...resolved, problem: `tap name ${quote(nic.tap as string)} ${badTap}` };

  if (type === 'ethernet' && nic.tap !== null) {
    const master = facts.taps.get(nic.tap);
    if (!master?.master) return { ...resolved, problem: `tap ${nic.tap} is not attached to a bridge` };
    resolved = { ...resolved, bridge: master.master };
    if (!master.isLinuxBridge) {
      return { ...resolved, problem: `tap ${nic.tap}'s master ${quote(master.master)} is not a Linux bridge` };
    }
  }

  if (resolved.bridge === null) {
    const why = resolved.network === null ? 'no bridge named in the XML' : `no bridge known for network ${quote(resolved.network)}`;
    return { ...resolved, problem: why };
  }
  const badBridge = ifnameProblem(resolved.bridge);
  if (badBridge) return { ...resolved, problem: `bridge name ${quote(resolved.bridge)} ${badBridge}` };
  return resolved;
}

function virtualportProblem(virtualport: string): string {
  return virtualport === 'openvswitch'
    ? "Open vSwitch port (virtualport type 'openvswitch'), not a Linux bridge"
    : `virtualport type ${quote(virtualport)} is not a Linux bridge port`;
}

// What libvirt's files say of a network NIC's port.
interface NetworkView {
  bridge: string | null;
  macTableManager: string | null;
}

// The bridge and macTableManager libvirt's own files give a network NIC, in libvirt's order:
// the port file, else the network's status while it runs, else its config; a failure says why the NIC is no bridge port.
function networkView(
  network: string,
  portid: string | null,
  facts: HostFacts,
): Result<NetworkView> {
  const badName = networkNameProblem(network);
  if (badName) return { failure: `network name ${quote(network)} ${badName}` };
  if (portid !== null) {
    const badId = portIdProblem(portid);
    if (badId) return { failure: `port id ${quote(portid)} ${badId}` };
  }
  const port = portid === null ? undefined : facts.ports.get(portKey(network, portid));
  if (port && port.state !== 'absent') return port.state === 'bad' ? unusable(port) : fromPlug(network, port.value);
  const files = facts.networks.get(network);
  for (const def of [files?.status, files?.config]) {
    if (def && def.state !== 'absent') return def.state === 'bad' ? unusable(def) : fromDef(network, def.value);
  }
  return { failure: null, bridge: null, macTableManager: null };
}

function unusable(fact: { path: string; problem: string }): Result<NetworkView> {
  return { failure: `${fact.path}: ${fact.problem}` };
}

function fromPlug(network: string, value: PortPlug): Result<NetworkView> {
  if (value.plugType !== null && !BRIDGE_PLUGS.has(value.plugType)) {
    return { failure: `network ${quote(network)} plugs this NIC as ${quote(value.plugType)}, not into a bridge` };
  }
  return { failure: null, bridge: value.bridge, macTableManager: value.macTableManager ?? 'kernel' };
}

function fromDef(network: string, value: NetworkDef): Result<NetworkView> {
  if (value.forwardMode !== null && NON_BRIDGE_FORWARD.has(value.forwardMode)) {
    return { failure: `network ${quote(network)} has forward mode ${quote(value.forwardMode)}, not a bridge` };
  }
  if (value.virtualport !== null) return { failure: virtualportProblem(value.virtualport) };
  return { failure: null, bridge: value.bridge, macTableManager: value.macTableManager ?? 'kernel' };
}
