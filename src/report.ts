import type { PortOutcome } from './apply.js';
import { printable } from './names.js';
import type { LogLine } from './runtime.js';

// One line per port, naming guest, tap, bridge and what happened: the same words for stderr and the system log.
export function outcomeLine(guest: string, outcome: PortOutcome, idle: string): string {
  const { port, changes, failure, note } = outcome;
  const subject = `${printable(guest)}: ${port.tap} on ${port.bridge}`;
  if (failure !== null) return `${subject}: ${failure}${changes.length > 0 ? ` (done before that: ${changes.join(', ')})` : ''}`;
  if (note !== null) return `${subject}: ${note}`;
  return `${subject}: ${changes.length > 0 ? changes.join(', ') : idle}`;
}

// The system log gets every change and every failure, with the operation that made it; ports already in place are not news.
export function syslogLines(guest: string, outcomes: PortOutcome[], idle: string, failureLevel: 'err' | 'warning', operation: string): LogLine[] {
  return outcomes
    .filter((outcome) => outcome.failure !== null || outcome.changes.length > 0)
    .map((outcome) => ({ level: outcome.failure === null ? 'info' : failureLevel, text: `${outcomeLine(guest, outcome, idle)} (${operation})` }));
}
