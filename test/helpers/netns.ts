import { sh, shQuiet, uniqueSuffix } from './sh.js';

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

// A network namespace of our own, with helpers to build bridges and taps in it and read the kernel's state back.
export class Netns {
  private constructor(readonly name: string) {}

  static async create(): Promise<Netns> {
    const netns = new Netns(`mactable-${uniqueSuffix()}`);
    await sh('ip', ['netns', 'add', netns.name]);
    return netns;
  }

  ip(...args: string[]): Promise<string> {
    return sh('ip', ['-n', this.name, ...args]);
  }

  exec(command: string, ...args: string[]): Promise<string> {
    return sh('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  // Like exec, for commands whose failure is part of the test (a ping nobody answers).
  async tryExec(command: string, ...args: string[]): Promise<void> {
    await shQuiet('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  async bridge(name: string): Promise<string> {
    await this.ip('link', 'add', name, 'type', 'bridge');
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

  async remove(): Promise<void> {
    await shQuiet('ip', ['netns', 'del', this.name]);
  }
}
