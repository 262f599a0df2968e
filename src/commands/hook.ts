import { undoPorts, type PortOutcome } from '../actions/apply.js';
import { applyStatuses, portStatuses } from '../actions/reconcile.js';
import { DEFAULT_TIMEOUT, type OnError } from '../config/config.js';
import { parseDomain } from '../domain/parse.js';
import { describe, EXIT, exitCodeOf } from '../runtime/errors.js';
import type { HostFs } from '../runtime/fs.js';
import { gatherFacts, gatherHost } from '../host/gather.js';
import { leaveWaiter } from '../watch/waiter.js';
import { printable } from '../domain/names.js';
import { pausedWords, vcpusRun } from '../plan/desired.js';
import { leftPorts, managedPorts, planDomain, type LeftPort, type ManagedPort, type Plan } from '../plan/plan.js';
import { ensureLeftEntriesGone } from '../actions/left-guests.js';
import { everyonePlanned, planHost } from '../plan/plan-host.js';
import type { BridgeRunner, Runtime } from '../runtime/runtime.js';
import type { Config } from '../config/config.js';
import { outcomeLine, problemLines, syslogLines, warnings } from '../report/report.js';
import { settingsFrom } from '../config/settings.js';
import { withTimeBound, type Bounded } from '../runtime/time-bound.js';
import type { Outcome } from '../model/outcome.js';

// What the qemu hook does per libvirt operation (hooks/qemu lets exactly these through). `strict`: a failure may
// fail the operation; only on `started`: on reconnect a non-zero exit makes libvirt kill the running guest.
export const ACTIONS: Record<string, { undo: boolean; strict: boolean }> = {
  'started begin': { undo: false, strict: true },
  'reconnect begin': { undo: false, strict: false },
  'attach begin': { undo: false, strict: false },
  'release end': { undo: true, strict: false },
};

const USAGE = 'usage: mactable hook qemu NAME OPERATION SUB-OPERATION [EXTRA] (domain XML on stdin)';

// The exit code when something unforeseen ends the hook: never non-zero where libvirt would kill or fail a running guest.
export function crashExitCode(argv: string[]): number {
  return ACTIONS[`${argv[3]} ${argv[4]}`]?.strict ? EXIT.failed : EXIT.ok;
}

// `mactable hook qemu NAME OP SUBOP [EXTRA]`: libvirt's qemu hook. Never writes stdout (libvirt reads it as
// domain XML for migrate and restore); every other operation is left alone. Whatever happens, it ends with
// the operation's exit policy.
export async function runHook(rt: Runtime): Promise<number> {
  let fallback = crashExitCode(rt.argv);
  try {
    return await hook(rt, (code) => (fallback = code));
  } catch (error) {
    try {
      rt.stderr(`mactable: ${describe(error)}\n`);
    } catch {
      // Nothing is left to say it with; the exit code still follows the operation's policy.
    }
    return fallback;
  }
}

async function hook(rt: Runtime, setFallback: (code: number) => void): Promise<number> {
  const [, driver, name, op, subop] = rt.argv;
  if (driver !== 'qemu' || name === undefined || op === undefined || subop === undefined) {
    rt.stderr(`mactable: ${USAGE}\n`);
    return EXIT.input;
  }
  const action = ACTIONS[`${op} ${subop}`];
  if (action === undefined) return EXIT.ok;
  const guest = printable(name);
  const started = rt.now();
  let onError: OnError = 'fail';
  let bounded = withTimeBound(rt, DEFAULT_TIMEOUT, started);
  const warnOnly = () => !action.strict || onError === 'warn';
  const say = async (problem: string) => {
    const text = `${guest}: ${problem}`;
    rt.stderr(`mactable: ${warnOnly() ? 'warning: ' : ''}${text}\n`);
    await bounded.syslog([{ level: warnOnly() ? 'warning' : 'err', text: `${text} (${op})` }]);
  };

  try {
    const settings = settingsFrom(rt, {});
    const config = settings.config();
    if (!('config' in config)) {
      onError = config.onError ?? 'fail';
      setFallback(warnOnly() ? EXIT.ok : EXIT.failed);
      await say(config.failure);
      return warnOnly() ? EXIT.ok : EXIT.input;
    }
    onError = config.config.onError;
    setFallback(warnOnly() ? EXIT.ok : EXIT.failed);
    bounded = withTimeBound(rt, config.config.timeout, started);
    const domain = parseDomain(await bounded.readStdin(), 'stdin');
    const facts = gatherFacts(domain, settings.host);
    const plan = planDomain(domain, facts, config.config);
    rt.stderr(warnings(plan.problems));
    const managed = managedPorts(plan);
    const outcomes = action.undo
      ? await leave(settings.host, bounded.bridge, managed, leftPorts(domain, facts, config.config), config.config)
      : managed.length === 0
        ? []
        : await applyPorts(settings.host, bounded.bridge, plan, config.config, { putBack: warnOnly() });
    if (outcomes.length > 0 && !action.undo && !vcpusRun(plan.run)) notePaused(plan, outcomes, await leaveWaiter(rt, settings.host, domain.name));
    await report(rt, bounded, guest, op, outcomes, action.undo ? 'nothing to undo' : 'already in place', warnOnly(), plan.problems);
    return outcomes.some((outcome) => outcome.failure !== null) && !warnOnly() ? EXIT.failed : EXIT.ok;
  } catch (error) {
    await say(describe(error));
    return warnOnly() ? EXIT.ok : exitCodeOf(error);
  }
}

// `started` (and `reconnect`, `attach`): the same pass as a round of the watcher over this guest's managed ports,
// with one `bridge` process: sysfs observed, diffed, applied, the entries read before the writes and after them in
// that one batch. Each port's outcome, ok ones too. With `putBack` a failed port is left as libvirt made it.
async function applyPorts(host: HostFs, bridge: BridgeRunner, plan: Plan, config: Config, { putBack }: { putBack: boolean }): Promise<PortOutcome[]> {
  const statuses = await portStatuses(host, bridge, [plan], config, null, { managedOnly: true, readEntries: false });
  return (await applyStatuses(host, bridge, statuses, { putBack, all: true, readFirst: true })).map(({ outcome }) => outcome);
}

// The guest is gone (`release`): taps that outlive it (managed='no') put back as libvirt made them, and static
// entries for its MACs that learning moved to another port of its bridge before its tap went (the destination's
// announce after a migration) deleted (every running guest planned only when one is found). libvirt's XML names no taps by then: the ports are known by MAC and bridge.
async function leave(host: HostFs, bridge: BridgeRunner, kept: ManagedPort[], left: LeftPort[], config: Config): Promise<Outcome[]> {
  const undone = await undoPorts(host, bridge, kept.filter((port) => !port.tapManaged));
  return [...undone, ...(await ensureLeftEntriesGone(host, bridge, left, () => everyonePlanned(planHost(gatherHost(host), config))))];
}

// A paused guest (incoming migration, start --paused) keeps its port as libvirt made it, so the bridge learns its
// place from its announce; the waiter or the watcher makes the port mactable's when its vCPUs run.
function notePaused(plan: Plan, outcomes: Outcome[], noWaiter: string | null): void {
  for (const outcome of outcomes) {
    if (outcome.failure === null) outcome.note = `as libvirt made it while the guest is ${pausedWords(plan.run)}: ${noWaiter ?? 'mactable takes it when the vCPUs run'}`;
  }
}

// Every port on stderr (libvirt shows it when the start fails: nothing half-done silently); the plan's problems,
// changes and failures in the system log, all through one `logger`.
async function report(rt: Runtime, bounded: Bounded, guest: string, op: string, outcomes: Outcome[], idle: string, warnOnly: boolean, problems: string[]): Promise<void> {
  for (const outcome of outcomes) {
    const warning = outcome.failure !== null && warnOnly ? 'warning: ' : '';
    rt.stderr(`mactable: ${warning}${outcomeLine(guest, outcome, idle)}\n`);
  }
  const problem = await bounded.syslog([...problemLines(problems, op), ...syslogLines(guest, outcomes, idle, warnOnly ? 'warning' : 'err', op)]);
  if (problem !== null) rt.stderr(`mactable: warning: ${problem}\n`);
}
