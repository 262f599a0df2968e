import type { BridgeRunner } from '../runtime/runtime.js';
import { entryOf, readPortViews, staleMacs, type ViewAsk } from './fdb.js';
import type { HostFs } from '../runtime/fs.js';
import { masterOf } from './port-checks.js';
import { netDevice } from '../model/paths.js';
import type { PortRef } from '../model/port.js';
import { readPortFlag } from './sysfs.js';
import type { PortState } from '../model/state.js';

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
