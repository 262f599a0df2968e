import * as child_process from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { rootedFs, type HostFs } from '../../src/runtime/fs.js';
import { holdLock, lockHeld } from '../../src/runtime/locks.js';
import { run } from '../../src/commands/program.js';
import type { CommandResult, Runtime, SyslogSink, TimedBridge } from '../../src/runtime/runtime.js';

export interface FakeRun {
  code: number;
  stdout: string;
  stderr: string;
  bridgeCalls: { args: string[]; input: string }[];
  syslog: { level: string; text: string }[];
  detached: string[][]; // argv of every detached run of the program
}

export interface FakeOptions {
  stdin?: string;
  env?: Record<string, string>;
  bridge?: (args: string[], input: string) => CommandResult;
  command?: (file: string, args: string[]) => CommandResult;
  nodeVersion?: string;
  hostFs?: (root: string) => HostFs;
  stderr?: (text: string) => void; // replaces the recording one (a test of a stderr that fails)
}

// Run the program in-process with injected stdin, env and a recording `bridge` and syslog.
export async function runFake(argv: string[], options: FakeOptions = {}): Promise<FakeRun> {
  const result: FakeRun = { code: -1, stdout: '', stderr: '', bridgeCalls: [], syslog: [], detached: [] };
  const bridge: TimedBridge = async (args, input) => {
    result.bridgeCalls.push({ args, input });
    return options.bridge?.(args, input) ?? { exitCode: 0, stdout: '', stderr: '', failure: null, timedOut: false };
  };
  const syslog: SyslogSink = async (lines) => {
    result.syslog.push(...lines);
    return { failure: null };
  };
  const rt: Runtime = {
    argv,
    env: options.env ?? {},
    readStdin: async () => options.stdin ?? '',
    stdinIsTTY: async () => options.stdin === undefined,
    stdout: (text) => void (result.stdout += text),
    stderr: options.stderr ?? ((text) => void (result.stderr += text)),
    stdoutIsTTY: async () => false,
    readFile: (path) => readFileSync(path, 'utf8'),
    hostFs: options.hostFs ?? rootedFs,
    bridge,
    command: async (file, args) => options.command?.(file, args) ?? { exitCode: null, stdout: '', stderr: '', failure: `${file}: not in this test`, timedOut: false },
    nodeVersion: options.nodeVersion ?? '20.19.0',
    pid: 4000,
    now: () => Date.now(),
    syslog,
    watchDir: () => {
      throw new Error('watchDir: not in this test');
    },
    monitor: async () => {
      throw new Error('monitor: not in this test');
    },
    onStop: () => undefined,
    stderrIsJournal: () => false,
    writeFileAtomic: (path, text) => writeFileSync(path, text),
    spawnDetached: async (argv) => void result.detached.push(argv),
    // The real locks: flock(1) on files under the test's root (a lock held by this test process lasts as long as it).
    holdLock: (path, waitSeconds) => holdLock(childProcess, {}, path, waitSeconds, 4000),
    lockHeld: (path) => lockHeld(childProcess, {}, path),
  };
  result.code = await run(rt);
  return result;
}

const childProcess = async () => child_process;

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
