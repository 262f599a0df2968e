import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEB, DebianRoot, RELEASES, type Release, VERSION } from '../helpers/debian-root.js';
import { DIST } from '../helpers/dist.js';
import { SOURCE } from '../helpers/installed.js';
import { FIXTURES } from '../helpers/runtime.js';
import { canRun, isRoot, missingTool } from '../helpers/sh.js';
import { SyslogListener } from '../helpers/syslog.js';

const HOOK = '/etc/libvirt/hooks/qemu.d/mactable';
const CONFFILE = '/etc/libvirt/mactable.json';
const SAMPLES = `${FIXTURES}libvirt-9.0/`;

// A stand-in libvirtd: the pid file the maintainer scripts read, `--version` for doctor, a line per SIGHUP.
const FAKE_LIBVIRTD = `#!/bin/sh
[ "$1" = --version ] && { echo 'libvirtd (libvirt) 9.0.0'; exit 0; }
trap 'echo hup >> /tmp/libvirtd-hups' HUP
echo $$ > /run/libvirtd.pid
while :; do sleep 0.1; done
`;

function missing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap, chroot and mounts';
  return missingTool({ debootstrap: 'debootstrap', unshare: 'util-linux', 'dpkg-deb': 'dpkg' });
}

describe.skipIf(!canRun('Debian root tests (test/distro/debian-root.test.ts)', missing())).each(Object.keys(RELEASES) as Release[])("the package in a clean Debian %s root with Debian's Node.js", (release) => {
  const root = new DebianRoot(release);
  const { debian, node: major } = RELEASES[release];
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
    const { builtMs, copyMs } = await root.create();
    process.stderr.write(`distro: Debian ${debian} root ${builtMs === null ? 'from the run\'s cache' : `built in ${(builtMs / 1000).toFixed(1)} s`}, copied in ${(copyMs / 1000).toFixed(1)} s\n`);
    await root.addPackage();
    // The built program and the fixtures at the same absolute paths, so plans name the same files.
    mkdirSync(`${root.path}${SOURCE}test`, { recursive: true });
    cpSync(`${SOURCE}dist`, `${root.path}${SOURCE}dist`, { recursive: true });
    cpSync(FIXTURES, `${root.path}${FIXTURES}`, { recursive: true });
    writeFileSync(`${root.path}/usr/sbin/libvirtd`, FAKE_LIBVIRTD, { mode: 0o755 });
    const started = await root.run('/usr/sbin/libvirtd > /dev/null 2>&1 &');
    expect(started.code).toBe(0);
    expect(await lines('/run/libvirtd.pid', 1)).toBe(1);
  }, 900_000);

  afterAll(async () => {
    await root.cleanup();
    expect(root.path === '' || !existsSync(root.path)).toBe(true);
  }, 60_000);

  it(`has Debian's own Node.js ${major}`, async () => {
    const result = await root.run("node --version && dpkg-query -W -f '${Version}\\n' nodejs");
    expect(result.code).toBe(0);
    const [node, packaged] = result.stdout.split('\n');
    // 18.19 is the oldest Node.js the program supports (Ubuntu 24.04's).
    expect(node).toMatch(major === 18 ? /^v18\.(19|[2-9]\d)\.\d+$/u : new RegExp(`^v${major}\\.\\d+\\.\\d+$`, 'u'));
    expect(packaged?.startsWith(`${node?.slice(1)}+dfsg`)).toBe(true);
  });

  it('apt-get install ./mactable_*.deb pulls only Debian packages, installs the hook and reloads libvirtd', async () => {
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
        '/lib/systemd/system/mactable.service',
        '/usr/share/doc/mactable/changelog.gz',
        '/usr/share/doc/mactable/copyright',
        '/usr/share/man/man8/mactable.8.gz',
      ].sort(),
    );
    expect(readFileSync(`${root.path}/var/lib/dpkg/info/mactable.conffiles`, 'utf8')).toBe(`${CONFFILE}\n`);
    // The hook: a copy made by postinst, not a file of the package, so it goes with `remove`.
    expect(readFileSync(`${root.path}${HOOK}`, 'utf8')).toBe(readFileSync(`${root.path}/usr/lib/mactable/hooks/qemu`, 'utf8'));
    expect(statSync(`${root.path}${HOOK}`).mode & 0o777).toBe(0o755);
    expect(await lines('/tmp/libvirtd-hups', 1)).toBe(1);
  });

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
    expect(checks.libvirt).toMatchObject({ status: 'ok', detail: '9.0.0' });
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
    writeFileSync(node, root.nodeCommand(), { mode: 0o755 });
    try {
      expect((await execa(node, ['-p', 'process.version'])).stdout).toMatch(new RegExp(`^v${major}\\.`, 'u'));
      const suite = await execa('npx', ['vitest', 'run', '--config', 'test/vitest.config.ts', '--project', 'unit', 'test/replay'], {
        cwd: SOURCE,
        env: { MACTABLE_TEST_NODE: node, NO_COLOR: '1' },
        reject: false,
        timeout: 600_000,
      });
      const summary = /Tests\s+(\d+) passed \((\d+)\)/u.exec(String(suite.stdout));
      expect([suite.exitCode, summary?.[1] === summary?.[2]], String(suite.stdout).slice(-3000)).toEqual([0, true]);
      process.stderr.write(`distro: test/replay under Debian ${debian}'s Node.js ${major}: ${summary?.[0]}\n`);
    } finally {
      rmSync(node, { force: true });
    }
  });

  it('apt-get remove takes the hook away, reloads libvirtd and leaves only the conffile', async () => {
    const result = await root.run('apt-get remove -y -q mactable > /tmp/apt.log');
    expect(result.code, result.stderr).toBe(0);
    expect(ours()).toEqual([CONFFILE]);
    expect(existsSync(`${root.path}/etc/libvirt/hooks/qemu.d`)).toBe(false);
    expect(await lines('/tmp/libvirtd-hups', 2)).toBe(2);
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
