import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DIST, NODE, runDist } from '../helpers/dist.js';
import { lockedExclusively } from '../helpers/lock-holder.js';
import { TempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { statusDomain } from '../helpers/xml.js';

// The watcher and the waiter found by their locks under --root, with no kernel: the `bridge` they run is a
// stand-in whose monitor only waits, and no guest has a NIC.
describe('the locks that make a watcher and a waiter visible', { timeout: 20_000 }, () => {
  const temp = new TempDir();
  const { root, qemu } = temp.hostRoot();
  const config = temp.json('cfg.json', { bridges: [] });
  const bridge = temp.file('bridge', '#!/bin/sh\n[ "$1" = monitor ] && exec sleep 600\nexit 0\n', 0o755);
  const lock = `${root}/run/mactable/watch.lock`;
  const env = { MACTABLE_BRIDGE: bridge };
  const watchers: Watcher[] = [];
  const start = (...args: string[]) => {
    const watcher = Watcher.start(['env', `MACTABLE_BRIDGE=${bridge}`, NODE, DIST, 'watch', '--root', root, '--config', config, ...args]);
    watchers.push(watcher);
    return watcher;
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  writeFileSync(`${qemu}/g1.xml`, statusDomain([], 'g1').replace("state='running' reason='booted'", "state='paused' reason='user'"));

  afterEach(async () => {
    for (const watcher of watchers.splice(0)) await watcher.kill();
  });
  afterAll(() => temp.cleanup());

  it('a running watcher holds ROOT/run/mactable/watch.lock, with its pid in it; doctor names it', async () => {
    const watcher = start();
    expect(await eventually(() => lockedExclusively(lock), 5)).toBe(true);
    expect(readFileSync(lock, 'utf8')).toBe(`${watcher.pid}\n`);
    const doctor = await runDist(['doctor', '--json', '--root', root, '--config', config], { env });
    expect(JSON.parse(doctor.stdout).checks.find((row: { check: string }) => row.check === 'watcher')).toMatchObject({ status: 'ok', detail: `mactable watch runs (pid ${watcher.pid})` });
  });

  it('a SIGKILLed watcher holds nothing: the kernel drops the lock, the file left behind is no watcher', async () => {
    const watcher = start();
    expect(await eventually(() => lockedExclusively(lock) && watcher.children().length > 0, 5)).toBe(true);
    const monitor = watcher.children();
    process.kill(watcher.pid, 'SIGKILL');
    for (const pid of monitor) process.kill(pid, 'SIGKILL'); // its `bridge monitor` is not ours to leave behind
    expect(await eventually(() => !lockedExclusively(lock), 5)).toBe(true);
    expect(readFileSync(lock, 'utf8')).toBe(`${watcher.pid}\n`);
    const doctor = await runDist(['doctor', '--json', '--root', root, '--config', config], { env });
    expect(JSON.parse(doctor.stdout).checks.find((row: { check: string }) => row.check === 'watcher')).toMatchObject({ status: 'warn' });
  });

  it('a second watcher for the same root refuses, naming the lock file; the first keeps it', async () => {
    const first = start();
    expect(await eventually(() => lockedExclusively(lock), 5)).toBe(true);
    const second = await runDist(['watch', '--root', root, '--config', config], { env });
    expect(second).toEqual({ code: 1, stdout: '', stderr: `mactable: another mactable watch runs for this host: it holds the lock on ${lock}\n` });
    expect(alive(first.pid) && lockedExclusively(lock)).toBe(true);
  });

  it('a waiter holds its guest\'s lock: a second waiter for that guest ends at once, and one beside a watcher too', async () => {
    const waiter = start('--until-running=g1');
    const waiterLock = `${root}/run/mactable/waiters/g1.lock`;
    expect(await eventually(() => lockedExclusively(waiterLock), 5)).toBe(true);
    expect(lockedExclusively(lock)).toBe(false);
    expect(await runDist(['watch', '--root', root, '--config', config, '--until-running=g1'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(alive(waiter.pid)).toBe(true);
    await waiter.kill();
    start();
    expect(await eventually(() => lockedExclusively(lock), 5)).toBe(true);
    expect(await runDist(['watch', '--root', root, '--config', config, '--until-running=g1'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
