import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { CONFIG_KEYS } from '../../src/config/config.js';
import { HOOK_PATHS, HOOKS, MARKER, MIN_NODE } from '../../src/doctor/install-layout.js';
import { DIST } from '../helpers/dist.js';

// Paths and the marker are written in install.sh, the hook template and the package's maintainer scripts
// (shell), and read by doctor (TypeScript): these hold the copies against each other.
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const installSh = read('install.sh');
const template = read('hooks/qemu');
const maintainer = read('packaging/debian/lib.sh');
const build = read('packaging/debian/build.sh');
const shellValue = (script: string, name: string) => new RegExp(`^${name}=(?:'([^']*)'|(\\S+))$`, 'mu').exec(script)?.slice(1).find((value) => value !== undefined);

describe('install.sh, hooks/qemu, the package and doctor agree', () => {
  it('on the marker that makes a hook ours', () => {
    expect(shellValue(installSh, 'MARKER')).toBe(MARKER);
    expect(shellValue(maintainer, 'MARKER')).toBe(MARKER);
    expect(template.split('\n')[1]).toBe(MARKER);
  });

  it('on where the hook goes', () => {
    const hooksDir = shellValue(installSh, 'HOOKS_DIR');
    expect(hooksDir).toBe(HOOKS);
    expect(installSh).toContain('HOOK="$HOOKS_DIR/qemu.d/mactable"; else HOOK="$HOOKS_DIR/qemu"; fi');
    expect(HOOK_PATHS).toEqual([`${HOOKS}/qemu.d/mactable`, `${HOOKS}/qemu`]);
    expect(shellValue(maintainer, 'HOOK')).toBe(HOOK_PATHS[0]);
  });

  it('on where the package keeps the hook for its postinst', () => {
    const prefix = /--prefix (\S+)/u.exec(build)?.[1];
    expect(installSh).toContain('HOOK="$PREFIX/hooks/qemu"');
    expect(shellValue(maintainer, 'TEMPLATE')).toBe(`${prefix}/hooks/qemu`);
  });

  it('on the oldest Node.js: package.json engines, read by install.sh, the package and doctor', () => {
    const engines = JSON.parse(read('package.json')).engines.node;
    expect(engines).toBe(`>=${MIN_NODE}`);
    expect(MIN_NODE).toBe('18.19');
    const readsEngines = `sed -n 's/^ *"node": ">=\\([0-9.]*\\)".*/\\1/p' "$SRC/package.json"`;
    expect(installSh).toContain(`MIN_NODE=$(${readsEngines})`);
    expect(build).toContain(`MIN_NODE=$(${readsEngines})`);
    expect(read('packaging/debian/control')).toContain('Depends: nodejs (>= @MIN_NODE@), iproute2');
  });

  it('the hook does nothing when the program it runs is gone', () => {
    const programs = [...template.matchAll(/'@NODE@' '(@PREFIX@\/dist\/[^']+)'/gu)].map((match) => match[1]);
    expect(programs).toEqual(['@PREFIX@/dist/mactable.mjs', '@PREFIX@/dist/hook.cjs']);
    const guard = template.indexOf("[ -f '@PREFIX@/dist/hook.cjs' ] || exit 0\n");
    expect(guard).toBeGreaterThan(-1);
    expect(guard).toBeLessThan(template.indexOf("'@NODE@'"));
    expect(template).toMatch(/^exec '@NODE@' '@PREFIX@\/dist\/hook.cjs' hook qemu "\$@"\n$/mu);
  });
});

describe('mactable(8)', () => {
  const man = read('packaging/mactable.8');

  // The commands as the program's own --help lists them.
  const help = execFileSync(process.execPath, [DIST, '--help'], { encoding: 'utf8' });
  const commands = [...help.matchAll(/^ {2}mactable (\w+)/gmu)].map((match) => match[1] as string);

  it('--help lists the commands', () => {
    expect(commands).toEqual(['plan', 'status', 'repair', 'watch', 'doctor', 'hook']);
  });

  it.each(commands)('names the command %s', (command) => {
    expect(man).toMatch(new RegExp(`^\\.B ${command}\\b`, 'mu'));
  });

  it.each(CONFIG_KEYS)('explains the config key %s', (key) => {
    expect(man).toMatch(new RegExp(`^\\.TP\\n\\.B ${key}$`, 'mu'));
  });
});
