import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeBridge } from '../helpers/fake-bridge.js';
import { FakeSys } from '../helpers/fake-sys.js';
import { LockHolder } from '../helpers/lock-holder.js';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';

const MACS = ['52:54:00:00:0e:01', '52:54:00:00:0e:02', '52:54:00:00:0e:03'];

// `mactable hook reconnect-all`, the one process of a daemon restart's reconnect storm (hooks/qemu runs it holding
// reconnect.lock): a round per mark taken, every running guest in each, never a failure.
describe('hook reconnect-all: every running guest, once per reconnect mark', () => {
  let temp: TempDir;
  let sys: FakeSys;
  let bridge = new FakeBridge();
  let holder: LockHolder | null = null;
  const due = () => `${temp.path}/run/mactable/reconnect.due`;
  const mark = () => {
    mkdirSync(`${temp.path}/run/mactable`, { recursive: true });
    writeFileSync(due(), '');
  };
  const status = (guest: string, tap: string, mac: string, state = "state='running' reason='booted'") =>
    writeFileSync(`${temp.path}/run/libvirt/qemu/${guest}.xml`, statusDomain([bridgeNic(mac, 'br0', tap)], guest).replace("state='running' reason='booted'", state));
  const reconnectAll = () => runFake(['hook', 'reconnect-all'], { env: { MACTABLE_ROOT: temp.path, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }) }, bridge: bridge.run });

  beforeEach(() => {
    temp = new TempDir();
    sys = new FakeSys(temp.path);
    sys.bridge('br0');
    bridge = new FakeBridge();
    mkdirSync(`${temp.path}/run/libvirt/qemu`, { recursive: true });
    for (const [i, tap] of ['tap0', 'tap1', 'tap2'].entries()) {
      sys.port('br0', tap);
      status(`g${i}`, tap, MACS[i] as string);
    }
  });
  afterEach(async () => {
    await holder?.stop();
    holder = null;
    temp.cleanup();
  });

  it('with a mark: takes it, fixes every running guest, says what it changed, exit 0', async () => {
    mark();
    const run = await reconnectAll();
    expect(run.code).toBe(0);
    expect(existsSync(due())).toBe(false);
    for (const tap of ['tap0', 'tap1', 'tap2']) expect(sys.flags('br0', tap)).toEqual({ learning: 'off', flood: 'off' });
    expect([...bridge.entries.keys()].sort()).toEqual(['tap0', 'tap1', 'tap2']);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual(
      ['tap0', 'tap1', 'tap2'].map((tap, i) => `mactable: g${i}: ${tap} on br0: static entry ${MACS[i]} added, learning off, unicast flooding off`),
    );
    expect(run.syslog.map(({ text }) => text)).toHaveLength(3);
  });

  it('without a mark (another round took it after this hook left its own): nothing to do', async () => {
    const run = await reconnectAll();
    expect(run).toMatchObject({ code: 0, stderr: '', bridgeCalls: [] });
    expect(sys.flags('br0', 'tap0')).toEqual({ learning: 'on', flood: 'on' });
  });

  it('a guest whose status file cannot be used, or whose tap is gone, is said; the others are fixed; exit 0', async () => {
    writeFileSync(`${temp.path}/run/libvirt/qemu/g1.xml`, '<domstatus');
    sys.removeTap('br0', 'tap2');
    mark();
    const run = await reconnectAll();
    expect(run.code).toBe(0);
    expect(sys.flags('br0', 'tap0')).toEqual({ learning: 'off', flood: 'off' });
    expect(run.stderr).toMatch(/^mactable: warning: \/run\/libvirt\/qemu\/g1.xml: not well-formed XML/mu);
    expect(run.stderr).toMatch(/^mactable: warning: g2: tap2 on br0: tap tap2 does not exist$/mu);
  });

  it('a paused guest keeps its port as libvirt made it and gets a waiter; none beside a running watcher', async () => {
    status('g0', 'tap0', MACS[0] as string, "state='paused' reason='user'");
    mark();
    expect((await reconnectAll()).detached).toEqual([['watch', '--until-running=g0']]);
    expect(sys.flags('br0', 'tap0')).toEqual({ learning: 'on', flood: 'on' });
    expect(bridge.entries.get('tap0') ?? []).toEqual([]);
    holder = await LockHolder.start(`${temp.path}/run/mactable/watch.lock`);
    mark();
    expect((await reconnectAll()).detached).toEqual([]);
  });
});
