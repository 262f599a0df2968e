import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { libvirtMissing, reloadLibvirt, startLibvirt } from './libvirt.js';
import { sh } from './sh.js';

export const SOURCE = new URL('../..', import.meta.url).pathname;
export const HOOK = '/etc/libvirt/hooks/qemu.d/mactable';
export const CONFIG = '/etc/libvirt/mactable.json';
const PACKAGES = ['libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86'];

// Debian's libvirt and QEMU, when this machine does not have them yet.
export async function ensureLibvirtPackages(): Promise<void> {
  if (libvirtMissing() === null) return;
  await sh('apt-get', ['update', '-q']);
  await execa('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...PACKAGES], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 900_000,
  });
}

export function installSh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execa(`${SOURCE}install.sh`, args, { reject: false, timeout: 300_000 }).then((result) => ({
    code: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  }));
}

// mactable installed by install.sh as libvirt's real hook, with a config the test controls.
// The program and command go under `prefix`; the hook must sit where libvirt looks for it.
export class InstalledMactable {
  private savedConfig: string | null = null;

  constructor(readonly prefix: string) {}

  async install(): Promise<string> {
    if (existsSync(HOOK)) throw new Error(`${HOOK} exists already: the e2e tests would replace an installed mactable`);
    await ensureLibvirtPackages();
    await startLibvirt();
    this.savedConfig = existsSync(CONFIG) ? readFileSync(CONFIG, 'utf8') : null;
    const result = await installSh(['--prefix', `${this.prefix}/lib`, '--bin-dir', `${this.prefix}/bin`, '--unit-dir', `${this.prefix}/systemd`]);
    if (result.code !== 0) throw new Error(`install.sh failed: ${result.stderr}`);
    await reloadLibvirt();
    return result.stdout;
  }

  // The installed `mactable` command, as an administrator runs it.
  async run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const result = await execa(`${this.prefix}/bin/mactable`, args, { reject: false, timeout: 60_000 });
    return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  // The hook reads the config at every call: no reload needed.
  configure(config: unknown): void {
    writeFileSync(CONFIG, `${JSON.stringify(config)}\n`);
  }

  async uninstall(): Promise<void> {
    await installSh(['--uninstall', '--prefix', `${this.prefix}/lib`, '--bin-dir', `${this.prefix}/bin`, '--unit-dir', `${this.prefix}/systemd`]);
    if (this.savedConfig === null) rmSync(CONFIG, { force: true });
    else writeFileSync(CONFIG, this.savedConfig);
    rmSync(this.prefix, { recursive: true, force: true });
    await reloadLibvirt();
  }
}
