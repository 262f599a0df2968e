import type { ConfigResult } from '../config/config.js';
import type { Settings } from '../config/settings.js';
import { severity } from '../runtime/commands.js';
import { osErrorText } from '../runtime/fs.js';
import type { LogLine, Runtime } from '../runtime/runtime.js';
import { withTimeBound } from '../runtime/time-bound.js';
import { emit } from '../report/emit.js';
import { WatchMemory, type Round } from './memory.js';

// The watcher's own bound for the system log: no call of libvirt waits on it.
const SYSLOG_MS = 5000;

// What the watcher and the waiter share: one reconcile with the current config, its lines logged and the metrics
// written; a config or metrics problem is said once, not at every reconcile.
export interface Rounds {
  memory: WatchMemory;
  round(guests: string[] | null, options?: { left?: boolean }): Promise<Round | null>; // null: the config is unusable, nothing done
  log(lines: LogLine[]): Promise<void>;
}

export function watchRounds(rt: Runtime, settings: Settings, metricsFile: string | null): Rounds {
  const memory = new WatchMemory();
  const underSystemd = rt.stderrIsJournal();
  let lastConfigProblem: string | null = null;
  let lastMetricsProblem: string | null = null;
  // Under systemd stderr is the journal (with <N> priorities); elsewhere the lines go to stderr and the system log.
  const log = (lines: LogLine[]) =>
    emit(rt, (each) => rt.syslog(each, SYSLOG_MS), {
      stderr: lines.map(({ level, text }) => `${underSystemd ? `<${severity(level)}>` : ''}mactable: ${text}\n`).join(''),
      log: underSystemd ? [] : lines,
    });
  const round = async (guests: string[] | null, { left = false } = {}): Promise<Round | null> => {
    const config: ConfigResult = settings.config();
    if (!('config' in config)) {
      if (config.failure !== lastConfigProblem) await log([{ level: 'err', text: `${config.failure}; nothing is reconciled until it is fixed` }]);
      lastConfigProblem = config.failure;
      return null;
    }
    lastConfigProblem = null;
    // The bridge commands run synchronously (spawnSync, src/runtime/commands.ts): events wait for the round in flight.
    const bridge = withTimeBound(rt, config.config.timeout).bridge;
    const result = await memory.round(settings.host, bridge, config.config, guests, rt.now, { left });
    await log(result.lines);
    if (metricsFile !== null) {
      let problem: string | null = null;
      try {
        rt.writeFileAtomic(metricsFile, memory.metrics(settings.host));
      } catch (error) {
        problem = `cannot write the metrics to ${metricsFile}: ${osErrorText(error)}`;
      }
      if (problem !== null && problem !== lastMetricsProblem) await log([{ level: 'err', text: problem }]);
      lastMetricsProblem = problem;
    }
    return result;
  };
  return { memory, round, log };
}
