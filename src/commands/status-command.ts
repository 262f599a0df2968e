import { configOrThrow } from '../config/config.js';
import { portStatuses } from '../actions/reconcile.js';
import { managedBridges } from '../actions/uplinks.js';
import type { UplinkVerdict } from '../plan/uplink.js';
import { renderMetrics } from '../report/metrics.js';
import { warnings } from '../report/report.js';
import { guestsInScope } from '../plan/plan-host.js';
import { gatherHost } from '../host/gather.js';
import type { Runtime } from '../runtime/runtime.js';
import { settingsFrom } from '../config/settings.js';
import { withTimeBound } from '../runtime/time-bound.js';
import { paintRows } from '../report/paint.js';
import { renderTable, withoutEmpty } from '../report/table.js';
import type { ObservedEntry } from '../model/state.js';
import { keyVlansOf, sameKey, type Vlan } from '../model/port.js';
import { unlistedMacs, type PortStatus } from '../plan/diff.js';

interface StatusArgs {
  names: string[];
  root?: string | undefined;
  config?: string | undefined;
  format: 'text' | 'json' | 'prometheus';
}

// `mactable status`: exit 0 when nothing drifts, 1 when something does (or a guest's status file cannot be used).
export async function statusCommand(rt: Runtime, args: StatusArgs): Promise<number> {
  const settings = settingsFrom(rt, args);
  const config = configOrThrow(settings.config());
  const { plans, problems, unreadable, everyone } = guestsInScope(gatherHost(settings.host), config, args.names);
  const statuses = await portStatuses(settings.host, withTimeBound(rt, config.timeout).bridge, plans, config, everyone);
  const drifting = statuses.some((status) => status.verdict === 'drift') || unreadable;
  const bridges = managedBridges(settings.host, statuses);
  rt.stderr(warnings(problems));
  if (args.format === 'prometheus') rt.stdout(renderMetrics(statuses, bridges, null));
  else if (args.format === 'json') rt.stdout(`${JSON.stringify(statusJson(statuses, bridges, drifting, problems))}\n`);
  else rt.stdout(`${[statusText(statuses, await rt.stdoutIsTTY()), ...(bridges.length > 0 ? ['', ...bridges.map(bridgeLine)] : [])].join('\n')}\n`);
  return drifting ? 1 : 0;
}

// The documented JSON (docs/watcher.md): {"drift": bool, "problems", "ports": [{guest, mac, extraMacs, tap, bridge, network, type, manage, reason, verdict, drift, note, state}],
// "bridges": [{bridge, vlanFiltering, autoPorts, uplinkFiltered, why}]}.
function statusJson(statuses: PortStatus[], bridges: UplinkVerdict[], drifting: boolean, problems: string[]) {
  return {
    drift: drifting,
    problems,
    bridges: bridges.map(({ why, ...bridge }) => ({ ...bridge, why: why.map(({ says }) => says) })),
    ports: statuses.map((status) => {
      const { guest, port, state, verdict, drift, note } = status;
      const { mac, extraMacs, tap, bridge, network, type, manage, reason } = port;
      return { guest, mac, extraMacs, tap, bridge, network, type, manage, reason, verdict, drift, note, state: state && stateJson(status) };
    }),
  };
}

// A port's state as documented: its guest MAC's entry, each extra MAC's, the unlisted MACs, the moved entries that
// would be deleted, and its `failure` as "problem".
function stateJson({ port, state, operations }: PortStatus) {
  if (state === null) return null;
  const { tapExists, master, learning, flood, locked, failure } = state;
  const entryOf = (mac: string, vlan: Vlan = null) => entryJson((state.entries ?? []).find((entry) => sameKey(entry, { mac, vlan })));
  const ref = { mac: port.mac ?? '', extraMacs: port.extraMacs, tap: port.tap ?? '', bridge: port.bridge ?? '' };
  const strays = operations.flatMap((op) => (op.op === 'delete-moved' ? [{ bridge: op.entry.bridge, mac: op.entry.mac, vlan: op.entry.vlan, port: op.entry.port }] : []));
  return {
    tapExists, master, learning, flood, locked,
    entry: entryOf(ref.mac),
    extraEntries: port.extraMacs.map((mac) => ({ mac, entry: entryOf(mac) })),
    // On a bridge that filters VLANs: the port's VLANs, and each MAC's entry in each of them.
    vlans: state.vlans,
    vlanEntries: keyVlansOf(ref, state).filter(({ vlan }) => vlan !== null).map(({ mac, vlan }) => ({ mac, vlan, entry: entryOf(mac, vlan) })),
    stale: unlistedMacs(ref, state),
    strays,
    problem: failure,
  };
}

const entryJson = (entry: ObservedEntry | undefined) => (entry === undefined ? null : { state: entry.state, flags: entry.flags });

const onOff = (value: boolean | null | undefined) => (value === true ? 'on' : value === false ? 'off' : null);

// "static,sticky" for an entry, "none" for a missing one.
const entryWords = (entry: { state: string; flags: string[] } | null) => (entry ? [entry.state, ...entry.flags].join(',') : 'none');

// The table's footer line for a managed bridge: its mode, and whether the kernel keeps its uplink out of promiscuous mode.
function bridgeLine({ bridge, vlanFiltering, autoPorts, uplinkFiltered, why }: UplinkVerdict): string {
  const uplink = uplinkFiltered ? 'the uplink out of promiscuous mode' : `the uplink promiscuous: ${why.map(({ says }) => says).join('; ')}`;
  return `${bridge}: VLAN filtering ${vlanFiltering ? 'on' : 'off'}, auto ports: ${autoPorts.join(' ') || 'none'}, ${uplink}`;
}

const VERDICT_COLOURS = { ok: 'green', drift: 'red', unmanaged: 'dim' } as const;

function statusText(statuses: PortStatus[], colour: boolean): string {
  if (statuses.length === 0) return 'no running guest has a NIC';
  const rows = statuses.map(({ guest, port, state, verdict, drift, note }) => [
    guest,
    port.tap,
    port.mac,
    port.bridge,
    onOff(state?.learning),
    onOff(state?.flood),
    state && port.mac !== null ? entryWords(entryJson((state.entries ?? []).find((entry) => entry.mac === port.mac))) : null,
    (state && port.extraMacs.map((mac) => `${mac}=${entryWords(entryJson((state.entries ?? []).find((entry) => entry.mac === mac)))}`).join(' ')) || null,
    [verdict === 'drift' ? `drift: ${drift.join(', ')}` : verdict, note].filter((part) => part !== null).join('; '),
    port.reason,
  ]);
  const table = renderTable(...withoutEmpty('EXTRA', ['GUEST', 'TAP', 'MAC', 'BRIDGE', 'LEARNING', 'FLOOD', 'ENTRY', 'EXTRA', 'VERDICT', 'WHY'], rows));
  return paintRows(table, statuses.map(({ verdict }) => VERDICT_COLOURS[verdict]), colour);
}
