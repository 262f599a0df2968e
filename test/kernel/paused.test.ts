import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { bridgeNic, liveDomain, writeStatus } from '../helpers/xml.js';

const MAC = '52:54:00:00:08:01';
const OTHER = '02:00:00:00:08:99';
// A file of /proc, or '' when its process is gone.
const readText = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
const PORTID = '31ae567d-17ba-45fe-825f-806fdb638b30';
const MTM_NIC = `<interface type='network'><mac address='${MAC}'/><source network='mtm' portid='${PORTID}' bridge='br0'/><target dev='tap0'/></interface>`;

// A live migration's destination, replayed with status files under --root: libvirt runs `started` while the
// vCPUs are stopped (status paused/migration), and no hook runs at the switch-over.
describe.skipIf(!kernelSuite('test/kernel/paused.test.ts', { python3: 'python3' }))(
  "paused guests: mactable's state exists exactly while the vCPUs run, in a network namespace with status files under --root",
  () => {
    const temp = new TempDir();
    const { root, qemu, env: rootEnv } = temp.hostRoot();
    mkdirSync(`${root}/run/libvirt/network`, { recursive: true });
    // libvirt's own macTableManager network: mactable manages its ports whatever the config says.
    writeFileSync(`${root}/run/libvirt/network/mtm.xml`, "<networkstatus><network><name>mtm</name><bridge name='br0' macTableManager='libvirt'/></network></networkstatus>\n");
    const config = temp.json('cfg.json', { bridges: ['br0'] });
    const env = { ...rootEnv, MACTABLE_CONFIG: config };
    let ns: Netns;
    let watcher: Watcher | null = null;

    const status = (state: string, reason: string, nic = bridgeNic(MAC, 'br0', 'tap0')) => writeStatus(qemu, 'guest1', [nic], state, reason);
    const hook = (op: string, nic = bridgeNic(MAC, 'br0', 'tap0')) => runDist(['hook', 'qemu', 'guest1', op, 'begin', '-'], { netns: ns, stdin: liveDomain([nic]), env });
    const entryOnTap = async () => (await ns.staticEntries('br0')).some((entry) => entry.mac === MAC && entry.ifname === 'tap0');
    const learnedOnUplink = async () => (JSON.parse(await ns.exec('bridge', '-j', 'fdb', 'show', 'br', 'br0', 'brport', 'up0')) as { mac: string }[]).some((entry) => entry.mac === MAC);
    const staticFor = async (mac: string) => (await ns.staticEntries('br0')).filter((entry) => entry.mac === mac).map((entry) => entry.ifname);
    const cli = (...argv: string[]) => runDist(argv, { netns: ns, env });
    // One broadcast frame from the uplink's far end with the guest's MAC as its source (a migrated guest's announce).
    const fromUplink = () => ns.exec('python3', '-c', `import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('upx', 0)); s.send(bytes.fromhex('ffffffffffff${MAC.replace(/:/gu, '')}0806') + bytes(46))`);
    // The waiters the hook left in the namespace (only there: the machine's own are none of the test's business).
    const waiters = async () => ns.processes().filter((pid) => readText(`/proc/${pid}/cmdline`).includes('until-running=guest1')).join(' ');

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
      // A static entry of a MAC no managed guest has, on the uplink: never ours to delete.
      await ns.exec('bridge', 'fdb', 'add', OTHER, 'dev', 'up0', 'master', 'static');
    });
    afterEach(async () => {
      try {
        await watcher?.kill();
        rmSync(`${qemu}/guest1.xml`, { force: true }); // a waiter still there ends with its guest
        expect(await eventually(async () => (await waiters()) === '', 3)).toBe(true);
      } finally {
        watcher = null;
        await ns?.remove();
      }
    });
    afterAll(() => temp.cleanup());

    const asLibvirtMadeIt = async () => JSON.stringify(await ns.portState('tap0')) === JSON.stringify({ learning: true, flood: true }) && !(await entryOnTap());
    const tight = async () => (await ns.portProblem('br0', 'tap0', [MAC])) === null;
    const PAUSED_LINE = 'mactable: guest1: tap0 on br0: as libvirt made it while the guest is paused (migration): mactable takes it when the vCPUs run\n';

    it.each([
      ['without the watcher: the waiter the hook left', false],
      ['with the watcher', true],
    ])("started while paused leaves the port as libvirt made it (the guest's MAC is learned on the uplink); once it runs, the port is right within 1 s: %s", async (_how, withWatcher) => {
      status('paused', 'migration');
      if (withWatcher) {
        // Where a watcher runs the hook leaves no waiter (this test's --root has no /proc to find it in).
        const started = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
        watcher = started;
        expect(await eventually(() => started.children().length > 0, 5)).toBe(true);
      } else {
        expect(await hook('started')).toEqual({ code: 0, stdout: '', stderr: PAUSED_LINE });
        expect(await waiters()).not.toBe('');
      }
      expect(await asLibvirtMadeIt()).toBe(true);
      await fromUplink();
      expect(await eventually(learnedOnUplink, 2)).toBe(true);
      expect(await asLibvirtMadeIt()).toBe(true);
      expect(await cli('status', 'guest1')).toMatchObject({ code: 0, stdout: expect.stringContaining('ok; guest paused (migration): the port as libvirt made it until its vCPUs run') as unknown });

      status('running', 'migrated');
      expect(await eventually(tight, 1)).toBe(true);
      expect(await staticFor(MAC)).toEqual(['tap0']);
      expect(await eventually(async () => (await waiters()) === '', 2)).toBe(true);
      if (withWatcher) expect(await watcher?.waitForLine(new RegExp(`^mactable: guest1: tap0 on br0: static entry ${MAC} added, learning off, unicast flooding off \\(watch\\)$`, 'u'))).toBe(true);
    });

    it("with the watcher, the guest running: its entry moved to the uplink by a frame from its MAC is back on the tap within 1 s", async () => {
      status('running', 'booted');
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
      expect(await eventually(tight, 5)).toBe(true);
      const added = () => (watcher as Watcher).lines.filter((line) => line === `mactable: guest1: tap0 on br0: static entry ${MAC} added (watch)`).length;
      const before = added();
      await fromUplink();
      // The kernel's line for the move brings the watcher: the entry is put back (too fast to catch it on the uplink).
      expect(await eventually(async () => added() === before + 1 && JSON.stringify(await staticFor(MAC)) === '["tap0"]', 1)).toBe(true);
    });

    it('a static entry moved to the uplink while the guest is paused is deleted: by the watcher when it starts, when the move beats its delete at the pause, and when one appears there', async () => {
      status('running', 'booted');
      expect((await hook('started')).code).toBe(0);
      status('paused', 'migration'); // no watcher: the port stays as it was
      await fromUplink();
      expect(await eventually(async () => JSON.stringify(await staticFor(MAC)) === '["up0"]', 2)).toBe(true);
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
      expect(await eventually(async () => (await staticFor(MAC)).length === 0 && asLibvirtMadeIt(), 5)).toBe(true);
      expect(await watcher.waitForLine(new RegExp(`^mactable: guest1: tap0 on br0: .*static entry ${MAC} on up0 deleted \\(watch\\)$`, 'u'))).toBe(true);

      // The race at a migration's source: the pause and the destination's announce at once.
      status('running', 'unpaused');
      expect(await eventually(tight, 1)).toBe(true);
      status('paused', 'migration');
      await fromUplink();
      expect(await eventually(async () => (await staticFor(MAC)).length === 0 && asLibvirtMadeIt(), 1)).toBe(true);

      await ns.exec('bridge', 'fdb', 'replace', MAC, 'dev', 'up0', 'master', 'static');
      expect(await eventually(async () => (await staticFor(MAC)).length === 0, 1)).toBe(true);
      expect(await staticFor(OTHER)).toEqual(['up0']);
      expect(watcher.lines.filter((line) => /: $|:  \(watch\)$/u.test(line))).toEqual([]);
    });

    it("a guest that left (status file removed): its entry moved to the uplink afterwards is deleted by the watcher within 1 s", async () => {
      status('running', 'booted');
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
      expect(await eventually(tight, 5)).toBe(true);
      // The tap outlives the status file for a moment; the announce comes before or after the watcher sees the guest go.
      rmSync(`${qemu}/guest1.xml`);
      await fromUplink();
      expect(await eventually(async () => (await staticFor(MAC)).length === 0, 1)).toBe(true);
      expect(await watcher.waitForLine(new RegExp(`^mactable: guest1: tap0 on br0: static entry ${MAC} on up0 deleted; the guest left this host \\(watch\\)$`, 'u'))).toBe(true);
      expect(await staticFor(OTHER)).toEqual(['up0']);
    });

    it('without a watcher: hook release end deletes the entry moved to the uplink while the guest was paused, nothing else', async () => {
      status('running', 'booted');
      expect((await hook('started')).code).toBe(0);
      status('paused', 'migration');
      await fromUplink();
      expect(await eventually(async () => JSON.stringify(await staticFor(MAC)) === '["up0"]', 2)).toBe(true);
      rmSync(`${qemu}/guest1.xml`);
      await ns.ip('link', 'del', 'tap0'); // QEMU exits, its tap goes
      // libvirt's XML at release names no tap any more.
      const released = liveDomain([`<interface type='bridge'><mac address='${MAC}'/><source bridge='br0'/></interface>`]);
      expect(await runDist(['hook', 'qemu', 'guest1', 'release', 'end', '-'], { netns: ns, stdin: released, env })).toEqual({
        code: 0,
        stdout: '',
        stderr: `mactable: guest1: ${MAC} on br0: static entry ${MAC} on up0 deleted\n`,
      });
      expect(await staticFor(MAC)).toEqual([]);
      expect(await staticFor(OTHER)).toEqual(['up0']);
    });

    it('sticky: true: the sticky entry (which no frame moves) is deleted within 1 s of the pause by the watcher, the port as libvirt made it', async () => {
      const sticky = temp.json('sticky.json', { bridges: ['br0'], sticky: true });
      status('running', 'booted');
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', sticky], env);
      const stickyOnTap = async () => (await ns.staticEntries('br0')).some((entry) => entry.mac === MAC && entry.ifname === 'tap0' && (entry.flags ?? []).includes('sticky'));
      expect(await eventually(stickyOnTap, 5)).toBe(true);
      await fromUplink();
      expect(await stickyOnTap()).toBe(true);
      status('paused', 'migration');
      expect(await eventually(async () => (await staticFor(MAC)).length === 0 && asLibvirtMadeIt(), 1)).toBe(true);
    });

    it("sticky: true and a migration away (the job 'migration out' in the status file): the entry is a plain static one within 1 s, sticky again within 1 s of a cancel; a guest that does not migrate keeps its sticky entry throughout", async () => {
      const sticky = temp.json('sticky.json', { bridges: ['br0'], sticky: true });
      const BYSTANDER = '52:54:00:00:08:02';
      await ns.tap('tap1', 'br0');
      const flagsOn = async (tap: string, mac: string) => (await ns.staticEntries('br0')).find((entry) => entry.mac === mac && entry.ifname === tap)?.flags ?? null;
      const isSticky = async (tap: string, mac: string) => (await flagsOn(tap, mac))?.includes('sticky') === true;
      try {
        writeStatus(qemu, 'guest2', [bridgeNic(BYSTANDER, 'br0', 'tap1')]);
        status('running', 'booted');
        watcher = Watcher.inNetns(ns, ['--root', root, '--config', sticky], env);
        expect(await eventually(async () => (await isSticky('tap0', MAC)) && isSticky('tap1', BYSTANDER), 5)).toBe(true);

        writeStatus(qemu, 'guest1', [bridgeNic(MAC, 'br0', 'tap0')], 'running', 'booted', 'migration out');
        expect(await eventually(async () => JSON.stringify(await flagsOn('tap0', MAC)) === '[]', 1)).toBe(true);
        expect(await cli('status', 'guest1')).toMatchObject({ code: 0 });
        expect(await watcher.waitForLine(new RegExp(`^mactable: guest1: tap0 on br0: entry ${MAC} no longer sticky \\(watch\\)$`, 'u'))).toBe(true);

        // Cancelled: libvirt ends the job and writes the status file again.
        status('running', 'booted');
        expect(await eventually(() => isSticky('tap0', MAC), 1)).toBe(true);
        expect(await watcher.waitForLine(new RegExp(`^mactable: guest1: tap0 on br0: entry ${MAC} made sticky \\(watch\\)$`, 'u'))).toBe(true);

        expect(await isSticky('tap1', BYSTANDER)).toBe(true);
        expect(watcher.lines.filter((line) => line.includes('guest2'))).toEqual([`mactable: guest2: tap1 on br0: static sticky entry ${BYSTANDER} added, learning off, unicast flooding off (watch)`]);
      } finally {
        rmSync(`${qemu}/guest2.xml`, { force: true });
      }
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
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], env);
      expect(await eventually(entryOnTap, 5)).toBe(true);
      status('paused', 'user', MTM_NIC);
      expect(await eventually(async () => !(await entryOnTap()), 1)).toBe(true);
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
