import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { eventually, timeUntil } from '../helpers/wait.js';
import { BLIND_BRIDGE, Watcher } from '../helpers/watcher.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';

const MAC = '52:54:00:00:0d:01';

// hooks/qemu leaves `reconnect` to a running watcher, and a restarted libvirtd may not rewrite the status files:
// the daemon's socket made again is the watcher's cue to look at every guest. Its kernel monitor is a stand-in that
// sees nothing here, so only the socket (or the status directory) can make it look.
describe.skipIf(!kernelSuite('test/kernel/daemon-socket.test.ts'))('the watcher when the daemon comes back (its socket made again under --root)', { timeout: 30_000 }, () => {
  const temp = new TempDir();
  const config = temp.json('cfg.json', { bridges: ['br0'] });
  const { root, qemu } = temp.hostRoot();
  const blind = temp.file('bridge', BLIND_BRIDGE, 0o755);
  let ns: Netns;
  let watcher: Watcher | null = null;
  const right = async () => (await ns.portProblem('br0', 'tap0', [MAC])) === null;
  const drift = () => ns.exec('bridge', 'link', 'set', 'dev', 'tap0', 'learning', 'on', 'flood', 'on');

  beforeAll(async () => {
    ns = await Netns.create();
    await ns.bridge('br0');
    await ns.tap('tap0', 'br0');
    writeFileSync(`${qemu}/g1.xml`, statusDomain([bridgeNic(MAC, 'br0', 'tap0')], 'g1'));
    mkdirSync(`${root}/run/libvirt`, { recursive: true });
  });
  afterEach(async () => {
    await watcher?.kill();
    watcher = null;
  });
  afterAll(async () => {
    try {
      await ns?.remove();
    } finally {
      temp.cleanup();
    }
  });

  it.each(['libvirt-sock', 'virtqemud-sock'])('%s made again: ports that drifted meanwhile are right within 1 s; another file there changes nothing', async (socket) => {
    await drift();
    watcher = Watcher.inNetns(ns, ['--root', root, '--config', config, '--interval', '3600'], { MACTABLE_BRIDGE: blind, MACTABLE_SYSLOG_SOCKET: '/dev/null' });
    expect(await timeUntil(right, 10)).not.toBeNull(); // its first look at every guest
    await drift();
    writeFileSync(`${root}/run/libvirt/other-file`, '');
    // Not seen: nothing says so within a second (the control for what follows).
    expect(await eventually(right, 1)).toBe(false);
    rmSync(`${root}/run/libvirt/${socket}`, { force: true });
    writeFileSync(`${root}/run/libvirt/${socket}`, ''); // a file of that name is all the watcher looks at
    const ms = await timeUntil(right, 1);
    process.stderr.write(`${socket} made again: right after ${ms} ms\n`);
    expect(ms).not.toBeNull();
  });
});
