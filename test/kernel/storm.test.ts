import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockedExclusively } from '../helpers/lock-holder.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { hookFrom, Storm, STORM_DRIVER, type StormRun } from '../helpers/storm.js';
import { SyslogListener } from '../helpers/syslog.js';
import { TempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';

// libvirtd restarted with GUESTS running guests: it runs `reconnect` for each at once, one hook process each.
const GUESTS = 200;

describe.skipIf(!kernelSuite('test/kernel/storm.test.ts'))(`a reconnect storm: ${GUESTS} guests × 2 NICs, every hook started at once, under --root`, { timeout: 180_000 }, () => {
  const temp = new TempDir();
  // A bound above the default 10 s: on a loaded machine one round over 200 guests has taken 20 s.
  const config = temp.json('cfg.json', { bridges: ['br0'], timeout: 60 });
  const { root } = temp.hostRoot();
  // Counts the Node.js processes the hook starts.
  const started = `${temp.path}/node-runs`;
  const node = temp.file('node', `#!/bin/sh\necho "$*" >> '${started}'\nexec '${process.execPath}' "$@"\n`, 0o755);
  const hook = hookFrom(temp, node);
  const nodeRuns = () => readFileSync(started, 'utf8').split('\n').filter(Boolean);
  let ns: Netns;
  let storm: Storm;
  let syslog: SyslogListener;
  let watcher: Watcher | null = null;
  let env: Record<string, string>;

  beforeAll(async () => {
    ns = await Netns.create();
    storm = await Storm.create(ns, temp, root, GUESTS);
    syslog = await SyslogListener.start(`${temp.path}/log.sock`);
    // What libvirt gives a hook, and this test's root, config and system log.
    env = { LC_ALL: 'C', PATH: '/usr/bin:/bin', HOME: '/root', MACTABLE_ROOT: root, MACTABLE_CONFIG: config, MACTABLE_SYSLOG_SOCKET: syslog.path };
  }, 120_000);
  afterAll(async () => {
    try {
      await watcher?.kill();
      await syslog?.stop();
    } finally {
      await ns?.remove();
      temp.cleanup();
    }
  });

  it('without a watcher: every port right when the last hook returns, every hook exits 0, and Node.js runs for few of them', async () => {
    await storm.reset(temp);
    expect(await storm.wrong()).toHaveLength(2 * GUESTS);
    writeFileSync(started, '');
    const run = await storm.run(temp, [hook], env);
    process.stderr.write(`storm without a watcher, ${GUESTS} × 2: ${run.ms.toFixed(0)} ms first start to last exit, ${nodeRuns().length} Node.js runs, peak ${(run.peakPssKiB / 1024).toFixed(0)} MiB PSS, MemAvailable −${(run.peakDropKiB / 1024).toFixed(0)} MiB\n`);
    expect(await storm.wrong()).toEqual([]);
    expect(run.codes).toEqual(storm.guests.map(() => 0));
    // Each port fixed once, said by the one hook that did it; the others say nothing.
    const said = run.stderr.join('').split('\n').filter(Boolean).sort();
    expect(said).toEqual(storm.ports.map(({ guest, tap, mac }) => `mactable: ${guest}: ${tap} on br0: static entry ${mac} added, learning off, unicast flooding off`).sort());
    // One reconcile-all, and a second one for marks left after its last look; never one per guest.
    expect(nodeRuns().length).toBeGreaterThanOrEqual(1);
    expect(nodeRuns().every((args) => args.endsWith('dist/mactable.mjs hook reconnect-all'))).toBe(true);
    expect(nodeRuns().length).toBeLessThanOrEqual(3);
  });

  it('a mark that cannot be left (reconnect.due is a directory): the hook does its own guest in Node.js and exits 0', async () => {
    await storm.reset(temp);
    const due = `${root}/run/mactable/reconnect.due`;
    mkdirSync(due, { recursive: true });
    try {
      writeFileSync(started, '');
      const one = { commands: [{ argv: [hook, 'storm0', 'reconnect', 'begin', '-'], stdin: `${temp.path}/storm0.live.xml` }], env };
      const run = JSON.parse(await ns.exec(process.execPath, STORM_DRIVER, temp.json('one-hook.json', one))) as StormRun;
      expect(run.codes).toEqual([0]);
      expect(nodeRuns()).toHaveLength(1);
      expect(nodeRuns()[0]).toMatch(/dist\/hook\.cjs hook qemu storm0 reconnect begin -$/u);
      expect((await storm.wrong()).filter((tap) => tap === 'st0n0' || tap === 'st0n1')).toEqual([]);
    } finally {
      rmSync(due, { recursive: true });
    }
  });

  it('with a watcher: no hook starts Node.js, every port right within 2 s of the first hook call, at most +150 MB', async () => {
    watcher = Watcher.inNetns(ns, ['--root', root, '--config', config], { MACTABLE_SYSLOG_SOCKET: syslog.path });
    expect(await eventually(async () => lockedExclusively(`${root}/run/mactable/watch.lock`) && (await storm.wrong()).length === 0, 30)).toBe(true);
    const before = watcher.usage().rssKiB;
    writeFileSync(started, '');
    await storm.reset(temp);
    const begun = Date.now();
    const hooks = storm.run(temp, [hook], env);
    expect(await eventually(async () => (await storm.wrong()).length === 0, 10)).toBe(true);
    const rightAfter = Date.now() - begun;
    const run = await hooks;
    const watcherPeak = Number(/^VmHWM:\s+(\d+)/mu.exec(readFileSync(`/proc/${watcher.pid}/status`, 'utf8'))?.[1]);
    const extraKiB = run.peakPssKiB + Math.max(0, watcherPeak - before);
    process.stderr.write(`storm beside a watcher, ${GUESTS} × 2: hooks ${run.ms.toFixed(0)} ms first start to last exit, every port right ${rightAfter} ms after the first call, +${(extraKiB / 1024).toFixed(0)} MiB (hooks' PSS ${(run.peakPssKiB / 1024).toFixed(0)} MiB, watcher's peak RSS growth ${((watcherPeak - before) / 1024).toFixed(0)} MiB)\n`);
    expect(run.codes).toEqual(storm.guests.map(() => 0));
    expect(nodeRuns()).toEqual([]);
    expect(rightAfter).toBeLessThan(2000);
    expect(extraKiB).toBeLessThan(150 * 1024);
  });
});
