import { undoPorts, type PortOutcome } from '../actions/apply.js';
import { applyStatuses, portStatuses } from '../actions/reconcile.js';
import { DEFAULT_TIMEOUT, type ConfigResult, type OnError } from '../config/config.js';
import { parseDomain } from '../domain/parse.js';
import { describe, EXIT, exitCodeOf, InputError } from '../runtime/errors.js';
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
import { settingsFrom, type Settings } from '../config/settings.js';
import { emit } from '../report/emit.js';
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

// What a failure means in this call, decided once, before anything can fail: from the operation, the config's
// onError (when the config cannot be used, the onError it asks for if that much is readable, else fail) and its time
// bound. `exit(code)` is the exit code for a failure whose own code is `code`: 0 where a failure is only a warning.
interface HookPolicy {
  warnOnly: boolean;
  bounded: Bounded;
  exit(code: number): number;
}

function policyOf(rt: Runtime, strict: boolean, onError: OnError, timeout: number, since: number): HookPolicy {
  const warnOnly = !strict || onError === 'warn';
  return { warnOnly, bounded: withTimeBound(rt, timeout, since), exit: (code) => (warnOnly ? EXIT.ok : code) };
}

// `mactable hook qemu NAME OP SUBOP [EXTRA]`: libvirt's qemu hook. Never writes stdout (libvirt reads it as
// domain XML for migrate and restore); every other operation is left alone. Whatever happens, it ends with
// the operation's exit policy.
export async function runHook(rt: Runtime): Promise<number> {
  const [, driver, name, op, subop] = rt.argv;
  if (driver !== 'qemu' || name === undefined || op === undefined || subop === undefined) return usage(rt);
  const action = ACTIONS[`${op} ${subop}`];
  if (action === undefined) return EXIT.ok;
  const call = { guest: printable(name), op };
  const started = rt.now();
  let settings: Settings;
  let config: ConfigResult;
  try {
    settings = settingsFrom(rt, {});
    config = settings.config();
  } catch (error) {
    return said(rt, policyOf(rt, action.strict, 'fail', DEFAULT_TIMEOUT, started), call, error);
  }
  const policy = 'config' in config ? policyOf(rt, action.strict, config.config.onError, config.config.timeout, started) : policyOf(rt, action.strict, config.onError ?? 'fail', DEFAULT_TIMEOUT, started);
  if (!('config' in config)) return said(rt, policy, call, new InputError(config.failure));
  try {
    return await hook(rt, policy, call, action.undo, settings, config.config);
  } catch (error) {
    return said(rt, policy, call, error);
  }
}

function usage(rt: Runtime): number {
  rt.stderr(`mactable: ${USAGE}\n`);
  return EXIT.input;
}

// What stopped the call, said on stderr and in the system log; its exit code by the policy. Even stderr failing ends
// with the policy's code.
async function said(rt: Runtime, policy: HookPolicy, { guest, op }: { guest: string; op: string }, error: unknown): Promise<number> {
  const text = `${guest}: ${describe(error)}`;
  try {
    await emit(rt, policy.bounded.syslog, { stderr: `mactable: ${policy.warnOnly ? 'warning: ' : ''}${text}\n`, log: [{ level: policy.warnOnly ? 'warning' : 'err', text: `${text} (${op})` }] }, { warnUnlogged: false });
  } catch {
    // Nothing is left to say it with; the exit code still follows the operation's policy.
  }
  return policy.exit(exitCodeOf(error));
}

async function hook(rt: Runtime, policy: HookPolicy, { guest, op }: { guest: string; op: string }, undo: boolean, settings: Settings, config: Config): Promise<number> {
  const { bounded } = policy;
  const domain = parseDomain(await bounded.readStdin(), 'stdin');
  const facts = gatherFacts(domain, settings.host);
  const plan = planDomain(domain, facts, config);
  rt.stderr(warnings(plan.problems));
  const managed = managedPorts(plan);
  const outcomes = undo
    ? await leave(settings.host, bounded.bridge, managed, leftPorts(domain, facts, config), config)
    : managed.length === 0
      ? []
      : await applyPorts(settings.host, bounded.bridge, plan, config, { putBack: policy.warnOnly });
  if (outcomes.length > 0 && !undo && !vcpusRun(plan.run)) notePaused(plan, outcomes, await leaveWaiter(rt, settings.host, domain.name));
  await report(rt, policy, { guest, op, outcomes, idle: undo ? 'nothing to undo' : 'already in place', problems: plan.problems });
  return outcomes.some((outcome) => outcome.failure !== null) ? policy.exit(EXIT.failed) : EXIT.ok;
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

// What a hook call reports: its guest and operation, each port's outcome (`idle`: the words for one with nothing to
// do), and the plan's problems.
interface HookReport {
  guest: string;
  op: string;
  outcomes: Outcome[];
  idle: string;
  problems: string[];
}

// Every port on stderr (libvirt shows it when the start fails: nothing half-done silently); the plan's problems,
// changes and failures in the system log, all at once.
async function report(rt: Runtime, { warnOnly, bounded }: HookPolicy, { guest, op, outcomes, idle, problems }: HookReport): Promise<void> {
  const stderr = outcomes.map((outcome) => `mactable: ${outcome.failure !== null && warnOnly ? 'warning: ' : ''}${outcomeLine(guest, outcome, idle)}\n`).join('');
  await emit(rt, bounded.syslog, { stderr, log: [...problemLines(problems, op), ...syslogLines(guest, outcomes, idle, warnOnly ? 'warning' : 'err', op)] });
}
