import { InputError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { settingsFrom } from '../settings.js';
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

// `mactable watch`: keep every managed port right between hook calls (or, with --until-running, one paused guest's).
export async function watchCommand(rt: Runtime, args: WatchArgs): Promise<number> {
  if (!(args.interval > 0)) throw new InputError(`--interval must be a number of seconds above 0, not ${args.interval}`);
  if (!(args.bound > 0)) throw new InputError(`--bound must be a number of seconds above 0, not ${args.bound}`);
  return runWatch(rt, settingsFrom(rt, args), {
    interval: args.interval,
    metricsFile: args.metricsFile ?? null,
    once: args.once,
    untilRunning: args.untilRunning ?? null,
    bound: args.bound,
  });
}
