import { describe, expect, it } from 'vitest';
import { parseDomain } from '../../src/domain/parse.js';
import type { HostFs } from '../../src/runtime/fs.js';
import { gatherFacts } from '../../src/host/gather.js';
import { FIXTURES, runFake } from '../helpers/runtime.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

const SAMPLES = `${FIXTURES}libvirt-9.0/`;

describe('mactable plan prints an aligned table', () => {
  it('for guest2 with a config', async () => {
    const cfg = `${FIXTURES}config/samples-guest2.json`;
    const result = await runFake(['plan', '--root', `${SAMPLES}guest2/root`, '--config', cfg, `${SAMPLES}guest2/hook-stdin/started-begin.xml`]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'guest2: 4 interfaces, 2 managed',
        'TAP          MAC                BRIDGE    NETWORK  TYPE      MANAGE  REASON',
        `vnet14       52:54:00:bb:00:01  br-vlan   -        bridge    yes     bridge br-vlan matches 'br-*' in ${cfg}`,
        'mytap0       52:54:00:bb:00:02  -         -        ethernet  no      tap mytap0 is not attached to a bridge',
        `custom-tap7  52:54:00:bb:00:03  br-plain  -        bridge    yes     bridge br-plain matches 'br-*' in ${cfg}`,
        "-            52:54:00:bb:00:04  -         -        user      no      type 'user' is not a bridge port",
        '',
      ].join('\n'),
    );
  });

  it('reads stdin for "-" and honours MACTABLE_CONFIG and MACTABLE_ROOT', async () => {
    const result = await runFake(['plan', '--json', '-'], {
      stdin: liveDomain([bridgeNic('52:54:00:00:00:01', 'br0', 'vnet0')]),
      env: { MACTABLE_CONFIG: `${FIXTURES}config/samples-guest2.json`, MACTABLE_ROOT: `${SAMPLES}guest2/root` },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).ports[0]).toMatchObject({ tap: 'vnet0', manage: false });
  });

  it('exits 0 when nothing is managed and when there are no interfaces', async () => {
    const result = await runFake(['plan', '-'], { stdin: liveDomain([]), env: { MACTABLE_ROOT: `${SAMPLES}guest2/root` } });
    expect(result).toMatchObject({ code: 0, stdout: 'guest1: 0 interfaces, 0 managed\n', stderr: '' });
  });
});

describe('bad input: one line on stderr, nothing on stdout, exit 2', () => {
  it.each([
    // The parser's own words after ours vary with its version: only our part is asserted.
    [['plan', '-'], 'not xml', expect.stringMatching(/^mactable: stdin: not well-formed XML: .+ \(line 1, column 1\)\n$/u)],
    [['plan', '-'], '', 'mactable: stdin: empty input, expected XML\n'],
    [['plan', '/nonexistent.xml'], undefined, 'mactable: cannot read /nonexistent.xml: No such file or directory (ENOENT)\n'],
    [['plan'], undefined, 'mactable: no domain XML: give a FILE, or pipe the XML to stdin\n'],
    [['plan', `${SAMPLES}definitions/network-mtm.xml`], undefined, `mactable: ${SAMPLES}definitions/network-mtm.xml: not a libvirt domain: root element is <network> (a libvirt network definition)\n`],
    [['plan', '--root', '/nonexistent', '-'], '<domain/>', 'mactable: root directory /nonexistent does not exist\n'],
    [['plan', '--config', '/nonexistent.json', '-'], liveDomain([]), 'mactable: cannot read config /nonexistent.json: no such file\n'],
    [['plan', '--config', `${SAMPLES}definitions/network-mtm.xml`, '-'], liveDomain([]), expect.stringMatching(new RegExp(`^mactable: invalid config ${SAMPLES}definitions/network-mtm.xml: not valid JSON: [^\\n]+\\n$`, 'u'))],
    [['plna'], undefined, 'mactable: Unknown argument: plna (see mactable --help)\n'],
    [[], undefined, 'mactable: give a command (see mactable --help)\n'],
  ])('%j', async (argv, stdin, stderr) => {
    const result = await runFake(argv, stdin === undefined ? {} : { stdin });
    expect(result).toMatchObject({ code: 2, stdout: '', stderr });
  });
});

describe('help answers', () => {
  it('--help lists the commands and exit codes on stdout', async () => {
    const result = await runFake(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mactable plan [file]');
    expect(result.stdout).toContain('Exit codes: 0 ok, 1 something failed or drifted, 2 bad input or usage.');
  });
});

describe('nothing from the XML reaches a path before it is validated', () => {
  it('reads only files named by valid names, whatever the XML says', () => {
    const hostile = liveDomain([
      `<interface type='network'><mac address='52:54:00:00:00:01'/><source network='../../../etc' portid='1fd8c22a-2f7c-45bd-911d-f30a3e67b207'/><target dev='vnet0'/></interface>`,
      `<interface type='network'><mac address='52:54:00:00:00:02'/><source network='ok' portid='../../../../etc/shadow'/><target dev='vnet1'/></interface>`,
      `<interface type='ethernet'><mac address='52:54:00:00:00:03'/><target dev='../../../x' managed='no'/></interface>`,
      `<interface type='network'><mac address='52:54:00:00:00:04'/><source network='..'/><target dev='vnet2'/></interface>`,
    ]);
    const paths: string[] = [];
    const absent = (path: string) => {
      paths.push(path);
      return null;
    };
    const recording: HostFs = {
      root: '/',
      real: (path) => path,
      readText: absent,
      readLink: absent,
      exists: (path) => absent(path) !== null,
      update: () => {
        throw new Error('no writes while planning');
      },
      list: absent,
      stat: absent,
      remove: () => {
        throw new Error('no writes while planning');
      },
    };
    gatherFacts(parseDomain(hostile, 'x'), recording);
    expect(paths).toEqual(['/run/libvirt/qemu/guest1.xml', '/run/libvirt/network/ok.xml', '/etc/libvirt/qemu/networks/ok.xml']);
  });
});
