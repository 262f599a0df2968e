import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { FIXTURES } from '../helpers/runtime.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

// The command line of the built program, as an administrator meets it; test/distro runs this file again
// under Debian 12's Node.js 18 (MACTABLE_TEST_NODE).
const SAMPLES = `${FIXTURES}libvirt-9.0/`;
const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

describe('mactable on the command line', () => {
  it('--version prints the version alone', async () => {
    expect(await runDist(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('--help lists every command and the exit codes', async () => {
    const help = await runDist(['--help']);
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toMatch(/^mactable <command> \[options\]\n/u);
    for (const command of ['plan [file]', 'status [names..]', 'repair [names..]', 'doctor', 'hook qemu <name> <op> <subop> [extra]']) {
      expect(help.stdout).toContain(`  mactable ${command}  `);
    }
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 something failed or drifted, 2 bad input or usage.\n');
  });

  it.each([
    [['plna'], 'plna'],
    [['plan', '--bogus', '-'], 'bogus'],
  ])('%j is a usage error: one line naming it, exit 2', async (argv, named) => {
    const result = await runDist(argv, { stdin: '<domain/>', env: { MACTABLE_ROOT: `${SAMPLES}guest1/root` } });
    expect([result.code, result.stdout]).toEqual([2, '']);
    expect(result.stderr).toMatch(new RegExp(`^mactable: [^\\n]*${named}[^\\n]* \\(see mactable --help\\)\\n$`, 'u'));
  });

  it('no command: exit 2', async () => {
    expect(await runDist([])).toEqual({ code: 2, stdout: '', stderr: 'mactable: give a command (see mactable --help)\n' });
  });

  it("plan prints the aligned table for guest1's status file", async () => {
    const cfg = `${FIXTURES}config/samples-guest1.json`;
    const result = await runDist(['plan', '--root', `${SAMPLES}guest1/root`, '--config', cfg, `${SAMPLES}guest1/root/run/libvirt/qemu/guest1.xml`]);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'guest1: 3 interfaces, 3 managed',
        'TAP     MAC                BRIDGE    NETWORK  TYPE     MANAGE  REASON',
        `vnet11  52:54:00:aa:00:01  virbr9    mtm      network  yes     network mtm matches 'mtm' in ${cfg}`,
        `vnet12  52:54:00:aa:00:02  br-plain  -        bridge   yes     bridge br-plain matches 'br-plain' in ${cfg}`,
        `vnet13  52:54:00:aa:00:03  br-plain  hostbr   bridge   yes     network hostbr matches 'hostbr' in ${cfg}`,
        '',
      ].join('\n'),
    });
  });

  it('plan reads stdin for "-" and honours MACTABLE_CONFIG and MACTABLE_ROOT', async () => {
    const result = await runDist(['plan', '--json', '-'], {
      stdin: liveDomain([bridgeNic('52:54:00:00:00:01', 'br-vlan', 'vnet14')]),
      env: { MACTABLE_CONFIG: `${FIXTURES}config/samples-guest2.json`, MACTABLE_ROOT: `${SAMPLES}guest2/root` },
    });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout).ports).toEqual([
      {
        mac: '52:54:00:00:00:01',
        tap: 'vnet14',
        bridge: 'br-vlan',
        network: null,
        type: 'bridge',
        manage: true,
        reason: `bridge br-vlan matches 'br-*' in ${FIXTURES}config/samples-guest2.json`,
        extraMacs: [],
      },
    ]);
  });

  it.each([
    [['plan', '-'], '', 'mactable: stdin: empty input, expected XML\n'],
    [['plan', '/nonexistent.xml'], undefined, 'mactable: cannot read /nonexistent.xml: No such file or directory (ENOENT)\n'],
    [['plan', '--root', '/nonexistent', '-'], '<domain/>', 'mactable: root directory /nonexistent does not exist\n'],
    [['plan', '--config', '/nonexistent.json', '-'], liveDomain([]), 'mactable: cannot read config /nonexistent.json: no such file\n'],
  ])('bad input %j: one line, exit 2', async (argv, stdin, stderr) => {
    // A root of saved files (no config there), so that this machine's /etc/libvirt is never read.
    const env = { MACTABLE_ROOT: `${SAMPLES}guest1/root` };
    expect(await runDist(argv, stdin === undefined ? { env } : { stdin, env })).toEqual({ code: 2, stdout: '', stderr });
  });
});
