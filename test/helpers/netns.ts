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

  // The port's learning and unicast flood flags as netlink reports them (not through the sysfs files mactable uses).
  async portState(tap: string): Promise<PortState> {
    const [link] = JSON.parse(await this.exec('bridge', '-j', '-d', 'link', 'show', 'dev', tap)) as { learning: boolean; flood: boolean }[];
    if (!link) throw new Error(`${tap} is not a bridge port in ${this.name}`);
    return { learning: link.learning, flood: link.flood };
  }

  async fdb(bridge: string): Promise<FdbEntry[]> {
    return JSON.parse(await this.exec('bridge', '-j', 'fdb', 'show', 'br', bridge)) as FdbEntry[];
  }

  // Entries added by a user (or mactable) on a bridge: static ones, without the kernel's own permanent entries.
  async staticEntries(bridge: string): Promise<FdbEntry[]> {
    return (await this.fdb(bridge)).filter((entry) => entry.state === 'static');
  }

  // Everything a second run must leave byte-identical: link details, the FDB and the sysfs flags.
  async snapshot(bridge: string): Promise<string> {
    const links = await this.exec('bridge', '-j', '-d', 'link', 'show');
    const fdb = await this.exec('bridge', '-j', 'fdb', 'show', 'br', bridge);
    const flags = await this.exec('sh', '-c', `grep . /sys/class/net/${bridge}/brif/*/learning /sys/class/net/${bridge}/brif/*/unicast_flood`);
    return `${links}\n${fdb}\n${flags}`;
  }

  async remove(): Promise<void> {
    await shQuiet('ip', ['netns', 'del', this.name]);
  }
}
