import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa, type Options } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Box, boxMissing } from '../helpers/box.js';
import { installSh as installOnMachine } from '../helpers/installed.js';
import { canRun } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';

const FOREIGN = '#!/bin/sh\n# the administrator\'s own qemu hook\nexit 0\n';

// Every file and directory under `dir`, for before/after comparisons.
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).sort();
}

let box: Box;
// install.sh, the installed hook and command run inside a box (its own /etc/libvirt and /run, no daemons): a
// default path that slipped through lands there, not on the machine.
const installSh = (args: string[]) => installOnMachine(args, box.holder);
function inBox(file: string, args: string[], options: Options = {}) {
  const [nsenter, ...rest] = box.holder.enter(file, ...args) as [string, ...string[]];
  return execa(nsenter, rest, options);
}

describe.skipIf(!canRun('install.sh tests (test/e2e/install.test.ts)', boxMissing()))('install.sh', () => {
  let temp: TempDir;
  let args: string[];
  let hooks: string;

  beforeEach(() => {
    temp = new TempDir();
    hooks = `${temp.path}/etc/libvirt/hooks`;
    mkdirSync(hooks, { recursive: true });
    args = ['--prefix', `${temp.path}/lib/mactable`, '--hooks-dir', hooks, '--bin-dir', `${temp.path}/bin`, '--unit-dir', `${temp.path}/systemd`, '--libvirt-version', '9.0.0'];
  });
  afterEach(() => temp.cleanup());
  beforeAll(async () => {
    box = await Box.create({ daemons: false });
  });
  afterAll(async () => {
    await box?.destroy();
  });

  it('installs the program, the command, the hook and an example config, root-owned', async () => {
    const result = await installSh(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`installed: ${hooks}/qemu.d/mactable`);
    expect(result.stdout).toContain('next: libvirt notices a new hook at its next start or reload');
    for (const [file, mode] of [
      [`${temp.path}/lib/mactable/dist/mactable.mjs`, 0o644],
      [`${temp.path}/lib/mactable/dist/hook.cjs`, 0o644],
      [`${temp.path}/bin/mactable`, 0o755],
      [`${hooks}/qemu.d/mactable`, 0o755],
      [`${temp.path}/etc/libvirt/mactable.json`, 0o644],
      [`${temp.path}/share/man/man8/mactable.8`, 0o644],
      [`${temp.path}/systemd/mactable.service`, 0o644],
    ] as const) {
      const stat = statSync(file);
      expect([stat.uid, stat.gid, stat.mode & 0o777], file).toEqual([0, 0, mode]);
    }
    const hook = readFileSync(`${hooks}/qemu.d/mactable`, 'utf8');
    expect(hook).toContain(`exec '${process.execPath}' '${temp.path}/lib/mactable/dist/hook.cjs' hook qemu "$@"`);
    const version = await inBox(`${temp.path}/bin/mactable`, ['--version']);
    expect(version.stdout).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });

  it('is idempotent: a second run changes nothing and says so', async () => {
    await installSh(args);
    const before = tree(temp.path).map((file) => `${file} ${statSync(`${temp.path}/${file}`).mtimeMs}`);
    const again = await installSh(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing changed: mactable is installed and up to date');
    expect(again.stdout).not.toContain('installed:');
    expect(tree(temp.path).map((file) => `${file} ${statSync(`${temp.path}/${file}`).mtimeMs}`)).toEqual(before);
  });

  it('--dry-run prints the actions and does none of them', async () => {
    const before = tree(temp.path);
    const result = await installSh([...args, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^would: install -D -m 0755 -o root -g root .* \S+\/qemu.d\/mactable$/mu);
    expect(tree(temp.path)).toEqual(before);
  });

  it('--uninstall removes exactly what it installed and keeps the config', async () => {
    const before = tree(temp.path);
    await installSh(args);
    const result = await installSh(['--uninstall', ...args.slice(0, 6)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`kept: ${temp.path}/etc/libvirt/mactable.json (your config)`);
    expect(tree(temp.path)).toEqual([...before, 'etc/libvirt/mactable.json'].sort());
  });

  it('keeps an existing config', async () => {
    writeFileSync(`${temp.path}/etc/libvirt/mactable.json`, '{"bridges": ["br0"]}\n');
    expect((await installSh(args)).stdout).toContain(`kept: ${temp.path}/etc/libvirt/mactable.json`);
    expect(readFileSync(`${temp.path}/etc/libvirt/mactable.json`, 'utf8')).toBe('{"bridges": ["br0"]}\n');
  });

  it('leaves a foreign hooks/qemu alone through install and uninstall (libvirt >= 6.5 uses qemu.d)', async () => {
    writeFileSync(`${hooks}/qemu`, FOREIGN, { mode: 0o755 });
    await installSh(args);
    await installSh(['--uninstall', ...args.slice(0, 6)]);
    expect(readFileSync(`${hooks}/qemu`, 'utf8')).toBe(FOREIGN);
  });

  it('on libvirt < 6.5 never overwrites a foreign hooks/qemu; --force moves it aside and says where', async () => {
    writeFileSync(`${hooks}/qemu`, FOREIGN, { mode: 0o755 });
    const old = [...args.slice(0, 6), '--libvirt-version', '6.4.0'];
    const refused = await installSh(old);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `install.sh: ${hooks}/qemu is a hook mactable did not install; it is left alone. Merge the two by hand, or run with --force to move it aside.`,
    );
    expect(readFileSync(`${hooks}/qemu`, 'utf8')).toBe(FOREIGN);

    const forced = await installSh([...old, '--force']);
    expect(forced.code).toBe(0);
    const saved = /^moved aside: \S+ -> (\S+)$/mu.exec(forced.stdout)?.[1] as string;
    expect(readFileSync(saved, 'utf8')).toBe(FOREIGN);
    expect(readFileSync(`${hooks}/qemu`, 'utf8')).toContain('# installed by mactable install.sh');

    await installSh(['--uninstall', ...old]);
    expect(existsSync(`${hooks}/qemu`)).toBe(false);
    expect(readFileSync(saved, 'utf8')).toBe(FOREIGN);
  });

  it('installs under a path with | & $ @ " spaces and non-ASCII, and everything runs from there', async () => {
    const odd = `${temp.path}/odd |&$x @PREFIX@ "é"`;
    const result = await installSh(['--prefix', `${odd}/lib`, '--hooks-dir', hooks, '--bin-dir', `${odd}/bin`, '--unit-dir', `${odd}/systemd`, '--libvirt-version', '9.0.0']);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(readFileSync(`${hooks}/qemu.d/mactable`, 'utf8')).toContain(`exec '${process.execPath}' '${odd}/lib/dist/hook.cjs' hook qemu "$@"`);
    expect((await inBox(`${odd}/bin/mactable`, ['--version'])).stdout).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    const started = await inBox(`${hooks}/qemu.d/mactable`, ['guest', 'started', 'begin', '-'], {
      input: "<domain type='qemu' id='1'><name>guest</name><devices/></domain>",
      env: { LC_ALL: 'C', PATH: '/nonexistent', MACTABLE_CONFIG: `${temp.path}/etc/libvirt/mactable.json` },
      extendEnv: false,
      reject: false,
    });
    expect([started.exitCode, started.stdout, started.stderr]).toEqual([0, '', '']);
    expect((await installSh(['--uninstall', '--prefix', `${odd}/lib`])).code).toBe(0);
    expect(existsSync(odd)).toBe(false);
  });

  it.each([
    ['a relative prefix', ['--prefix', 'lib/mactable'], 'install.sh: paths must be absolute: lib/mactable'],
    ['a single quote in the prefix', ['--prefix', "/opt/it's"], "install.sh: paths with a single quote cannot go into the hook: NODE, /opt/it's"],
    ['a backslash in the prefix', ['--prefix', '/opt/a\\b'], 'install.sh: Node.js cannot load a program from a path with a backslash: /opt/a\\b'],
    ['a newline in the bin directory', ['--bin-dir', '/opt/a\nb'], 'install.sh: a path with a newline cannot be recorded: /opt/a b'],
  ])('refuses %s with a message and changes nothing', async (_case, paths, message) => {
    const before = tree(temp.path);
    // The bin and unit directories the test's own, unless the case names one: a refusal that failed writes nothing of the machine's.
    const result = await installSh(['--hooks-dir', hooks, '--bin-dir', `${temp.path}/bin`, '--unit-dir', `${temp.path}/systemd`, '--libvirt-version', '9.0.0', ...paths]);
    expect([result.code, result.stdout, result.stderr]).toEqual([1, '', message.replace('NODE', process.execPath)]);
    expect(tree(temp.path)).toEqual(before);
  });

  it('--destdir stages the package layout: no manifest, the hook kept for postinst, the man page gzipped', async () => {
    const stage = `${temp.path}/stage`;
    const result = await installSh(['--destdir', stage, '--prefix', '/usr/lib/mactable', '--bin-dir', '/usr/bin', '--man-dir', '/usr/share/man/man8', '--node', '/usr/bin/node']);
    expect([result.code, result.stderr]).toEqual([0, '']);
    const dist = readdirSync(new URL('../../dist/', import.meta.url)).filter((file) => /\.(mjs|cjs|js)$/u.test(file));
    expect(tree(stage).filter((file) => statSync(`${stage}/${file}`).isFile())).toEqual(
      [...dist.map((file) => `usr/lib/mactable/dist/${file}`), 'etc/libvirt/mactable.json', 'usr/bin/mactable', 'usr/lib/mactable/hooks/qemu', 'usr/lib/systemd/system/mactable.service', 'usr/share/man/man8/mactable.8.gz'].sort(),
    );
    expect(readFileSync(`${stage}/usr/lib/mactable/hooks/qemu`, 'utf8')).toContain(`exec '/usr/bin/node' '/usr/lib/mactable/dist/hook.cjs' hook qemu "$@"`);
    expect(readFileSync(`${stage}/usr/bin/mactable`, 'utf8')).toBe(`#!/bin/sh\n# installed by mactable install.sh\nexec '/usr/bin/node' '/usr/lib/mactable/dist/mactable.mjs' "$@"\n`);
    expect(readFileSync(`${stage}/usr/lib/systemd/system/mactable.service`, 'utf8')).toContain(`ExecStart='/usr/bin/node' --max-semi-space-size=1 --max-old-space-size=64 '/usr/lib/mactable/dist/mactable.mjs' watch $MACTABLE_WATCH_ARGS\n`);
  });

  it('the watcher\'s unit passes systemd-analyze verify', async () => {
    const result = await installSh(args);
    expect(result.code).toBe(0);
    // Without systemd as the init it says how to start the watcher instead.
    expect(result.stdout).toContain(`no systemd here: start the watcher with your init system, e.g. ${temp.path}/bin/mactable watch`);
    // verify runs `man` for Documentation=man:mactable(8): give it the installed page.
    const verify = await inBox('systemd-analyze', ['verify', `${temp.path}/systemd/mactable.service`], { reject: false, env: { MANPATH: `${temp.path}/share/man` } });
    expect([verify.exitCode, String(verify.stderr)]).toEqual([0, '']);
  });

  describe('the installed hooks/qemu', () => {
    beforeEach(async () => {
      await installSh(args);
    });

    it('ends operations mactable ignores at once, without reading stdin', async () => {
      for (const [op, subop] of [['prepare', 'begin'], ['start', 'begin'], ['stopped', 'end'], ['migrate', 'begin'], ['restore', 'begin']]) {
        // stdin is a pipe the test never writes to nor closes: a hook that read it would hang until the timeout.
        const hook = inBox(`${hooks}/qemu.d/mactable`, ['guest', op as string, subop as string, '-'], { reject: false, timeout: 5000 });
        const result = await hook;
        expect([op, result.exitCode, result.timedOut, result.stdout, result.stderr]).toEqual([op, 0, false, '', '']);
      }
    });

    it('runs the program with libvirt\'s minimal environment (no node on PATH)', async () => {
      const xml = "<domain type='qemu' id='1'><name>guest</name><devices/></domain>";
      const result = await inBox(`${hooks}/qemu.d/mactable`, ['guest', 'started', 'begin', '-'], {
        input: xml,
        env: { LC_ALL: 'C', PATH: '/nonexistent', MACTABLE_CONFIG: `${temp.path}/etc/libvirt/mactable.json` },
        extendEnv: false,
        reject: false,
      });
      expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, '', '']);
    });

    it('exits 0 without a word when its program is gone (mactable removed, the hook left behind)', async () => {
      rmSync(`${temp.path}/lib/mactable/dist`, { recursive: true });
      const result = await inBox(`${hooks}/qemu.d/mactable`, ['guest', 'started', 'begin', '-'], { input: '<domain/>', reject: false });
      expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, '', '']);
    });
  });
});
