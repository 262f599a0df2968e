import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { canRun, isRoot } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { liveDomain } from '../helpers/xml.js';

const UNKNOWN_MAC = '02:00:00:00:00:99';

function missing(): string | null {
  if (!isRoot) return 'it needs root to create network namespaces';
  for (const tool of ['/usr/bin/tcpdump', '/usr/bin/ping']) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install tcpdump iputils-ping)`;
  }
  return null;
}

// Count the frames matching `filter` that arrive on `dev` inside `ns` while `traffic` runs.
async function countFrames(ns: Netns, dev: string, filter: string, traffic: () => Promise<unknown>): Promise<number> {
  const capture = execa('ip', ['netns', 'exec', ns.name, 'tcpdump', '-i', dev, '-n', '-l', '-q', filter], { reject: false, buffer: true });
  await new Promise<void>((resolve) => {
    capture.stderr?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) resolve();
    });
  });
  await traffic();
  await new Promise((resolve) => setTimeout(resolve, 300));
  capture.kill('SIGINT');
  const { stdout } = await capture;
  return String(stdout).split('\n').filter((line) => line.trim() !== '').length;
}

describe.skipIf(!canRun('packet test (test/kernel/packets.test.ts)', missing()))('frames on a bridge with one managed port', () => {
  const temp = new TempDir();
  let bridgeNs: Netns;
  const peers: Record<'a' | 'b' | 'c', Netns> = {} as Record<'a' | 'b' | 'c', Netns>;
  let macB = '';

  // A bridge in its own namespace with veth ports pa, pb, pc; their peers sit in namespaces A, B, C at 10.0.0.1-3.
  beforeAll(async () => {
    bridgeNs = await Netns.create();
    await bridgeNs.bridge('br0');
    for (const [i, key] of (['a', 'b', 'c'] as const).entries()) {
      const peer = (peers[key] = await Netns.create());
      await bridgeNs.ip('link', 'add', `p${key}`, 'type', 'veth', 'peer', 'name', `e${key}`, 'netns', peer.name);
      await bridgeNs.ip('link', 'set', `p${key}`, 'master', 'br0', 'up');
      await peer.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
      await peer.ip('addr', 'add', `10.0.0.${i + 1}/24`, 'dev', `e${key}`);
      await peer.ip('link', 'set', `e${key}`, 'up');
    }
    macB = (JSON.parse(await peers.b.ip('-j', 'link', 'show', 'eb')) as { address: string }[])[0]?.address ?? '';
    // A sends to a MAC nobody has, through a permanent neighbour entry, so no ARP is needed.
    await peers.a.ip('neigh', 'replace', '10.0.0.99', 'lladdr', UNKNOWN_MAC, 'dev', 'ea', 'nud', 'permanent');
    await peers.a.ip('neigh', 'replace', '10.0.0.2', 'lladdr', macB, 'dev', 'ea', 'nud', 'permanent');
  });

  afterAll(async () => {
    for (const ns of [bridgeNs, ...Object.values(peers)]) await ns?.remove();
    temp.cleanup();
  });

  const pingUnknown = () => peers.a.exec('sh', '-c', 'ping -c 3 -i 0.2 -W 1 10.0.0.99 || true');
  const unknownTo = (key: 'b' | 'c') => countFrames(peers[key], `e${key}`, `ether dst ${UNKNOWN_MAC}`, pingUnknown);

  it('before mactable, unknown unicast from A floods to both B and C', async () => {
    expect(await unknownTo('b')).toBe(3);
    expect(await unknownTo('c')).toBe(3);
  });

  it("after `started` for B's port, unknown unicast reaches C but not B, and B's own frames reach B", async () => {
    const xml = liveDomain([`<interface type='ethernet'><mac address='${macB}'/><target dev='pb' managed='no'/></interface>`]);
    const result = await runDist(['hook', 'qemu', 'guestB', 'started', 'begin', '-'], {
      netns: bridgeNs.name,
      stdin: xml,
      env: { MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) },
    });
    expect(result.code).toBe(0);

    expect(await unknownTo('c')).toBe(3);
    expect(await unknownTo('b')).toBe(0);

    // B's port learns nothing and floods nothing: only the static entry can deliver these.
    const pingB = () => peers.a.exec('sh', '-c', 'ping -c 3 -i 0.2 -W 1 10.0.0.2 || true');
    expect(await countFrames(peers.b, 'eb', `ether dst ${macB} and icmp`, pingB)).toBe(3);

    // Control: without the entry nothing reaches B any more.
    await bridgeNs.exec('bridge', 'fdb', 'del', macB, 'dev', 'pb', 'master');
    expect(await countFrames(peers.b, 'eb', `ether dst ${macB} and icmp`, pingB)).toBe(0);
  });
});
