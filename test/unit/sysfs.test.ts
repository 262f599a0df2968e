import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rootedFs, type HostFs } from '../../src/runtime/fs.js';
import { ensurePortFlag } from '../../src/host/sysfs.js';
import { TempDir } from '../helpers/temp.js';

// A saved /sys tree under a root directory stands in for the kernel's files.
describe('ensurePortFlag: read, write only when different, read back', () => {
  let temp: TempDir;
  let host: HostFs;
  const brif = () => `${temp.path}/sys/class/net/br0/brif/tap0`;

  beforeEach(() => {
    temp = new TempDir();
    mkdirSync(brif(), { recursive: true });
    host = rootedFs(temp.path);
  });
  afterEach(() => temp.cleanup());

  it('writes 0 when the flag is on', () => {
    writeFileSync(`${brif()}/learning`, '1\n');
    expect(ensurePortFlag(host, 'br0', 'tap0', 'learning', false)).toBe(true);
    expect(readFileSync(`${brif()}/learning`, 'utf8')).toBe('0\n'); // written at offset 0 over '1\n'
  });

  it('does not write when the flag already has the value', () => {
    writeFileSync(`${brif()}/unicast_flood`, '0\n');
    utimesSync(`${brif()}/unicast_flood`, 1_000_000, 1_000_000);
    expect(ensurePortFlag(host, 'br0', 'tap0', 'unicast_flood', false)).toBe(false);
    expect(statSync(`${brif()}/unicast_flood`).mtimeMs).toBe(1_000_000_000);
    expect(readFileSync(`${brif()}/unicast_flood`, 'utf8')).toBe('0\n');
  });

  it.each([
    ['the kernel has no such control', () => mkdirSync(`${temp.path}/sys/class/net/tap0`), 'this kernel has no bridge port learning control (it came with Linux 3.15)'],
    ['the tap is gone', () => undefined, 'tap tap0 is gone'],
    ['the tap left the bridge', () => (mkdirSync(`${temp.path}/sys/class/net/tap0`), rmSync(brif(), { recursive: true })), 'tap tap0 is no longer a port of br0'],
  ])('says why the flag is missing: %s', (_case, arrange, why) => {
    arrange();
    expect(() => ensurePortFlag(host, 'br0', 'tap0', 'learning', false)).toThrow(`cannot turn learning off: ${why}`);
  });

  it('fails when the value does not read back', () => {
    writeFileSync(`${brif()}/unicast_flood`, '1\n');
    const ignored: HostFs = { ...host, update: () => ({ before: '1\n', after: '1\n' }) };
    expect(() => ensurePortFlag(ignored, 'br0', 'tap0', 'unicast_flood', false)).toThrow('cannot turn unicast flooding off: it reads back as 1');
  });

  it("names the kernel's error for a refused write", () => {
    writeFileSync(`${brif()}/learning`, '1\n');
    const refusing: HostFs = {
      ...host,
      update: () => {
        throw Object.assign(new Error("EPERM: operation not permitted, open '/sys/x'"), { code: 'EPERM' });
      },
    };
    expect(() => ensurePortFlag(refusing, 'br0', 'tap0', 'learning', false)).toThrow('cannot turn learning off: Operation not permitted (EPERM)');
  });
});
