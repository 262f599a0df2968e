import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PATH } from './debian-root.js';
import type { DistRun } from './dist.js';
import { Holder } from './holder.js';
import { installSh, SOURCE } from './installed.js';
import { isRoot, sh } from './sh.js';
import { eventually } from './wait.js';
import { Watcher } from './watcher.js';

// The machine's directories a box puts its own over, inside its mount namespace only.
const LIBVIRT_DIRS = ['/etc/libvirt', '/var/lib/libvirt', '/var/log/libvirt', '/var/cache/libvirt'];

// Why boxes cannot run here, or null when they can.
export function boxMissing(): string | null {
  if (!isRoot) return 'they need root to make namespaces and run libvirtd';
  for (const binary of ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh', '/usr/bin/qemu-system-x86_64']) {
    if (!existsSync(binary)) return `${binary} is not installed (apt-get install libvirt-daemon-system libvirt-clients qemu-system-x86)`;
  }
  const missing = LIBVIRT_DIRS.find((dir) => !existsSync(dir));
  return missing === undefined ? null : `${missing} is missing (apt-get install libvirt-daemon-system)`;
}

export interface GuestSpec {
  name: string;
  nics: string[]; // <interface> elements
  machine?: string;
  acpi?: boolean; // PCI hot-plug on the i440fx machine goes through ACPI
}

// A guest with no disk that starts in well under a second under TCG.
function guestXml({ name, nics, machine = 'pc', acpi = false }: GuestSpec): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='${machine}'>hvm</type></os>${acpi ? '\n  <features><acpi/></features>' : ''}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${nics.map((nic) => `    ${nic}`).join('\n')}
  </devices>
</domain>
`;
}

// QEMU's capabilities as the first box of this test file probed them (2–3 s per daemon start here), per root (the
// machine's: ''); later boxes start with a copy, which libvirt takes as long as QEMU and libvirt are the same binaries.
const probed = new Map<string, { name: string; content: Buffer }[]>();
const CAPABILITIES = '/var/cache/libvirt/qemu/capabilities';

// Inside a kernel harness (test/helpers/uml.ts) the source tree is read-only: install.sh's build then writes into a
// copy of dist/ bind-mounted over it in the box only.
function writableDist(path: string): [string, string][] {
  try {
    accessSync(`${SOURCE}dist`, constants.W_OK);
    return [];
  } catch {
    cpSync(`${SOURCE}dist`, `${path}/dist`, { recursive: true });
    return [[`${path}/dist`, `${SOURCE}dist`]];
  }
}

export interface BoxOptions {
  mactable?: unknown; // install mactable with this config before the daemon starts
  daemons?: boolean; // false: the box's directories and namespaces only (for install.sh)
  node?: string; // the Node.js install.sh records for the hook and the command (a counting wrapper, say)
  // A Debian root with libvirt, QEMU and mactable's package (test/helpers/libvirt-root.ts): the box's daemons, virsh
  // and mactable are that root's, chrooted; the hook is the package's.
  root?: string;
}

// One libvirt host on this machine: libvirtd and virtlogd (the machine's, or a Debian root's run chrooted there) in
// namespaces of their own, with the box's own /etc/libvirt (hooks, mactable.json), /run, /var/lib/libvirt,
// /var/log/libvirt and /var/cache/libvirt bind-mounted from a temporary directory, its own bridges and guests. The
// machine's libvirt is never read or written.
export class Box {
  readonly socket: string;
  readonly uri: string;

  private constructor(
    readonly path: string, // the box's directory on the machine, and in its root at the same path
    readonly holder: Holder,
    readonly root: string | null,
  ) {
    this.socket = `${path}/run/libvirt/libvirt-sock`;
    this.uri = `qemu:///system?socket=${this.socket}`;
  }

  static async create(options: BoxOptions = {}): Promise<Box> {
    const root = options.root ?? null;
    // In a root: under its /tmp, which its link ROOT/ROOT (to /) makes the same path inside as outside, for sockets,
    // pid files and saved guests.
    const path = mkdtempSync(join(root === null ? tmpdir() : `${root}/tmp`, 'mactable-box-'));
    for (const dir of [...LIBVIRT_DIRS, '/run']) mkdirSync(`${path}${dir}`, { recursive: true });
    // Where libvirt's network driver writes each bridge's MAC list (the package makes it; the box starts empty).
    mkdirSync(`${path}/var/lib/libvirt/dnsmasq`);
    // libvirt's defaults as Debian ships them (its .conf files are all comments), whatever the machine's say;
    // its own host UUID (libvirt refuses a migration between two hosts with the same) and no cgroups
    // (the boxes would share them: both daemons number guests from 1).
    writeFileSync(`${path}/etc/libvirt/libvirtd.conf`, `host_uuid = "${randomUUID()}"\n`);
    writeFileSync(`${path}/etc/libvirt/qemu.conf`, 'cgroup_controllers = [ ]\n');
    let holder: Holder;
    try {
      holder = await Holder.create([...[...LIBVIRT_DIRS, '/run'].map((dir): [string, string] => [`${path}${dir}`, `${root ?? ''}${dir}`]), ...writableDist(path)], root ?? '');
    } catch (error) {
      rmSync(path, { recursive: true, force: true });
      throw error;
    }
    const box = new Box(path, holder, root);
    try {
      // The hook in place before the daemon starts: it reads its hooks once at start (a SIGHUP right after was missed).
      if (options.mactable !== undefined && root !== null) box.installFromPackage(options.mactable);
      else if (options.mactable !== undefined) await box.install(options.mactable, options.node);
      if (options.daemons !== false) await box.startDaemons();
    } catch (error) {
      await box.destroy();
      throw error;
    }
    return box;
  }

  exec = (command: string, ...args: string[]): Promise<string> => this.holder.exec(command, ...args);

  // A background process inside the box (ended at destroy at the latest), its stderr collected.
  spawn(command: string, ...args: string[]): Promise<Watcher> {
    return Watcher.entered(this.holder.enter(command, ...args));
  }

  // A command of the box's libvirt host with `env` added: the machine's, or its root's run chrooted with a clean
  // environment.
  private system(command: string, args: string[], env: Record<string, string> = {}): [string, ...string[]] {
    const settings = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    if (this.root !== null) return ['chroot', this.root, '/usr/bin/env', '-i', PATH, 'LC_ALL=C.UTF-8', ...settings, command, ...args];
    return settings.length === 0 ? [command, ...args] : ['env', ...settings, command, ...args];
  }

  virsh(...args: string[]): Promise<string> {
    const command = this.system('virsh', ['-q', '-c', this.uri, ...args]);
    return this.root === null ? sh(command[0], command.slice(1)) : this.exec(...command);
  }

  // virsh reads definitions from files (child stdin is a socket, which /dev/stdin cannot open).
  async virshWithFile(command: string, xml: string): Promise<string> {
    const file = join(this.path, `def-${randomUUID()}.xml`);
    writeFileSync(file, xml);
    try {
      return await this.virsh(command, file);
    } finally {
      rmSync(file, { force: true });
    }
  }

  // Where install.sh puts the program and the `mactable` command (the hook goes where libvirt looks: the box's).
  get prefix(): string {
    return `${this.path}/mactable`;
  }

  // The `mactable` command: install.sh's, or the root's package's.
  private get command(): string {
    return this.root === null ? `${this.prefix}/bin/mactable` : '/usr/bin/mactable';
  }

  // The hook the root's package installed, into the box's /etc/libvirt (over the root's in the box), dated as
  // installed: before the daemon started.
  private installFromPackage(config: unknown): void {
    cpSync(`${this.root}/etc/libvirt/hooks`, `${this.path}/etc/libvirt/hooks`, { recursive: true, preserveTimestamps: true });
    this.configure(config);
  }

  // install.sh as an administrator runs it, inside the box: the hook into its /etc/libvirt/hooks/qemu.d.
  async install(config: unknown, node?: string): Promise<string> {
    const args = ['--prefix', `${this.prefix}/lib`, '--bin-dir', `${this.prefix}/bin`, '--unit-dir', `${this.prefix}/systemd`, ...(node ? ['--node', node] : [])];
    const result = await installSh(args, this.holder);
    if (result.code !== 0) throw new Error(`install.sh failed: ${result.stderr}`);
    this.configure(config);
    return result.stdout;
  }

  // The box's /etc/libvirt/mactable.json; the hook reads it at every call.
  configure(config: unknown): void {
    writeFileSync(`${this.path}/etc/libvirt/mactable.json`, `${JSON.stringify(config)}\n`);
  }

  // The installed `mactable` command run inside the box, as its administrator would.
  mactable(...args: string[]): Promise<DistRun> {
    return this.holder.run(...this.system(this.command, args));
  }

  startWatcher(args: string[] = [], env: Record<string, string> = {}): Promise<Watcher> {
    return this.spawn(...this.system(this.command, ['watch', ...args], env));
  }

  private async startDaemons(): Promise<void> {
    const cache = `${this.path}${CAPABILITIES}`;
    mkdirSync(cache, { recursive: true });
    for (const { name, content } of probed.get(this.root ?? '') ?? []) writeFileSync(`${cache}/${name}`, content, { mode: 0o600 });
    await this.exec(...this.system('virtlogd', ['-d', '-p', `${this.path}/virtlogd.pid`]));
    await this.startLibvirtd();
    if (!probed.has(this.root ?? '')) probed.set(this.root ?? '', readdirSync(cache).map((name) => ({ name, content: readFileSync(`${cache}/${name}`) })));
  }

  // Its pid file where a host has it (the box's /run/libvirtd.pid), for doctor's "daemon has the hook".
  private async startLibvirtd(): Promise<void> {
    await this.exec(...this.system('libvirtd', ['-d', '-p', `${this.path}/run/libvirtd.pid`]));
    const [virsh, ...args] = this.holder.enter(...this.system('virsh', ['-q', '-c', this.uri, 'version'])) as [string, ...string[]];
    const answers = async () => (await execa(virsh, args, { reject: false, timeout: 10_000 })).exitCode === 0;
    if (!(await eventually(answers, 60, 100))) throw new Error("the box's libvirtd did not answer within 60 s");
  }

  // Stop and start libvirtd (running `whileDown` in between): running guests stay up and the qemu hook runs
  // `reconnect` for each.
  async restartLibvirtd(whileDown: () => Promise<unknown> = async () => undefined): Promise<void> {
    const pid = (await this.exec('cat', `${this.path}/run/libvirtd.pid`)).trim();
    await this.exec('kill', pid);
    if (!(await eventually(async () => (await this.holder.run('kill', '-0', pid)).code !== 0, 30, 100))) {
      throw new Error("the box's libvirtd did not stop within 30 s");
    }
    await whileDown();
    await this.startLibvirtd();
  }

  async bridge(name: string): Promise<string> {
    await this.exec('ip', 'link', 'add', name, 'type', 'bridge');
    await this.exec('ip', 'link', 'set', name, 'up');
    return name;
  }

  async tap(name: string, master?: string): Promise<string> {
    await this.exec('ip', 'tuntap', 'add', 'dev', name, 'mode', 'tap');
    if (master) await this.exec('ip', 'link', 'set', name, 'master', master);
    await this.exec('ip', 'link', 'set', name, 'up');
    return name;
  }

  // Define a libvirt network; start it unless `start` is false.
  async network(name: string, xml: string, start = true): Promise<string> {
    await this.virshWithFile('net-define', xml);
    if (start) await this.virsh('net-start', name);
    return name;
  }

  // Define a guest and start it with `virsh start`, as administrators do.
  async guest(spec: GuestSpec, start = true): Promise<string> {
    await this.virshWithFile('define', guestXml(spec));
    if (start) await this.virsh('start', spec.name);
    return spec.name;
  }

  // MAC → tap of a running guest, from its live XML.
  async tapsOf(guest: string): Promise<Map<string, string>> {
    const xml = await this.virsh('dumpxml', guest);
    const taps = new Map<string, string>();
    for (const [, block] of xml.matchAll(/<interface[^>]*>([^]*?)<\/interface>/gu)) {
      const address = /<mac address='([^']+)'/u.exec(block ?? '')?.[1];
      const tap = /<target dev='([^']+)'/u.exec(block ?? '')?.[1];
      if (address && tap) taps.set(address, tap);
    }
    return taps;
  }

  // The tap of a running guest's NIC with this MAC; without a MAC, of its only NIC.
  async tapOf(guest: string, mac?: string): Promise<string> {
    const taps = await this.tapsOf(guest);
    const tap = mac === undefined ? (taps.size === 1 ? [...taps.values()][0] : undefined) : taps.get(mac);
    if (tap === undefined) throw new Error(`${guest} has no tap${mac === undefined ? ' of a single NIC' : ` for ${mac}`}`);
    return tap;
  }

  // Everything goes: the daemons, guests, watchers and any process inside, the devices, the mounts, the directory.
  async destroy(): Promise<void> {
    try {
      await this.holder.destroy();
    } finally {
      rmSync(this.path, { recursive: true, force: true });
    }
  }
}

// Two boxes on one L2 segment: a veth pair, one end in each box as a port ("uplink") of its bridge, and an address on
// each bridge (inside the boxes only) for the migration stream. Returns the addresses, a's then b's.
export async function joinBridges(a: Box, b: Box, bridge: string, subnet = '10.99.0'): Promise<[string, string]> {
  // From a's network namespace with the machine's pids, so b's holder can be named.
  await a.holder.netExec('ip', 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', String(b.holder.pid));
  const addresses: [string, string] = [`${subnet}.1`, `${subnet}.2`];
  for (const [box, address] of [
    [a, addresses[0]],
    [b, addresses[1]],
  ] as const) {
    await box.exec('ip', 'link', 'set', 'uplink', 'master', bridge, 'up');
    await box.exec('ip', 'addr', 'add', `${address}/24`, 'dev', bridge);
  }
  return addresses;
}

// `virsh migrate --live` from one box to another; the migration stream goes to `address` (the destination's bridge).
// One that has not returned in `seconds` (they take 1–15 s here) is aborted and fails with the source's job as it was.
// `bandwidth` (MiB/s) slows it down, for a test that must act while it runs.
export async function migrate(from: Box, to: Box, guest: string, address: string, { seconds = 50, bandwidth }: { seconds?: number; bandwidth?: number } = {}): Promise<void> {
  const limit = bandwidth === undefined ? [] : ['--bandwidth', String(bandwidth)];
  const migration = from.virsh('migrate', '--live', ...limit, guest, `qemu+unix:///system?socket=${to.socket}`, `tcp://${address}`);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), seconds * 1000)));
  try {
    if ((await Promise.race([migration, late])) !== 'late') return;
  } finally {
    clearTimeout(timer);
  }
  const job = await from.virsh('domjobinfo', guest).catch((error: Error) => error.message);
  await from.virsh('domjobabort', guest).catch(() => undefined);
  await migration.catch(() => undefined);
  throw new Error(`virsh migrate ${guest} did not return in ${seconds} s; the source's job then:\n${job}`);
}
