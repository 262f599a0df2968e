import { chmodSync, mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';

const temp = new TempDir();
afterAll(() => temp.cleanup());

// `mactable check-config`: what Ansible's `validate:` runs on the file it is about to install.
describe('mactable check-config FILE', () => {
  it('exits 0 and says what a valid file selects', async () => {
    const file = temp.json('good.json', { bridges: ['br0', 'br-*'], networks: ['hostbr'], onError: 'warn' });
    expect(await runFake(['check-config', file])).toMatchObject({ code: 0, stdout: `${file}: 2 bridge and 1 network entries, onError warn\n`, stderr: '' });
  });

  it('--json: the file and every key, defaults filled in', async () => {
    const file = temp.json('json.json', { bridges: ['br0'], sticky: true });
    const result = await runFake(['check-config', '--json', file]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({
      file,
      found: true,
      config: { bridges: ['br0'], networks: [], onError: 'fail', timeout: 10, sticky: true, lockPorts: false },
    });
  });

  it('without FILE checks the config mactable reads: here none below --root, so the defaults', async () => {
    const root = `${temp.path}/root`;
    mkdirSync(root);
    expect(await runFake(['check-config', '--root', root])).toMatchObject({
      code: 0,
      stdout: `no ${root}/etc/libvirt/mactable.json: the defaults apply (only networks with macTableManager='libvirt' are managed)\n`,
      stderr: '',
    });
  });

  it.each([
    ['a list that is a number', '{"bridges": 5}\n', (f: string) => `mactable: invalid config ${f}: bridges: must be a list of names or patterns, not 5\n`],
    [
      'two problems',
      '{"onError": "ignore", "timeout": 0}\n',
      (f: string) => `mactable: invalid config ${f}: onError: must be "fail" or "warn", not "ignore"; timeout: must be a number of seconds above 0 and at most 300, not 0\n`,
    ],
    ['an unknown key', '{"bridge": ["br0"]}\n', (f: string) => `mactable: invalid config ${f}: bridge: unknown key (known: bridges, networks, onError, timeout, sticky, lockPorts)\n`],
  ])('exits 2 on %s: one line on stderr naming the file and the key, nothing on stdout', async (name, text, stderr) => {
    const file = temp.file(`${name.replaceAll(' ', '-')}.json`, text);
    expect(await runFake(['check-config', file])).toMatchObject({ code: 2, stdout: '', stderr: stderr(file) });
    expect(await runFake(['check-config', '--json', file])).toMatchObject({ code: 2, stdout: '', stderr: stderr(file) });
  });

  it('exits 2 on a file that is missing, not JSON, or writable by others', async () => {
    const missing = `${temp.path}/missing.json`;
    expect(await runFake(['check-config', missing])).toMatchObject({ code: 2, stdout: '', stderr: `mactable: cannot read config ${missing}: no such file\n` });
    const broken = temp.file('broken.json', '{"bridges": [');
    expect(await runFake(['check-config', broken])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(new RegExp(`^mactable: invalid config ${broken}: not valid JSON: [^\\n]+\\n$`, 'u')) });
    const open = temp.json('open.json', { bridges: ['br0'] });
    chmodSync(open, 0o666);
    expect(await runFake(['check-config', open])).toMatchObject({ code: 2, stdout: '', stderr: `mactable: config ${open} is writable by others (mode 666): run chmod o-w ${open}\n` });
  });
});
