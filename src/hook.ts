import { applyPorts, undoPorts, type PortOutcome } from './apply.js';
import type { OnError } from './config.js';
import { parseDomain } from './domain/parse.js';
import { describe, EXIT, exitCodeOf } from './errors.js';
import { gatherFacts } from './host/gather.js';
import { printable } from './names.js';
import { managedPorts, planDomain } from './plan/plan.js';
import { outcomeLine, syslogLines } from './report.js';
import type { Runtime } from './runtime.js';
import { settingsFrom } from './settings.js';

// What the qemu hook does per libvirt operation. `strict`: a failure may fail the operation
// (only `started`: on reconnect a non-zero exit makes libvirt kill the running guest).
const ACTIONS: Record<string, { undo: boolean; strict: boolean }> = {
  'started begin': { undo: false, strict: true },
  'reconnect begin': { undo: false, strict: false },
  'attach begin': { undo: false, strict: false },
  'release end': { undo: true, strict: false },
};

const USAGE = 'usage: mactable hook qemu NAME OPERATION SUB-OPERATION [EXTRA] (domain XML on stdin)';

// `mactable hook qemu NAME OP SUBOP [EXTRA]`: libvirt's qemu hook. Never writes stdout
// (libvirt reads it as domain XML for migrate and restore); every other operation is left alone.
export async function runHook(rt: Runtime): Promise<number> {
  const [, driver, name, op, subop] = rt.argv;
  if (driver !== 'qemu' || name === undefined || op === undefined || subop === undefined) {
    rt.stderr(`mactable: ${USAGE}\n`);
    return EXIT.input;
  }
  const action = ACTIONS[`${op} ${subop}`];
  if (action === undefined) return EXIT.ok;
  const guest = printable(name);
  let onError: OnError = 'fail';
  const warnOnly = () => !action.strict || onError === 'warn';
  const say = async (problem: string) => {
    const text = `${guest}: ${problem}`;
    rt.stderr(`mactable: ${warnOnly() ? 'warning: ' : ''}${text}\n`);
    await rt.syslog([{ level: warnOnly() ? 'warning' : 'err', text: `${text} (${op})` }]);
  };

  try {
    const settings = settingsFrom(rt, {});
    const config = settings.config();
    if (!('config' in config)) {
      onError = config.onError ?? 'fail';
      await say(config.problem);
      return warnOnly() ? EXIT.ok : EXIT.input;
    }
    onError = config.config.onError;
    const domain = parseDomain(rt.readStdin(), 'stdin');
    const ports = managedPorts(planDomain(domain, gatherFacts(domain, settings.host), config.config));
    if (ports.length === 0) return EXIT.ok;
    const outcomes = await (action.undo ? undoPorts : applyPorts)(settings.host, rt.bridge, ports);
    await report(rt, guest, op, outcomes, action.undo ? 'nothing to undo' : 'already in place', warnOnly());
    return outcomes.some((outcome) => outcome.failure !== null) && !warnOnly() ? EXIT.failed : EXIT.ok;
  } catch (error) {
    await say(describe(error));
    return warnOnly() ? EXIT.ok : exitCodeOf(error);
  }
}

// Every port on stderr (libvirt shows it when the start fails: nothing half-done silently), changes and failures in syslog.
async function report(rt: Runtime, guest: string, op: string, outcomes: PortOutcome[], idle: string, warnOnly: boolean): Promise<void> {
  for (const outcome of outcomes) {
    const warning = outcome.failure !== null && warnOnly ? 'warning: ' : '';
    rt.stderr(`mactable: ${warning}${outcomeLine(guest, outcome, idle)}\n`);
  }
  const lines = syslogLines(guest, outcomes, idle, warnOnly ? 'warning' : 'err').map((line) => ({ ...line, text: `${line.text} (${op})` }));
  const problem = await rt.syslog(lines);
  if (problem !== null) rt.stderr(`mactable: warning: ${problem}\n`);
}
