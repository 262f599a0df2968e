import type { Operation } from '../model/operations.js';
import type { Outcome } from '../model/outcome.js';
import type { PortRef } from '../model/port.js';
import { runEntryOperations, type FdbOutcome } from '../host/fdb.js';
import { observePorts } from '../host/observe.js';
import { ensurePortFlag, FLAG_WORDS } from '../host/sysfs.js';
import { asLibvirtMadeIt, placeProblem } from '../plan/diff.js';
import type { ManagedPort } from '../plan/plan.js';
import { describe } from '../runtime/errors.js';
import type { HostFs } from '../runtime/fs.js';
import type { BridgeRunner } from '../runtime/runtime.js';

// What happened to one managed port.
export interface PortOutcome extends Outcome {
  port: ManagedPort;
}

// A port, the operations plan/diff.ts found for it, and why it cannot be worked on now (then nothing is written).
interface PortWork {
  port: ManagedPort;
  operations: Operation[];
  problem: string | null;
}

const untouched = (port: ManagedPort): PortOutcome => ({ port, changes: [], failure: null, note: null });

// Run a port's flag operations that turn its flags `on` (or off) through sysfs, each read back; an error ends the port.
function runFlags(host: HostFs, outcome: PortOutcome, ops: Operation[], on: boolean, changes = outcome.changes): void {
  const { bridge, tap } = outcome.port;
  try {
    for (const op of ops) if (op.op === 'flag' && op.on === on && ensurePortFlag(host, bridge, tap, op.flag, on)) changes.push(`${FLAG_WORDS[op.flag]} ${on ? 'on' : 'off'}`);
  } catch (error) {
    outcome.failure = describe(error);
  }
}

// Add what a host step did to a port's outcome.
function record(outcome: PortOutcome, result: FdbOutcome | undefined): void {
  outcome.changes.push(...(result?.changes ?? []));
  if (result !== undefined && result.failure !== null) outcome.failure = result.failure;
}

// Run every port's operations, in the orders that keep the guest reachable: flags turned on first, then every port's
// entries, locks and moved entries in one `bridge` process with one read-back (the locks in one more, once the
// entries are verified), then flags turned off, only once the entries are in (else the bridge would know the guest's
// MAC nowhere in between: a gap at a migration's switch-over). Never throws past a port. With `putBack` (the
// operation must not fail, so the guest keeps running), a port that failed part-way is put back as libvirt made it,
// so unicast still reaches the guest by flooding.
export async function applyOperations(host: HostFs, bridge: BridgeRunner, work: PortWork[], { putBack, readFirst = false }: { putBack: boolean; readFirst?: boolean }): Promise<PortOutcome[]> {
  const steps = work.map(({ port, operations, problem }) => ({ outcome: { ...untouched(port), failure: problem }, operations }));
  const ready = steps.filter(({ outcome, operations }) => outcome.failure === null && (runFlags(host, outcome, operations, true), outcome.failure === null));
  const done = await runEntryOperations(bridge, ready.map(({ outcome, operations }) => ({ port: outcome.port, operations })), { readFirst });
  for (const { outcome } of ready) record(outcome, done.get(outcome.port));
  for (const { outcome, operations } of ready) if (outcome.failure === null) runFlags(host, outcome, operations, false);
  const outcomes = steps.map(({ outcome }) => outcome);
  const broken = outcomes.filter((outcome) => outcome.failure !== null);
  if (putBack && broken.length > 0) await putBackAsLibvirtMadeIt(host, bridge, broken);
  return outcomes;
}

// After a failure: learning and flooding on, no entries, unlocked, as libvirt leaves a port; the outcome's note says
// so. Only a port still on its bridge can be put back (read again: this is the failure's path, not a round's).
async function putBackAsLibvirtMadeIt(host: HostFs, bridge: BridgeRunner, outcomes: PortOutcome[]): Promise<void> {
  const states = await observePorts(host, bridge, outcomes.map(({ port }) => ({ port, withLock: true, moved: false })));
  const placed = outcomes.flatMap((outcome) => {
    const state = states.get(outcome.port);
    return state !== undefined && placeProblem(outcome.port, state) === null ? [{ outcome, operations: asLibvirtMadeIt(outcome.port, state) }] : [];
  });
  const undone = placed.map(({ outcome, operations }) => ({ outcome, operations, back: untouched(outcome.port) }));
  for (const { back, operations } of undone) runFlags(host, back, operations, true);
  const cleared = await runEntryOperations(bridge, undone.filter(({ back }) => back.failure === null).map(({ back, operations }) => ({ port: back.port, operations })));
  for (const { outcome, back } of undone) {
    record(back, cleared.get(back.port));
    const { changes, failure: error } = back;
    outcome.note =
      error === null
        ? `left as libvirt made it${changes.length > 0 ? ` (${changes.join(', ')})` : ''}`
        : `could not put it back as libvirt made it: ${error}${changes.length > 0 ? ` (done: ${changes.join(', ')})` : ''}`;
  }
}

// Undo for taps that outlive the guest (`release`): learning and unicast flooding back on, the entries deleted, the
// port unlocked. A tap already gone, or moved to another bridge, is left as it is.
export async function undoPorts(host: HostFs, bridge: BridgeRunner, ports: ManagedPort[]): Promise<PortOutcome[]> {
  const states = await observePorts(host, bridge, ports.map((port) => ({ port, withLock: true, moved: false })));
  const work = ports.map((port) => ({ port, state: states.get(port as PortRef) }));
  const outcomes = new Map(work.map(({ port, state }): [ManagedPort, PortOutcome] => {
    if (state === undefined || !state.tapExists) return [port, { ...untouched(port), note: 'tap already gone, nothing to undo' }];
    if (state.master !== port.bridge) return [port, { ...untouched(port), note: `tap is no longer a port of ${port.bridge}, left as it is` }];
    return [port, untouched(port)];
  }));
  const ready = work.filter(({ port }) => outcomes.get(port)?.note === null);
  const undone = await applyOperations(host, bridge, ready.map(({ port, state }) => ({ port, operations: state ? asLibvirtMadeIt(port, state) : [], problem: null })), { putBack: false });
  for (const outcome of undone) outcomes.set(outcome.port, outcome);
  return ports.map((port) => outcomes.get(port) as PortOutcome);
}
