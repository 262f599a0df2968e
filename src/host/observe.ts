import { HostError } from '../errors.js';
import type { HostFs } from './fs.js';
import { findEntry, readFdbs } from './fdb.js';
import { masterOf } from './port-checks.js';
import { bridgeDir, netDevice } from './paths.js';
import { readPortFlag } from './sysfs.js';
import type { BridgeRunner } from '../runtime.js';

// What the kernel says about one guest port right now.
export interface PortState {
  tapExists: boolean;
  master: string | null;
  learning: boolean | null; // null: not a port of its bridge, or the kernel has no such control
  flood: boolean | null;
  entry: { state: string; flags: string[] } | null; // the guest MAC's entry on the tap, if any
}

export interface PortRef {
  mac: string;
  tap: string;
  bridge: string;
}

// Read the state of every port: sysfs for the tap and its flags, one `bridge` process for the FDBs.
// Throws only when the FDBs cannot be read at all.
export async function observePorts(host: HostFs, bridge: BridgeRunner, ports: PortRef[]): Promise<PortState[]> {
  const bridges = [...new Set(ports.map((port) => port.bridge))].filter((name) => host.exists(bridgeDir(name)));
  const fdbs = bridges.length === 0 ? new Map<string, unknown>() : await readFdbs(bridge, bridges);
  if (typeof fdbs === 'string') throw new HostError(fdbs);
  return ports.map((port) => {
    const tapExists = host.exists(netDevice(port.tap));
    const master = tapExists ? masterOf(host, port.tap) : null;
    const onBridge = master === port.bridge;
    const entry = findEntry(fdbs.get(port.bridge), port);
    return {
      tapExists,
      master,
      learning: onBridge ? readPortFlag(host, port.bridge, port.tap, 'learning') : null,
      flood: onBridge ? readPortFlag(host, port.bridge, port.tap, 'unicast_flood') : null,
      entry: entry ? { state: String(entry.state ?? 'unknown'), flags: Array.isArray(entry.flags) ? entry.flags.map(String) : [] } : null,
    };
  });
}
