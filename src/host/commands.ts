import type { BridgeRunner, CommandResult, SyslogSink } from '../runtime.js';

// libvirt runs hooks with its own PATH, which may lack the sbin directories iproute2 lives in.
const SBIN = ['/usr/sbin', '/sbin'];
const DEFAULT_TIMEOUT_MS = 10_000;

function pathWithSbin(env: Record<string, string | undefined>): string {
  const dirs = (env.PATH ?? '/usr/bin:/bin').split(':');
  return [...dirs, ...SBIN.filter((dir) => !dirs.includes(dir))].join(':');
}

// Run a command with execa: argument array, stdin text, a time bound; failure comes back as data, never thrown.
async function run(command: string, args: string[], input: string, env: Record<string, string | undefined>): Promise<CommandResult> {
  try {
    return await runExeca(command, args, input, env);
  } catch (error) {
    return { exitCode: null, stdout: '', stderr: '', failure: (error as Error).message };
  }
}

async function runExeca(command: string, args: string[], input: string, env: Record<string, string | undefined>): Promise<CommandResult> {
  const { execa } = await import('execa');
  const result = await execa(command, args, {
    input,
    reject: false,
    timeout: DEFAULT_TIMEOUT_MS,
    env: { PATH: pathWithSbin(env), LC_ALL: 'C' },
    extendEnv: false,
    stripFinalNewline: false,
  });
  const ran = result.exitCode !== undefined && !result.timedOut && !result.isTerminated;
  return {
    exitCode: ran ? (result.exitCode ?? null) : null,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    failure: ran ? null : result.timedOut ? `timed out after ${DEFAULT_TIMEOUT_MS / 1000} s` : (result.shortMessage ?? "did not run"),
  };
}

// `bridge` from iproute2; MACTABLE_BRIDGE names another binary (tests use it to simulate faults).
export function execaBridge(env: Record<string, string | undefined>): BridgeRunner {
  return (args, input) => run(env.MACTABLE_BRIDGE ?? 'bridge', args, input, env);
}

// syslog(3) priorities for facility daemon (3 << 3) at each level, as logger's --prio-prefix reads them.
const PRIORITY = { err: 27, warning: 28, info: 30 } as const;

// logger(1) sends to journald or syslog; MACTABLE_SYSLOG_SOCKET sends to another socket (tests listen there).
export function loggerSyslog(env: Record<string, string | undefined>): SyslogSink {
  return async (lines) => {
    if (lines.length === 0) return null;
    const socket = env.MACTABLE_SYSLOG_SOCKET;
    const args = ['--prio-prefix', '-t', 'mactable', ...(socket ? ['-u', socket] : [])];
    const input = lines.map((line) => `<${PRIORITY[line.level]}>${line.text}\n`).join('');
    const result = await run('logger', args, input, env);
    if (result.exitCode === 0) return null;
    return `cannot write to the system log: ${result.failure ?? result.stderr.trim()}`;
  };
}
