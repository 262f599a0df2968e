import { configOrThrow } from '../config/config.js';
import { InputError } from '../runtime/errors.js';
import { portStatuses, reconcile } from '../actions/reconcile.js';
import { outcomeLine, problemLines, syslogLines, warnings } from '../report/report.js';
import { guestsInScope } from '../plan/plan-host.js';
import { gatherHost } from '../host/gather.js';
import type { LogLine, Runtime } from '../runtime/runtime.js';
import { settingsFrom } from '../config/settings.js';
import { emit } from '../report/emit.js';
import { withTimeBound } from '../runtime/time-bound.js';

interface RepairArgs {
  names: string[];
  all: boolean;
  dryRun: boolean;
  root?: string | undefined;
  config?: string | undefined;
}

// `mactable repair`: observe the running guests' ports and fix what drifted, by the same code as the watcher.
// stdout lists what changed (nothing when nothing drifted); failures go to stderr and exit 1.
export async function repairCommand(rt: Runtime, args: RepairArgs): Promise<number> {
  if (args.names.length === 0 && !args.all) throw new InputError('name the guests to repair, or give --all');
  const settings = settingsFrom(rt, args);
  const config = configOrThrow(settings.config());
  const bounded = withTimeBound(rt, config.timeout);
  const { plans, problems, unreadable, everyone } = guestsInScope(gatherHost(settings.host), config, args.names);
  rt.stderr(warnings(problems));
  // The plan's problems, and the changes and failures, go to the system log at once.
  const log = (lines: LogLine[]) => emit(rt, bounded.syslog, { log: [...problemLines(problems, 'repair'), ...lines] });
  if (args.dryRun) {
    for (const { guest, port, drift } of await portStatuses(settings.host, bounded.bridge, plans, config, everyone)) {
      if (drift.length > 0) rt.stdout(`${guest}: ${port.tap} on ${port.bridge}: would repair: ${drift.join(', ')}\n`);
    }
    await log([]);
    return 0;
  }
  const { fixed } = await reconcile(settings.host, bounded.bridge, plans, config, everyone);
  for (const { guest, outcome } of fixed) {
    if (outcome.failure !== null) rt.stderr(`mactable: ${outcomeLine(guest, outcome, '')}\n`);
    else rt.stdout(`${outcomeLine(guest, outcome, 'nothing to change')}\n`);
  }
  await log(fixed.flatMap(({ guest, outcome }) => syslogLines(guest, [outcome], '', 'err', 'repair')));
  return unreadable || fixed.some(({ outcome }) => outcome.failure !== null) ? 1 : 0;
}
