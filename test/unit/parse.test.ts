import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDomain, parseRunState } from '../../src/domain/parse.js';
import { vcpusRun } from '../../src/plan/desired.js';
import { FIXTURES } from '../helpers/runtime.js';

const sample = (path: string) => readFileSync(`${FIXTURES}${path}`, 'utf8');

describe('parseDomain reads every shape libvirt writes', () => {
  it('live hook input', () => {
    const domain = parseDomain(sample('libvirt-9.0/guest1/hook-stdin/started-begin.xml'), 'stdin');
    expect(domain.shape).toBe('live');
    expect(domain.name).toBe('guest1');
    expect(domain.nics[0]).toEqual({
      index: 0,
      type: 'network',
      mac: '52:54:00:aa:00:01',
      source: { bridge: 'virbr9', network: 'mtm', portid: '1fd8c22a-2f7c-45bd-911d-f30a3e67b207' },
      actual: null,
      tap: 'vnet11',
      tapManaged: true,
      virtualport: null,
    });
  });

  it('the daemon status file, with <actual>', () => {
    const domain = parseDomain(sample('libvirt-9.0/guest1/root/run/libvirt/qemu/guest1.xml'), 'status');
    expect(domain.shape).toBe('status');
    expect(domain.nics.map((nic) => nic.actual)).toEqual([
      { type: 'network', bridge: 'virbr9' },
      null,
      { type: 'bridge', bridge: 'br-plain' },
    ]);
  });

  it('inactive XML and a pre-made tap', () => {
    const domain = parseDomain(sample('libvirt-9.0/definitions/guest2.xml'), 'def');
    expect(domain.shape).toBe('inactive');
    expect(domain.nics[1]).toMatchObject({ type: 'ethernet', tap: 'mytap0', tapManaged: false });
  });

  it('takes only <devices><interface>, not interfaces elsewhere', () => {
    const domain = parseDomain(sample('corpus/qemumigrationcookiexmldata/full-xml2xml-in.xml').replace(/^[^]*?(<domain )/u, '$1').replace(/<\/domain>[^]*$/u, '</domain>'), 'cookie');
    expect(domain.nics).toHaveLength(1);
  });
});

describe('parseDomain refuses what is not a domain, in one line', () => {
  it.each([
    ['', 'x.xml: empty input, expected XML'],
    ['   \n', 'x.xml: empty input, expected XML'],
    ['hello', /^x\.xml: not well-formed XML: .+ \(line 1, column 1\)$/u],
    ['<domain><name>g</name>', /^x\.xml: not well-formed XML: .+ \(line 1, column 1\)$/u],
    ['<!DOCTYPE d [<!ENTITY x "y">]><domain/>', 'x.xml: XML with a DOCTYPE is refused'],
    ['<a/><b/>', 'x.xml: expected one root element, found 2'],
    ['<network><name>n</name></network>', 'x.xml: not a libvirt domain: root element is <network> (a libvirt network definition)'],
    ["<interface type='bridge'/>", 'x.xml: not a libvirt domain: root element is <interface> (a device fragment, not a whole domain)'],
    ['<foo/>', 'x.xml: not a libvirt domain: root element is <foo>'],
    ['<domstatus/>', 'x.xml: <domstatus> without a <domain> inside'],
    ['<domain><devices/></domain>', 'x.xml: the domain has no <name>'],
  ])('%j', (xml, message) => {
    expect(() => parseDomain(xml, 'x.xml')).toThrow(message);
    try {
      parseDomain(xml, 'x.xml');
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

// Status files libvirt 11.3 wrote at each step (test/fixtures/libvirt-11.3/README.md): the state, and whether the
// vCPUs run by mactable's rule.
describe('the run state in the status files of Debian 13\'s libvirt 11.3', () => {
  it.each([
    ['started', 'mtcap-g1/status/at-started-begin.xml', 'running', 'booted', true],
    ['reconnect', 'mtcap-g1/status/at-reconnect-begin.xml', 'running', 'booted', true],
    ['virsh suspend', 'mtcap-g2/status/suspended.xml', 'paused', 'user', false],
    ['virsh resume', 'mtcap-g2/status/resumed.xml', 'running', 'unpaused', true],
    ['attach-interface', 'mtcap-g2/status/attached.xml', 'running', 'unpaused', true],
    ["restore --paused, at the hook's started", 'mtcap-g2/status/at-started-begin.xml', 'paused', 'migration', false],
    ['restore --paused, then resume', 'mtcap-g2/status/restored-resumed.xml', 'running', 'unpaused', true],
    ["a migration's destination, at started", 'migration-destination/mtcap-g3/status/at-started-begin.xml', 'paused', 'migration', false],
    ["a migration's destination after the switch-over", 'migration-destination/mtcap-g3/status/running.xml', 'running', 'migrated', true],
    ["a migration's source while it runs", 'mtcap-g3/status/source-during-migration.xml', 'running', 'booted', true],
    // 9.0 wrote paused/migration here; the guest's taps went with QEMU before it.
    ["a migration's source at stopped", 'mtcap-g3/status/at-stopped-end.xml', 'shutdown', 'unknown', true],
  ])('%s', (_step, file, state, reason, runs) => {
    const run = parseRunState(sample(`libvirt-11.3/${file}`));
    expect(run).toMatchObject({ state, reason }); // and the async job, where one runs
    expect(vcpusRun(run)).toBe(runs);
  });
});
