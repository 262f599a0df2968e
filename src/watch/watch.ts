import { describe, EXIT } from '../runtime/errors.js';
import { RUN_QEMU } from '../host/paths.js';
import { happened, outcomeLine } from '../report/report.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Settings } from '../config/settings.js';
import { watchKernel, watchStatusDir } from './events.js';
import { WorkQueue, type Work } from './queue.js';
import { reconcileRounds, type Rounds } from './round.js';

interface WatchOptions {
  interval: number; // seconds between full resyncs
  metricsFile: string | null;
  once: boolean;
}

// Events within this window go into one reconcile; a burst (a guest starting, our own writes) costs one.
export const DEBOUNCE_MS = 50;

// The queue's key for the entries guests that left still have on their bridges (no guest is named with a '/').
const LEFT = '/left';

// `mactable watch`: level-triggered reconcile. Events only put guests on the work queue (status files renamed or
// removed, kernel lines naming a guest's tap); a round reads the whole desired and actual state of those guests and
// fixes the difference, with the same code as `repair`. A full resync every `interval` catches what no event said.
export async function runWatch(rt: Runtime, settings: Settings, options: WatchOptions): Promise<number> {
  const rounds = reconcileRounds(rt, settings, options.metricsFile);
  if (options.once) {
    const result = await rounds.round(null);
    if (result === null) return EXIT.input;
    for (const { guest, outcome } of result.changed) if (outcome.failure === null && happened(outcome)) rt.stdout(`${outcomeLine(guest, outcome, '')}\n`);
    return result.failed ? 1 : 0;
  }
  return loop(rt, settings, options, rounds);
}

async function loop(rt: Runtime, settings: Settings, options: WatchOptions, { reconciler, round, log }: Rounds): Promise<number> {
  // Each round says per guest whether it is right now; the queue retries the others after a backoff.
  const work: Work = async (keys) => {
    const result = await round(keys === null ? null : keys.filter((key) => key !== LEFT), keys?.includes(LEFT) ?? false);
    return new Map((result?.reconciled ?? []).map(({ guest, failed }) => [guest, !failed]));
  };
  const onError = (error: unknown) => void log([{ level: 'err', text: `reconcile failed: ${describe(error)}` }]);
  const queue = new WorkQueue(work, { debounceMs: DEBOUNCE_MS, maxBackoffMs: options.interval * 1000, onError }, rt.now);
  // A status file renamed or removed says what the guest should be: reconciled at once, backoff or not. Null: all.
  const mark = (guest: string | null) => (guest === null ? queue.addAll() : queue.add(guest, true));

  const statusDir = watchStatusDir(rt, settings.host.real(RUN_QEMU), () => settings.host.exists(RUN_QEMU), mark);
  // Kernel lines for taps of no known guest are not ours, nor entry lines for MACs of none. An entry line for a
  // guest's MAC on another port is its entry moved by learning; for the MAC of a guest that left, its stray entry.
  const onDevice = (device: string | null, entry: { mac: string; bridge: string } | null) => {
    if (device === null) return queue.addAll(); // the monitor restarted: what happened meanwhile was not seen
    const guest = reconciler.guestOfTap(device) ?? (entry === null ? undefined : reconciler.guestOfEntry(entry.mac, entry.bridge));
    if (guest === null) queue.add(LEFT);
    else if (guest !== undefined) queue.add(guest);
  };
  const kernel = watchKernel(rt, rt.env.MACTABLE_BRIDGE ?? 'bridge', onDevice, (text) => void log([{ level: 'warning', text }]));
  const resync = setInterval(() => mark(null), options.interval * 1000);

  await new Promise<void>((resolve) => rt.onStop(resolve));
  clearInterval(resync);
  statusDir.close();
  await queue.stop(); // a port is never left half-done by the exit
  await kernel.close();
  return EXIT.ok;
}
