import { readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { sh, shQuiet } from './sh.js';

// The holder: sysfs mounted afresh (it shows the devices of the namespace that mounts it), then it waits to be killed.
const HOLD = 'mount -t sysfs sysfs /sys && echo ready && exec sleep infinity';

export interface PortState {
  learning: boolean;
  flood: boolean;
}

export interface FdbEntry {
  mac: string;
  ifname?: string;
  master?: string;
  state?: string;
  flags?: string[];
  vlan?: number; // on a VLAN-filtering bridge; none: vid 0
}

// Runs a command where the kernel state is read: the host (hostExec) or a namespace (Netns.exec).
export type Exec = (command: string, ...args: string[]) => Promise<string>;

export const hostExec: Exec = (command, ...args) => sh(command, args);

// The port's learning and unicast flood flags as netlink reports them (not through the sysfs files mactable uses).
export async function readPortState(exec: Exec, tap: string): Promise<PortState> {
  const [link] = JSON.parse(await exec('bridge', '-j', '-d', 'link', 'show', 'dev', tap)) as { learning: boolean; flood: boolean }[];
  if (!link) throw new Error(`${tap} is not a bridge port`);
  return { learning: link.learning, flood: link.flood };
}

// Entries added by a user (or mactable) on a bridge: static ones, without the kernel's own permanent entries.
export async function readStaticEntries(exec: Exec, bridge: string): Promise<FdbEntry[]> {
  const entries = JSON.parse(await exec('bridge', '-j', 'fdb', 'show', 'br', bridge)) as FdbEntry[];
  return entries.filter((entry) => entry.state === 'static');
}

// The one "port is right" judge: what a running guest's port differs in from what mactable makes of it (learning
// and unicast flooding off, a static entry for each MAC on the tap, and when `sticky` is given, sticky or not as
// asked), in words, or null. `state` null: the tap is no port of the bridge. `entries`: the bridge's static entries.
export function portWrong(state: PortState | null, entries: FdbEntry[], tap: string, macs: string[], sticky?: boolean): string | null {
  if (state === null) return `${tap} is not a bridge port`;
  const onTap = entries.filter((entry) => entry.ifname === tap);
  const problems = [
    ...(state.learning ? ['learning on'] : []),
    ...(state.flood ? ['unicast flooding on'] : []),
    ...macs.flatMap((mac) => {
      const entry = onTap.find((candidate) => candidate.mac === mac);
      if (entry === undefined) return [`no static entry for ${mac}`];
      return sticky === undefined || (entry.flags ?? []).includes('sticky') === sticky ? [] : [`the entry for ${mac} is ${sticky ? 'not ' : ''}sticky`];
    }),
  ];
  return problems.length === 0 ? null : `${tap}: ${problems.join(', ')}`;
}

// The one "port is right" reader: one tap read back from the kernel and judged; null when it is right. A test
// waits with `eventually(async () => (await portProblem(...)) === null)` and asserts with `.toBeNull()`.
export async function portProblem(exec: Exec, bridge: string, tap: string, macs: string[], sticky?: boolean): Promise<string | null> {
  const state = await readPortState(exec, tap).catch(() => null);
  return portWrong(state, await readStaticEntries(exec, bridge), tap, macs, sticky);
}

// Many ports judged from two reads (every link's flags, the bridge's entries): the taps not right, each with its problem.
export async function portsProblems(exec: Exec, bridge: string, ports: { tap: string; mac: string }[]): Promise<Map<string, string>> {
  const links = JSON.parse(await exec('bridge', '-j', '-d', 'link', 'show')) as ({ ifname: string } & PortState)[];
  const states = new Map(links.map(({ ifname, learning, flood }) => [ifname, { learning, flood }]));
  const entries = await readStaticEntries(exec, bridge);
  return new Map(ports.flatMap(({ tap, mac }) => ((problem) => (problem === null ? [] : [[tap, problem] as const]))(portWrong(states.get(tap) ?? null, entries, tap, [mac]))));
}

// `bridge -batch` lines that put ports back as libvirt leaves a tap it made: learning and flooding on, no static entry.
export const asLibvirtLeavesIt = (ports: { tap: string; mac: string }[]): string =>
  ports.map(({ tap, mac }) => `link set dev ${tap} learning on flood on\nfdb del ${mac} dev ${tap} master\n`).join('');

// A network namespace of our own, held by one process (`unshare`, no `ip netns add`: that bind-mounts /run/netns
// over itself for good). The holder has a private mount namespace with a fresh sysfs, so /sys/class/net shows the
// namespace's devices as under `ip netns exec`; everything runs there through nsenter. remove() kills every process
// in the namespace, and the namespace and its devices end with the last of them.
export class Netns {
  private constructor(
    private readonly holder: ResultPromise,
    readonly pid: number,
    private readonly inode: string,
  ) {}

  static async create(): Promise<Netns> {
    const holder = execa('unshare', ['--net', '--mount', '--propagation', 'private', 'sh', '-c', HOLD], { reject: false, stdin: 'ignore', buffer: false });
    let stderr = '';
    holder.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const ready = await new Promise<boolean>((resolve) => {
      holder.stdout?.setEncoding('utf8').once('data', (text: string) => resolve(text.startsWith('ready')));
      void holder.then(() => resolve(false));
    });
    const pid = holder.pid as number;
    if (!ready) {
      holder.kill('SIGKILL');
      await holder;
      throw new Error(`unshare could not make a network namespace: ${stderr.trim()}`);
    }
    return new Netns(holder, pid, readlinkSync(`/proc/${pid}/ns/net`));
  }

  // What `ip link set DEV netns NAME` accepts for this namespace: the holder's pid.
  get name(): string {
    return String(this.pid);
  }

  // The argv that runs a command in the namespace, in this process's directory (entering a mount namespace
  // would start it in /), for commands a test starts and stops itself.
  enter(command: string, ...args: string[]): [string, ...string[]] {
    return ['nsenter', '-t', String(this.pid), '--net', '--mount', `--wd=${process.cwd()}`, '--', command, ...args];
  }

  ip(...args: string[]): Promise<string> {
    return this.exec('ip', ...args);
  }

  exec(command: string, ...args: string[]): Promise<string> {
    const [file, ...rest] = this.enter(command, ...args);
    return sh(file, rest);
  }

  // Like exec, for commands whose failure is part of the test (a ping nobody answers).
  async tryExec(command: string, ...args: string[]): Promise<void> {
    const [file, ...rest] = this.enter(command, ...args);
    await shQuiet(file, rest);
  }

  // Every process in the namespace but the holder (a watcher, a waiter the hook left), from /proc.
  processes(): number[] {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/u.test(name) && Number(name) !== this.pid)
      .filter((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/ns/net`) === this.inode;
        } catch {
          return false; // gone meanwhile, or a zombie
        }
      })
      .map(Number);
  }

  // `options` as `ip link add ... type bridge` takes them (`vlan_filtering 1`).
  async bridge(name: string, ...options: string[]): Promise<string> {
    await this.ip('link', 'add', name, 'type', 'bridge', ...options);
    await this.ip('link', 'set', name, 'up');
    return name;
  }

  async tap(name: string, master?: string): Promise<string> {
    await this.ip('tuntap', 'add', 'dev', name, 'mode', 'tap');
    if (master) await this.ip('link', 'set', name, 'master', master);
    return name;
  }

  portState(tap: string): Promise<PortState> {
    return readPortState((command, ...args) => this.exec(command, ...args), tap);
  }

  portProblem(bridge: string, tap: string, macs: string[], sticky?: boolean): Promise<string | null> {
    return portProblem((command, ...args) => this.exec(command, ...args), bridge, tap, macs, sticky);
  }

  staticEntries(bridge: string): Promise<FdbEntry[]> {
    return readStaticEntries((command, ...args) => this.exec(command, ...args), bridge);
  }

  // Everything a second run must leave byte-identical: link details, the FDB and the sysfs flags.
  async snapshot(bridge: string): Promise<string> {
    const links = await this.exec('bridge', '-j', '-d', 'link', 'show');
    const fdb = await this.exec('bridge', '-j', 'fdb', 'show', 'br', bridge);
    const ports = (await this.exec('ls', `/sys/class/net/${bridge}/brif`)).split('\n').filter(Boolean);
    const files = ports.flatMap((port) => ['learning', 'unicast_flood'].map((flag) => `/sys/class/net/${bridge}/brif/${port}/${flag}`));
    const flags = await this.exec('grep', '.', ...files);
    return `${links}\n${fdb}\n${flags}`;
  }

  // Kill what runs in the namespace, then the holder; the namespace and its devices go with the last process.
  async remove(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const pids = this.processes();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await sleep(20);
    }
    this.holder.kill('SIGKILL');
    await this.holder;
    const left = this.processes();
    if (left.length > 0) throw new Error(`processes ${left.join(', ')} are still in the network namespace of ${this.pid}`);
  }
}
