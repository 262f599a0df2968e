import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { execa } from 'execa';
import type { DistRun } from './dist.js';
import { sh } from './sh.js';
import { childrenOf } from './procfs.js';
import { eventually } from './wait.js';

// pid 1 of the new pid namespace: its own /sys (so /sys/class/net lists the namespace's devices), the bind
// mounts given as SOURCE TARGET pairs, loopback up; with a root directory as $1 (for daemons chrooted there), that
// root bind-mounted on itself first and the namespaces' /proc, /sys and /dev in it last. Then it reaps orphans (QEMU
// once libvirt's fork exits) and exits when the test's end of its stdin closes (the test process died), which ends
// every process inside.
const HOLDER = `set -e
umount -l /sys
mount -t sysfs sysfs /sys
root=$1
shift
# A mount point, as / is on a host: libvirt makes / a slave mount for each QEMU's mount namespace.
[ -z "$root" ] || mount --bind "$root" "$root"
while [ $# -gt 0 ]; do mount --bind "$1" "$2"; shift 2; done
if [ -n "$root" ]; then mount -t proc proc "$root/proc"; mount -t sysfs sysfs "$root/sys"; mount --rbind /dev "$root/dev"; fi
ip link set lo up
trap 'exit 0' TERM
exec 3<&0
{ read -r _ <&3 || true; kill -TERM 1; } &
echo ready
exec > /dev/null 2>&1
while :; do sleep 1000000 & wait; done
`;

function netnsOf(pid: string | number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null; // gone meanwhile
  }
}

// Network, mount and pid namespaces held by one process (`unshare`, not `ip netns add`, which leaves a mount
// on /run/netns): whatever runs inside sees only the namespaces' devices, mounts and processes, and all of it
// dies with the holder. Nothing of the machine's is changed.
export class Holder {
  private constructor(
    private readonly unshare: ChildProcess,
    readonly pid: number, // pid 1 inside, as the machine numbers it
    readonly netns: string,
  ) {}

  // `root`: a directory that gets the namespaces' /proc, /sys and /dev (after the bind mounts, which may target it).
  static async create(mounts: [source: string, target: string][] = [], root = ''): Promise<Holder> {
    const args = ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', '-c', HOLDER, 'holder', root, ...mounts.flat()];
    const unshare = spawn('unshare', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    unshare.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    await new Promise<void>((resolve, reject) => {
      unshare.stdout.setEncoding('utf8').once('data', () => resolve());
      unshare.once('exit', () => reject(new Error(`the namespace holder failed: ${stderr.trim()}`)));
    });
    const [pid] = childrenOf(unshare.pid as number);
    const netns = pid === undefined ? null : netnsOf(pid);
    if (pid === undefined || netns === null) throw new Error('the namespace holder has no child');
    return new Holder(unshare, pid, netns);
  }

  // The command line that runs a command inside (its pid namespace too: nsenter forks into it); nsenter by its
  // path, for callers that give the command a PATH without it.
  enter(command: string, ...args: string[]): string[] {
    return ['/usr/bin/nsenter', '-t', String(this.pid), '--net', '--mount', '--pid', '--', command, ...args];
  }

  exec = (command: string, ...args: string[]): Promise<string> => {
    const [file, ...rest] = this.enter(command, ...args) as [string, ...string[]];
    return sh(file, rest);
  };

  // Like exec, for commands whose failure is part of the test: the exit code and both outputs.
  async run(command: string, ...args: string[]): Promise<DistRun> {
    const [file, ...rest] = this.enter(command, ...args) as [string, ...string[]];
    const result = await execa(file, rest, { reject: false, timeout: 120_000 });
    return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  // A command in the namespace's network only, with the machine's pids and mounts (to name another holder's pid).
  netExec(command: string, ...args: string[]): Promise<string> {
    return sh('nsenter', ['-t', String(this.pid), '--net', '--', command, ...args]);
  }

  // The machine's pids of every process in the network namespace, the holder and nsenter's waiting parents included.
  processes(): number[] {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/u.test(name) && netnsOf(name) === this.netns)
      .map(Number);
  }

  // SIGKILL to pid 1 ends every process inside; the namespaces, their devices and mounts go with the last one.
  async destroy(): Promise<void> {
    const exited = new Promise((resolve) => (this.unshare.exitCode !== null || this.unshare.signalCode !== null ? resolve(null) : this.unshare.once('exit', resolve)));
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    await exited;
    if (!(await eventually(() => this.processes().length === 0, 10, 50))) {
      throw new Error(`processes left in the namespace: ${this.processes().join(' ')}`);
    }
  }
}
