import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { TempDir } from '../helpers/temp.js';

const HOOK = new URL('../../dist/hook.cjs', import.meta.url).pathname;

// libvirt writes the domain XML and closes stdin; if it never closed it, the hook must still end within its bound.
describe('reading stdin is bounded by the time bound', () => {
  const temp = new TempDir();
  afterAll(() => temp.cleanup());

  it.each([
    ['started', 2, ''],
    ['reconnect', 0, 'warning: '],
  ])('%s with stdin never closed: exit %i within the bound, naming it', async (op, code, warning) => {
    const config = temp.json('cfg.json', { bridges: ['br0'], timeout: 1 });
    const child = spawn(process.execPath, [HOOK, 'hook', 'qemu', 'guest1', op, 'begin', '-'], {
      env: { MACTABLE_CONFIG: config, MACTABLE_ROOT: temp.path },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.write('<domain>'); // and never end it
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin.destroy();
    expect([exit, stderr]).toEqual([code, `mactable: ${warning}guest1: stdin: the domain XML did not end within 1 s\n`]);
  });
});
