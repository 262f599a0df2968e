import { HostError } from '../errors.js';
import type { BridgeRunner } from '../runtime.js';
import { entryFlags, findEntry, isLocked, readBridges } from './fdb.js';
import type { HostFs } from './fs.js';
import { masterOf } from './port-checks.js';
import { bridgeDir, netDevice } from './paths.js';
import { readPortFlag } from './sysfs.js';

// What the kernel says about one guest port right now.
export interface PortState {
  tapExists: boolean;
  master: string | null;
  learning: boolean | null; // null: not a port of its bridge, or the kernel has no such control
  flood: boolean | null;
  locked: boolean | null; // null: the kernel does not report it
  entry: { state: string; flags: string[] } | null; // the guest MAC's entry on the tap, if any
}

export interface PortRef {
  mac: string;
  tap: string;
  bridge: string;
}

// Read the state of every port: sysfs for the tap and its flags, one `bridge` process for the FDBs and
// port details. Throws only when the FDBs cannot be read at all.
export async function observePorts(host: HostFs, bridge: BridgeRunner, ports: PortRef[]): Promise<PortState[]> {
  const bridges = [...new Set(ports.map((port) => port.bridge))].filter((name) => host.exists(bridgeDir(name)));
  const views = bridges.length === 0 ? new Map() : await readBridges(bridge, bridges);
  if (typeof views === 'string') throw new HostError(views);
  return ports.map((port) => {
    const tapExists = host.exists(netDevice(port.tap));
    const master = tapExists ? masterOf(host, port.tap) : null;
    const onBridge = master === port.bridge;
    const view = views.get(port.bridge);
    const entry = findEntry(view?.fdb, port);
    return {
      tapExists,
      master,
      learning: onBridge ? readPortFlag(host, port.bridge, port.tap, 'learning') : null,
      flood: onBridge ? readPortFlag(host, port.bridge, port.tap, 'unicast_flood') : null,
      locked: onBridge ? isLocked(view?.links, port) : null,
      entry: entry ? { state: String(entry.state ?? 'unknown'), flags: entryFlags(entry) } : null,
    };
  });
}
