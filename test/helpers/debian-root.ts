import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { SOURCE } from './installed.js';
import { sh } from './sh.js';

const SOURCES = '/etc/apt/sources.list.d/debian.sources';
// A root's commands run with this PATH and nothing else of this process's environment.
export const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';
// Inside a mount namespace of its own: /proc, a read-only /sys and /dev are mounted into the root, then the
// command runs there with a clean environment. The mounts end with the namespace, whatever happens.
const ENTER =
  'mount -t proc proc "$0/proc" && mount -t sysfs -o ro sysfs "$0/sys" && mount --rbind /dev "$0/dev" && ' +
  `exec chroot "$0" /usr/bin/env -i ${PATH} LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"`;

// The package as packaging/debian/build.sh (npm run package) names it, and the version in it.
export const VERSION = JSON.parse(readFileSync(`${SOURCE}package.json`, 'utf8')).version as string;
export const DEB = `mactable_${VERSION}_all.deb`;

export interface RootRun {
  code: number;
  stdout: string;
  stderr: string;
}

// The mirror this machine's apt uses (CI: Debian's), else deb.debian.org.
function mirror(): string {
  const uris = existsSync(SOURCES) ? /^URIs:\s*(\S+)/mu.exec(readFileSync(SOURCES, 'utf8'))?.[1] : undefined;
  return uris ?? 'http://deb.debian.org/debian';
}

// A clean Debian 12 root made by debootstrap (minbase) in a temporary directory, removed by cleanup().
export class DebianRoot {
  path = '';

  // debootstrap, then Debian's own nodejs from the same sources as this machine.
  async create(): Promise<{ debootstrapMs: number }> {
    this.path = mkdtempSync(join(tmpdir(), 'mactable-debian-'));
    // A root's / is 0755 (mkdtemp makes 0700): its system users (_apt, messagebus) must get through it.
    chmodSync(this.path, 0o755);
    const started = Date.now();
    await execa('debootstrap', ['--variant=minbase', 'bookworm', this.path, mirror()], { timeout: 600_000 });
    const debootstrapMs = Date.now() - started;
    if (existsSync(SOURCES)) {
      rmSync(`${this.path}/etc/apt/sources.list`);
      await sh('cp', [SOURCES, `${this.path}${SOURCES}`]);
    }
    const apt = await this.run('apt-get update -q && apt-get install -y -q --no-install-recommends nodejs');
    if (apt.code !== 0) throw new Error(`installing nodejs in the Debian root failed: ${apt.stderr}`);
    return { debootstrapMs };
  }

  // Build the package from this checkout and put it into the root as /tmp/DEB.
  async addPackage(): Promise<void> {
    const built = await execa('sh', [`${SOURCE}packaging/debian/build.sh`], { reject: false });
    if (built.exitCode !== 0) throw new Error(`npm run package failed: ${built.stderr}`);
    await sh('cp', [`${SOURCE}dist/${DEB}`, `${this.path}/tmp/${DEB}`]);
  }

  // Run a shell script in the root; `env` is all it sees besides PATH, LC_ALL and DEBIAN_FRONTEND.
  async run(script: string, env: Record<string, string> = {}, input = ''): Promise<RootRun> {
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    const result = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', ENTER, this.path, ...assignments, 'sh', '-c', script], {
      input,
      reject: false,
      timeout: 600_000,
    });
    return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  // A command that runs the root's Node.js with node's arguments (for MACTABLE_TEST_NODE); only /proc is mounted.
  nodeCommand(): string {
    return [
      '#!/bin/sh',
      "# Debian 12's Node.js in the test root; the root holds copies of dist/ and test/fixtures/ at the same paths.",
      `exec env -u NODE_OPTIONS -u NODE_EXTRA_CA_CERTS unshare --mount --propagation private /bin/sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/node "$@"' '${this.path}' "$@"`,
      '',
    ].join('\n');
  }

  // Host mounts below the root: none, since every mount lives in a namespace that ends with its command.
  mounts(): string[] {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point === this.path || point.startsWith(`${this.path}/`));
  }

  // Processes still running in the root (a stand-in daemon a failed test left).
  processes(): number[] {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/u.test(name))
      .filter((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/root`) === this.path;
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  // Stop what runs there, unmount what is mounted there (never the case unless the namespace leaked), remove it.
  async cleanup(): Promise<void> {
    if (this.path === '') return;
    for (const pid of this.processes()) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && this.processes().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const point of this.mounts().reverse()) await execa('umount', ['-R', '-l', point], { reject: false });
    if (this.mounts().length > 0) throw new Error(`still mounted below ${this.path}: ${this.mounts().join(', ')}; not removing it`);
    rmSync(this.path, { recursive: true, force: true });
  }
}
