import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIST, runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

const MACS = ['52:54:00:00:03:01', '52:54:00:00:03:02'];

// The faults the README's Safety section lists: each gives the operation's documented exit code, a message
// naming what failed, and a line for every port saying what was and was not done.
describe.skipIf(!kernelSuite('test/kernel/faults.test.ts'))(
  'faults while the hook runs, in a network namespace',
  () => {
    const temp = new TempDir();
    const { env: rootEnv } = temp.hostRoot();
    let ns: Netns;
    const xml = liveDomain([bridgeNic(MACS[0] as string, 'br0', 'tap0'), bridgeNic(MACS[1] as string, 'br0', 'tap1')]);

    // A stand-in for `bridge` that first does something to the host, then runs the real one.
    const bridgeThat = (name: string, before: string) => temp.file(name, `#!/bin/sh\n${before}\nexec bridge "$@"\n`, 0o755);
    const hook = (op: string, subop: string, config: object, env: Record<string, string> = {}) =>
      runDist(['hook', 'qemu', 'guest1', op, subop, '-'], {
        netns: ns,
        stdin: xml,
        env: { ...rootEnv, MACTABLE_CONFIG: temp.json(`cfg-${op}.json`, { bridges: ['br0'], ...config }), ...env },
      });

    beforeEach(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      await ns.tap('tap0', 'br0');
      await ns.tap('tap1', 'br0');
    });
    afterEach(() => ns?.remove());
    afterAll(() => temp.cleanup());

    it('a tap removed between the checks and the FDB step: that port fails, the other is done', async () => {
      const result = await hook('started', 'begin', {}, { MACTABLE_BRIDGE: bridgeThat('bridge-rm-tap', 'ip link del tap1') });
      // iproute2's own words for the missing device come between ours.
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: expect.stringMatching(
          new RegExp(
            `^mactable: guest1: tap0 on br0: static entry ${MACS[0]} added, learning off, unicast flooding off\\n` +
              'mactable: guest1: tap1 on br0: cannot add the static entry: [^\\n]+\\n$',
            'u',
          ),
        ),
      });
    });

    it.each([
      ['started, onError warn', 'started', { onError: 'warn' }],
      ['reconnect', 'reconnect', {}],
    ])('`bridge` refusing fdb replace, %s: the port is never locked, and learning and flooding are back on', async (_case, op, config) => {
      const refuses = temp.file('bridge-refuses', `#!/bin/sh\nsed 's/^fdb replace /fdb replace 01:00:5e:00:00:01 dev nosuch master static #/' | bridge "$@"\n`, 0o755);
      const result = await hook(op, 'begin', { lockPorts: true, ...config }, { MACTABLE_BRIDGE: refuses });
      expect([result.code, result.stdout]).toEqual([0, '']);
      for (const tap of ['tap0', 'tap1']) {
        expect(result.stderr).toMatch(new RegExp(`^mactable: warning: guest1: ${tap} on br0: cannot add the static entry: .+; left as libvirt made it$`, 'mu'));
        expect(await ns.portState(tap)).toEqual({ learning: true, flood: true });
        const [link] = JSON.parse(await ns.exec('bridge', '-j', '-d', 'link', 'show', 'dev', tap)) as { locked: boolean }[];
        expect(link?.locked).toBe(false);
      }
      expect(await ns.staticEntries('br0')).toEqual([]);
    });

    it('the bridge deleted under the hook: every port says what failed', async () => {
      const result = await hook('started', 'begin', {}, { MACTABLE_BRIDGE: bridgeThat('bridge-rm-br', 'ip link del br0') });
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(2);
      for (const [i, line] of lines.entries()) {
        expect(line).toMatch(new RegExp(`^mactable: guest1: tap${i} on br0: cannot add the static entry: .+$`, 'u'));
      }
    });

    it('`bridge` missing: started fails naming it; reconnect only warns', async () => {
      const env = { MACTABLE_BRIDGE: '/nonexistent/bridge' };
      const started = await hook('started', 'begin', {}, env);
      expect(started.code).toBe(1);
      expect(started.stderr).toContain(
        'mactable: guest1: tap0 on br0: cannot add the static entry: cannot run bridge: cannot run /nonexistent/bridge: spawnSync /nonexistent/bridge ENOENT\n',
      );
      const reconnect = await hook('reconnect', 'begin', {}, env);
      expect(reconnect.code).toBe(0);
      expect(reconnect.stderr).toContain('mactable: warning: guest1: tap0 on br0: cannot add the static entry: cannot run bridge:');
    });

    it('`bridge` hanging: the time bound stops it, the hook returns within the bound, nothing is left running', async () => {
      const stamp = `${temp.path}/bridge-started`;
      const hang = `sleep 30.${process.pid}`; // exec'd, so the kill at the bound reaches it; unique, so we can look for it
      const hangs = temp.file('bridge-hangs', `#!/bin/sh\ndate +%s%N > ${stamp}\nexec ${hang}\n`, 0o755);
      const result = await hook('started', 'begin', { timeout: 1 }, { MACTABLE_BRIDGE: hangs });
      const returned = Date.now();
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('mactable: guest1: tap0 on br0: cannot add the static entry: cannot run bridge: timed out: the time bound of 1 s is spent');
      // Measured from when `bridge` started, so Node's own start-up is not in it: the bound (1 s) and a margin.
      expect(returned - Number(readFileSync(stamp, 'utf8')) / 1e6).toBeLessThan(1500);
      expect(ns.processes()).toEqual([]);
    });

    it('a sysfs write refused (read-only): the kernel error is named, the other port done', async () => {
      const learning = '/sys/class/net/br0/brif/tap1/learning';
      const readOnly = temp.file('read-only-learning', `#!/bin/sh\nmount --bind ${learning} ${learning} && mount -o remount,bind,ro ${learning} && exec "$@"\n`, 0o755);
      const config = temp.json('cfg-ro.json', { bridges: ['br0'] });
      const [file, ...args] = ns.enter(readOnly, process.execPath, DIST, 'hook', 'qemu', 'guest1', 'started', 'begin', '-');
      const result = await execa(file, args, { input: xml, env: { ...rootEnv, MACTABLE_CONFIG: config }, reject: false });
      expect([result.exitCode, result.stdout]).toEqual([1, '']);
      expect(result.stderr).toBe(
        `mactable: guest1: tap0 on br0: static entry ${MACS[0]} added, learning off, unicast flooding off\n` +
          `mactable: guest1: tap1 on br0: cannot turn learning off: Read-only file system (EROFS) (done before that: static entry ${MACS[1]} added)`,
      );
    });

    it.each([
      ['unreadable (a directory)', () => temp.path, `cannot read config ${temp.path}: Illegal operation on a directory (EISDIR)`],
      ['half-written', () => temp.file('half.json', '{"bridges": ["br'), `invalid config ${temp.path}/half.json: not valid JSON: `],
    ])('a config %s: started fails (exit 2) naming it; release only warns', async (_case, path, message) => {
      const env = { ...rootEnv, MACTABLE_CONFIG: path() };
      const run = (op: string, subop: string) => runDist(['hook', 'qemu', 'guest1', op, subop, '-'], { netns: ns, stdin: xml, env });
      const started = await run('started', 'begin');
      expect([started.code, started.stdout]).toEqual([2, '']);
      expect(started.stderr).toContain(`mactable: guest1: ${message}`);
      const release = await run('release', 'end');
      expect([release.code, release.stdout]).toEqual([0, '']);
      expect(release.stderr).toContain(`mactable: warning: guest1: ${message}`);
      expect(await ns.portState('tap0')).toEqual({ learning: true, flood: true });
    });

    it('/run/libvirt missing: network NICs still use the bridge the XML names; status finds no guest', async () => {
      const root = `${temp.path}/bare-root`;
      mkdirSync(root, { recursive: true });
      symlinkSync('/sys', `${root}/sys`);
      const config = temp.json('cfg-net.json', { networks: ['hostbr'] });
      const networkXml = liveDomain([
        `<interface type='bridge'><mac address='${MACS[0]}'/><source network='hostbr' portid='31ae567d-17ba-45fe-825f-806fdb638b30' bridge='br0'/><target dev='tap0'/></interface>`,
      ]);
      const started = await runDist(['hook', 'qemu', 'guest1', 'started', 'begin', '-'], { netns: ns, stdin: networkXml, env: { ...rootEnv, MACTABLE_ROOT: root, MACTABLE_CONFIG: config } });
      expect(started).toEqual({ code: 0, stdout: '', stderr: `mactable: guest1: tap0 on br0: static entry ${MACS[0]} added, learning off, unicast flooding off\n` });
      const status = await runDist(['status', '--root', root, '--config', config], { netns: ns, env: rootEnv });
      expect(status).toEqual({ code: 0, stdout: 'no running guest has a NIC\n', stderr: '' });
    });
  },
);
