import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { bridgeNic, liveDomain, statusDomain } from '../helpers/xml.js';

const MAC = '52:54:00:00:08:01';
const PORTID = '31ae567d-17ba-45fe-825f-806fdb638b30';
const MTM_NIC = `<interface type='network'><mac address='${MAC}'/><source network='mtm' portid='${PORTID}' bridge='br0'/><target dev='tap0'/></interface>`;

// A live migration's destination, replayed with status files under --root: libvirt runs `started` while the
// vCPUs are stopped (status paused/migration), and no hook runs at the switch-over.
describe.skipIf(!kernelSuite('test/kernel/paused.test.ts'))(
  'paused guests: the entry follows the vCPUs, in a network namespace with status files under --root',
  () => {
    const temp = new TempDir();
    const { root, qemu } = temp.hostRoot();
    mkdirSync(`${root}/run/libvirt/network`, { recursive: true });
    // libvirt's own macTableManager network: mactable manages its ports whatever the config says.
    writeFileSync(`${root}/run/libvirt/network/mtm.xml`, "<networkstatus><network><name>mtm</name><bridge name='br0' macTableManager='libvirt'/></network></networkstatus>\n");
    const config = temp.json('cfg.json', { bridges: ['br0'] });
    const env = { MACTABLE_ROOT: root, MACTABLE_CONFIG: config };
    let ns: Netns;
    let watcher: Watcher | null = null;

    const status = (state: string, reason: string, nic = bridgeNic(MAC, 'br0', 'tap0')) => {
      writeFileSync(`${qemu}/guest1.xml.new`, statusDomain([nic]).replace("state='running' reason='booted'", `state='${state}' reason='${reason}'`));
      renameSync(`${qemu}/guest1.xml.new`, `${qemu}/guest1.xml`);
    };
    const hook = (op: string, nic = bridgeNic(MAC, 'br0', 'tap0')) => runDist(['hook', 'qemu', 'guest1', op, 'begin', '-'], { netns: ns.name, stdin: liveDomain([nic]), env });
    const entryOnTap = async () => (await ns.staticEntries('br0')).some((entry) => entry.mac === MAC && entry.ifname === 'tap0');
    const learnedOnUplink = async () => (JSON.parse(await ns.exec('bridge', '-j', 'fdb', 'show', 'br', 'br0', 'brport', 'up0')) as { mac: string }[]).some((entry) => entry.mac === MAC);
    const waiters = async () => String((await execa('pgrep', ['-f', `until-running=guest1`], { reject: false })).stdout).trim();

    beforeEach(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      await ns.tap('tap0', 'br0');
      // The uplink: a veth port whose other end, outside the bridge, sends as the guest still on its source host.
      await ns.ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'upx');
      await ns.ip('link', 'set', 'up0', 'master', 'br0', 'up');
      await ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
      await ns.ip('link', 'set', 'upx', 'address', MAC);
      await ns.ip('addr', 'add', '10.9.9.2/24', 'dev', 'upx');
      await ns.ip('link', 'set', 'upx', 'up');
    });
    afterEach(async () => {
      try {
        await watcher?.kill();
        rmSync(`${qemu}/guest1.xml`, { force: true }); // a waiter still there ends with its guest
        expect(await eventually(async () => (await waiters()) === '', 3)).toBe(true);
      } finally {
        watcher = null;
        await ns.remove();
      }
    });
    afterAll(() => temp.cleanup());

    it('without the watcher: started while paused sets the flags only; the guest\'s MAC heard on the uplink; once it runs, the waiter adds the entry within 1 s and ends', async () => {
      status('paused', 'migration');
      expect(await hook('started')).toEqual({
        code: 0,
        stdout: '',
        stderr: 'mactable: guest1: tap0 on br0: learning off, unicast flooding off; no static entry while the guest is paused (migration): it is added when the guest runs\n',
      });
      expect(await ns.portState('tap0')).toEqual({ learning: false, flood: false });
      expect(await entryOnTap()).toBe(false);
      expect(await waiters()).not.toBe('');
      await ns.tryExec('arping', '-c', '1', '-w', '1', '-I', 'upx', '10.9.9.1');
      expect(await eventually(learnedOnUplink, 2)).toBe(true);

      status('running', 'migrated');
      expect(await eventually(entryOnTap, 1)).toBe(true);
      expect(await ns.portState('tap0')).toEqual({ learning: false, flood: false });
      expect(await eventually(async () => (await waiters()) === '', 2)).toBe(true);
    });

    it('the waiter ends when its guest stops instead', async () => {
      status('paused', 'starting up');
      expect((await hook('started')).code).toBe(0);
      expect(await waiters()).not.toBe('');
      rmSync(`${qemu}/guest1.xml`);
      expect(await eventually(async () => (await waiters()) === '', 2)).toBe(true);
      expect(await entryOnTap()).toBe(false);
    });

    it("a paused guest on a macTableManager='libvirt' network: no entry from the watcher, repair or reconnect (libvirt adds its own at resume, with NLM_F_EXCL)", async () => {
      status('running', 'booted', MTM_NIC);
      watcher = Watcher.inNetns(ns.name, ['--root', root, '--config', config]);
      expect(await eventually(entryOnTap, 5)).toBe(true);
      status('paused', 'user', MTM_NIC);
      expect(await eventually(async () => !(await entryOnTap()), 1)).toBe(true);
      const cli = (...argv: string[]) => runDist(argv, { netns: ns.name, env });
      expect(await cli('repair', '--all')).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await hook('reconnect', MTM_NIC)).code).toBe(0);
      expect(await cli('status', 'guest1')).toMatchObject({ code: 0 });
      expect(await entryOnTap()).toBe(false);
      // What libvirt does at resume: `bridge fdb add` with NLM_F_EXCL succeeds, since nothing is in its way.
      await ns.exec('bridge', 'fdb', 'add', MAC, 'dev', 'tap0', 'master', 'static');
      status('running', 'unpaused', MTM_NIC);
      expect(await eventually(async () => (await cli('status', 'guest1')).code === 0, 2)).toBe(true);
    });
  },
);
