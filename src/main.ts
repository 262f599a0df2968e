import * as fs from 'node:fs';
import { commandBridge, loggerSyslog, runCommand } from './host/commands.js';
import { rootedFs } from './host/fs.js';
import { run } from './program.js';
import type { Runtime } from './runtime.js';

// Version queries and the like, outside any configured bound.
const COMMAND_TIMEOUT_MS = 10_000;

// The one place that binds the process, the file system and external commands to the program.
function processRuntime(): Runtime {
  const env = process.env;
  return {
    argv: process.argv.slice(2),
    env,
    readStdin: () => readAll(0),
    stdinIsTTY: () => isTerminal(0),
    stdout: (text) => writeAll(1, text),
    stderr: (text) => writeAll(2, text),
    stdoutIsTTY: () => isTerminal(1),
    readFile: (path) => fs.readFileSync(path, 'utf8'),
    hostFs: rootedFs,
    bridge: commandBridge(env),
    command: (file, args) => runCommand(file, args, '', env, COMMAND_TIMEOUT_MS),
    nodeVersion: process.versions.node,
    now: () => Date.now(),
    syslog: loggerSyslog(env),
  };
}

// Synchronous writes keep output ordered and complete before exit; a non-blocking pipe may ask us to retry.
function writeAll(fd: number, text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(fs.writeSync(fd, buffer));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return; // the reader went away (`| head`): nothing left to say
      if (code !== 'EAGAIN') throw error;
    }
  }
}

// Read all of stdin; like writeAll, it waits out a non-blocking pipe.
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = fs.readSync(fd, chunk);
      if (n === 0) return Buffer.concat(chunks).toString('utf8');
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EOF') return Buffer.concat(chunks).toString('utf8');
      if (code !== 'EAGAIN') throw error;
    }
  }
}

// node:tty loads node:net; only the CLI asks, so it is loaded only then.
async function isTerminal(fd: number): Promise<boolean> {
  return (await import('node:tty')).isatty(fd);
}

void run(processRuntime()).then((code) => {
  process.exitCode = code;
});
