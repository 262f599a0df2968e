import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { SOURCE } from './installed.js';
import { cachedRoot, copyRoot, copyTree } from './root-cache.js';
import { sh } from './sh.js';

const SOURCES = '/etc/apt/sources.list.d/debian.sources';
// A root's commands run with this PATH and nothing else of this process's environment.
export const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';
// Inside a mount namespace of its own: /proc, a read-only /sys and /dev are mounted into the root, then the
// command runs there with a clean environment. The mounts end with the namespace, whatever happens.
const MOUNTS = 'mount -t proc proc "$0/proc" && mount -t sysfs -o ro sysfs "$0/sys" && mount --rbind /dev "$0/dev"';
const ENTER = `${MOUNTS} && exec chroot "$0" /usr/bin/env -i ${PATH} LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"`;

// The Debian releases the suites run on, and the major version of Node.js each ships.
export const RELEASES = {
  bookworm: { debian: 12, node: 18 },
  trixie: { debian: 13, node: 20 },
} as const;
export type Release = keyof typeof RELEASES;
// The packages a root needs to boot with systemd as its init (booted.ts).
export const SYSTEMD = ['systemd', 'systemd-sysv', 'dbus'];

// The package as packaging/debian/build.sh (npm run package) names it, and the version in it.
export const VERSION = JSON.parse(readFileSync(`${SOURCE}package.json`, 'utf8')).version as string;
export const DEB = `mactable_${VERSION}_all.deb`;

// A stand-in libvirt daemon to put in a root as its NAME: the pid file the maintainer scripts read, `--version` for
// doctor, a line in `hups` for each SIGHUP (a reload). Its /proc/PID/comm is its file's name, as the scripts check.
export const standInDaemon = ({ name, version }: { name: string; version: string }, hups: string): string => `#!/bin/sh
[ "$1" = --version ] && { echo '${name} (libvirt) ${version}'; exit 0; }
trap 'echo hup >> ${hups}' HUP
echo $$ > /run/${name}.pid
while :; do sleep 0.1; done
`;

export interface RootRun {
  code: number;
  stdout: string;
  stderr: string;
}

// The mirrors this machine's apt uses (CI: Debian's), else deb.debian.org's.
function mirrors(): { main: string; security: string } {
  const uris = existsSync(SOURCES) ? [...readFileSync(SOURCES, 'utf8').matchAll(/^URIs:\s*(\S+)/gmu)].map((match) => match[1] as string) : [];
  return {
    main: uris.find((uri) => !uri.endsWith('-security')) ?? 'http://deb.debian.org/debian',
    security: uris.find((uri) => uri.endsWith('-security')) ?? 'http://deb.debian.org/debian-security',
  };
}

// The release's own suites (with updates and security) from those mirrors, as deb822.
function sources(release: Release): string {
  const { main, security } = mirrors();
  const stanza = (uri: string, suites: string) => `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
  return `${stanza(main, `${release} ${release}-updates`)}\n${stanza(security, `${release}-security`)}`;
}

// Run a shell script in the root at `path` (see DebianRoot.run).
async function runIn(path: string, script: string, env: Record<string, string> = {}, input = ''): Promise<RootRun> {
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const result = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', ENTER, path, ...assignments, 'sh', '-c', script], {
    input,
    reject: false,
    timeout: 900_000,
  });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

// apt-get install `packages` into the root at `path`, leaving its lists (later installs need no update) but no .debs.
async function aptInstall(path: string, packages: string[], what: string): Promise<void> {
  const apt = await runIn(path, `apt-get install -y -q --no-install-recommends ${packages.join(' ')} > /dev/null && apt-get clean`);
  if (apt.code !== 0) throw new Error(`installing ${packages.join(' ')} in the ${what} root failed: ${apt.stderr}`);
}

// debootstrap (minbase: debootstrap's own --include fails on trixie once systemd comes in), the release's
// sources, then Debian's nodejs.
async function bootstrap(release: Release, dir: string): Promise<void> {
  // In a mount namespace of its own: the proc and sys it mounts in the root go with it, even when it is killed.
  await execa('unshare', ['--mount', '--propagation', 'private', 'debootstrap', '--variant=minbase', release, dir, mirrors().main], { timeout: 900_000 });
  rmSync(`${dir}/etc/apt/sources.list`, { force: true });
  writeFileSync(`${dir}${SOURCES}`, sources(release));
  const update = await runIn(dir, 'apt-get update -q > /dev/null');
  if (update.code !== 0) throw new Error(`apt-get update in the ${release} root failed: ${update.stderr}`);
  await aptInstall(dir, ['nodejs'], release);
}

// A clean Debian root (bookworm: 12, trixie: 13) with Debian's Node.js and `packages`, in a temporary directory
// of its own, removed by cleanup(). Each release's root, and each set of packages on it, is built once per test
// run (debootstrap and apt: minutes) and copied for each test (seconds): see root-cache.ts.
export class DebianRoot {
  path = '';

  constructor(
    readonly release: Release = 'bookworm',
    private readonly packages: string[] = [],
  ) {}

  // Says on stderr how long it took: building (unless another test of the run did) and copying.
  async create(): Promise<void> {
    const base = await cachedRoot(this.release, (dir) => bootstrap(this.release, dir));
    const wanted = [...new Set(this.packages)].sort();
    const extended =
      wanted.length === 0
        ? base
        : await cachedRoot(`${this.release}+${wanted.join('+')}`, async (dir) => {
            await copyTree(base.dir, dir);
            await aptInstall(dir, wanted, this.release);
          });
    const started = Date.now();
    this.path = await copyRoot(extended.dir);
    const builtMs = base.builtMs === null && extended.builtMs === null ? null : (base.builtMs ?? 0) + (extended === base ? 0 : (extended.builtMs ?? 0));
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const what = `Debian ${RELEASES[this.release].debian} root${wanted.length > 0 ? ` with ${wanted.join(' ')}` : ''}`;
    process.stderr.write(`distro: ${what} ${builtMs === null ? "from the run's cache" : `built in ${seconds(builtMs)}`}, copied in ${seconds(Date.now() - started)}\n`);
  }

  // Build the package from this checkout (as `version` when given: an upgrade's other side) and put it into the
  // root as /tmp/mactable_VERSION_all.deb; returns that path.
  async addPackage(version = VERSION): Promise<string> {
    const out = mkdtempSync(join(tmpdir(), 'mactable-test-deb-'));
    try {
      const built = await execa('sh', [`${SOURCE}packaging/debian/build.sh`], { reject: false, env: { MACTABLE_DEB_VERSION: version, MACTABLE_DEB_DIR: out } });
      if (built.exitCode !== 0) throw new Error(`npm run package failed: ${built.stderr}`);
      const deb = `/tmp/mactable_${version}_all.deb`;
      await sh('cp', [`${out}/mactable_${version}_all.deb`, `${this.path}${deb}`]);
      return deb;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }

  // Run a shell script in the root; `env` is all it sees besides PATH, LC_ALL and DEBIAN_FRONTEND.
  run(script: string, env: Record<string, string> = {}, input = ''): Promise<RootRun> {
    return runIn(this.path, script, env, input);
  }

  // The words to put before a command of this machine that works on the root from outside (ansible's chroot
  // connection): it runs with the root's /proc, /sys and /dev mounted, in a mount namespace that ends with it.
  mounted(): string[] {
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${MOUNTS} && exec "$@"`, this.path];
  }

  // A command that runs the root's Node.js with node's arguments (for MACTABLE_TEST_NODE); only /proc is mounted.
  nodeCommand(): string {
    return [
      '#!/bin/sh',
      `# Debian ${RELEASES[this.release].debian}'s Node.js in the test root; the root holds copies of dist/ and test/fixtures/ at the same paths.`,
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
    for (const pid of this.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended meanwhile (a stand-in daemon's short-lived child)
      }
    }
    for (let i = 0; i < 100 && this.processes().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const point of this.mounts().reverse()) await execa('umount', ['-R', '-l', point], { reject: false });
    if (this.mounts().length > 0) throw new Error(`still mounted below ${this.path}: ${this.mounts().join(', ')}; not removing it`);
    rmSync(this.path, { recursive: true, force: true });
  }
}
