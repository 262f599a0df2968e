import type { CommandResult, LogLine, SyslogSink, TimedBridge } from './runtime.js';

// libvirt runs hooks with its own PATH, which may lack the sbin directories iproute2 lives in.
const SBIN = ['/usr/sbin', '/sbin'];

type Env = Record<string, string | undefined>;

// node:child_process, loaded on first use by the entry point's own means (require in the hook's CommonJS
// bundle): a hook call with nothing to manage runs no command and pays nothing for it.
export type LoadChildProcess = () => Promise<typeof import('node:child_process')>;

// node:net likewise, for journald's socket (child_process has loaded it already: it costs nothing more then).
export type LoadNet = () => Promise<typeof import('node:net')>;

// The environment commands run with: the caller's PATH plus the sbin directories, and the C locale.
export function commandEnv(env: Env): Record<string, string> {
  const dirs = (env.PATH ?? '/usr/bin:/bin').split(':');
  return { PATH: [...dirs, ...SBIN.filter((dir) => !dirs.includes(dir))].join(':'), LC_ALL: 'C' };
}

// Run a command: an argument array (never a shell), stdin text, a time bound; failure comes back
// as data, never thrown. Synchronous: the hook has nothing else to do meanwhile, and the watcher's
// events simply wait for the reconcile they would start anyway (a stop signal too, at most the
// config's timeout). node:child_process rather than execa: execa's start-up alone costs more than
// the hook's whole budget (see the README's Performance section).
export async function runCommand(load: LoadChildProcess, file: string, args: string[], input: string, env: Env, timeoutMs: number): Promise<CommandResult> {
  const { spawnSync } = await load();
  const result = spawnSync(file, args, { input, env: commandEnv(env), timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 64 << 20 });
  const { stdout = '', stderr = '' } = result;
  // A child that ended before reading all its input makes the write fail (EPIPE): its exit and stderr say why.
  const ended = (result.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && (result.status !== null || result.signal !== null);
  if (result.error && !ended) {
    const timedOut = (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    return { exitCode: null, stdout, stderr, failure: timedOut ? 'timed out' : `cannot run ${file}: ${result.error.message}`, timedOut };
  }
  if (result.signal) return { exitCode: null, stdout, stderr, failure: `${file} was killed by ${result.signal}`, timedOut: false };
  return { exitCode: result.status, stdout, stderr, failure: null, timedOut: false };
}

// `bridge` from iproute2; MACTABLE_BRIDGE names another binary (tests use it to simulate faults).
export function commandBridge(load: LoadChildProcess, env: Env): TimedBridge {
  return (args, input, timeoutMs) => runCommand(load, env.MACTABLE_BRIDGE ?? 'bridge', args, input, env, timeoutMs);
}

// syslog(3) severities of our levels; with facility daemon (3 << 3) they are what logger's --prio-prefix reads.
const SEVERITY = { err: 3, warning: 4, info: 6 } as const;
const DAEMON = 3 << 3;

// A level's syslog severity, also what the journal reads from a `<N>` prefix on a service's stderr.
export function severity(level: keyof typeof SEVERITY): number {
  return SEVERITY[level];
}

// journald's stream socket (what a service's stdout is connected to), below the root: no `logger` process to start.
export const JOURNAL_STREAM = '/run/systemd/journal/stdout';

// What journald reads on its stream socket: the header (identifier, no unit id, default priority daemon.info,
// level prefix on, no forwarding of our own: journald's config decides), then one message per line with its
// `<severity>` (journald takes 0-7 there; the facility comes from the header).
function journalStream(lines: LogLine[]): string {
  const header = ['mactable', '', String(DAEMON + SEVERITY.info), '1', '0', '0', '0'];
  return [...header, ...lines.map((line) => `<${severity(line.level)}>${line.text}`)].join('\n') + '\n';
}

// The system log: journald's stream socket under the root (MACTABLE_ROOT) where it listens, else logger(1), which
// sends to journald or syslog; MACTABLE_SYSLOG_SOCKET sends through logger to another socket (tests listen there).
export function systemLog(load: LoadChildProcess, loadNet: LoadNet, env: Env): SyslogSink {
  const root = (env.MACTABLE_ROOT ?? '/').replace(/\/+$/u, '');
  return async (lines, timeoutMs) => ({ failure: lines.length === 0 ? null : await writeSystemLog(load, loadNet, env, root, lines, timeoutMs) });
}

// Null once the lines are written; else why not.
async function writeSystemLog(load: LoadChildProcess, loadNet: LoadNet, env: Env, root: string, lines: LogLine[], timeoutMs: number): Promise<string | null> {
  const since = Date.now();
  if (!env.MACTABLE_SYSLOG_SOCKET) {
    const sent = await writeJournal(loadNet, `${root}${JOURNAL_STREAM}`, journalStream(lines), timeoutMs);
    if (sent !== 'no journald') return sent === null ? null : `cannot write to the system log: ${sent}`;
  }
  const left = timeoutMs - (Date.now() - since);
  return left > 0 ? loggerSyslog(load, env, lines, left) : 'cannot write to the system log: timed out';
}

// Null once the kernel holds every byte for journald; 'no journald' when the socket is absent or refuses before
// anything was sent (logger takes over); else why the write failed. Never longer than the time bound.
async function writeJournal(loadNet: LoadNet, path: string, data: string, timeoutMs: number): Promise<string | null> {
  const { connect } = await loadNet();
  return new Promise((resolve) => {
    let connected = false;
    const socket = connect(path);
    const settle = (result: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle(`timed out writing to ${path}`), timeoutMs);
    socket.on('connect', () => (connected = true));
    socket.on('error', (error) => settle(connected ? `cannot write to ${path}: ${error.message}` : 'no journald'));
    socket.on('finish', () => settle(null));
    socket.end(data);
  });
}

async function loggerSyslog(load: LoadChildProcess, env: Env, lines: LogLine[], timeoutMs: number): Promise<string | null> {
  const socket = env.MACTABLE_SYSLOG_SOCKET;
  const args = ['--prio-prefix', '-t', 'mactable', ...(socket ? ['-u', socket] : [])];
  const input = lines.map((line) => `<${DAEMON + severity(line.level)}>${line.text}\n`).join('');
  const result = await runCommand(load, 'logger', args, input, env, timeoutMs);
  if (result.exitCode === 0) return null;
  return `cannot write to the system log: ${result.failure ?? result.stderr.trim()}`;
}
