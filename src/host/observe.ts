import type { BridgeRunner } from '../runtime/runtime.js';
import { entryOf, readPortViews, staleMacs, type EntryState, type ViewAsk } from './fdb.js';
import type { HostFs } from './fs.js';
import { masterOf } from './port-checks.js';
import { netDevice } from './paths.js';
import type { PortRef } from './port.js';
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
  failure: string | null; // the entries could not be read
}

// Read the state of every port, by port: sysfs for the tap and its flags, one `bridge` process for the entries (and
// the locks, where asked) of the ports that are on their bridge, each read per port.
export async function observePorts(host: HostFs, bridge: BridgeRunner, asks: ViewAsk[]): Promise<Map<PortRef, PortState>> {
  const masters = new Map(asks.map(({ port }) => [port, host.exists(netDevice(port.tap)) ? masterOf(host, port.tap) : undefined]));
  const read = await readPortViews(bridge, asks.filter(({ port }) => masters.get(port) === port.bridge));
  return new Map(
    asks.map(({ port }): [PortRef, PortState] => {
      const master = masters.get(port);
      if (master !== port.bridge) {
        return [port, { tapExists: master !== undefined, master: master ?? null, learning: null, flood: null, locked: null, entry: null, extraEntries: [], stale: [], strays: [], failure: null }];
      }
      const view = read.failure === null ? (read.views.get(port) ?? { failure: 'no answer' }) : read;
      const entries = view.failure === null ? view.entries : [];
      return [
        port,
        {
          tapExists: true,
          master,
          learning: readPortFlag(host, port.bridge, port.tap, 'learning'),
          flood: readPortFlag(host, port.bridge, port.tap, 'unicast_flood'),
          locked: view.failure === null ? view.locked : null,
          entry: entryOf(entries, port.mac),
          extraEntries: port.extraMacs.map((mac) => ({ mac, entry: entryOf(entries, mac) })),
          stale: staleMacs(entries, port),
          strays: [],
          failure: view.failure === null ? null : `cannot read the entry: ${view.failure}`,
        },
      ];
    }),
  );
}
