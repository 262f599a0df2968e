import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/commands/hook.js';
import { FakeBridge } from '../helpers/fake-bridge.js';
import { FakeSys } from '../helpers/fake-sys.js';
import { LockHolder } from '../helpers/lock-holder.js';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

const MAC = '52:54:00:00:05:01';
const GUEST = liveDomain([bridgeNic(MAC, 'br0', 'tap0')]);
const PREMADE = liveDomain([`<interface type='ethernet'><mac address='${MAC}'/><target dev='tap0' managed='no'/></interface>`]);
const OPS = { started: ['started', 'begin'], reconnect: ['reconnect', 'begin'], attach: ['attach', 'begin'], release: ['release', 'end'] } as const;
// Learning and flooding go off only once the entry is in: a port whose entry failed needs nothing put back.
const PUT_BACK = 'left as libvirt made it';
const ON = { learning: 'on', flood: 'on' };

// The hook's decisions without root: a /sys tree under --root and a model of `bridge`, so every branch is reachable.
describe('the hook: strict or warn, per operation, for each kind of failure', () => {
  let temp: TempDir;
  let sys: FakeSys;
  let bridge: FakeBridge;

  beforeEach(() => {
    temp = new TempDir();
    sys = new FakeSys(temp.path);
    sys.bridge('br0');
    sys.bridge('br1');
    sys.port('br0', 'tap0');
    bridge = new FakeBridge();
  });
  afterEach(() => temp.cleanup());

  const hook = (op: keyof typeof OPS, config: object, xml = GUEST) =>
    runFake(['hook', 'qemu', 'guest1', ...OPS[op], '-'], {
      stdin: xml,
      env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'], ...config }) },
      bridge: bridge.run,
    });
  const failOn = (prefix: string, message: string) => (bridge.fail = (line) => (line.startsWith(prefix) ? message : null));
  const refused = 'RTNETLINK answers: Operation not permitted';

  it.each([
    ['started', 'fail', 1, `mactable: guest1: tap0 on br0: cannot add the static entry: ${refused}\n`],
    ['started', 'warn', 0, `mactable: warning: guest1: tap0 on br0: cannot add the static entry: ${refused}; ${PUT_BACK}\n`],
    ['reconnect', 'fail', 0, `mactable: warning: guest1: tap0 on br0: cannot add the static entry: ${refused}; ${PUT_BACK}\n`],
    ['attach', 'fail', 0, `mactable: warning: guest1: tap0 on br0: cannot add the static entry: ${refused}; ${PUT_BACK}\n`],
  ] as const)('%s, onError %s, fdb replace refused: exit %i, learning and flooding never turned off', async (op, onError, code, stderr) => {
    failOn('fdb replace', refused);
    expect(await hook(op, { onError })).toMatchObject({ code, stdout: '', stderr });
    expect(sys.flags('br0', 'tap0')).toEqual(ON);
  });

  it.each([
    ['started', 'fail', 1, 'mactable: guest1: tap0 on br0: tap tap0 is a port of br1, not of br0\n'],
    ['started', 'warn', 0, 'mactable: warning: guest1: tap0 on br0: tap tap0 is a port of br1, not of br0\n'],
    ['reconnect', 'fail', 0, 'mactable: warning: guest1: tap0 on br0: tap tap0 is a port of br1, not of br0\n'],
    ['attach', 'fail', 0, 'mactable: warning: guest1: tap0 on br0: tap tap0 is a port of br1, not of br0\n'],
  ] as const)('%s, onError %s, the tap moved to another bridge: exit %i, nothing written', async (op, onError, code, stderr) => {
    sys.removeTap('br0', 'tap0');
    sys.port('br1', 'tap0');
    expect(await hook(op, { onError })).toMatchObject({ code, stdout: '', stderr, bridgeCalls: [] });
    expect(sys.flags('br1', 'tap0')).toEqual(ON);
  });

  it.each([
    ['started', 'fail', 1, ''],
    ['reconnect', 'fail', 0, 'warning: '],
  ] as const)('%s (onError %s), the tap vanishing before the entry: exit %i, nothing to put back', async (op, onError, code, warning) => {
    bridge.fail = (line) => {
      sys.removeTap('br0', 'tap0');
      return line.includes('tap0') ? 'Cannot find device "tap0"' : null;
    };
    expect(await hook(op, { onError })).toMatchObject({
      code,
      stderr: `mactable: ${warning}guest1: tap0 on br0: cannot add the static entry: Cannot find device "tap0"\n`,
    });
  });

  it('reconnect with lockPorts, the lock refused: the port is put back as libvirt made it, and the message says all that was done', async () => {
    failOn('link set dev tap0 locked on', 'RTNETLINK answers: Operation not supported');
    expect(await hook('reconnect', { lockPorts: true })).toMatchObject({
      code: 0,
      stderr:
        `mactable: warning: guest1: tap0 on br0: cannot lock the port: RTNETLINK answers: Operation not supported ` +
        `(done before that: static entry ${MAC} added); left as libvirt made it (entry ${MAC} deleted)\n`,
    });
    expect(bridge.locked.get('tap0')).toBe(false);
    expect(bridge.entries.get('tap0')).toEqual([]);
  });

  it('started with lockPorts, the entry refused: the port is never locked', async () => {
    failOn('fdb replace', refused);
    expect((await hook('started', { lockPorts: true })).code).toBe(1);
    expect(bridge.calls.flat().filter((line) => line.includes('locked on'))).toEqual([]);
  });

  it.each([
    ['fail', 0],
    ['warn', 0],
  ] as const)('release, onError %s, fdb del refused on a pre-made tap: exit %i with a warning', async (onError, code) => {
    expect((await hook('started', {}, PREMADE)).code).toBe(0);
    failOn('fdb del', refused);
    expect(await hook('release', { onError }, PREMADE)).toMatchObject({
      code,
      stderr: `mactable: warning: guest1: tap0 on br0: cannot delete the entry: ${refused} (done before that: learning on, unicast flooding on)\n`,
    });
  });

  it('release leaves taps libvirt made alone (it removes them itself): it only looks for the MAC\'s entry elsewhere on the bridge', async () => {
    expect(await hook('release', {})).toMatchObject({ code: 0, stderr: '' });
    expect(bridge.calls).toEqual([[`fdb get ${MAC} br br0`]]);
  });

  it('release deletes the guest\'s entry that learning moved to another port (a migration\'s announce on the uplink)', async () => {
    bridge.entries.set('up0', [{ mac: MAC, state: 'static', flags: [] }]);
    expect(await hook('release', {})).toMatchObject({ code: 0, stdout: '', stderr: `mactable: guest1: tap0 on br0: static entry ${MAC} on up0 deleted\n` });
    expect(bridge.entries.get('up0')).toEqual([]);
  });

  it("release with libvirt's own XML, which names no tap by then: the moved entry deleted, the port named by its MAC", async () => {
    const released = liveDomain([`<interface type='bridge'><mac address='${MAC}'/><source bridge='br0'/></interface>`]);
    bridge.entries.set('up0', [{ mac: MAC, state: 'static', flags: [] }]);
    expect(await hook('release', {}, released)).toMatchObject({ code: 0, stdout: '', stderr: `mactable: guest1: ${MAC} on br0: static entry ${MAC} on up0 deleted\n` });
    expect(bridge.entries.get('up0')).toEqual([]);
  });

  it.each([
    ['started', 1],
    ['reconnect', 0],
    ['attach', 0],
    ['release', 0],
  ] as const)('%s: anything unforeseen (stderr itself failing) still ends with the operation\'s exit code %i', async (op, code) => {
    const result = await runFake(['hook', 'qemu', 'guest1', ...OPS[op], '-'], {
      stdin: op === 'release' ? PREMADE : GUEST,
      env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) },
      bridge: bridge.run,
      stderr: () => {
        throw new Error('EIO');
      },
    });
    expect(result.code).toBe(code);
  });

  it('a guest named --help is a guest: its ports are done, nothing goes to stdout', async () => {
    const result = await runFake(['hook', 'qemu', '--help', 'started', 'begin', '-'], {
      stdin: liveDomain([bridgeNic(MAC, 'br0', 'tap0')], '--help'),
      env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) },
      bridge: bridge.run,
    });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: `mactable: --help: tap0 on br0: static entry ${MAC} added, learning off, unicast flooding off\n` });
  });

  it('a paused guest (incoming migration): the port as libvirt made it (learning and flooding on, no entry), and it says so', async () => {
    const status = `${temp.path}/run/libvirt/qemu`;
    mkdirSync(status, { recursive: true });
    writeFileSync(`${status}/guest1.xml`, `<!--\nWARNING\n-->\n<domstatus state='paused' reason='migration' pid='1'>\n</domstatus>\n`);
    expect(await hook('started', {})).toMatchObject({
      code: 0,
      stderr: 'mactable: guest1: tap0 on br0: as libvirt made it while the guest is paused (migration): mactable takes it when the vCPUs run\n',
      detached: [['watch', '--until-running=guest1']],
    });
    expect(bridge.entries.get('tap0') ?? []).toEqual([]);
    expect(sys.flags('br0', 'tap0')).toEqual(ON);
  });
});

describe('the waiter for a paused guest', () => {
  it.each([
    ['the watcher runs (it holds run/mactable/watch.lock)', 'watch.lock', []],
    ['the lock file of a watcher that ended, held by nobody', null, [['watch', '--until-running=guest1']]],
    // The new waiter ends at once when it finds its guest's lock held (test/unit/watch-lock.test.ts).
    ['a waiter for this guest runs', 'waiters/guest1.lock', [['watch', '--until-running=guest1']]],
  ])('is left only when no watcher will add the entry: %s', async (_case, held, detached) => {
    const temp = new TempDir();
    let holder: LockHolder | null = null;
    try {
      const sys = new FakeSys(temp.path);
      sys.bridge('br0');
      sys.port('br0', 'tap0');
      mkdirSync(`${temp.path}/run/libvirt/qemu`, { recursive: true });
      writeFileSync(`${temp.path}/run/libvirt/qemu/guest1.xml`, "<domstatus state='paused' reason='migration'>\n</domstatus>\n");
      mkdirSync(`${temp.path}/run/mactable`, { recursive: true });
      writeFileSync(`${temp.path}/run/mactable/watch.lock`, '777\n');
      if (held !== null) holder = await LockHolder.start(`${temp.path}/run/mactable/${held}`);
      const result = await runFake(['hook', 'qemu', 'guest1', 'started', 'begin', '-'], {
        stdin: GUEST,
        env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) },
        bridge: new FakeBridge().run,
      });
      expect(result).toMatchObject({ code: 0, detached });
      expect(result.stderr).toContain('as libvirt made it while the guest is paused (migration): mactable takes it when the vCPUs run');
    } finally {
      await holder?.stop();
      temp.cleanup();
    }
  });
});

describe('one list of operations', () => {
  it('hooks/qemu lets through exactly the operations the hook acts on', () => {
    const shim = readFileSync(new URL('../../hooks/qemu', import.meta.url), 'utf8');
    const arms = /case "\$2 \$3" in\n([\s\S]*?)\n\s*\*\) exit 0/u.exec(shim)?.[1] ?? '';
    const passed = [...arms.matchAll(/^\s*("[^"]+"(?:\s*\|\s*"[^"]+")*)\)/gmu)].flatMap((match) => (match[1] as string).split('|').map((item) => item.trim().replace(/"/gu, '')));
    expect(passed?.sort()).toEqual(Object.keys(ACTIONS).sort());
  });
});
