import { describe, expect, it } from 'vitest';
import { emptyConfig, parseConfig } from '../../src/config/config.js';
import type { Nic } from '../../src/model/domain.js';
import { emptyFacts, portKey, type FileFact, type HostFacts, type NetworkDef, type PortPlug } from '../../src/model/facts.js';
import { decide } from '../../src/plan/policy.js';
import { resolveNic } from '../../src/plan/resolve.js';

const NO_META = { nic: null, guest: null };
const PORTID = '1fd8c22a-2f7c-45bd-911d-f30a3e67b207';

function nic(overrides: Omit<Partial<Nic>, 'source'> & { source?: Partial<Nic['source']> } = {}): Nic {
  return {
    index: 0,
    type: 'bridge',
    mac: '52:54:00:aa:00:01',
    actual: null,
    tap: 'vnet0',
    tapManaged: true,
    virtualport: null,
    ...overrides,
    source: { bridge: null, network: null, portid: null, ...overrides.source },
  };
}

const found = <T>(path: string, value: T): FileFact<T> => ({ path, state: 'found', value });
const absent = <T>(path: string): FileFact<T> => ({ path, state: 'absent' });
const def = (overrides: Partial<NetworkDef> = {}): NetworkDef => ({
  bridge: 'virbr9',
  macTableManager: null,
  forwardMode: null,
  virtualport: null,
  ...overrides,
});
const plug = (overrides: Partial<PortPlug> = {}): PortPlug => ({ plugType: 'network', bridge: 'virbr9', macTableManager: null, ...overrides });

// Facts for network 'mtm': any of the port file, the status file and the config file.
function mtmFacts(files: { port?: PortPlug; status?: NetworkDef; config?: NetworkDef }): HostFacts {
  const facts = emptyFacts();
  const portPath = `/run/libvirt/network/mtm/ports/${PORTID}.xml`;
  facts.ports.set(portKey('mtm', PORTID), files.port ? found(portPath, files.port) : absent(portPath));
  facts.networks.set('mtm', {
    status: files.status ? found('/run/libvirt/network/mtm.xml', files.status) : absent('/run/libvirt/network/mtm.xml'),
    config: files.config ? found('/etc/libvirt/qemu/networks/mtm.xml', files.config) : absent('/etc/libvirt/qemu/networks/mtm.xml'),
  });
  return facts;
}

const onMtm = nic({ type: 'network', source: { network: 'mtm', portid: PORTID } });

describe('macTableManager comes from the port file, else the network status, else its config', () => {
  it.each([
    ['port file says libvirt', { port: plug({ macTableManager: 'libvirt' }), status: def(), config: def() }, 'libvirt'],
    ['port file without the attribute means kernel, whatever the network says', { port: plug(), status: def({ macTableManager: 'libvirt' }) }, 'kernel'],
    ['no port file: the status file', { status: def({ macTableManager: 'libvirt' }), config: def() }, 'libvirt'],
    ['no port file, no status: the config', { config: def({ macTableManager: 'libvirt' }) }, 'libvirt'],
    ['nothing at all: unknown', {}, null],
  ])('%s', (_case, files, expected) => {
    expect(resolveNic(onMtm, mtmFacts(files)).macTableManager).toBe(expected);
  });

  it('takes the bridge from the XML first, then from the files', () => {
    const facts = mtmFacts({ port: plug({ bridge: 'from-port' }), status: def({ bridge: 'from-status' }) });
    expect(resolveNic(nic({ ...onMtm, source: { network: 'mtm', portid: PORTID, bridge: 'from-xml' } }), facts).bridge).toBe('from-xml');
    expect(resolveNic(onMtm, facts).bridge).toBe('from-port');
    expect(resolveNic(nic({ ...onMtm, actual: { type: 'network', bridge: 'from-actual' } }), facts).bridge).toBe('from-actual');
    expect(resolveNic(onMtm, mtmFacts({ config: def({ bridge: 'from-config' }) })).bridge).toBe('from-config');
  });

  it('reports a network file it cannot use', () => {
    const facts = mtmFacts({});
    facts.ports.set(portKey('mtm', PORTID), { path: '/run/libvirt/network/mtm/ports/x.xml', state: 'bad', problem: 'not well-formed XML' });
    expect(resolveNic(onMtm, facts).problem).toBe('/run/libvirt/network/mtm/ports/x.xml: not well-formed XML');
  });
});

describe('ports that are not Linux bridge ports are skipped with the reason', () => {
  it.each([
    [nic({ type: 'user', tap: null }), "type 'user' is not a bridge port"],
    [nic({ type: 'direct' }), "type 'direct' (macvtap) is not a bridge port"],
    [nic({ type: 'hostdev' }), "type 'hostdev' (PCI passthrough) is not a bridge port"],
    [nic({ type: 'vhostuser' }), "type 'vhostuser' (vhost-user socket) is not a bridge port"],
    [nic({ type: 'vdpa' }), "type 'vdpa' (vDPA device) is not a bridge port"],
    [nic({ type: null }), 'the interface has no type'],
    [nic({ type: 'network', actual: { type: 'direct', bridge: null } }), "type 'direct' (macvtap) is not a bridge port"],
    [nic({ source: { bridge: 'ovsbr0' }, virtualport: 'openvswitch' }), "Open vSwitch port (virtualport type 'openvswitch'), not a Linux bridge"],
    [nic({ source: { bridge: 'br0' }, virtualport: 'midonet' }), "virtualport type 'midonet' is not a Linux bridge port"],
  ])('%#: %s', (input, problem) => {
    expect(resolveNic(input, emptyFacts()).problem).toBe(problem);
  });

  it.each([
    [{ port: plug({ plugType: 'direct', bridge: null }) }, "network 'mtm' plugs this NIC as 'direct', not into a bridge"],
    [{ status: def({ forwardMode: 'vepa' }) }, "network 'mtm' has forward mode 'vepa', not a bridge"],
    [{ config: def({ forwardMode: 'hostdev' }) }, "network 'mtm' has forward mode 'hostdev', not a bridge"],
    [{ status: def({ forwardMode: 'bridge', virtualport: 'openvswitch' }) }, "Open vSwitch port (virtualport type 'openvswitch'), not a Linux bridge"],
  ])('network %#: %s', (files, problem) => {
    expect(resolveNic(onMtm, mtmFacts(files)).problem).toBe(problem);
  });
});

describe('type ethernet: the bridge is the tap master', () => {
  const eth = nic({ type: 'ethernet', tap: 'mytap0', tapManaged: false });
  const withMaster = (master: string | null, isLinuxBridge: boolean) => {
    const facts = emptyFacts();
    facts.taps.set('mytap0', { master, isLinuxBridge });
    return facts;
  };

  it('a tap on a Linux bridge', () => {
    expect(resolveNic(eth, withMaster('br0', true))).toMatchObject({ bridge: 'br0', problem: null, tapManaged: false });
  });
  it('a tap with no master', () => {
    expect(resolveNic(eth, withMaster(null, false)).problem).toBe('tap mytap0 is not attached to a bridge');
    expect(resolveNic(eth, emptyFacts()).problem).toBe('tap mytap0 is not attached to a bridge');
  });
  it('a tap whose master is not a Linux bridge (Open vSwitch)', () => {
    expect(resolveNic(eth, withMaster('ovs-system', false)).problem).toBe("tap mytap0's master 'ovs-system' is not a Linux bridge");
  });
});

describe('bad parts make that port unmanaged, with the reason', () => {
  it.each([
    [nic({ mac: null, source: { bridge: 'br0' } }), 'no MAC address'],
    [nic({ mac: '01:00:5e:00:00:01', source: { bridge: 'br0' } }), "MAC '01:00:5e:00:00:01' is a multicast address"],
    [nic({ tap: null, source: { bridge: 'br0' } }), 'no tap named in the XML (<target dev>): the guest is not running'],
    [nic({ tap: '../../etc', source: { bridge: 'br0' } }), "tap name '../../etc' contains '/', ':', whitespace or NUL"],
    [nic({ tap: 'x'.repeat(16), source: { bridge: 'br0' } }), `tap name '${'x'.repeat(16)}' is longer than 15 bytes`],
    [nic({ source: { bridge: 'br 0' } }), "bridge name 'br 0' contains '/', ':', whitespace or NUL"],
    [nic({ source: { bridge: null } }), 'no bridge named in the XML'],
    [nic({ type: 'network', source: { network: 'gone' } }), "no bridge known for network 'gone'"],
    [nic({ type: 'network', source: { network: '../../etc' } }), "network name '../../etc' contains '/', a newline or NUL"],
    [nic({ type: 'network', source: { network: 'mtm', portid: '../x' } }), "port id '../x' is not a UUID"],
  ])('%#: %s', (input, problem) => {
    expect(resolveNic(input, emptyFacts()).problem).toBe(problem);
  });

  it('lower-cases a valid MAC', () => {
    expect(resolveNic(nic({ mac: '52:54:00:AA:00:01', source: { bridge: 'br0' } }), emptyFacts()).mac).toBe('52:54:00:aa:00:01');
  });
});

describe('policy: macTableManager, then networks, then bridges', () => {
  const config = parseConfig('{"networks": ["mtm", "host*"], "bridges": ["br-*"]}', 'cfg.json');
  const resolved = (network: string | null, bridge: string, macTableManager: string | null = null) => ({
    ...resolveNic(nic({ source: { bridge } }), emptyFacts()),
    network,
    macTableManager,
  });

  it.each([
    [resolved('other', 'br-x', 'libvirt'), true, "network other has macTableManager='libvirt'"],
    [resolved('mtm', 'br-x', 'kernel'), true, "network mtm matches 'mtm' in cfg.json"],
    [resolved('hostbr', 'virbr0'), true, "network hostbr matches 'host*' in cfg.json"],
    [resolved(null, 'br-plain'), true, "bridge br-plain matches 'br-*' in cfg.json"],
    [resolved('other', 'br-plain', 'kernel'), true, "bridge br-plain matches 'br-*' in cfg.json"],
    [resolved(null, 'virbr0'), false, 'not selected: bridge virbr0 is not listed in cfg.json'],
    [resolved('other', 'virbr0', 'kernel'), false, 'not selected: network other and bridge virbr0 are not listed in cfg.json'],
  ])('%#: %s', (input, manage, reason) => {
    expect(decide(input, config, NO_META)).toEqual({ manage, reason });
  });

  it('says when there is no config file', () => {
    expect(decide(resolved(null, 'br0'), emptyConfig('/etc/libvirt/mactable.json'), NO_META)).toEqual({
      manage: false,
      reason: 'not selected: bridge br0 is not listed in /etc/libvirt/mactable.json (no such file)',
    });
  });

  it('never manages a port with a problem, whatever the config says', () => {
    const everything = parseConfig('{"bridges": ["*"], "networks": ["*"]}', 'cfg.json');
    expect(decide(resolveNic(nic({ type: 'user' }), emptyFacts()), everything, NO_META)).toEqual({
      manage: false,
      reason: "type 'user' is not a bridge port",
    });
  });
});
