// What the kernel needs to take a bridge's uplink out of promiscuous mode (br_manage_promisc): VLAN filtering on,
// the bridge itself not promiscuous, at most one "auto" port (learning or unicast flooding on); then it puts the
// static entries in that port's unicast filter, if its driver has one (IFF_UNICAST_FLT). That last is not shown
// anywhere: it is read from the outcome, an auto port still promiscuous when the rest allows it out.

// A managed bridge's ports and mode, as sysfs shows them.
export interface BridgeMode {
  bridge: string;
  vlanFiltering: boolean;
  promiscuous: boolean;
  ports: { name: string; auto: boolean; promiscuous: boolean; driver: string | null }[];
}

// What status and the metrics say about it.
export interface UplinkVerdict {
  bridge: string;
  vlanFiltering: boolean;
  autoPorts: string[];
  uplinkFiltered: boolean; // no port is promiscuous for the bridge's sake: every port's frames go by the FDB
  why: string[]; // why not, each reason a sentence; [] when filtered
}

export function uplinkVerdict({ bridge, vlanFiltering, promiscuous, ports }: BridgeMode): UplinkVerdict {
  const auto = ports.filter((port) => port.auto);
  const autoPorts = auto.map((port) => port.name).sort();
  const why = [
    ...(vlanFiltering ? [] : ['VLAN filtering is off']),
    ...(promiscuous ? [`${bridge} is promiscuous itself`] : []),
    ...(auto.length > 1 ? [`more than one auto port: ${autoPorts.join(', ')}`] : []),
  ];
  if (why.length === 0) {
    for (const port of auto.filter((item) => item.promiscuous)) why.push(`${port.name} has no unicast filtering${port.driver === null ? '' : ` (${port.driver})`}`);
  }
  return { bridge, vlanFiltering, autoPorts, uplinkFiltered: why.length === 0, why };
}
