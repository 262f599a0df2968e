import { InputError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { settingsFrom } from '../config/settings.js';
import { runWaiter } from '../watch/waiter.js';
import { runWatch } from '../watch/watch.js';

interface WatchArgs {
  root?: string | undefined;
  config?: string | undefined;
  interval: number;
  metricsFile?: string | undefined;
  once: boolean;
  untilRunning?: string | undefined;
  bound: number;
}

// Node's timers hold at most 2^31 - 1 ms (24.8 days).
const MAX_SECONDS = 2_000_000;

// `mactable watch`: keep every managed port right between hook calls (or, with --until-running, one paused guest's).
export async function watchCommand(rt: Runtime, args: WatchArgs): Promise<number> {
  for (const [flag, value] of [['--interval', args.interval], ['--bound', args.bound]] as const) {
    if (!(value > 0 && value <= MAX_SECONDS)) throw new InputError(`${flag} must be a number of seconds above 0 and at most ${MAX_SECONDS}, not ${value}`);
  }
  const settings = settingsFrom(rt, args);
  if (args.untilRunning !== undefined) return runWaiter(rt, settings, args.untilRunning, args.bound, args.metricsFile ?? null);
  return runWatch(rt, settings, { interval: args.interval, metricsFile: args.metricsFile ?? null, once: args.once });
}
