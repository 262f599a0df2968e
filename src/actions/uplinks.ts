import { readBridgeMode } from '../host/bridge-mode.js';
import type { PortStatus } from '../plan/diff.js';
import { uplinkVerdict, type UplinkVerdict } from '../plan/uplink.js';
import type { HostFs } from '../runtime/fs.js';

// The uplink verdict of each bridge a managed port is on, in name order: for status and the metrics.
export function managedBridges(host: HostFs, statuses: PortStatus[]): UplinkVerdict[] {
  const names = new Set(statuses.filter(({ verdict }) => verdict !== 'unmanaged').flatMap(({ port }) => (port.bridge === null ? [] : [port.bridge])));
  return [...names]
    .sort()
    .flatMap((name) => {
      const mode = readBridgeMode(host, name);
      return mode === null ? [] : [uplinkVerdict(mode)];
    });
}
