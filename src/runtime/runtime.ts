import type { HostFs } from './fs.js';
import type { LockResult } from './locks.js';

// The result of one external command: success and failure in one shape, as data.
export interface CommandResult {
  exitCode: number | null; // null: it did not run to an exit (not found, killed, timed out)
  stdout: string;
  stderr: string;
  failure: string | null; // why it did not run or was stopped, in plain words
  timedOut: boolean; // stopped at its time bound
}

// Runs `bridge` with the given arguments and stdin within a time bound; never throws.
export type TimedBridge = (args: string[], input: string, timeoutMs: number) => Promise<CommandResult>;

// `bridge` with its time bound already applied: what the host modules use.
export type BridgeRunner = (args: string[], input: string) => Promise<CommandResult>;

export interface LogLine {
  level: 'info' | 'warning' | 'err';
  text: string;
}

// Sends lines to the system log with tag `mactable` within a time bound; never throws: the one result shape.
export type SyslogSink = (lines: LogLine[], timeoutMs: number) => Promise<{ failure: string | null }>;

// A long-running child process (a kernel monitor): its output line by line, and its end.
export interface Monitor {
  stop(): Promise<void>; // resolves once the child is gone
}

// Everything the program touches, bound to the real process only in process.ts (tests pass their own).
export interface Runtime {
  argv: string[];
  env: Record<string, string | undefined>;
  readStdin(timeoutMs: number): Promise<string>; // rejects when stdin does not end within the bound
  stdinIsTTY(): Promise<boolean>;
  stdout(text: string): void;
  stderr(text: string): void;
  stdoutIsTTY(): Promise<boolean>;
  readFile(path: string): string; // a file named on the command line, relative to the working directory
  hostFs(root: string): HostFs;
  bridge: TimedBridge;
  command(file: string, args: string[]): Promise<CommandResult>; // other host commands (doctor asks for versions)
  nodeVersion: string;
  pid: number;
  now(): number; // milliseconds, for time bounds
  syslog: SyslogSink;
  // For the watcher: a directory's changes (file names; null when the directory itself went away), a child whose
  // output is read line by line, the stop signals (SIGTERM, SIGINT), and files replaced whole by rename.
  watchDir(path: string, onChange: (file: string | null) => void): { close(): void };
  monitor(file: string, args: string[], onLine: (line: string) => void, onExit: (why: string) => void): Promise<Monitor>;
  onStop(handler: () => void): void;
  stderrIsJournal(): boolean; // stderr is systemd's journal stream (JOURNAL_STREAM names its device and inode)
  writeFileAtomic(path: string, text: string): void;
  spawnDetached(argv: string[]): Promise<void>; // the program itself, in its own session, holding none of our pipes
  // An exclusive flock held until this process ends (a watcher, a waiter), and whether another process holds one.
  holdLock(path: string, waitSeconds: number): Promise<LockResult>;
  lockHeld(path: string): Promise<boolean>;
}
