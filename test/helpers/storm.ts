import { readFileSync, writeFileSync } from 'node:fs';
import { asLibvirtLeavesIt, type Netns, portsProblems } from './netns.js';
import { SOURCE } from './installed.js';
import type { TempDir } from './temp.js';
import { bridgeNic, liveDomain, statusDomain } from './xml.js';

export interface StormRun {
  ms: number; // first start to last exit
  codes: (number | string)[];
  stderr: string[];
  peakPssKiB: number; // the hooks' memory at its peak (PSS summed over every process they started)
  peakDropKiB: number; // MemAvailable at its lowest, against before the start
}

interface Port {
  guest: string;
  tap: string;
  mac: string;
}

export const STORM_DRIVER = new URL('./storm-driver.mjs', import.meta.url).pathname;
export const NAIVE_HOOK = new URL('../bench/naive-hook.py', import.meta.url).pathname;

// hooks/qemu as install.sh writes it, running this checkout's dist/ with `node` (a wrapper, say).
export function hookFrom(temp: TempDir, node: string): string {
  const template = readFileSync(`${SOURCE}/hooks/qemu`, 'utf8');
  return temp.file('qemu-hook', template.replaceAll('@NODE@', node).replaceAll('@PREFIX@', SOURCE.replace(/\/$/u, '')), 0o755);
}

// A daemon restart's reconnect storm in a namespace: `guests` running guests with `nics` taps each on br0, their
// status files under a --root tree, and each one's live XML for its hook's stdin.
export class Storm {
  private constructor(
    private readonly ns: Netns,
    private readonly dir: string,
    private readonly bridge: string,
    readonly ports: Port[],
    readonly guests: string[],
  ) {}

  static async create(ns: Netns, temp: TempDir, root: string, guests: number, bridge = 'br0', nics = 2): Promise<Storm> {
    const names = Array.from({ length: guests }, (_, g) => `storm${g}`);
    const ports = names.flatMap((guest, g) => Array.from({ length: nics }, (_, n) => ({ guest, tap: `st${g}n${n}`, mac: `52:54:00:5${n}:${((g >> 8) & 255).toString(16).padStart(2, '0')}:${(g & 255).toString(16).padStart(2, '0')}` })));
    await ns.bridge(bridge);
    await ns.exec('ip', '-batch', temp.file('storm-taps', ports.map(({ tap }) => `tuntap add dev ${tap} mode tap\nlink set ${tap} master ${bridge}\n`).join('')));
    for (const guest of names) {
      const nicsOf = ports.filter((port) => port.guest === guest).map(({ mac, tap }) => bridgeNic(mac, bridge, tap));
      writeFileSync(`${root}/run/libvirt/qemu/${guest}.xml`, statusDomain(nicsOf, guest));
      temp.file(`${guest}.live.xml`, liveDomain(nicsOf, guest));
    }
    return new Storm(ns, temp.path, bridge, ports, names);
  }

  // What libvirt leaves, as `bridge -batch` lines (the bench runs them before each timed storm).
  resetLines(): string {
    return asLibvirtLeavesIt(this.ports);
  }

  // The driver's spec for `hook NAME reconnect begin -` of every guest at once, each with its XML on stdin.
  spec(temp: TempDir, name: string, hook: string[], env: Record<string, string>): string {
    const commands = this.guests.map((guest) => ({ argv: [...hook, guest, 'reconnect', 'begin', '-'], stdin: `${this.dir}/${guest}.live.xml` }));
    return temp.json(name, { commands, env });
  }

  // Every port as libvirt leaves a tap it made: learning and flooding on, no static entry.
  async reset(temp: TempDir): Promise<void> {
    await this.ns.exec('bridge', '-batch', temp.file('storm-flags', this.ports.map(({ tap }) => `link set dev ${tap} learning on flood on\n`).join('')));
    // Entries not there yet (the first time) are fine.
    await this.ns.tryExec('bridge', '-force', '-batch', temp.file('storm-entries', this.ports.map(({ tap, mac }) => `fdb del ${mac} dev ${tap} master\n`).join('')));
  }

  // `hook NAME reconnect begin -` for every guest at once, each with its XML on stdin, inside the namespace.
  async run(temp: TempDir, hook: string[], env: Record<string, string>): Promise<StormRun> {
    return JSON.parse(await this.ns.exec(process.execPath, STORM_DRIVER, this.spec(temp, 'storm-spec.json', hook, env))) as StormRun;
  }

  // The taps that are not right: learning or flooding on, or the guest's static entry missing.
  async wrong(): Promise<string[]> {
    return [...(await portsProblems((command, ...args) => this.ns.exec(command, ...args), this.bridge, this.ports)).keys()];
  }
}
