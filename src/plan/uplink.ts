import type { BridgeMode } from '../model/bridge-mode.js';

// What the kernel needs to take a bridge's uplink out of promiscuous mode (br_manage_promisc): VLAN filtering on,
// the bridge itself not promiscuous, at most one "auto" port (learning or unicast flooding on); then it puts the
// static entries in that port's unicast filter, if its driver has one (IFF_UNICAST_FLT). That last is not shown
// anywhere: it is read from the outcome, an auto port still promiscuous when the rest allows it out.

// Why the uplink stays promiscuous, and the administrator's one-line fix (doctor).
export interface UplinkReason {
  says: string;
  fix: string;
}

// What status, the metrics and doctor say about a bridge.
export interface UplinkVerdict {
  bridge: string;
  vlanFiltering: boolean;
  autoPorts: string[];
  uplinkFiltered: boolean; // no port is promiscuous for the bridge's sake: every port's frames go by the FDB
  why: UplinkReason[]; // [] when filtered
}

export function uplinkVerdict({ bridge, vlanFiltering, promiscuous, ports }: BridgeMode): UplinkVerdict {
  const auto = ports.filter((port) => port.auto);
  const autoPorts = auto.map((port) => port.name).sort();
  const why: UplinkReason[] = [];
  if (vlanFiltering === null) why.push({ says: 'this kernel has no bridge VLAN filtering', fix: 'a kernel built with CONFIG_BRIDGE_VLAN_FILTERING (Debian\'s and Ubuntu\'s are)' });
  if (vlanFiltering === false) {
    // mactable never turns it on: tagged frames then go by each port's VLANs, the administrator's choice.
    why.push({ says: 'VLAN filtering is off', fix: `give the ports their VLANs, then ip link set ${bridge} type bridge vlan_filtering 1` });
  }
  if (promiscuous) why.push({ says: `${bridge} is promiscuous itself`, fix: `ip link set ${bridge} promisc off, or stop the capture on ${bridge}` });
  if (auto.length > 1) {
    why.push({ says: `more than one auto port: ${autoPorts.join(', ')}`, fix: `bridge link set dev PORT learning off flood off for each of ${autoPorts.join(', ')} but the uplink, or let mactable manage it` });
  }
  if (why.length === 0) {
    for (const port of auto.filter((item) => item.promiscuous)) {
      why.push({
        says: `${port.name} has no unicast filtering${port.driver === null ? '' : ` (${port.driver})`}`,
        fix: `an uplink whose driver filters unicast (most physical NICs, virtio-net, a macvlan), not a veth or tap, in place of ${port.name}`,
      });
    }
  }
  return { bridge, vlanFiltering: vlanFiltering === true, autoPorts, uplinkFiltered: why.length === 0, why };
}
