import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { eventually } from './wait.js';

// Whether a process holds an exclusive flock on `path`, tested as hooks/qemu tests it (a shared lock is refused).
export function lockedExclusively(path: string): boolean {
  return spawnSync('sh', ['-c', 'flock -n -s 3 2>/dev/null 3<"$0"', path]).status === 1;
}

// A process that holds an exclusive flock on `path` as a watcher does, until stop(): sh opens the file on fd 3,
// locks it and becomes `sleep`, which keeps the descriptor (and the lock) until it is killed.
export class LockHolder {
  private constructor(private readonly child: ChildProcess) {}

  static async start(path: string): Promise<LockHolder> {
    mkdirSync(dirname(path), { recursive: true });
    const holder = new LockHolder(spawn('sh', ['-c', 'exec 3>>"$0" && flock -x 3 && exec sleep 600', path], { stdio: 'ignore' }));
    if (!(await eventually(() => lockedExclusively(path), 5))) throw new Error(`no lock on ${path} within 5 s`);
    return holder;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}
