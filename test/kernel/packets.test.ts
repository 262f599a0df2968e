import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { canRun, isRoot, missingTool } from '../helpers/sh.js';
import { countFrames } from '../helpers/tcpdump.js';
import { TempDir } from '../helpers/temp.js';
import { liveDomain } from '../helpers/xml.js';

const UNKNOWN_MAC = '02:00:00:00:00:99';
const FOREIGN_MAC = '02:00:00:00:00:77';

function missing(): string | null {
  if (!isRoot) return 'it needs root to create network namespaces';
  return missingTool({ unshare: 'util-linux', nsenter: 'util-linux', tcpdump: 'tcpdump', ping: 'iputils-ping' });
}

// The end of every count: A's broadcast echo request (test/helpers/tcpdump.ts); A's port is never managed.
const MARKER_IP = '10.0.0.255';

type Peer = 'a' | 'b' | 'c';

// A bridge br0 in its own namespace with veth ports pa, pb, pc; their peers ea, eb, ec sit in namespaces
// A, B, C at 10.0.0.1-3, IPv6 off so that only the test's frames cross. Every peer knows every other's MAC.
class Topology {
  readonly temp = new TempDir();
  // The daemon's status files under a root of our own, whose /sys is the namespace's.
  readonly host = this.temp.hostRoot();
  bridgeNs!: Netns;
  readonly peers = {} as Record<Peer, Netns>;
  readonly macs = {} as Record<Peer, string>;

  async create(): Promise<void> {
    this.bridgeNs = await Netns.create();
    await this.bridgeNs.bridge('br0');
    for (const [i, key] of (['a', 'b', 'c'] as const).entries()) {
      const peer = (this.peers[key] = await Netns.create());
      await this.bridgeNs.ip('link', 'add', `p${key}`, 'type', 'veth', 'peer', 'name', `e${key}`, 'netns', peer.name);
      await this.bridgeNs.ip('link', 'set', `p${key}`, 'master', 'br0', 'up');
      await peer.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
      await peer.ip('addr', 'add', `10.0.0.${i + 1}/24`, 'dev', `e${key}`);
      await peer.ip('link', 'set', `e${key}`, 'up');
      this.macs[key] = (JSON.parse(await peer.ip('-j', 'link', 'show', `e${key}`)) as { address: string }[])[0]?.address ?? '';
    }
    for (const [i, from] of (['a', 'b', 'c'] as const).entries()) {
      for (const [j, to] of (['a', 'b', 'c'] as const).entries()) {
        if (i !== j) await this.peers[from].ip('neigh', 'replace', `10.0.0.${j + 1}`, 'lladdr', this.macs[to], 'dev', `e${from}`, 'nud', 'permanent');
      }
    }
    // A sends to a MAC nobody has, through a permanent neighbour entry, so no ARP is needed.
    await this.peers.a.ip('neigh', 'replace', '10.0.0.99', 'lladdr', UNKNOWN_MAC, 'dev', 'ea', 'nud', 'permanent');
  }

  // The guest whose NIC is B's port, with the given <metadata> content.
  guestB(metadata = ''): string {
    const xml = liveDomain([`<interface type='ethernet'><mac address='${this.macs.b}'/><target dev='pb' managed='no'/></interface>`], 'guestB');
    return xml.replace('<devices>', `<metadata>${metadata}</metadata>\n  <devices>`);
  }

  // The qemu hook for guestB, with the given config and <metadata> content.
  async hookB(op: 'started' | 'release', config: object, metadata = ''): Promise<void> {
    const xml = this.guestB(metadata);
    const result = await runDist(['hook', 'qemu', 'guestB', op, op === 'started' ? 'begin' : 'end', '-'], {
      netns: this.bridgeNs,
      stdin: xml,
      env: { ...this.host.env, MACTABLE_CONFIG: this.temp.json('cfg.json', { bridges: ['br0'], ...config }) },
    });
    expect(result.code, result.stderr).toBe(0);
  }

  ping(from: Peer, ip: string): Promise<void> {
    return this.peers[from].tryExec('ping', '-c', '3', '-i', '0.2', '-W', '1', ip);
  }

  // The port B's MAC sits on in the bridge's FDB.
  async portOfB(): Promise<string | undefined> {
    const fdb = JSON.parse(await this.bridgeNs.exec('bridge', '-j', 'fdb', 'show', 'br', 'br0')) as { mac: string; ifname: string }[];
    return fdb.find((entry) => entry.mac === this.macs.b)?.ifname;
  }

  async remove(): Promise<void> {
    for (const ns of [this.bridgeNs, ...Object.values(this.peers)]) await ns?.remove();
    this.temp.cleanup();
  }
}

describe.skipIf(!canRun('packet tests (test/kernel/packets.test.ts)', missing()))('frames on a bridge with one managed port', () => {
  const net = new Topology();
  beforeAll(() => net.create());
  afterAll(() => net.remove());

  const unknownTo = (key: 'b' | 'c') => countFrames(net.peers[key], `e${key}`, `ether dst ${UNKNOWN_MAC}`, () => net.ping('a', '10.0.0.99'), { from: net.peers.a, broadcast: MARKER_IP });
  const toB = () => countFrames(net.peers.b, 'eb', `ether dst ${net.macs.b} and icmp`, () => net.ping('a', '10.0.0.2'), { from: net.peers.a, broadcast: MARKER_IP });

  it('before mactable, unknown unicast from A floods to both B and C', async () => {
    expect(await unknownTo('b')).toBe(3);
    expect(await unknownTo('c')).toBe(3);
  });

  it("after `started` for B's port, unknown unicast reaches C but not B, and B's own frames reach B", async () => {
    await net.hookB('started', {});
    expect(await unknownTo('c')).toBe(3);
    expect(await unknownTo('b')).toBe(0);
    // B's port learns nothing and floods nothing: only the static entry can deliver these.
    expect(await toB()).toBe(3);

    // Control: without the entry nothing reaches B any more.
    await net.bridgeNs.exec('bridge', 'fdb', 'del', net.macs.b, 'dev', 'pb', 'master');
    expect(await toB()).toBe(0);
  });
});

describe.skipIf(!canRun('packet tests (test/kernel/packets.test.ts)', missing()))('"sticky": a spoofed source MAC cannot steal the entry', () => {
  const net = new Topology();
  beforeAll(() => net.create());
  afterAll(() => net.remove());

  // A sends from B's MAC: its port learns, so a plain static entry moves there.
  const spoofFromA = async () => {
    await net.peers.a.ip('link', 'set', 'ea', 'address', net.macs.b);
    await net.ping('a', '10.0.0.3');
    await net.peers.a.ip('link', 'set', 'ea', 'address', net.macs.a);
  };
  const cToB = () => countFrames(net.peers.b, 'eb', `ether dst ${net.macs.b} and icmp`, () => net.ping('c', '10.0.0.2'), { from: net.peers.a, broadcast: MARKER_IP });

  it('without sticky, B loses its traffic to the spoofer', async () => {
    await net.hookB('started', {});
    expect(await cToB()).toBe(3);
    await spoofFromA();
    expect(await net.portOfB()).toBe('pa');
    expect(await cToB()).toBe(0);
  });

  it('with sticky, B keeps it', async () => {
    await net.hookB('started', { sticky: true });
    expect(await net.portOfB()).toBe('pb');
    await spoofFromA();
    expect(await net.portOfB()).toBe('pb');
    expect(await cToB()).toBe(3);
  });
});

describe.skipIf(!canRun('packet tests (test/kernel/packets.test.ts)', missing()))('"lockPorts": a guest cannot send from a MAC not its own', () => {
  const net = new Topology();
  beforeAll(() => net.create());
  afterAll(() => net.remove());

  const bToC = () => countFrames(net.peers.c, 'ec', 'icmp and src host 10.0.0.2', () => net.ping('b', '10.0.0.3'), { from: net.peers.a, broadcast: MARKER_IP });
  const locked = async () => (JSON.parse(await net.bridgeNs.exec('bridge', '-j', '-d', 'link', 'show', 'dev', 'pb')) as { locked: boolean }[])[0]?.locked;

  it("B's frames pass with its own MAC and are dropped with a foreign one", async () => {
    await net.hookB('started', { lockPorts: true });
    expect(await locked()).toBe(true);
    expect(await bToC()).toBe(3);
    await net.peers.b.ip('link', 'set', 'eb', 'address', FOREIGN_MAC);
    expect(await bToC()).toBe(0);
    await net.peers.b.ip('link', 'set', 'eb', 'address', net.macs.b);
    expect(await bToC()).toBe(3);
  });

  it('release unlocks the port again', async () => {
    await net.hookB('release', { lockPorts: true });
    expect(await locked()).toBe(false);
    await net.peers.b.ip('link', 'set', 'eb', 'address', FOREIGN_MAC);
    expect(await bToC()).toBe(3);
  });
});

describe.skipIf(!canRun('packet tests (test/kernel/packets.test.ts)', missing()))('an extra MAC from the metadata: a VRRP router', () => {
  const net = new Topology();
  const VRRP_MAC = '00:00:5e:00:01:0a';
  const extra = `<mactable:mactable xmlns:mactable='urn:mactable:1'><mactable:interface mac='MAC'><mactable:mac address='${VRRP_MAC}'/></mactable:interface></mactable:mactable>`;
  const statusB = (metadata: string) => {
    writeFileSync(`${net.host.qemu}/guestB.xml`, `<domstatus state='running' reason='booted' pid='1'>\n${net.guestB(metadata)}</domstatus>\n`);
  };
  const mactable = (...argv: string[]) =>
    runDist([...argv, '--config', net.temp.json('cfg.json', { bridges: ['br0'] })], { netns: net.bridgeNs, env: net.host.env });
  const toVrrp = () => countFrames(net.peers.b, 'eb', `ether dst ${VRRP_MAC} and icmp`, () => net.ping('a', '10.0.0.10'), { from: net.peers.a, broadcast: MARKER_IP });

  beforeAll(async () => {
    await net.create();
    // A sends to the router's virtual address through a permanent neighbour entry, as after a gratuitous ARP.
    await net.peers.a.ip('neigh', 'replace', '10.0.0.10', 'lladdr', VRRP_MAC, 'dev', 'ea', 'nud', 'permanent');
  });
  afterAll(() => net.remove());

  it("frames to the extra MAC reach B's tap through its static entry, and stop once the metadata drops it and B is repaired", async () => {
    const metadata = extra.replace('MAC', net.macs.b);
    await net.hookB('started', {}, metadata);
    const entries = (await net.bridgeNs.staticEntries('br0')).map(({ mac, ifname }) => [mac, ifname]);
    expect(entries).toEqual(expect.arrayContaining([[net.macs.b, 'pb'], [VRRP_MAC, 'pb']]));
    expect(await toVrrp()).toBe(3);

    statusB(metadata);
    expect((await mactable('status', '--json')).code).toBe(0);
    // `virsh metadata --live ... --remove` leaves an empty <metadata/>: the entry is now a leftover.
    statusB('');
    const drifted = await mactable('status', '--json');
    expect(drifted.code).toBe(1);
    expect(JSON.parse(drifted.stdout).ports[0].drift).toEqual([`unlisted static entry ${VRRP_MAC}`]);
    expect(await mactable('repair', 'guestB')).toEqual({ code: 0, stdout: `guestB: pb on br0: entry ${VRRP_MAC} deleted\n`, stderr: '' });
    expect((await net.bridgeNs.staticEntries('br0')).map(({ mac }) => mac)).toEqual([net.macs.b]);
    // B's port floods nothing: without the entry nothing for the router's MAC reaches it.
    expect(await toVrrp()).toBe(0);
  });

  it('a locked port lets frames from the extra MAC through, since it has its entry', async () => {
    await net.hookB('started', { lockPorts: true }, extra.replace('MAC', net.macs.b));
    const fromVrrp = () => countFrames(net.peers.c, 'ec', `ether src ${VRRP_MAC} and icmp`, () => net.ping('b', '10.0.0.3'), { from: net.peers.a, broadcast: MARKER_IP });
    await net.peers.b.ip('link', 'set', 'eb', 'address', VRRP_MAC);
    expect(await fromVrrp()).toBe(3);
    await net.bridgeNs.exec('bridge', 'fdb', 'del', VRRP_MAC, 'dev', 'pb', 'master');
    expect(await fromVrrp()).toBe(0);
  });
});
