import * as fs from 'node:fs';
import { InputError } from './errors.js';
import { commandBridge, loggerSyslog, runCommand } from './host/commands.js';
import { rootedFs } from './host/fs.js';
import type { Runtime } from './runtime.js';

// Version queries and the like, outside any configured bound.
const COMMAND_TIMEOUT_MS = 10_000;

// The one place that binds the process, the file system and external commands to the program.
function processRuntime(): Runtime {
  const env = process.env;
  return {
    argv: process.argv.slice(2),
    env,
    readStdin: (timeoutMs) => readAll(0, timeoutMs),
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

// Run an entry point with the real process, and exit with its code; anything that escapes it still ends
// with `fallback`'s code. The exit is explicit: a stdin read given up at its bound would keep the process alive.
export function runProcess(main: (rt: Runtime) => Promise<number>, fallback: (argv: string[]) => number): void {
  const rt = processRuntime();
  const bail = () => process.exit(fallback(rt.argv));
  process.on('uncaughtException', bail);
  process.on('unhandledRejection', bail);
  main(rt).then((code) => process.exit(code), bail);
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

// Read all of stdin within a time bound (libvirt may never close it). Reads go through the thread pool so the
// timer can end the wait; a non-blocking pipe is polled.
function readAll(fd: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => reject(new InputError(`stdin: the domain XML did not end within ${Math.ceil(timeoutMs / 1000)} s`)), timeoutMs)
      : undefined;
    const done = (error: Error | null) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const next = (): void =>
      fs.read(fd, Buffer.alloc(65536), 0, 65536, null, (error, n, buffer) => {
        const code = error?.code;
        if (code === 'EAGAIN') return void setTimeout(next, 2);
        if (error && code !== 'EOF') return done(error);
        if (!error && n > 0) {
          chunks.push(buffer.subarray(0, n));
          return next();
        }
        done(null);
      });
    next();
  });
}

// node:tty loads node:net; only the CLI asks, so it is loaded only then.
async function isTerminal(fd: number): Promise<boolean> {
  return (await import('node:tty')).isatty(fd);
}
