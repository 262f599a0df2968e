import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { DIST, SERVICE_NODE_OPTIONS } from './dist.js';
import type { Netns } from './netns.js';
import { childrenOf } from './procfs.js';
import { eventually } from './wait.js';

// A `bridge` for the watcher (MACTABLE_BRIDGE) whose kernel monitor sees nothing: every other command is the real one.
export const BLIND_BRIDGE = '#!/bin/sh\n[ "$1" = monitor ] && exec sleep 600\nexec bridge "$@"\n';

// `mactable watch` (or another background process) running, its stderr collected line by line. `command` runs it
// (it must exec, keeping its pid), or nsenter runs it in a box: then `pid` is nsenter's child, the process itself.
export class Watcher {
  readonly lines: string[] = [];
  private constructor(
    private readonly child: ResultPromise,
    readonly pid: number,
  ) {}

  // The built program's watcher inside a network namespace, with the service's Node.js options.
  static inNetns(netns: Netns, args: string[], env: Record<string, string> = {}): Watcher {
    return Watcher.start(netns.enter(process.execPath, ...SERVICE_NODE_OPTIONS, DIST, 'watch', ...args), env);
  }

  static start(command: string[], env: Record<string, string> = {}): Watcher {
    const child = Watcher.launch(command, env);
    return Watcher.collect(child, child.pid as number);
  }

  // A command line starting with `nsenter ... --pid`: nsenter forks the process into the box and waits for it.
  static async entered(command: string[]): Promise<Watcher> {
    const child = Watcher.launch(command);
    const nsenter = child.pid as number;
    let pid: number | undefined;
    await eventually(() => (pid = childrenOf(nsenter)[0]) !== undefined || child.exitCode !== null, 10, 5);
    if (pid === undefined) throw new Error(`${command.join(' ')} did not start: ${String((await child).stderr)}`);
    return Watcher.collect(child, pid);
  }

  private static launch([file, ...args]: string[], env: Record<string, string> = {}): ResultPromise {
    return execa(file as string, args, { reject: false, buffer: false, stdin: 'ignore', env });
  }

  private static collect(child: ResultPromise, pid: number): Watcher {
    const watcher = new Watcher(child, pid);
    child.stderr?.setEncoding('utf8').on('data', (text: string) => watcher.lines.push(...text.split('\n').filter(Boolean)));
    child.stdout?.resume();
    return watcher;
  }

  // Its child processes (the kernel monitor).
  children(): number[] {
    return childrenOf(this.pid);
  }

  // CPU seconds (user + system) and resident KiB, from /proc/PID/stat and /proc/PID/status.
  usage(): { cpuSeconds: number; rssKiB: number } {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
    const rssKiB = Number(/^VmRSS:\s+(\d+)/mu.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1]);
    return { cpuSeconds, rssKiB };
  }

  // SIGTERM, and the exit code with how long it took.
  async stop(): Promise<{ code: number | undefined; ms: number }> {
    const started = Date.now();
    process.kill(this.pid, 'SIGTERM'); // nsenter exits with its child's code
    const result = await this.child;
    return { code: result.exitCode, ms: Date.now() - started };
  }

  // For cleanup after a failure: gone for sure, monitor included.
  async kill(): Promise<void> {
    for (const pid of this.children()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    await this.child;
  }

  waitForLine(pattern: RegExp, seconds = 5): Promise<boolean> {
    return eventually(() => this.lines.some((line) => pattern.test(line)), seconds);
  }
}
