import type { BridgeRunner, CommandResult, LogLine, Runtime } from './runtime.js';

export interface Bounded {
  readStdin(): Promise<string>;
  bridge: BridgeRunner;
  syslog(lines: LogLine[]): Promise<{ failure: string | null }>;
}

// One time bound for a whole invocation (the config's "timeout"): each command gets what is left of it,
// and none starts once it is spent, so libvirtd is never kept waiting longer.
export function withTimeBound(rt: Runtime, seconds: number, since = rt.now()): Bounded {
  const end = since + seconds * 1000;
  const spent = `the time bound of ${seconds} s is spent`;
  const left = () => end - rt.now();
  const named = (result: CommandResult) => (result.timedOut ? { ...result, failure: `timed out: ${spent}` } : result);
  return {
    readStdin: () => rt.readStdin(Math.max(left(), 0)),
    bridge: async (args, input) => (left() > 0 ? named(await rt.bridge(args, input, left())) : { exitCode: null, stdout: '', stderr: '', failure: spent, timedOut: true }),
    syslog: async (lines) => (left() > 0 ? rt.syslog(lines, left()) : { failure: `cannot write to the system log: ${spent}` }),
  };
}
