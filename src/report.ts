import type { PortOutcome } from './apply.js';
import { printable } from './names.js';
import type { LogLine } from './runtime.js';

// One line per port, naming guest, tap, bridge and what happened: the same words for stderr and the system log.
export function outcomeLine(guest: string, outcome: PortOutcome, idle: string): string {
  const { port, changes, failure, note } = outcome;
  const subject = `${printable(guest)}: ${port.tap} on ${port.bridge}`;
  const what =
    failure !== null
      ? `${failure}${changes.length > 0 ? ` (done before that: ${changes.join(', ')})` : ''}`
      : changes.length > 0 || note === null
        ? changes.join(', ') || idle
        : null;
  return `${subject}: ${[what, note].filter((part) => part !== null).join('; ')}`;
}

// The system log gets every change, failure and note, with the operation that made it; ports already in place are not news.
export function syslogLines(guest: string, outcomes: PortOutcome[], idle: string, failureLevel: 'err' | 'warning', operation: string): LogLine[] {
  return outcomes
    .filter((outcome) => outcome.failure !== null || outcome.changes.length > 0 || outcome.note !== null)
    .map((outcome) => ({ level: outcome.failure === null ? 'info' : failureLevel, text: `${outcomeLine(guest, outcome, idle)} (${operation})` }));
}
