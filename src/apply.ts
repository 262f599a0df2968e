import { describe } from './errors.js';
import { ensureFdbEntries, ensureNoFdbEntries, type EntryOptions, type FdbOutcome, type FdbTarget } from './host/fdb.js';
import type { HostFs } from './host/fs.js';
import { masterOf, portProblem } from './host/port-checks.js';
import { netDevice } from './host/paths.js';
import { ensurePortFlag, FLAG_WORDS, type PortFlag } from './host/sysfs.js';
import type { ManagedPort } from './plan/plan.js';
import type { BridgeRunner } from './runtime.js';

// What happened to one managed port: the changes made (in words), and the step that failed, if one did.
export interface PortOutcome {
  port: ManagedPort;
  changes: string[];
  failure: string | null;
  note: string | null; // why nothing was done, when that is fine (a tap already gone)
}

const FLAGS: PortFlag[] = ['learning', 'unicast_flood'];

// Run the synchronous steps of one port; any error ends that port only and is recorded with it.
function step(outcome: PortOutcome, action: () => void): boolean {
  try {
    action();
    return outcome.failure === null;
  } catch (error) {
    outcome.failure = describe(error);
    return false;
  }
}

function setFlags(host: HostFs, outcome: PortOutcome, on: boolean): void {
  const { bridge, tap } = outcome.port;
  for (const flag of FLAGS) {
    if (ensurePortFlag(host, bridge, tap, flag, on)) outcome.changes.push(`${FLAG_WORDS[flag]} ${on ? 'on' : 'off'}`);
  }
}

function record(outcomes: PortOutcome[], results: FdbOutcome[]): void {
  outcomes.forEach((outcome, i) => {
    const result = results[i] as FdbOutcome;
    if ('error' in result) outcome.failure = result.error;
    else outcome.changes.push(...result.changes);
  });
}

const target = ({ port }: PortOutcome): FdbTarget => ({ mac: port.mac, tap: port.tap, bridge: port.bridge });
const untouched = (port: ManagedPort): PortOutcome => ({ port, changes: [], failure: null, note: null });

// Apply every managed port: checks, learning and unicast flooding off through sysfs, then all
// static FDB entries (and port locks) through a single `bridge` process. Never throws past a port.
export async function applyPorts(host: HostFs, bridge: BridgeRunner, ports: ManagedPort[], options: EntryOptions): Promise<PortOutcome[]> {
  const outcomes = ports.map(untouched);
  const ready = outcomes.filter((outcome) =>
    step(outcome, () => {
      outcome.failure = portProblem(host, outcome.port.bridge, outcome.port.tap);
      if (outcome.failure === null) setFlags(host, outcome, false);
    }),
  );
  if (ready.length > 0) record(ready, await ensureFdbEntries(bridge, ready.map(target), options));
  return outcomes;
}

// Undo for taps that outlive the guest: learning and unicast flooding back on, the entry deleted, the port unlocked.
// A tap already gone, or moved to another bridge, is left as it is.
export async function undoPorts(host: HostFs, bridge: BridgeRunner, ports: ManagedPort[]): Promise<PortOutcome[]> {
  const outcomes = ports.map(untouched);
  const ready = outcomes.filter((outcome) =>
    step(outcome, () => {
      const { tap, bridge: br } = outcome.port;
      if (!host.exists(netDevice(tap))) outcome.note = 'tap already gone, nothing to undo';
      else if (masterOf(host, tap) !== br) outcome.note = `tap is no longer a port of ${br}, left as it is`;
      else setFlags(host, outcome, true);
    }) && outcome.note === null,
  );
  if (ready.length > 0) record(ready, await ensureNoFdbEntries(bridge, ready.map(target)));
  return outcomes;
}
