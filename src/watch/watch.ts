import type { ConfigResult } from '../config/config.js';
import { describe, EXIT } from '../runtime/errors.js';
import { severity } from '../host/commands.js';
import { osErrorText } from '../host/fs.js';
import type { HostFs } from '../host/fs.js';
import { watcherRuns } from '../host/watchers.js';
import { DAEMON_SOCKETS, RUN_LIBVIRT, RUN_QEMU, WATCH_LOCK, waiterLock } from '../host/paths.js';
import { happened, outcomeLine } from '../report/report.js';
import type { LogLine, Runtime } from '../runtime/runtime.js';
import type { Settings } from '../config/settings.js';
import { withTimeBound } from '../runtime/time-bound.js';
import { watchDirectory, watchKernel } from './events.js';
import { Reconciler, type Round } from './reconciler.js';

interface WatchOptions {
  interval: number; // seconds between full resyncs
  metricsFile: string | null;
  once: boolean;
  untilRunning: string | null; // the hook's waiter: only this guest, ending once its vCPUs run (or it stops)
  bound: number; // seconds the waiter waits at most
}

// Events within this window go into one reconcile; a burst (a guest starting, our own writes) costs one.
const DEBOUNCE_MS = 50;
const WAITER_POLL_S = 10;

// `mactable watch`: level-triggered reconcile. Events only mark guests dirty (status files renamed or removed,
// kernel lines naming a guest's tap); a reconcile reads the whole desired and actual state of those guests and
// fixes the difference, with the same code as `repair`. A full resync every `interval` catches what no event said.
export async function runWatch(rt: Runtime, settings: Settings, options: WatchOptions): Promise<number> {
  const reconciler = new Reconciler();
  const underSystemd = rt.stderrIsJournal();
  let lastConfigProblem: string | null = null;
  let lastMetricsProblem: string | null = null;
  const log = async (lines: LogLine[]) => {
    // Under systemd stderr is the journal (with <N> priorities); elsewhere the lines go to stderr and syslog.
    for (const { level, text } of lines) rt.stderr(`${underSystemd ? `<${severity(level)}>` : ''}mactable: ${text}\n`);
    if (!underSystemd && lines.length > 0) await rt.syslog(lines, 5000);
  };
  const round = async (guests: string[] | null, left = false): Promise<Round | null> => {
    const config: ConfigResult = settings.config();
    if (!('config' in config)) {
      if (config.failure !== lastConfigProblem) await log([{ level: 'err', text: `${config.failure}; nothing is reconciled until it is fixed` }]);
      lastConfigProblem = config.failure;
      return null;
    }
    lastConfigProblem = null;
    const bridge = withTimeBound(rt, config.config.timeout).bridge;
    const result = await reconciler.run(settings.host, bridge, config.config, guests, rt.now, left);
    await log(result.lines);
    if (options.metricsFile !== null) {
      let problem: string | null = null;
      try {
        rt.writeFileAtomic(options.metricsFile, reconciler.metrics());
      } catch (error) {
        problem = `cannot write the metrics to ${options.metricsFile}: ${osErrorText(error)}`;
      }
      // Said once, not at every reconcile.
      if (problem !== null && problem !== lastMetricsProblem) await log([{ level: 'err', text: problem }]);
      lastMetricsProblem = problem;
    }
    return result;
  };

  if (options.once) {
    const result = await round(null);
    if (result === null) return EXIT.input;
    for (const { guest, outcome } of result.changed) if (outcome.failure === null && happened(outcome)) rt.stdout(`${outcomeLine(guest, outcome, '')}\n`);
    return result.failed ? 1 : 0;
  }
  const refused = await claim(rt, settings.host, options.untilRunning, log);
  return refused ?? loop(rt, settings, options, reconciler, round, log);
}

// The watcher holds WATCH_LOCK for its life (hooks/qemu and doctor find it by it; a second one refuses); a waiter
// holds its guest's lock (one waiter per guest) and ends at once beside a watcher. An exit code when this one ends.
async function claim(rt: Runtime, host: HostFs, waiter: string | null, log: (lines: LogLine[]) => Promise<void>): Promise<number | null> {
  if (waiter !== null) {
    const lock = await rt.holdLock(host.real(waiterLock(waiter)), 0);
    return !lock.held && lock.busy ? EXIT.ok : (await watcherRuns(rt, host)) ? EXIT.ok : null;
  }
  const path = host.real(WATCH_LOCK);
  // A few seconds: a hook's test holds the lock shared for an instant.
  const lock = await rt.holdLock(path, 2);
  if (lock.held) return null;
  if (lock.busy) {
    rt.stderr(`mactable: another mactable watch runs for this host: it holds the lock on ${path}\n`);
    return EXIT.failed;
  }
  await log([{ level: 'warning', text: `${lock.problem}: the hook cannot see this watcher and does all its work itself` }]);
  return null;
}

async function loop(
  rt: Runtime,
  settings: Settings,
  options: WatchOptions,
  reconciler: Reconciler,
  round: (guests: string[] | null, left: boolean) => Promise<Round | null>,
  log: (lines: LogLine[]) => Promise<void>,
): Promise<number> {
  const waiter = options.untilRunning;
  const dirty = new Set<string>();
  let everything = false;
  let left = false; // a kernel line named the MAC of a guest that left
  let timer: ReturnType<typeof setTimeout> | null = null;
  let busy = false;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));

  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    timer = null;
    if (busy) return;
    busy = true;
    const guests = everything ? null : [...dirty];
    const leftToo = left;
    dirty.clear();
    everything = false;
    left = false;
    try {
      const result = await round(waiter === null ? guests : [waiter], leftToo);
      if (waiter !== null && result !== null) endWaiter(result.reconciled.find(({ guest }) => guest === waiter));
    } catch (error) {
      await log([{ level: 'err', text: `reconcile failed: ${describe(error)}` }]);
    }
    busy = false;
    if (everything || left || dirty.size > 0) schedule();
  };
  const schedule = () => (timer ??= setTimeout(() => void (inFlight = flush()), DEBOUNCE_MS));
  const mark = (guest: string | null) => {
    if (guest === null) everything = true;
    else if (waiter === null || guest === waiter) dirty.add(guest);
    else return;
    schedule();
  };
  // The waiter's end, decided by what its last round saw: the guest stopped (no plan), or ran and got its entry.
  const endWaiter = (guest: { running: boolean; failed: boolean } | undefined) => {
    if (guest === undefined || (guest.running && !guest.failed)) finish(0);
  };

  const host = settings.host;
  const statusDir = watchDirectory(rt, host.real(RUN_QEMU), () => host.exists(RUN_QEMU), (file) => {
    if (file === null) mark(null);
    else if (file.endsWith('.xml')) mark(file.slice(0, -4));
  });
  // The daemon's socket made again: it restarted and ran `reconnect` for every running guest, which hooks/qemu
  // leaves to a running watcher; whether or not it rewrote their status files, every guest is due.
  const daemon = waiter === null ? watchDirectory(rt, host.real(RUN_LIBVIRT), () => host.exists(RUN_LIBVIRT), (file) => (file === null || DAEMON_SOCKETS.includes(file) ? mark(null) : undefined)) : null;
  // Kernel lines for taps of no known guest are not ours, nor entry lines for MACs of none; a guest left failing is
  // retried after a pause. An entry line for a guest's MAC on another port is its entry moved by learning.
  const delayed = new Set<string>();
  const onDevice = (device: string | null, entry: { mac: string; bridge: string } | null) => {
    const guest = device === null ? null : (reconciler.guestOfTap(device) ?? (entry === null ? undefined : reconciler.guestOfEntry(entry.mac, entry.bridge)));
    if (guest === null && device !== null) {
      left = true;
      schedule();
      return;
    }
    if (guest === undefined) return;
    const delay = guest === null ? 0 : reconciler.retryDelay(guest, rt.now(), options.interval);
    if (delay === 0) mark(guest);
    else if (!delayed.has(guest as string)) {
      delayed.add(guest as string);
      setTimeout(() => (delayed.delete(guest as string), mark(guest)), delay).unref();
    }
  };
  const kernel = waiter === null ? watchKernel(rt, rt.env.MACTABLE_BRIDGE ?? 'bridge', onDevice, (text) => void log([{ level: 'warning', text }])) : null;
  // The waiter relies on the status file's events; its poll is only the safety net.
  const resync = setInterval(() => mark(null), (waiter === null ? options.interval : WAITER_POLL_S) * 1000);
  const bound = waiter === null ? null : setTimeout(() => finish(0), options.bound * 1000);
  rt.onStop(() => finish(0));

  const code = await done;
  clearInterval(resync);
  if (timer !== null) clearTimeout(timer);
  if (bound !== null) clearTimeout(bound);
  statusDir.close();
  daemon?.close();
  await kernel?.close();
  await inFlight; // a port is never left half-done by the exit
  return code;
}
