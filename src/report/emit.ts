import type { LogLine, Runtime } from '../runtime/runtime.js';

// The system log within what is left of a call's time bound (runtime/time-bound.ts).
type Syslog = (lines: LogLine[]) => Promise<{ failure: string | null }>;

// What a command says: text for stderr as it is shown, and lines for the system log.
interface Said {
  stderr?: string;
  log?: LogLine[];
}

// The one way every command speaks: stderr first, then the system log (journald's socket, or logger) in one go, and a
// warning on stderr when the log cannot be written, unless `warnUnlogged` is false (what stopped a hook: its one
// line on stderr says it, the time bound is often what is spent).
export async function emit(rt: Pick<Runtime, 'stderr'>, syslog: Syslog, { stderr = '', log = [] }: Said, { warnUnlogged = true } = {}): Promise<void> {
  if (stderr !== '') rt.stderr(stderr);
  if (log.length === 0) return;
  const { failure } = await syslog(log);
  if (failure !== null && warnUnlogged) rt.stderr(`mactable: warning: ${failure}\n`);
}
