import type { HostFs } from './host/fs.js';

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

// Sends lines to the system log with tag `mactable` within a time bound; never throws, reports failure as a string.
export type SyslogSink = (lines: LogLine[], timeoutMs: number) => Promise<string | null>;

// Everything the program touches, bound to the real process only in main.ts (tests pass their own).
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
  now(): number; // milliseconds, for time bounds
  syslog: SyslogSink;
}
