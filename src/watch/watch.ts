import { describe, EXIT } from '../runtime/errors.js';
import type { HostFs } from '../runtime/fs.js';
import { DAEMON_SOCKETS, RUN_LIBVIRT, WATCH_LOCK } from '../model/paths.js';
import { happened, outcomeLine } from '../report/report.js';
import type { LogLine, Runtime } from '../runtime/runtime.js';
import type { Settings } from '../config/settings.js';
import { statusFileEvents, watchDirectory, watchKernel } from './events.js';
import { WorkQueue, type Work } from './queue.js';
import { watchRounds, type Rounds } from './round.js';

interface WatchOptions {
  interval: number; // seconds between full resyncs
  metricsFile: string | null;
  once: boolean;
}

// Events within this window go into one reconcile; a burst (a guest starting, our own writes) costs one.
export const DEBOUNCE_MS = 50;

// The queue's key for the entries guests that left still have on their bridges (no guest is named with a '/').
const LEFT = '/left';
// Not a guest either: a managed bridge's mode changed (a port that is no guest's), for the metrics.
const BRIDGES = '/bridges';

// `mactable watch`: level-triggered reconcile. Events only put guests on the work queue (status files renamed or
// removed, kernel lines naming a guest's tap); a round reads the whole desired and actual state of those guests and
// fixes the difference, with the same code as `repair`. A full resync every `interval` catches what no event said.
export async function runWatch(rt: Runtime, settings: Settings, options: WatchOptions): Promise<number> {
  const rounds = watchRounds(rt, settings, options.metricsFile);
  if (options.once) {
    const result = await rounds.round(null);
    if (result === null) return EXIT.input;
    for (const { guest, outcome } of result.changed) if (outcome.failure === null && happened(outcome)) rt.stdout(`${outcomeLine(guest, outcome, '')}\n`);
    return result.failed ? 1 : 0;
  }
  const refused = await claim(rt, settings.host, rounds.log);
  return refused ?? loop(rt, settings, options, rounds);
}

// The watcher holds WATCH_LOCK for its life (hooks/qemu and doctor find it by it; a second one refuses). An exit
// code when this one must not run.
async function claim(rt: Runtime, host: HostFs, log: (lines: LogLine[]) => Promise<void>): Promise<number | null> {
  const path = host.real(WATCH_LOCK);
  // A few seconds: a hook's test holds the lock shared for an instant.
  const lock = await rt.holdLock(path, 2);
  if (lock.failure === null && lock.held) return null;
  if (lock.failure === null) {
    rt.stderr(`mactable: another mactable watch runs for this host: it holds the lock on ${path}\n`);
    return EXIT.failed;
  }
  await log([{ level: 'warning', text: `${lock.failure}: the hook cannot see this watcher and does all its work itself` }]);
  return null;
}

async function loop(rt: Runtime, settings: Settings, options: WatchOptions, { memory, round, log }: Rounds): Promise<number> {
  // Each round says per guest whether it is done; the queue retries a guest left failing after a backoff, unless
  // nothing was written to it (a tap off its bridge for a moment): then its next event may go at once.
  const work: Work = async (keys) => {
    const result = await round(keys === null ? null : keys.filter((key) => key !== LEFT && key !== BRIDGES), { left: keys?.includes(LEFT) ?? false });
    return new Map((result?.reconciled ?? []).map(({ guest, wrote }) => [guest, !wrote]));
  };
  const onError = (error: unknown) => void log([{ level: 'err', text: `reconcile failed: ${describe(error)}` }]);
  const queue = new WorkQueue(work, { debounceMs: DEBOUNCE_MS, maxBackoffMs: options.interval * 1000, onError }, rt.now);
  // A status file renamed or removed says what the guest should be: reconciled at once, backoff or not. Null: all.
  const mark = (guest: string | null) => (guest === null ? queue.addAll() : queue.add(guest, true));

  const host = settings.host;
  const statusDir = statusFileEvents(rt, host, mark);
  // The daemon's socket made again: it restarted and ran `reconnect` for every running guest, which hooks/qemu
  // leaves to a running watcher; whether or not it rewrote their status files, every guest is due.
  const daemon = watchDirectory(rt, host.real(RUN_LIBVIRT), () => host.exists(RUN_LIBVIRT), (file) => (file === null || DAEMON_SOCKETS.includes(file) ? mark(null) : undefined));
  // Kernel lines for taps of no known guest are not ours, nor entry lines for MACs of none. An entry line for a
  // guest's MAC on another port is its entry moved by learning; for the MAC of a guest that left, its stray entry.
  // Another line on a managed bridge may change its mode: a round of no guest writes the metrics again.
  const onDevice = (device: string | null, entry: { mac: string; bridge: string } | null, master: string | null) => {
    if (device === null) return queue.addAll(); // the monitor restarted: what happened meanwhile was not seen
    const guest = memory.guestOfTap(device) ?? (entry === null ? undefined : memory.guestOfEntry(entry.mac, entry.bridge));
    if (guest === null) queue.add(LEFT);
    else if (guest !== undefined) queue.add(guest);
    else if (entry === null && master !== null && memory.managesBridge(master)) queue.add(BRIDGES);
  };
  const kernel = watchKernel(rt, rt.env.MACTABLE_BRIDGE ?? 'bridge', onDevice, (text) => void log([{ level: 'warning', text }]));
  const resync = setInterval(() => mark(null), options.interval * 1000);

  await new Promise<void>((resolve) => rt.onStop(resolve));
  clearInterval(resync);
  statusDir.close();
  daemon.close();
  await queue.stop(); // a port is never left half-done by the exit
  await kernel.close();
  return EXIT.ok;
}
