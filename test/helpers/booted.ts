import { execa, type ResultPromise } from 'execa';
import { type DebianRoot, PATH, type RootRun } from './debian-root.js';
import { childrenOf, commOf } from './procfs.js';
import { eventually } from './wait.js';

// A Debian root booted with systemd as its init (systemd-nspawn) in a network of its own, /sys writable there as
// on a host. nspawn runs in a mount namespace of ours with a tmpfs on /run, so its own bookkeeping
// (/run/systemd/nspawn) never reaches this machine's /run; poweroff() ends it, by SIGKILL when it must.
export class Booted {
  private constructor(
    private readonly nspawn: ResultPromise,
    readonly init: number, // the container's pid 1 as this machine numbers it (for nsenter)
  ) {}

  static async boot(root: string): Promise<Booted> {
    const script = 'mount -t tmpfs tmpfs /run && exec systemd-nspawn -q --console=passive --register=no --keep-unit --private-network -b -D "$0"';
    const nspawn = execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, root], {
      reject: false,
      stdin: 'ignore',
      env: { SYSTEMD_NSPAWN_API_VFS_WRITABLE: '1' },
    });
    let init: number | undefined;
    // nspawn's child becomes the container's pid 1 once it has exec'd systemd.
    const systemd = () => childrenOf(nspawn.pid as number).find((child) => commOf(child) === 'systemd');
    await eventually(() => (init = systemd()) !== undefined || nspawn.exitCode !== null, 30, 50);
    if (init === undefined) {
      nspawn.kill('SIGKILL');
      throw new Error(`systemd-nspawn did not boot the root: ${String((await nspawn).stderr)}`);
    }
    const booted = new Booted(nspawn, init);
    // Up once systemd says so; "degraded" (a unit of the minimal root failed) is up too.
    let state: RootRun = { code: -1, stdout: '', stderr: '' };
    const up = async () => ['running', 'degraded'].includes((state = await booted.run('systemctl is-system-running')).stdout);
    if (!(await eventually(up, 60, 200))) {
      const jobs = (await booted.run('systemctl list-jobs --no-pager')).stdout;
      await booted.poweroff();
      throw new Error(`systemd in the root did not finish booting within 60 s: ${JSON.stringify(state)}; jobs: ${jobs}`);
    }
    return booted;
  }

  // A shell script run inside the container (all its namespaces), with a clean environment.
  async run(script: string): Promise<RootRun> {
    const result = await execa('nsenter', [...this.inside(), 'sh', '-c', script], { reject: false, timeout: 60_000 });
    return { code: result.exitCode ?? -1, stdout: String(result.stdout).trim(), stderr: String(result.stderr).trim() };
  }

  // One command inside, by its arguments: its stdout, or it throws (an Exec for the readers in netns.ts).
  exec = async (command: string, ...args: string[]): Promise<string> => String((await execa('nsenter', [...this.inside(), command, ...args], { timeout: 60_000 })).stdout);

  private inside(): string[] {
    return ['-a', '-t', String(this.init), '/usr/bin/env', '-i', PATH, 'LC_ALL=C.UTF-8'];
  }

  // systemd's own poweroff; after 30 s, SIGKILL to the container's init and to nspawn.
  async poweroff(): Promise<void> {
    if (this.nspawn.exitCode !== null) return;
    await this.run('systemctl poweroff --no-block');
    if (!(await eventually(() => this.nspawn.exitCode !== null, 30, 100))) {
      for (const pid of [this.init, this.nspawn.pid as number]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended meanwhile
        }
      }
    }
    await this.nspawn;
  }
}

// Power a booted root off (when it booted at all) and remove it, also when the power-off fails.
export async function removeBooted(booted: Booted | null, root: DebianRoot): Promise<void> {
  try {
    await booted?.poweroff();
  } finally {
    await root.cleanup();
  }
}
