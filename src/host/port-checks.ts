import type { HostFs } from '../runtime/fs.js';
import { bridgeDir, masterLink, netDevice } from '../model/paths.js';

// The tap's master bridge, from /sys/class/net/TAP/master, or null when it has none.
export function masterOf(host: HostFs, tap: string): string | null {
  const link = host.readLink(masterLink(tap));
  return link === null ? null : link.slice(link.lastIndexOf('/') + 1);
}

// Why BR/TAP cannot be managed right now (checked before anything is written), or null.
export function portProblem(host: HostFs, bridge: string, tap: string): string | null {
  if (!host.exists(netDevice(tap))) return `tap ${tap} does not exist`;
  if (!host.exists(bridgeDir(bridge))) {
    return host.exists(netDevice(bridge)) ? `${bridge} is not a Linux bridge` : `bridge ${bridge} does not exist`;
  }
  const master = masterOf(host, tap);
  if (master === null) return `tap ${tap} is not attached to any bridge`;
  if (master !== bridge) return `tap ${tap} is a port of ${master}, not of ${bridge}`;
  return null;
}
