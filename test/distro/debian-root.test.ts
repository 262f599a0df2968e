import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEB, DebianRoot, RELEASES, type Release, standInDaemon, VERSION } from '../helpers/debian-root.js';
import { DIST } from '../helpers/dist.js';
import { SOURCE } from '../helpers/installed.js';
import { FIXTURES } from '../helpers/runtime.js';
import { canRun, isRoot, missingTool } from '../helpers/sh.js';
import { SyslogListener } from '../helpers/syslog.js';

const HOOK = '/etc/libvirt/hooks/qemu.d/mactable';
const CONFFILE = '/etc/libvirt/mactable.json';
const SAMPLES = `${FIXTURES}libvirt-9.0/`;

// The daemon each root runs: Debian's libvirtd in the Debian 12 root; in the Debian 13 one virtqemud, the modular
// daemon of Fedora and RHEL, which no Debian release ships (the maintainer scripts and doctor must find either).
const DAEMONS: Record<Release, { name: string; version: string }> = { bookworm: { name: 'libvirtd', version: '9.0.0' }, trixie: { name: 'virtqemud', version: '11.3.0' } };

function missing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap, chroot and mounts';
  return missingTool({ debootstrap: 'debootstrap', unshare: 'util-linux', 'dpkg-deb': 'dpkg' });
}

describe.skipIf(!canRun('Debian root tests (test/distro/debian-root.test.ts)', missing())).each(Object.keys(RELEASES) as Release[])("the package in a clean Debian %s root with Debian's Node.js", (release) => {
  const root = new DebianRoot(release);
  const { debian, node: major } = RELEASES[release];
  const daemon = DAEMONS[release];
  let files: string[] = [];

  // The program's plan under this machine's Node.js (the developer's), to compare with the root's.
  const planHere = async (args: string[]) => (await execa(process.execPath, [DIST, 'plan', '--json', ...args], { reject: false })).stdout;
  // Which files of the package, and the hook, exist in the root.
  const ours = () => [...files, HOOK].filter((file) => existsSync(`${root.path}${file}`)).sort();
  // Poll a file in the root until it holds `lines` lines.
  const lines = async (file: string, count: number) => {
    for (let i = 0; i < 200; i++) {
      const text = existsSync(`${root.path}${file}`) ? readFileSync(`${root.path}${file}`, 'utf8') : '';
      if (text.split('\n').filter(Boolean).length >= count) return text.split('\n').filter(Boolean).length;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return -1;
  };

  beforeAll(async () => {
    await root.create();
    await root.addPackage();
    // The built program and the fixtures at the same absolute paths, so plans name the same files.
    mkdirSync(`${root.path}${SOURCE}test`, { recursive: true });
    cpSync(`${SOURCE}dist`, `${root.path}${SOURCE}dist`, { recursive: true });
    cpSync(FIXTURES, `${root.path}${FIXTURES}`, { recursive: true });
    writeFileSync(`${root.path}/usr/sbin/${daemon.name}`, standInDaemon(daemon, '/tmp/daemon-hups'), { mode: 0o755 });
    const started = await root.run(`/usr/sbin/${daemon.name} > /dev/null 2>&1 &`);
    expect(started.code).toBe(0);
    expect(await lines(`/run/${daemon.name}.pid`, 1)).toBe(1);
  }, 900_000);

  afterAll(async () => {
    await root.cleanup();
    expect(root.path === '' || !existsSync(root.path)).toBe(true);
  }, 300_000);

  it(`has Debian's own Node.js ${major}`, async () => {
    const result = await root.run("node --version && dpkg-query -W -f '${Version}\\n' nodejs");
    expect(result.code).toBe(0);
    const [node, packaged] = result.stdout.split('\n');
    // 18.19 is the oldest Node.js the program supports (Ubuntu 24.04's).
    expect(node).toMatch(major === 18 ? /^v18\.(19|[2-9]\d)\.\d+$/u : new RegExp(`^v${major}\\.\\d+\\.\\d+$`, 'u'));
    expect(packaged?.startsWith(`${node?.slice(1)}+dfsg`)).toBe(true);
  });

  it(`apt-get install ./mactable_*.deb pulls only Debian packages, installs the hook and reloads ${daemon.name}`, async () => {
    const result = await root.run(
      'dpkg-query -W -f "\\${Package}\\n" | sort > /tmp/before && ' +
        `apt-get install -y -q --no-install-recommends /tmp/${DEB} > /tmp/apt.log && ` +
        'dpkg-query -W -f "\\${Package}\\n" | sort | comm -13 /tmp/before - | while read -r p; do ' +
        '  printf "%s %s\\n" "$p" "$(apt-cache policy "$p" | sed -n "/^ \\*\\*\\* /{n;p;q}" | awk "{ print \\$2 }")"; done',
    );
    expect(result.code, result.stderr).toBe(0);
    const added = result.stdout.trim().split('\n').map((line) => line.split(' '));
    expect(added.find(([name]) => name === 'mactable')).toEqual(['mactable', '/var/lib/dpkg/status']);
    expect(added.filter(([name, from]) => name !== 'mactable' && !from?.startsWith('http://deb.debian.org/'))).toEqual([]);
    expect(added.map(([name]) => name)).toContain('iproute2');

    files = (await root.run('dpkg -L mactable')).stdout.split('\n').filter((file) => file !== '' && statSync(`${root.path}${file}`).isFile());
    expect(files.sort()).toEqual(
      [
        CONFFILE,
        '/usr/bin/mactable',
        ...readdirSync(`${SOURCE}dist`).filter((file) => /\.(mjs|cjs|js)$/u.test(file)).map((file) => `/usr/lib/mactable/dist/${file}`),
        '/usr/lib/mactable/hooks/qemu',
        '/usr/lib/systemd/system/mactable.service',
        '/usr/share/doc/mactable/changelog.gz',
        '/usr/share/doc/mactable/copyright',
        '/usr/share/man/man8/mactable.8.gz',
      ].sort(),
    );
    expect(readFileSync(`${root.path}/var/lib/dpkg/info/mactable.conffiles`, 'utf8')).toBe(`${CONFFILE}\n`);
    // The hook: a copy made by postinst, not a file of the package, so it goes with `remove`.
    expect(readFileSync(`${root.path}${HOOK}`, 'utf8')).toBe(readFileSync(`${root.path}/usr/lib/mactable/hooks/qemu`, 'utf8'));
    expect(statSync(`${root.path}${HOOK}`).mode & 0o777).toBe(0o755);
    expect(await lines('/tmp/daemon-hups', 1)).toBe(1);
  });

  // Debian 12's lintian is CI's own (.ci/run, on a Debian 12 host); Debian 13's runs in its root.
  if (release !== 'bookworm') {
    it(`lintian of Debian ${debian} reports no error on the package`, async () => {
      // The release's own lintian: its checks follow that release's policy (trixie's merged /usr, for one).
      const result = await root.run(`apt-get install -y -q --no-install-recommends lintian > /dev/null && lintian --fail-on error /tmp/${DEB}`);
      const tags = result.stdout.split('\n').filter((line) => /^[EWIP]: /u.test(line));
      process.stderr.write(`distro: lintian on Debian ${debian}: ${tags.length === 0 ? 'no tag' : tags.join('; ')}\n`);
      expect([result.code, tags.filter((line) => line.startsWith('E: '))], result.stderr).toEqual([0, []]);
    });
  }

  it('mactable --version', async () => {
    expect(await root.run('mactable --version')).toEqual({ code: 0, stdout: VERSION, stderr: '' });
  });

  it.each([
    ['guest1', ['--root', `${SAMPLES}guest1/root`, '--config', `${FIXTURES}config/samples-guest1.json`, `${SAMPLES}guest1/hook-stdin/started-begin.xml`]],
    ['guest2', ['--root', `${SAMPLES}guest2/root`, '--config', `${FIXTURES}config/samples-guest2.json`, `${SAMPLES}guest2/hook-stdin/started-begin.xml`]],
    ['guest1 without a config', ['--root', `${SAMPLES}guest1/root`, `${SAMPLES}guest1/root/run/libvirt/qemu/guest1.xml`]],
  ])('mactable plan on the %s sample gives the same JSON as under this Node.js', async (_sample, args) => {
    const result = await root.run(`mactable plan --json ${args.map((arg) => `'${arg}'`).join(' ')}`);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout).ports.length).toBeGreaterThan(0);
    expect(result.stdout).toBe(await planHere(args));
  });

  it(`mactable doctor: Node.js ${major} ok, the installed hook ok, nothing fails, no mount left`, async () => {
    const mounts = (name: string) => readFileSync(`${root.path}/tmp/${name}`, 'utf8');
    const result = await root.run('cat /proc/self/mountinfo > /tmp/mounts-before; mactable doctor --json; code=$?; cat /proc/self/mountinfo > /tmp/mounts-after; exit $code');
    // Its probe made a bridge in a namespace of its own, which ended with it: not one mount more or less.
    expect(mounts('mounts-after')).toBe(mounts('mounts-before'));
    const checks = Object.fromEntries(JSON.parse(result.stdout).checks.map((row: { check: string }) => [row.check, row]));
    expect(checks['Node.js']).toMatchObject({ status: 'ok', detail: expect.stringMatching(new RegExp(`^${major}\\.`, 'u')) });
    expect(checks.hook).toMatchObject({ status: 'ok', detail: `${HOOK} runs /usr/bin/node /usr/lib/mactable/dist/hook.cjs` });
    expect(checks.libvirt).toMatchObject({ status: 'ok', detail: daemon.version });
    // The stand-in started before the package put the hook in: doctor found it by its pid file and says so.
    const pid = readFileSync(`${root.path}/run/${daemon.name}.pid`, 'utf8').trim();
    expect(checks['daemon has the hook']).toMatchObject({ status: 'warn', detail: expect.stringMatching(new RegExp(`^the daemon \\(pid ${pid}\\) started before the hook was installed`, 'u')) });
    expect(checks.config).toMatchObject({ status: 'ok', detail: `${CONFFILE}: 0 bridge and 0 network entries, onError fail` });
    expect(checks['sticky and lockPorts']).toMatchObject({ status: 'ok' });
    expect(Object.values(checks).filter((row) => (row as { status: string }).status === 'fail')).toEqual([]);
    expect([result.code, result.stderr]).toEqual([0, '']);
  });

  it('the installed hook replays a saved started XML (--root by MACTABLE_ROOT): each port reported, stderr and syslog', async () => {
    const syslog = await SyslogListener.start(`${root.path}/tmp/syslog.sock`);
    try {
      const xml = readFileSync(`${SAMPLES}guest1/hook-stdin/started-begin.xml`, 'utf8');
      const env = { MACTABLE_ROOT: `${SAMPLES}guest1/root`, MACTABLE_CONFIG: `${FIXTURES}config/samples-guest1.json`, MACTABLE_SYSLOG_SOCKET: '/tmp/syslog.sock' };
      const result = await root.run(`${HOOK} guest1 started begin -`, env, xml);
      // The saved root has no /sys: every tap is missing, so each port fails and onError "fail" stops the start.
      const failures = ['vnet11 on virbr9: tap vnet11 does not exist', 'vnet12 on br-plain: tap vnet12 does not exist', 'vnet13 on br-plain: tap vnet13 does not exist'];
      expect(result).toEqual({ code: 1, stdout: '', stderr: failures.map((line) => `mactable: guest1: ${line}`).join('\n') });
      for (let i = 0; i < 200 && syslog.messages().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(syslog.messages().map((message) => message.replace(/^.* mactable: /u, ''))).toEqual(failures.map((line) => `guest1: ${line} (started)`));
      const ignored = await root.run(`${HOOK} guest1 prepare begin -`, env, xml);
      expect(ignored).toEqual({ code: 0, stdout: '', stderr: '' });
    } finally {
      await syslog.stop();
    }
  });

  it(`the replay and CLI suites pass under the root's Node.js ${major}`, async () => {
    const node = `${root.path}.node`;
    const report = `${root.path}.report.json`;
    writeFileSync(node, root.nodeCommand(), { mode: 0o755 });
    try {
      expect((await execa(node, ['-p', 'process.version'])).stdout).toMatch(new RegExp(`^v${major}\\.`, 'u'));
      // Each test runs the program through unshare and chroot: on a busy machine a test takes seconds, not 5 s at most.
      const suite = await execa('npx', ['vitest', 'run', '--config', 'test/vitest.config.ts', '--project', 'unit', '--testTimeout', '30000', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, 'test/replay'], {
        cwd: SOURCE,
        env: { MACTABLE_TEST_NODE: node, NO_COLOR: '1' },
        reject: false,
        timeout: 600_000,
      });
      // Every test passed: none failed, none skipped.
      const { numTotalTests, numPassedTests } = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { numTotalTests: number; numPassedTests: number }) : { numTotalTests: -1, numPassedTests: 0 };
      expect([suite.exitCode, numPassedTests], String(suite.stdout).slice(-3000)).toEqual([0, numTotalTests]);
      expect(numTotalTests).toBeGreaterThan(0);
      process.stderr.write(`distro: test/replay under Debian ${debian}'s Node.js ${major}: ${numPassedTests} of ${numTotalTests} tests passed\n`);
    } finally {
      rmSync(node, { force: true });
      rmSync(report, { force: true });
    }
  });

  it(`apt-get remove takes the hook away, reloads ${daemon.name} and leaves only the conffile`, async () => {
    const result = await root.run('apt-get remove -y -q mactable > /tmp/apt.log');
    expect(result.code, result.stderr).toBe(0);
    expect(ours()).toEqual([CONFFILE]);
    expect(existsSync(`${root.path}/etc/libvirt/hooks/qemu.d`)).toBe(false);
    expect(await lines('/tmp/daemon-hups', 2)).toBe(2);
  });

  it('apt-get purge leaves no file of ours', async () => {
    // What the watcher and the hook leave at run time: their locks and marks under /run/mactable.
    const result = await root.run(
      'mkdir -p /run/mactable/waiters && touch /run/mactable/watch.lock /run/mactable/reconnect.due /run/mactable/waiters/g1.lock && ' +
        'apt-get purge -y -q mactable > /tmp/apt.log && dpkg-query -W mactable',
    );
    expect(result.code).toBe(1);
    expect(ours()).toEqual([]);
    expect(existsSync(`${root.path}/run/mactable`)).toBe(false);
    expect(existsSync(`${root.path}/etc/libvirt`)).toBe(false);
    expect(root.mounts()).toEqual([]);
  });
});
