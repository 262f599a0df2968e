import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from './errors.js';
import { commandBridge, commandEnv, runCommand, systemLog, type LoadChildProcess, type LoadNet } from './commands.js';
import { rootedFs } from './fs.js';
import { holdLock, lockHeld } from './locks.js';
import type { Monitor, Runtime } from './runtime.js';

// Version queries and the like, outside any configured bound.
const COMMAND_TIMEOUT_MS = 10_000;

// The one place that binds the process, the file system and external commands to the program.
function processRuntime(load: LoadChildProcess, loadNet: LoadNet): Runtime {
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
    bridge: commandBridge(load, env),
    command: (file, args) => runCommand(load, file, args, '', env, COMMAND_TIMEOUT_MS),
    nodeVersion: process.versions.node,
    pid: process.pid,
    now: () => Date.now(),
    syslog: systemLog(load, loadNet, env),
    watchDir,
    monitor: (file, args, onLine, onExit) => monitor(load, file, args, env, onLine, onExit),
    onStop: (handler) => {
      process.on('SIGTERM', handler);
      process.on('SIGINT', handler);
    },
    writeFileAtomic,
    stderrIsJournal: () => {
      const stat = fs.fstatSync(2);
      return env.JOURNAL_STREAM === `${stat.dev}:${stat.ino}`;
    },
    spawnDetached: async (argv) => {
      // The CLI bundle sits beside whichever bundle runs now (dist/hook.cjs or dist/mactable.mjs).
      const program = join(dirname(process.argv[1] ?? '.'), 'mactable.mjs');
      const { spawn } = await load();
      const child = spawn(process.execPath, [program, ...argv], { detached: true, stdio: 'ignore', env });
      // A spawn that fails later (EAGAIN, EMFILE) must not end the hook: the watcher or repair remains.
      child.on('error', () => undefined);
      child.unref();
    },
    holdLock: (path, waitSeconds) => holdLock(load, env, path, waitSeconds, process.pid),
    lockHeld: (path) => lockHeld(load, env, path),
  };
}

function watchDir(path: string, onChange: (file: string | null) => void): { close(): void } {
  const watcher = fs.watch(path, { persistent: true }, (_event, file) => onChange(file === null ? null : String(file)));
  // The directory removed (libvirtd stopped and its /run cleaned): the caller waits for it to come back.
  watcher.on('error', () => onChange(null));
  return watcher;
}

async function monitor(
  load: LoadChildProcess,
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
  onLine: (line: string) => void,
  onExit: (why: string) => void,
): Promise<Monitor> {
  const { spawn } = await load();
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'], env: commandEnv(env) });
  let stopped = false;
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  child.on('error', (error) => (stopped ? undefined : onExit(`cannot run ${file}: ${error.message}`)));
  child.on('exit', (code, signal) => (stopped ? undefined : onExit(signal ? `${file} was killed by ${signal}` : `${file} exited with ${code}`)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    stop: () => {
      stopped = true;
      child.kill('SIGKILL');
      return exited;
    },
  };
}

// Write a file whole: a temporary name beside it, then rename, so a reader (node_exporter) never sees half of it.
function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text, { mode: 0o644 });
  fs.renameSync(temporary, path);
}

// Run an entry point with the real process, and exit with its code; anything that escapes it still ends
// with `fallback`'s code. The exit is explicit: a stdin stream given up at its bound would keep the process alive.
export function runProcess(main: (rt: Runtime) => Promise<number>, fallback: (argv: string[]) => number, load: LoadChildProcess, loadNet: LoadNet): void {
  const rt = processRuntime(load, loadNet);
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

// Read all of stdin within a time bound (libvirt might never close it). A pipe is opened again without blocking
// and polled, so the bound holds and nothing blocked is left behind to hold the exit; a socket (a test's spawn)
// is read as a stream.
function readAll(fd: number, timeoutMs: number): Promise<string> {
  let own: number;
  try {
    own = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return readStream(timeoutMs);
    own = fd; // a closed or odd descriptor: the read itself says what is wrong
  }
  const deadline = Date.now() + timeoutMs;
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(65536);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  try {
    for (;;) {
      try {
        const n = fs.readSync(own, chunk);
        if (n === 0) return Promise.resolve(Buffer.concat(chunks).toString('utf8'));
        chunks.push(Buffer.from(chunk.subarray(0, n)));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EOF') return Promise.resolve(Buffer.concat(chunks).toString('utf8'));
        if (code !== 'EAGAIN') throw error;
        if (Date.now() >= deadline) return Promise.reject(notEnded(timeoutMs));
        Atomics.wait(pause, 0, 0, 2);
      }
    }
  } finally {
    if (own !== fd) fs.closeSync(own);
  }
}

function readStream(timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => reject(notEnded(timeoutMs)), timeoutMs) : undefined;
    process.stdin.on('data', (data: Buffer) => chunks.push(data));
    process.stdin.on('error', (error) => (clearTimeout(timer), reject(error)));
    process.stdin.on('end', () => (clearTimeout(timer), resolve(Buffer.concat(chunks).toString('utf8'))));
  });
}

const notEnded = (timeoutMs: number) => new InputError(`stdin: the domain XML did not end within ${Math.ceil(timeoutMs / 1000)} s`);

// node:tty loads node:net; only the CLI asks, so it is loaded only then.
async function isTerminal(fd: number): Promise<boolean> {
  return (await import('node:tty')).isatty(fd);
}
