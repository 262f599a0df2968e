import { bridgeDir, netDevice } from '../model/paths.js';
import type { Vlan } from '../model/port.js';
import type { Result } from '../model/result.js';
import type { HostFs } from '../runtime/fs.js';
import type { BridgeRunner } from '../runtime/runtime.js';

// Whether a bridge filters VLANs (/sys/class/net/BR/bridge/vlan_filtering); without it an entry has no VLAN that
// counts, and a kernel built without it has no such file.
const filtersVlans = (host: HostFs, bridge: string): boolean => host.readText(`${bridgeDir(bridge)}/vlan_filtering`)?.trim() === '1';

// Each port's VLANs as one `bridge -j vlan show` lists them (every port of every bridge: one process, small output),
// by port name, and which of the asked bridges filter VLANs (each read once a round).
export interface PortVlans {
  ports: Map<string, number[]>;
  filtering: Set<string>;
}

// `bridge -j vlan show` output: per port its VLANs, a range as "vlan" and "vlanEnd".
function vlansIn(output: string): Map<string, number[]> {
  const ports = JSON.parse(output || '[]') as { ifname?: unknown; vlans?: { vlan?: unknown; vlanEnd?: unknown }[] }[];
  return new Map(
    ports.flatMap(({ ifname, vlans }) => {
      if (typeof ifname !== 'string' || !Array.isArray(vlans)) return [];
      const ids = vlans.flatMap(({ vlan, vlanEnd }) => {
        if (typeof vlan !== 'number') return [];
        const end = typeof vlanEnd === 'number' ? vlanEnd : vlan;
        return Array.from({ length: end - vlan + 1 }, (_, i) => vlan + i);
      });
      return [[ifname, ids]];
    }),
  );
}

// The VLANs of the ports of `bridges` that filter VLANs, read once; nothing to read (no process) when none does.
export async function readPortVlans(host: HostFs, bridge: BridgeRunner, bridges: string[]): Promise<Result<{ vlans: PortVlans }>> {
  const filtering = new Set(bridges.filter((name) => filtersVlans(host, name)));
  if (filtering.size === 0) return { failure: null, vlans: { ports: new Map(), filtering } };
  const result = await bridge(['-j', 'vlan', 'show'], '');
  if (result.exitCode !== 0) return { failure: `cannot read the ports' VLANs (bridge -j vlan show): ${result.failure ?? (result.stderr.trim() || `exit ${result.exitCode}`)}` };
  try {
    return { failure: null, vlans: { ports: vlansIn(result.stdout), filtering } };
  } catch {
    return { failure: 'cannot read the ports\' VLANs (bridge -j vlan show): its output is not JSON' };
  }
}

// The VLANs a port's entries are keyed by: null (vid 0) and each of its VLANs on a bridge that filters them; null
// alone elsewhere (the value of PortState.vlans: null when VLANs do not count).
export const portKeyVlans = ({ ports, filtering }: PortVlans, bridge: string, tap: string): number[] | null => (filtering.has(bridge) ? (ports.get(tap) ?? []) : null);

// Every VLAN any port of a filtering bridge has, with vid 0: where a guest that left may have entries (its tap is gone).
export function bridgeKeyVlans(host: HostFs, { ports, filtering }: PortVlans, bridge: string): Vlan[] {
  if (!filtering.has(bridge)) return [null];
  const names = [bridge, ...(host.list(`${netDevice(bridge)}/brif`) ?? [])];
  return [null, ...[...new Set(names.flatMap((port) => ports.get(port) ?? []))].sort((a, b) => a - b)];
}
