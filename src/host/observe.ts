import type { PortRef } from './port.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { entryOf, readPortViews, staleMacs, type EntryState } from './fdb.js';
import type { HostFs } from './fs.js';
import { masterOf } from './port-checks.js';
import { netDevice } from './paths.js';
import type { Placed } from './strays.js';
import { readPortFlag } from './sysfs.js';

// What the kernel says about one guest port right now.
export interface PortState {
  tapExists: boolean;
  master: string | null;
  learning: boolean | null; // null: not a port of its bridge, or the kernel has no such control
  flood: boolean | null;
  locked: boolean | null; // null: the kernel does not report it
  entry: EntryState | null; // the guest MAC's entry on the tap, if any
  extraEntries: { mac: string; entry: EntryState | null }[]; // each extra MAC's, in the plan's order
  stale: string[]; // static entries for MACs that are neither (see staleMacs): drift, deleted by repair
  strays: Placed[]; // static entries for its MACs on other ports of its bridge while the guest is paused (see straysAmong)
  problem: string | null; // the entry could not be read
}

// Read the state of every port: sysfs for the tap and its flags, one `bridge` process for the entries (and the
// locks, where `links` asks) of the ports that are on their bridge, each read per port.
export async function observePorts(host: HostFs, bridge: BridgeRunner, ports: PortRef[], links: boolean[]): Promise<PortState[]> {
  const masters = ports.map((port) => (host.exists(netDevice(port.tap)) ? masterOf(host, port.tap) : undefined));
  const onBridge = ports.flatMap((port, i) => (masters[i] === port.bridge ? [i] : []));
  const views = await readPortViews(bridge, onBridge.map((i) => ports[i] as PortRef), onBridge.map((i) => links[i] as boolean));
  let next = 0;
  return ports.map((port, i): PortState => {
    const master = masters[i];
    if (master !== port.bridge) {
      return { tapExists: master !== undefined, master: master ?? null, learning: null, flood: null, locked: null, entry: null, extraEntries: [], stale: [], strays: [], problem: null };
    }
    const view = typeof views === 'string' ? views : (views[next++] as (typeof views)[number]);
    const entries = typeof view === 'string' ? [] : view.entries;
    return {
      tapExists: true,
      master,
      learning: readPortFlag(host, port.bridge, port.tap, 'learning'),
      flood: readPortFlag(host, port.bridge, port.tap, 'unicast_flood'),
      locked: typeof view === 'string' ? null : view.locked,
      entry: entryOf(entries, port.mac),
      extraEntries: port.extraMacs.map((mac) => ({ mac, entry: entryOf(entries, mac) })),
      stale: staleMacs(entries, port),
      strays: [],
      problem: typeof view === 'string' ? `cannot read the entry: ${view}` : null,
    };
  });
}
