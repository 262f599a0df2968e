import { guestsInScope } from '../plan/plan-host.js';
import { gatherHost } from '../host/gather.js';
import { reconcile } from '../actions/reconcile.js';
import { DEFAULT_TIMEOUT, type Config } from '../config/config.js';
import { settingsFrom } from '../config/settings.js';
import { printable } from '../domain/names.js';
import type { HostFs } from '../runtime/fs.js';
import { RECONNECT_DUE } from '../model/paths.js';
import { vcpusRun } from '../plan/desired.js';
import { managedPorts } from '../plan/plan.js';
import { happened, outcomeLine, problemLines, syslogLines, warnings } from '../report/report.js';
import { describe, EXIT } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { withTimeBound } from '../runtime/time-bound.js';
import { emit } from '../report/emit.js';
import { leaveWaiter } from '../watch/waiter.js';

export const RECONNECT_ALL = 'reconnect-all';

// `mactable hook reconnect-all` (in the CLI's bundle: the hook's own stays lean). A daemon restart runs `reconnect`
// for every running guest at once; hooks/qemu lets one of them here (holding ROOT/run/mactable/reconnect.lock) and
// ends the others after they leave RECONNECT_DUE. Each round takes the mark, then makes every running guest's ports
// right with the same observe/compare/fix as `repair --all`, so a guest whose hook ended early is covered by a round
// that began after its mark. Ports that cannot be fixed are said and left as libvirt made them. Exit 1 only when
// something unforeseen ended it: hooks/qemu then does not go round again (and still exits 0).
export async function reconnectAll(rt: Runtime): Promise<number> {
  try {
    const settings = settingsFrom(rt, {});
    while (settings.host.remove(RECONNECT_DUE)) {
      const config = settings.config();
      if (!('config' in config)) {
        await emit(rt, withTimeBound(rt, DEFAULT_TIMEOUT).syslog, { stderr: warnings([config.failure]), log: problemLines([config.failure], 'reconnect') });
        return EXIT.ok;
      }
      await round(rt, settings.host, config.config);
    }
    return EXIT.ok;
  } catch (error) {
    rt.stderr(`mactable: warning: ${describe(error)}\n`);
    return EXIT.failed;
  }
}

async function round(rt: Runtime, host: HostFs, config: Config): Promise<void> {
  const bounded = withTimeBound(rt, config.timeout);
  const { plans, problems, everyone } = guestsInScope(gatherHost(host), config, []);
  rt.stderr(warnings(problems));
  const { fixed } = await reconcile(host, bounded.bridge, plans, config, everyone);
  // A drift gone by the time of the fix leaves nothing to say: no line.
  for (const { guest, outcome } of fixed.filter((each) => happened(each.outcome))) rt.stderr(`mactable: ${outcome.failure === null ? '' : 'warning: '}${outcomeLine(guest, outcome, '')}\n`);
  // A paused guest's port becomes mactable's when its vCPUs run: the watcher sees to it, else a waiter of its own.
  const waiterProblems: string[] = [];
  for (const plan of plans.filter((each) => !vcpusRun(each.run) && managedPorts(each).length > 0)) {
    const noWaiter = await leaveWaiter(rt, host, plan.domain);
    if (noWaiter !== null) waiterProblems.push(`${printable(plan.domain)}: ${noWaiter}`);
  }
  const lines = [...problemLines([...problems, ...waiterProblems], 'reconnect'), ...fixed.flatMap(({ guest, outcome }) => syslogLines(guest, [outcome], '', 'warning', 'reconnect'))];
  await emit(rt, bounded.syslog, { stderr: warnings(waiterProblems), log: lines });
}
