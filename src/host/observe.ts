import { keyVlansOf, type PortRef } from '../model/port.js';
import type { BridgeKind, PortState } from '../model/state.js';
import { HostError } from '../runtime/errors.js';
import { osErrorText, type HostFs } from '../runtime/fs.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { answerOf, runBatch, type BatchCommand } from './batch.js';
import { readBack, showEntries, showLink } from './fdb.js';
import { getEntry, lookupFailure, movedIn, type Lookup } from './moved-entries.js';
import { bridgeDir, masterLink, netDevice } from '../model/paths.js';
import { masterOf } from './master.js';
import { readPortFlag } from './sysfs.js';
import { portKeyVlans, readPortVlans } from './vlans.js';

// A port to observe: whether its lock matters (then its link is read too), whether to look for its MACs' static
// entries on other ports of its bridge (a paused guest's: moved there by learning), and whether to read its entries
// at all (false: the hook, which reads them in its one batch, before its writes).
interface ObserveAsk {
  port: PortRef;
  withLock: boolean;
  moved: boolean;
  entries?: boolean;
}

const kindOf = (host: HostFs, bridge: string): BridgeKind => (host.exists(bridgeDir(bridge)) ? 'linux' : host.exists(netDevice(bridge)) ? 'other' : 'absent');

// A port that is not where the plan puts it: nothing more to read.
const away = (tapExists: boolean, master: string | null, bridge: BridgeKind, failure: string | null = null): PortState => ({
  tapExists, master, bridge, learning: null, flood: null, locked: null, entries: [], vlans: null, moved: [], failure,
});

// The sysfs side of a port, read once: its tap, its master, its bridge and, on its bridge, its two flags. A read that
// fails ends this port only.
function readSys(host: HostFs, { bridge, tap }: PortRef, kinds: Map<string, BridgeKind>): PortState {
  const tapExists = host.exists(netDevice(tap));
  let master: string | null = null;
  try {
    master = tapExists ? masterOf(host, tap) : null;
    const kind = kinds.get(bridge) ?? kinds.set(bridge, kindOf(host, bridge)).get(bridge) as BridgeKind;
    if (master !== bridge) return away(tapExists, master, kind);
    return { ...away(true, master, kind), learning: readPortFlag(host, bridge, tap, 'learning'), flood: readPortFlag(host, bridge, tap, 'unicast_flood') };
  } catch (error) {
    return away(tapExists, master, 'absent', error instanceof HostError ? error.message : `cannot read ${masterLink(tap)} of ${tap} on ${bridge}: ${osErrorText(error)}`);
  }
}

// The commands that observe one port in the round's batch: its entries, and its link when the lock matters.
function observeCommands({ port, withLock }: ObserveAsk): Record<string, BatchCommand> {
  return withLock ? { entries: showEntries(port), link: showLink(port) } : { entries: showEntries(port) };
}

// Read the state of every port once: sysfs for its tap and flags, and one `bridge` process for the entries, the
// locks and the moved entries of every port that is on its bridge. A port whose read fails has its failure; the
// others go on. By port.
export async function observePorts(host: HostFs, bridge: BridgeRunner, asks: ObserveAsk[]): Promise<Map<PortRef, PortState>> {
  const kinds = new Map<string, BridgeKind>(); // each bridge looked at once
  const states = new Map(asks.map(({ port }) => [port, readSys(host, port, kinds)]));
  for (const { port, entries } of asks) if (entries === false) (states.get(port) as PortState).entries = null;
  const placed = asks.filter(({ port }) => states.get(port)?.master === port.bridge && states.get(port)?.failure === null);
  // The VLANs of ports on VLAN-filtering bridges, which key their entries: one more `bridge` process, only for those.
  const vlans = await readPortVlans(host, bridge, [...new Set(placed.map(({ port }) => port.bridge))]);
  for (const { port } of placed) {
    const state = states.get(port) as PortState;
    if (vlans.failure !== null) state.failure = `${vlans.failure}, for ${port.tap} on ${port.bridge}`;
    else state.vlans = portKeyVlans(vlans.vlans, port.bridge, port.tap);
  }
  const onBridge = placed.filter(({ port, entries }) => entries !== false && states.get(port)?.failure === null);
  if (onBridge.length === 0) return states;
  const lookups = new Map(onBridge.map(({ port, moved }) => [port, moved ? keyVlansOf(port, states.get(port) as PortState).map((key): Lookup => ({ ...key, bridge: port.bridge })) : []]));
  // Every lookup before the first `fdb show ... brport`: iproute2 (6.1) keeps that port as a filter for the
  // `fdb get`s after it in the same batch, which then find nothing elsewhere.
  const batch = await runBatch<PortRef | Lookup>(bridge, [
    ...[...lookups.values()].flat().map((lookup) => ({ key: lookup, commands: { get: getEntry(lookup) } })),
    ...onBridge.map((ask) => ({ key: ask.port, commands: observeCommands(ask) })),
  ]);
  for (const { port } of onBridge) {
    const state = states.get(port) as PortState;
    // A batch that failed as a whole is every port's failed read.
    const answers = batch.failure === null ? batch.answers.get(port) : new Map([['entries', batch]]);
    const read = readBack(answers, port, { entries: 'entries', link: 'link' });
    if (read.failure !== null) {
      state.failure = read.failure;
      continue;
    }
    state.entries = read.entries;
    state.locked = read.locked;
    for (const lookup of lookups.get(port) ?? []) {
      const found = movedIn(answerOf(batch.failure === null ? batch.answers.get(lookup) : undefined, 'get'), lookup);
      if (found.failure !== null) state.failure ??= lookupFailure(lookup, found.failure);
      else if (found.moved !== null && found.moved.port !== port.tap) state.moved.push(found.moved);
    }
  }
  return states;
}
