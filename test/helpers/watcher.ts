import { readdirSync, readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { DIST } from './dist.js';
import { eventually } from './wait.js';

// `mactable watch` running, its stderr collected line by line. `command` runs it (it must exec, keeping its pid).
export class Watcher {
  readonly lines: string[] = [];
  private constructor(private readonly child: ResultPromise) {}

  // The built program's watcher inside a network namespace.
  static inNetns(netns: string, args: string[]): Watcher {
    return Watcher.start(['ip', 'netns', 'exec', netns, process.execPath, DIST, 'watch', ...args]);
  }

  static start([file, ...args]: string[]): Watcher {
    const child = execa(file as string, args, { reject: false, buffer: false, stdin: 'ignore' });
    const watcher = new Watcher(child);
    child.stderr?.setEncoding('utf8').on('data', (text: string) => watcher.lines.push(...text.split('\n').filter(Boolean)));
    child.stdout?.resume();
    return watcher;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  // Its child processes (the kernel monitor), from /proc: every process whose parent it is.
  children(): number[] {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/u.test(name))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === this.pid;
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);
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
    this.child.kill('SIGTERM');
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
    this.child.kill('SIGKILL');
    await this.child;
  }

  waitForLine(pattern: RegExp, seconds = 5): Promise<boolean> {
    return eventually(() => this.lines.some((line) => pattern.test(line)), seconds);
  }
}
