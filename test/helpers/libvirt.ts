import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { sh, shQuiet } from './sh.js';

const VIRSH = ['-q', '-c', 'qemu:///system'];

export function virsh(...args: string[]): Promise<string> {
  return sh('virsh', [...VIRSH, ...args]);
}

// virsh reads definitions from files (child stdin is a socket, which /dev/stdin cannot open).
export async function virshWithFile(command: string, xml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mactable-virsh-'));
  try {
    await writeFile(join(dir, 'def.xml'), xml);
    return await virsh(command, join(dir, 'def.xml'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Why libvirt cannot be used here, or null when it can.
export function libvirtMissing(): string | null {
  for (const binary of ['/usr/sbin/libvirtd', '/usr/bin/virsh', '/usr/bin/qemu-system-x86_64']) {
    if (!existsSync(binary)) return `${binary} is not installed (apt-get install libvirt-daemon-system libvirt-clients qemu-system-x86)`;
  }
  return null;
}

async function daemonPid(name: string): Promise<number | null> {
  const result = await execa('pgrep', ['-x', name], { reject: false });
  const pid = Number.parseInt(String(result.stdout).split('\n')[0] ?? '', 10);
  return Number.isNaN(pid) ? null : pid;
}

async function waitForDaemon(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const result = await execa('virsh', [...VIRSH, 'version'], { reject: false, timeout: 10_000 });
    if (result.exitCode === 0) return;
    await sleep(200);
  }
  throw new Error('libvirtd did not answer within 20 s');
}

// Without udev /dev/kvm stays root-only; libvirt then re-probes QEMU on every start (~40 s). Give it udev's mode.
async function fixKvmMode(): Promise<void> {
  if (!existsSync('/dev/kvm')) return;
  const { mode } = await stat('/dev/kvm');
  if ((mode & 0o060) === 0o060) return;
  const kvm = await execa('getent', ['group', 'kvm'], { reject: false });
  const gid = Number.parseInt(String(kvm.stdout).split(':')[2] ?? '', 10);
  if (Number.isNaN(gid)) return;
  await chown('/dev/kvm', 0, gid);
  await chmod('/dev/kvm', 0o660);
}

// Start virtlogd and libvirtd the way CI has them (no systemd), unless they already run.
export async function startLibvirt(): Promise<void> {
  await fixKvmMode();
  if ((await daemonPid('virtlogd')) === null) await sh('virtlogd', ['-d']);
  if ((await daemonPid('libvirtd')) === null) await sh('libvirtd', ['-d']);
  await waitForDaemon();
}

// SIGHUP makes libvirtd reload, which is when it notices new hook scripts.
export async function reloadLibvirt(): Promise<void> {
  const pid = await daemonPid('libvirtd');
  if (pid === null) throw new Error('libvirtd is not running');
  process.kill(pid, 'SIGHUP');
  await sleep(500);
  await waitForDaemon();
}

// Stop and start libvirtd: running guests stay up and the qemu hook runs `reconnect` for each.
export async function restartLibvirt(): Promise<void> {
  const pid = await daemonPid('libvirtd');
  if (pid !== null) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && (await daemonPid('libvirtd')) !== null; i++) await sleep(100);
  }
  await sh('libvirtd', ['-d']);
  await waitForDaemon();
}

export interface GuestSpec {
  name: string;
  nics: string[]; // <interface> elements
  machine?: string;
  acpi?: boolean; // PCI hot-plug on the i440fx machine goes through ACPI
}

// A guest with no disk that starts in well under a second under TCG.
export function guestXml({ name, nics, machine = 'pc', acpi = false }: GuestSpec): string {
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

// Everything a test creates on the host, removed in reverse order by cleanup(), also after a failure.
export class Lab {
  private readonly undo: (() => Promise<void>)[] = [];

  async bridge(name: string): Promise<string> {
    await sh('ip', ['link', 'add', name, 'type', 'bridge']);
    this.undo.push(() => shQuiet('ip', ['link', 'del', name]));
    await sh('ip', ['link', 'set', name, 'up']);
    return name;
  }

  async tap(name: string, master?: string): Promise<string> {
    await sh('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
    this.undo.push(() => shQuiet('ip', ['link', 'del', name]));
    if (master) await sh('ip', ['link', 'set', name, 'master', master]);
    await sh('ip', ['link', 'set', name, 'up']);
    return name;
  }

  // A veth pair (this kernel has no dummy driver); either end can carry macvtap devices.
  async veth(name: string, peer: string): Promise<string> {
    await sh('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
    this.undo.push(() => shQuiet('ip', ['link', 'del', name]));
    await sh('ip', ['link', 'set', name, 'up']);
    return name;
  }

  // Define a libvirt network; start it unless `start` is false.
  async network(name: string, xml: string, start = true): Promise<string> {
    await virshWithFile('net-define', xml);
    this.undo.push(async () => {
      await shQuiet('virsh', [...VIRSH, 'net-destroy', name]);
      await shQuiet('virsh', [...VIRSH, 'net-undefine', name]);
    });
    if (start) await virsh('net-start', name);
    return name;
  }

  // Define a guest and start it with `virsh start`, as administrators do.
  async guest(spec: GuestSpec, start = true): Promise<string> {
    await virshWithFile('define', guestXml(spec));
    this.undo.push(async () => {
      await shQuiet('virsh', [...VIRSH, 'destroy', spec.name]);
      await shQuiet('virsh', [...VIRSH, 'undefine', spec.name]);
    });
    if (start) await virsh('start', spec.name);
    return spec.name;
  }

  // Register any other cleanup step (a hook script, a config file).
  onCleanup(step: () => Promise<void>): void {
    this.undo.push(step);
  }

  async cleanup(): Promise<void> {
    for (const step of this.undo.splice(0).reverse()) await step().catch(() => undefined);
  }
}
