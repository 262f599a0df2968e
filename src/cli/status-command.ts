import { configOrThrow, entryOptions } from '../config.js';
import { ifnameProblem, macProblem } from '../names.js';
import { observePorts, type PortRef, type PortState } from '../host/observe.js';
import { driftOf } from '../plan/drift.js';
import type { ManagedPort, PortPlan } from '../plan/plan.js';
import { planRunningGuests } from '../running.js';
import type { Runtime } from '../runtime.js';
import { settingsFrom } from '../settings.js';
import { withTimeBound } from '../time-bound.js';
import { paintRows } from './paint.js';
import { renderTable } from './table.js';

export interface StatusArgs {
  names: string[];
  root?: string | undefined;
  config?: string | undefined;
  json: boolean;
}

export type Verdict = 'ok' | 'drift' | 'unmanaged';

// One NIC of a running guest: its plan entry, the kernel's state (when its tap and bridge are known) and the verdict.
export interface PortStatus {
  guest: string;
  port: PortPlan;
  state: PortState | null;
  verdict: Verdict;
  drift: string[];
}

// A port whose MAC, tap and bridge are all known and valid can be looked at, managed or not.
function portRef({ mac, tap, bridge }: PortPlan): PortRef | null {
  if (mac === null || tap === null || bridge === null) return null;
  if (macProblem(mac) || ifnameProblem(tap) || ifnameProblem(bridge)) return null;
  return { mac, tap, bridge };
}

// Every NIC of the running guests (all, or the named ones) with its verdict; the FDBs are read in one `bridge` process.
export async function portStatuses(rt: Runtime, args: Omit<StatusArgs, 'json'>): Promise<PortStatus[]> {
  const settings = settingsFrom(rt, args);
  const config = configOrThrow(settings.config());
  const plans = planRunningGuests(settings.host, config, args.names);
  const ports = plans.flatMap((plan) => plan.ports.map((port) => ({ guest: plan.domain, port, ref: portRef(port) })));
  const refs = ports.flatMap(({ ref }) => (ref ? [ref] : []));
  // observePorts answers in the order of `refs`: hand the states out in that order again.
  const states = (await observePorts(settings.host, withTimeBound(rt, config.timeout).bridge, refs)).values();
  return ports.map(({ guest, port, ref }) => {
    const state = ref ? (states.next().value as PortState) : null;
    if (!port.manage) return { guest, port, state, verdict: 'unmanaged', drift: [] };
    const drift = driftOf(port as ManagedPort, state as PortState, entryOptions(config));
    return { guest, port, state, verdict: drift.length > 0 ? 'drift' : 'ok', drift };
  });
}

// `mactable status`: exit 0 when nothing drifts, 1 when something does.
export async function statusCommand(rt: Runtime, args: StatusArgs): Promise<number> {
  const statuses = await portStatuses(rt, args);
  const drifting = statuses.some((status) => status.verdict === 'drift');
  rt.stdout(args.json ? `${JSON.stringify(statusJson(statuses, drifting))}\n` : `${statusText(statuses, await rt.stdoutIsTTY())}\n`);
  return drifting ? 1 : 0;
}

// The documented JSON: {"drift": bool, "ports": [{guest, mac, tap, bridge, network, type, manage, reason, verdict, drift, state}]}.
function statusJson(statuses: PortStatus[], drifting: boolean) {
  return {
    drift: drifting,
    ports: statuses.map(({ guest, port, state, verdict, drift }) => {
      const { mac, tap, bridge, network, type, manage, reason } = port;
      return { guest, mac, tap, bridge, network, type, manage, reason, verdict, drift, state };
    }),
  };
}

const onOff = (value: boolean | null | undefined) => (value === true ? 'on' : value === false ? 'off' : null);

const VERDICT_COLOURS = { ok: 'green', drift: 'red', unmanaged: 'dim' } as const;

function statusText(statuses: PortStatus[], colour: boolean): string {
  if (statuses.length === 0) return 'no running guest has a NIC';
  const rows = statuses.map(({ guest, port, state, verdict, drift }) => [
    guest,
    port.tap,
    port.mac,
    port.bridge,
    onOff(state?.learning),
    onOff(state?.flood),
    state ? (state.entry ? [state.entry.state, ...state.entry.flags].join(',') : 'none') : null,
    verdict === 'drift' ? `drift: ${drift.join(', ')}` : verdict,
    port.reason,
  ]);
  const table = renderTable(['GUEST', 'TAP', 'MAC', 'BRIDGE', 'LEARNING', 'FLOOD', 'ENTRY', 'VERDICT', 'WHY'], rows);
  return paintRows(table, statuses.map(({ verdict }) => VERDICT_COLOURS[verdict]), colour);
}
