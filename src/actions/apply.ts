import { describe } from '../runtime/errors.js';
import { ensureEntries, ensureNoEntries, type EntryGoal, type EntryWork, type FdbOutcome } from '../host/fdb.js';
import type { HostFs } from '../runtime/fs.js';
import { masterOf, portProblem } from '../host/port-checks.js';
import { netDevice } from '../model/paths.js';
import { ensureStraysGone } from '../host/moved-entries.js';
import { ensurePortFlag, FLAG_WORDS, type PortFlag } from '../host/sysfs.js';
import type { ManagedPort } from '../plan/plan.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import type { Placed, Desired } from '../model/state.js';
import type { Outcome } from '../model/outcome.js';

// What happened to one managed port.
export interface PortOutcome extends Outcome {
  port: ManagedPort;
}

// A port, the state it should reach, the static entries on it that nobody wants and those for its MACs on other
// ports while its guest is paused: only reconcile knows them, from the state it observed (the hook does not look
// first: its one batch decides every command up front).
interface PortWork {
  port: ManagedPort;
  want: Desired;
  stale?: string[];
  strays?: Placed[];
}

const FLAGS: PortFlag[] = ['learning', 'unicast_flood'];

// What the host is asked to make of a port's entries, from what the plan wants of the port.
export const entryGoal = ({ entry, sticky, lock }: Desired): EntryGoal => ({ present: entry, sticky, lock });

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

function ensureFlags(host: HostFs, outcome: PortOutcome, on: boolean, changes = outcome.changes): void {
  const { bridge, tap } = outcome.port;
  for (const flag of FLAGS) {
    if (ensurePortFlag(host, bridge, tap, flag, on)) changes.push(`${FLAG_WORDS[flag]} ${on ? 'on' : 'off'}`);
  }
}

// Add what a host step did to a port's outcome.
function record(outcome: PortOutcome, result: FdbOutcome | undefined): void {
  outcome.changes.push(...(result?.changes ?? []));
  if (result !== undefined && result.failure !== null) outcome.failure = result.failure;
}

function stillThere(host: HostFs, { bridge, tap }: ManagedPort): boolean {
  try {
    return portProblem(host, bridge, tap) === null;
  } catch {
    return false;
  }
}

const untouched = (port: ManagedPort): PortOutcome => ({ port, changes: [], failure: null, note: null });

// Bring every port to its desired state: checks, then the entries through a single `bridge` process (and the locks
// once their entries are verified, the strays in one more), with learning and unicast flooding set through sysfs on
// the side that keeps the guest reachable: turned on before the entries go, turned off only once the entry is in
// place (else the bridge would know the guest's MAC nowhere in between: a gap at a migration's switch-over).
// Never throws past a port. With `rollback` (the operation must not fail, so the guest keeps running), a port that
// failed part-way is put back as libvirt made it, so unicast still reaches the guest by flooding.
export async function ensurePorts(host: HostFs, bridge: BridgeRunner, work: PortWork[], rollback: boolean): Promise<PortOutcome[]> {
  const outcomes = work.map(({ port }) => untouched(port));
  const ready = outcomes.flatMap((outcome, i) => {
    const { want } = work[i] as PortWork;
    const fine = step(outcome, () => {
      outcome.failure = portProblem(host, outcome.port.bridge, outcome.port.tap);
      if (outcome.failure === null && want.learning) ensureFlags(host, outcome, true);
    });
    return fine ? [{ outcome, work: work[i] as PortWork }] : [];
  });
  if (ready.length > 0) {
    const entries = new Map(ready.map(({ outcome, work: { port, want, stale = [] } }): [PortOutcome, EntryWork] => [outcome, { port, goal: entryGoal(want), stale }]));
    const done = await ensureEntries(bridge, [...entries.values()]);
    for (const [outcome, item] of entries) record(outcome, done.get(item));
    const straying = ready.filter(({ outcome, work: { strays = [] } }) => outcome.failure === null && strays.length > 0);
    const gone = await ensureStraysGone(bridge, straying.flatMap(({ work: { strays = [] } }) => strays));
    for (const { outcome, work: { strays = [] } } of straying) for (const stray of strays) record(outcome, gone.get(stray));
  }
  for (const { outcome, work } of ready) {
    if (!work.want.learning && outcome.failure === null) step(outcome, () => ensureFlags(host, outcome, false));
  }
  if (!rollback) return outcomes;
  // Only a port still on its bridge can be put back; one whose check cannot even be made is left as it is.
  const broken = outcomes.filter((outcome) => outcome.failure !== null && stillThere(host, outcome.port));
  if (broken.length > 0) await ensureAsLibvirtMadeIt(host, bridge, broken);
  return outcomes;
}

// After a failure: learning and flooding on, no entries, unlocked, as libvirt leaves a port; the outcome's note says so.
async function ensureAsLibvirtMadeIt(host: HostFs, bridge: BridgeRunner, outcomes: PortOutcome[]): Promise<void> {
  const undone = new Map(
    outcomes.map((outcome): [PortOutcome, FdbOutcome] => {
      const changes: string[] = [];
      try {
        ensureFlags(host, outcome, true, changes);
      } catch (error) {
        return [outcome, { changes, failure: describe(error) }];
      }
      return [outcome, { changes, failure: null }];
    }),
  );
  const cleared = await ensureNoEntries(bridge, outcomes.map(({ port }) => port));
  outcomes.forEach((outcome) => {
    const flags = undone.get(outcome) as FdbOutcome;
    const entry = cleared.get(outcome.port) as FdbOutcome;
    const changes = [...flags.changes, ...entry.changes];
    const error = flags.failure ?? entry.failure;
    outcome.note =
      error === null
        ? `left as libvirt made it${changes.length > 0 ? ` (${changes.join(', ')})` : ''}`
        : `could not put it back as libvirt made it: ${error}${changes.length > 0 ? ` (done: ${changes.join(', ')})` : ''}`;
  });
}

// Undo for taps that outlive the guest: learning and unicast flooding back on, the entries deleted, the port unlocked.
// A tap already gone, or moved to another bridge, is left as it is.
export async function undoPorts(host: HostFs, bridge: BridgeRunner, ports: ManagedPort[]): Promise<PortOutcome[]> {
  const outcomes = ports.map(untouched);
  const ready = outcomes.filter(
    (outcome) =>
      step(outcome, () => {
        const { tap, bridge: br } = outcome.port;
        if (!host.exists(netDevice(tap))) outcome.note = 'tap already gone, nothing to undo';
        else if (masterOf(host, tap) !== br) outcome.note = `tap is no longer a port of ${br}, left as it is`;
        else ensureFlags(host, outcome, true);
      }) && outcome.note === null,
  );
  if (ready.length > 0) {
    const cleared = await ensureNoEntries(bridge, ready.map(({ port }) => port));
    for (const outcome of ready) record(outcome, cleared.get(outcome.port));
  }
  return outcomes;
}
