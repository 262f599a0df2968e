import { applyPorts } from '../apply.js';
import { configOrThrow, entryOptions } from '../config.js';
import { InputError } from '../errors.js';
import { managedPorts } from '../plan/plan.js';
import { outcomeLine, syslogLines } from '../report.js';
import { planRunningGuests } from '../running.js';
import type { Runtime } from '../runtime.js';
import { settingsFrom } from '../settings.js';
import { withTimeBound } from '../time-bound.js';
import { portStatuses } from './status-command.js';

export interface RepairArgs {
  names: string[];
  all: boolean;
  dryRun: boolean;
  root?: string | undefined;
  config?: string | undefined;
}

// `mactable repair`: apply the plan again to running guests, as the hook does on reconnect.
// stdout lists what changed (nothing when nothing drifted); failures go to stderr and exit 1.
export async function repairCommand(rt: Runtime, args: RepairArgs): Promise<number> {
  if (args.names.length === 0 && !args.all) throw new InputError('name the guests to repair, or give --all');
  if (args.dryRun) {
    for (const { guest, port, drift } of await portStatuses(rt, args)) {
      if (drift.length > 0) rt.stdout(`${guest}: ${port.tap} on ${port.bridge}: would repair: ${drift.join(', ')}\n`);
    }
    return 0;
  }
  const settings = settingsFrom(rt, args);
  const config = configOrThrow(settings.config());
  const bounded = withTimeBound(rt, config.timeout);
  let failed = false;
  for (const plan of planRunningGuests(settings.host, config, args.names)) {
    const outcomes = await applyPorts(settings.host, bounded.bridge, managedPorts(plan), entryOptions(config));
    for (const outcome of outcomes) {
      if (outcome.failure !== null) {
        failed = true;
        rt.stderr(`mactable: ${outcomeLine(plan.domain, outcome, '')}\n`);
      } else if (outcome.changes.length > 0) rt.stdout(`${outcomeLine(plan.domain, outcome, '')}\n`);
    }
    const problem = await bounded.syslog(syslogLines(plan.domain, outcomes, '', 'err', 'repair'));
    if (problem !== null) rt.stderr(`mactable: warning: ${problem}\n`);
  }
  return failed ? 1 : 0;
}
