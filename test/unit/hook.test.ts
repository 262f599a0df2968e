import { describe, expect, it } from 'vitest';
import { FIXTURES, runFake } from '../helpers/runtime.js';

describe('hook arguments', () => {
  it('refuses a call that is not `hook qemu NAME OP SUBOP`', async () => {
    expect(await runFake(['hook', 'lxc', 'g', 'started', 'begin'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'mactable: usage: mactable hook qemu NAME OPERATION SUB-OPERATION [EXTRA] (domain XML on stdin)\n',
    });
  });

  it('bad XML fails started (exit 2) and only warns on reconnect', async () => {
    const env = { MACTABLE_ROOT: `${FIXTURES}corpus` };
    const started = await runFake(['hook', 'qemu', 'g', 'started', 'begin', '-'], { stdin: 'oops', env });
    expect(started).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^mactable: g: stdin: not well-formed XML: .+ \(line 1, column 1\)\n$/u) });
    const reconnect = await runFake(['hook', 'qemu', 'g', 'reconnect', 'begin', '-'], { stdin: '<x', env: { MACTABLE_ROOT: '/nonexistent' } });
    expect(reconnect).toMatchObject({ code: 0, stdout: '', stderr: 'mactable: warning: g: root directory /nonexistent does not exist\n' });
  });
});
