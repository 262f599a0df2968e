import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { SyslogListener } from '../helpers/syslog.js';
import { TempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

const MACS = ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:00:00:03'];

describe.skipIf(!kernelSuite('test/kernel/hook.test.ts'))(
  'the hook on real bridges, in a network namespace',
  () => {
    const temp = new TempDir();
    const failConfig = temp.json('fail.json', { bridges: ['br0'] });
    const warnConfig = temp.json('warn.json', { bridges: ['br0'], onError: 'warn' });
    const { env: rootEnv } = temp.hostRoot();
    let ns: Netns;

    beforeEach(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      for (const tap of ['tap0', 'tap1', 'tap2']) await ns.tap(tap, 'br0');
    });
    afterEach(async () => ns?.remove());
    afterAll(() => temp.cleanup());

    const threePorts = liveDomain(MACS.map((mac, i) => bridgeNic(mac, 'br0', `tap${i}`)));

    const hook = (op: string, subop: string, xml: string, env: Record<string, string> = {}) =>
      runDist(['hook', 'qemu', 'guest1', op, subop, '-'], { netns: ns, stdin: xml, env: { ...rootEnv, MACTABLE_CONFIG: failConfig, ...env } });

    it('started: learning and unicast flooding off, a static entry per port, nothing on stdout', async () => {
      const result = await hook('started', 'begin', threePorts);
      expect(result).toEqual({
        code: 0,
        stdout: '',
        stderr: MACS.map((mac, i) => `mactable: guest1: tap${i} on br0: static entry ${mac} added, learning off, unicast flooding off\n`).join(''),
      });
      for (const tap of ['tap0', 'tap1', 'tap2']) expect(await ns.portState(tap)).toEqual({ learning: false, flood: false });
      expect(await ns.staticEntries('br0')).toEqual(
        MACS.map((mac, i) => ({ mac, ifname: `tap${i}`, flags: [], master: 'br0', state: 'static' })),
      );
    });

    it('started twice: exit 0, the second run changes nothing, byte for byte', async () => {
      await hook('started', 'begin', threePorts);
      const before = await ns.snapshot('br0');
      const again = await hook('started', 'begin', threePorts);
      expect(again.code).toBe(0);
      expect(again.stderr).toBe(MACS.map((_, i) => `mactable: guest1: tap${i} on br0: already in place\n`).join(''));
      expect(await ns.snapshot('br0')).toBe(before);
    });

    it('reconnect after drift by hand restores the port', async () => {
      await hook('started', 'begin', threePorts);
      await ns.exec('bridge', 'link', 'set', 'dev', 'tap1', 'learning', 'on', 'flood', 'on');
      await ns.exec('bridge', 'fdb', 'del', MACS[1] as string, 'dev', 'tap1', 'master');
      const result = await hook('reconnect', 'begin', threePorts);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`mactable: guest1: tap1 on br0: static entry ${MACS[1]} added, learning off, unicast flooding off\n`);
      expect(await ns.portState('tap1')).toEqual({ learning: false, flood: false });
      expect((await ns.staticEntries('br0')).map((entry) => entry.mac)).toEqual(MACS);
    });

    it('release undoes only the pre-made tap (managed=\'no\'), which outlives the guest; taps libvirt made are its own', async () => {
      const xml = liveDomain([
        `<interface type='ethernet'><mac address='${MACS[0]}'/><target dev='tap0' managed='no'/></interface>`,
        bridgeNic(MACS[1] as string, 'br0', 'tap1'),
      ]);
      await hook('started', 'begin', xml);
      expect(await ns.portState('tap0')).toEqual({ learning: false, flood: false });
      const result = await hook('release', 'end', xml);
      expect(result).toEqual({
        code: 0,
        stdout: '',
        stderr: `mactable: guest1: tap0 on br0: learning on, unicast flooding on, entry ${MACS[0]} deleted\n`,
      });
      expect(await ns.portState('tap0')).toEqual({ learning: true, flood: true });
      expect(await ns.portState('tap1')).toEqual({ learning: false, flood: false });
      expect((await ns.staticEntries('br0')).map((entry) => entry.mac)).toEqual([MACS[1]]);
    });

    it.each([
      ['the tap is missing', bridgeNic(MACS[0] as string, 'br0', 'tapX'), 'tapX on br0: tap tapX does not exist'],
      ['the bridge is missing', bridgeNic(MACS[0] as string, 'brZ', 'tap0'), 'tap0 on brZ: bridge brZ does not exist'],
      ['the tap is on another bridge', bridgeNic(MACS[0] as string, 'br0', 'tap9'), 'tap9 on br0: tap tap9 is a port of br9, not of br0'],
      ['the bridge is not a Linux bridge', bridgeNic(MACS[0] as string, 'tap1', 'tap0'), 'tap0 on tap1: tap1 is not a Linux bridge'],
      ['the tap is on no bridge', bridgeNic(MACS[0] as string, 'br0', 'tap8'), 'tap8 on br0: tap tap8 is not attached to any bridge'],
    ])('started fails when %s: exit 1 and the reason, the other port still done', async (_case, badNic, message) => {
      await ns.bridge('br9');
      await ns.tap('tap9', 'br9');
      await ns.tap('tap8');
      const config = temp.json('all.json', { bridges: ['*'] });
      const xml = liveDomain([badNic, bridgeNic(MACS[2] as string, 'br0', 'tap2')]);
      const result = await hook('started', 'begin', xml, { MACTABLE_CONFIG: config });
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `mactable: guest1: ${message}\nmactable: guest1: tap2 on br0: static entry ${MACS[2]} added, learning off, unicast flooding off\n`,
      });
      expect(await ns.portState('tap2')).toEqual({ learning: false, flood: false });
    });

    it('onError "warn": the same failure is a warning and the start goes on (exit 0)', async () => {
      const result = await hook('started', 'begin', liveDomain([bridgeNic(MACS[0] as string, 'br0', 'tapX')]), { MACTABLE_CONFIG: warnConfig });
      expect(result).toEqual({ code: 0, stdout: '', stderr: 'mactable: warning: guest1: tapX on br0: tap tapX does not exist\n' });
    });

    it('reconnect never fails (a non-zero exit would make libvirt kill the guest)', async () => {
      const result = await hook('reconnect', 'begin', liveDomain([bridgeNic(MACS[0] as string, 'br0', 'tapX')]));
      expect(result).toEqual({ code: 0, stdout: '', stderr: 'mactable: warning: guest1: tapX on br0: tap tapX does not exist\n' });
    });

    it('an invalid config fails started, and only warns on reconnect and release', async () => {
      const bad = temp.json('bad.json', { bridges: 'br0' });
      const message = `invalid config ${bad}: bridges: must be a list of names or patterns, not "br0"`;
      expect(await hook('started', 'begin', threePorts, { MACTABLE_CONFIG: bad })).toEqual({ code: 2, stdout: '', stderr: `mactable: guest1: ${message}\n` });
      for (const [op, subop] of [['reconnect', 'begin'], ['release', 'end']] as const) {
        expect(await hook(op, subop, threePorts, { MACTABLE_CONFIG: bad })).toEqual({ code: 0, stdout: '', stderr: `mactable: warning: guest1: ${message}\n` });
      }
      const warnBad = temp.json('warn-bad.json', { bridges: 'br0', onError: 'warn' });
      expect((await hook('started', 'begin', threePorts, { MACTABLE_CONFIG: warnBad })).code).toBe(0);
      expect(await ns.staticEntries('br0')).toEqual([]);
    });

    it.each([
      ['migrate', 'begin'],
      ['restore', 'begin'],
      ['prepare', 'begin'],
      ['stopped', 'end'],
      ['no-such-op', '-'],
    ])('%s %s does nothing and writes nothing', async (op, subop) => {
      expect(await hook(op, subop, threePorts)).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(await ns.staticEntries('br0')).toEqual([]);
      expect(await ns.portState('tap0')).toEqual({ learning: true, flood: true });
    });

    it('three managed ports start `bridge` exactly once; nothing managed starts none', async () => {
      const log = `${temp.path}/bridge-calls.log`;
      const wrapper = temp.file('bridge-wrapper', `#!/bin/sh\necho "$*" >> ${log}\nexec bridge "$@"\n`, 0o755);
      await hook('started', 'begin', threePorts, { MACTABLE_BRIDGE: wrapper });
      expect(readFileSync(log, 'utf8')).toBe('-j -d -force -batch -\n');
      const none = temp.json('none.json', { bridges: ['other'] });
      await hook('started', 'begin', threePorts, { MACTABLE_BRIDGE: wrapper, MACTABLE_CONFIG: none });
      expect(readFileSync(log, 'utf8')).toBe('-j -d -force -batch -\n');
    });

    it('records every change and failure in the system log, tagged mactable', async () => {
      const listener = await SyslogListener.start(`${temp.path}/log.sock`);
      try {
        const xml = liveDomain([bridgeNic(MACS[0] as string, 'br0', 'tap0'), bridgeNic(MACS[1] as string, 'br0', 'tapX')]);
        await hook('started', 'begin', xml, { MACTABLE_SYSLOG_SOCKET: listener.path });
        expect(await eventually(() => listener.messages().length >= 2, 5)).toBe(true);
        const messages = listener.messages();
        expect(messages).toHaveLength(2);
        expect(messages[0]).toMatch(
          new RegExp(`^<30>.* mactable: guest1: tap0 on br0: static entry ${MACS[0]} added, learning off, unicast flooding off \\(started\\)$`, 'u'),
        );
        expect(messages[1]).toMatch(/^<27>.* mactable: guest1: tapX on br0: tap tapX does not exist \(started\)$/u);
      } finally {
        await listener.stop();
      }
    });
  },
);
