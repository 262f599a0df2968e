import type { Settings } from '../config/settings.js';
import { waiterLock } from '../model/paths.js';
import { waiterArg, watcherRuns } from '../host/watchers.js';
import type { HostFs } from '../runtime/fs.js';
import { describe, EXIT } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { statusFileEvents } from './events.js';
import { WorkQueue, type Work } from './queue.js';
import { watchRounds } from './round.js';
import { DEBOUNCE_MS } from './watch.js';

// It relies on its guest's status file events; the poll is only the safety net (and its longest backoff).
const POLL_S = 10;

// `mactable watch --until-running=NAME`, the waiter the hook leaves for a guest started paused: the watcher's queue
// and rounds for that one guest, without the kernel monitor, ending once its vCPUs run and its entry is in place,
// once it stops, or after `bound` seconds. One waiter per guest (it holds its guest's lock), none beside a full
// watcher.
export async function runWaiter(rt: Runtime, settings: Settings, guest: string, bound: number, metricsFile: string | null): Promise<number> {
  const lock = await rt.holdLock(settings.host.real(waiterLock(guest)), 0);
  if ((lock.failure === null && !lock.held) || (await watcherRuns(rt, settings.host))) return EXIT.ok;
  const { round, log } = watchRounds(rt, settings, metricsFile);
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  // Its end, decided by what its last round saw: the guest stopped (no plan), or ran and got its entry.
  const work: Work = async () => {
    const result = await round([guest]);
    if (result === null) return new Map(); // the config is unusable: the poll tries again
    const seen = result.reconciled.find((reconciled) => reconciled.guest === guest);
    if (seen === undefined || (seen.running && !seen.failed)) finish();
    return new Map(seen === undefined ? [] : [[guest, !seen.failed]]);
  };
  const onError = (error: unknown) => void log([{ level: 'err', text: `reconcile failed: ${describe(error)}` }]);
  const queue = new WorkQueue(work, { debounceMs: DEBOUNCE_MS, maxBackoffMs: POLL_S * 1000, onError }, rt.now);

  const statusDir = statusFileEvents(rt, settings.host, (name) => {
    if (name === null || name === guest) queue.add(guest, true);
  });
  const poll = setInterval(() => queue.add(guest, true), POLL_S * 1000);
  const timer = setTimeout(finish, bound * 1000);
  rt.onStop(finish);

  await done;
  clearInterval(poll);
  clearTimeout(timer);
  statusDir.close();
  await queue.stop(); // a port is never left half-done by the exit
  return EXIT.ok;
}

// Nothing runs the hook at resume: a waiter, detached from libvirt, adds the entry once the vCPUs run, unless a
// watcher runs (a waiter already there for this guest lets the new one end). Null when one will; else why none could be started.
export async function leaveWaiter(rt: Runtime, host: HostFs, guest: string): Promise<string | null> {
  if (await watcherRuns(rt, host)) return null;
  try {
    await rt.spawnDetached(['watch', waiterArg(guest)]);
    return null;
  } catch (error) {
    return `no waiter could be started (${describe(error)}): run mactable repair once it runs`;
  }
}
