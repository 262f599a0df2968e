import { printable } from '../domain/names.js';
import type { LogLine } from '../runtime/runtime.js';
import type { Outcome } from '../model/outcome.js';

// One line per port, naming guest, tap (or MAC), bridge and what happened: the same words for stderr and the system log.
export function outcomeLine(guest: string, outcome: Outcome, idle: string): string {
  const { port, changes, failure, note } = outcome;
  const subject = `${printable(guest)}: ${port.tap ?? port.mac} on ${port.bridge}`;
  const what =
    failure !== null
      ? `${failure}${changes.length > 0 ? ` (done before that: ${changes.join(', ')})` : ''}`
      : changes.length > 0 || note === null
        ? changes.join(', ') || idle
        : null;
  return `${subject}: ${[what, note].filter((part) => part !== null).join('; ')}`;
}

// Whether a port's outcome has anything to say: a change, a failure or a note (the watcher writes nothing else).
export const happened = ({ changes, failure, note }: Outcome): boolean => changes.length > 0 || failure !== null || note !== null;

// The system log gets every change, failure and note, with the operation that made it; ports already in place are not news.
export function syslogLines(guest: string, outcomes: Outcome[], idle: string, failureLevel: 'err' | 'warning', operation: string): LogLine[] {
  return outcomes
    .filter(happened)
    .map((outcome) => ({ level: outcome.failure === null ? 'info' : failureLevel, text: `${outcomeLine(guest, outcome, idle)} (${operation})` }));
}

// The plan's problems (bad metadata, refused extra MACs), one warning line each: never a failure, the plan stands.
export function warnings(problems: string[]): string {
  return problems.map((problem) => `mactable: warning: ${problem}\n`).join('');
}

// The same warnings for the system log, with the operation: the hook and repair send them with their port lines.
export function problemLines(problems: string[], operation: string): LogLine[] {
  return problems.map((text) => ({ level: 'warning', text: `${text} (${operation})` }));
}
