import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns, portsProblems } from '../helpers/netns.js';
import { canRun, kernelSuite, missingTool } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { eventually, timeUntil } from '../helpers/wait.js';
import { Watcher } from '../helpers/watcher.js';
import { bridgeNic, statusDomain, writeStatus } from '../helpers/xml.js';

const MACS = ['52:54:00:00:07:01', '52:54:00:00:07:02', '52:54:00:00:07:03'];
const OTHER = '52:54:00:00:07:09';

describe.skipIf(!kernelSuite('test/kernel/watch.test.ts'))(
  'mactable watch, in a network namespace with status files under --root',
  () => {
    const temp = new TempDir();
    const config = temp.json('cfg.json', { bridges: ['br0'] });
    const { root, qemu, env } = temp.hostRoot();
    const metrics = `${temp.path}/mactable.prom`;
    let ns: Netns;
    let watcher: Watcher | null = null;

    const status = (name: string, taps: string[], state = 'running', reason = 'booted') =>
      writeStatus(qemu, name, taps.map((tap, i) => bridgeNic(MACS[i] as string, 'br0', tap)), state, reason);
    const entries = async (tap: string) => (await ns.staticEntries('br0')).filter((entry) => entry.ifname === tap).map((entry) => entry.mac);
    const right = async (tap: string, mac: string) => (await ns.portProblem('br0', tap, [mac])) === null;
    const start = async (...extra: string[]) => {
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', config, '--metrics-file', metrics, ...extra], env);
      expect(await timeUntil(() => right('tap0', MACS[0] as string), 5)).not.toBeNull();
      return watcher;
    };

    beforeEach(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      await ns.bridge('br1');
      for (const tap of ['tap0', 'tap1']) await ns.tap(tap, 'br0');
      await ns.tap('tap9', 'br1');
      status('guest1', ['tap0', 'tap1']);
      writeFileSync(`${qemu}/guest2.xml`, statusDomain([bridgeNic(OTHER, 'br1', 'tap9')], 'guest2'));
    });
    afterEach(async () => {
      try {
        await watcher?.kill();
      } finally {
        watcher = null;
        await ns?.remove();
      }
      rmSync(qemu, { recursive: true, force: true });
      mkdirSync(qemu, { recursive: true });
      // Each test reads only its own watcher's metrics.
      rmSync(metrics, { force: true });
    });
    afterAll(() => temp.cleanup());

    it.each([
      ['the entry deleted', ['bridge', 'fdb', 'del', MACS[1] as string, 'dev', 'tap1', 'master']],
      ['learning turned on', ['bridge', 'link', 'set', 'dev', 'tap1', 'learning', 'on']],
      ['flooding turned on', ['bridge', 'link', 'set', 'dev', 'tap1', 'flood', 'on']],
      ['the tap detached and attached again', ['sh', '-c', 'ip link set tap1 nomaster && ip link set tap1 master br0']],
    ])('%s: right again within 1 s', async (_case, command) => {
      await start();
      expect(await timeUntil(() => right('tap1', MACS[1] as string))).not.toBeNull();
      await ns.exec(...(command as [string, ...string[]]));
      expect(await timeUntil(() => right('tap1', MACS[1] as string))).not.toBeNull();
    });

    it('leaves a port of an unmanaged bridge alone', async () => {
      await start();
      await ns.exec('bridge', 'link', 'set', 'dev', 'tap9', 'learning', 'off');
      await ns.exec('bridge', 'fdb', 'del', MACS[0] as string, 'dev', 'tap0', 'master');
      expect(await timeUntil(() => right('tap0', MACS[0] as string))).not.toBeNull(); // the watcher ran
      expect(await ns.portState('tap9')).toEqual({ learning: false, flood: true });
      expect((await ns.staticEntries('br1')).map((entry) => entry.mac)).toEqual([]);
    });

    it('a NIC hot-plugged (the status file renamed over with it): right within 1 s', async () => {
      await start();
      await ns.tap('tap2', 'br0');
      status('guest1', ['tap0', 'tap1', 'tap2']);
      expect(await timeUntil(() => right('tap2', MACS[2] as string))).not.toBeNull();
    });

    it('a paused guest\'s ports are as libvirt made them within 1 s (learning and flooding on, no entry) and right again within 1 s of running; repair and reconnect change nothing meanwhile', async () => {
      await start();
      status('guest1', ['tap0', 'tap1'], 'paused', 'user');
      const asLibvirtMadeIt = async (tap: string) => (await entries(tap)).length === 0 && JSON.stringify(await ns.portState(tap)) === JSON.stringify({ learning: true, flood: true });
      expect(await timeUntil(async () => (await asLibvirtMadeIt('tap0')) && asLibvirtMadeIt('tap1'))).not.toBeNull();
      const mactable = (...argv: string[]) => runDist(argv, { netns: ns, env: { ...env, MACTABLE_CONFIG: config }, stdin: readFileSync(`${qemu}/guest1.xml`, 'utf8') });
      expect(await mactable('repair', '--all')).toEqual({ code: 0, stdout: '', stderr: '' });
      const reconnect = await mactable('hook', 'qemu', 'guest1', 'reconnect', 'begin', '-');
      expect(reconnect.stderr).toBe(
        'mactable: guest1: tap0 on br0: as libvirt made it while the guest is paused (user): mactable takes it when the vCPUs run\n' +
          'mactable: guest1: tap1 on br0: as libvirt made it while the guest is paused (user): mactable takes it when the vCPUs run\n',
      );
      expect(await asLibvirtMadeIt('tap0')).toBe(true);
      expect(await mactable('status')).toMatchObject({ code: 0 });
      status('guest1', ['tap0', 'tap1'], 'running', 'unpaused');
      expect(await timeUntil(async () => (await right('tap0', MACS[0] as string)) && right('tap1', MACS[1] as string))).not.toBeNull();
    });

    it.skipIf(!canRun('the metrics test (test/kernel/watch.test.ts)', missingTool({ promtool: 'prometheus' })))('metrics: valid exposition (promtool), drift while a NIC cannot be fixed, ok once it can', async () => {
      await start();
      status('guest1', ['tap0', 'tap1', 'tap2']); // tap2 does not exist yet
      expect(await eventually(() => readFileSync(metrics, 'utf8').includes('mactable_ports{bridge="br0",verdict="drift"} 1'), 2)).toBe(true);
      await promtool(metrics);
      await ns.tap('tap2', 'br0');
      expect(await timeUntil(() => right('tap2', MACS[2] as string), 3)).not.toBeNull();
      expect(await eventually(() => readFileSync(metrics, 'utf8').includes('mactable_ports{bridge="br0",verdict="ok"} 3'), 2)).toBe(true);
      const text = readFileSync(metrics, 'utf8');
      expect(text).toContain('mactable_ports{bridge="br1",verdict="unmanaged"} 1');
      expect(text).not.toContain('verdict="drift"');
      expect(text).toMatch(/^mactable_repair_failures_total [1-9]\d*$/mu);
      expect(text).toMatch(/^mactable_reconciles_total [1-9]\d*$/mu);
      await promtool(metrics);
    });

    it('faults: a killed monitor is restarted and logged, a removed status directory is waited for, SIGTERM ends it in 1 s with no child left', async () => {
      const w = await start();
      const [monitor] = w.children();
      expect(monitor).toBeDefined();
      process.kill(monitor as number, 'SIGKILL');
      expect(await w.waitForLine(/the kernel monitor stopped \(bridge was killed by SIGKILL\); starting it again in 0\.25 s/u)).toBe(true);
      expect(await eventually(() => w.children().length === 1 && w.children()[0] !== monitor, 2)).toBe(true);
      await ns.exec('bridge', 'fdb', 'del', MACS[0] as string, 'dev', 'tap0', 'master');
      expect(await timeUntil(() => right('tap0', MACS[0] as string))).not.toBeNull();

      rmSync(qemu, { recursive: true });
      await ns.exec('bridge', 'link', 'set', 'dev', 'tap0', 'learning', 'on');
      mkdirSync(qemu);
      status('guest1', ['tap0', 'tap1']);
      expect(await timeUntil(() => right('tap0', MACS[0] as string), 3)).not.toBeNull();

      const children = w.children();
      const stopped = await w.stop();
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(1000);
      expect(children.filter((pid) => alive(pid))).toEqual([]);
      watcher = null;
    });

    it('scale: 200 guests with 2 NICs each; a full resync within 1 s, one changed guest within 100 ms', async () => {
      const guests = Array.from({ length: 200 }, (_, g) => g);
      const tap = (g: number, n: number) => `t${g}n${n}`;
      const mac = (g: number, n: number) => `52:54:00:01:${g.toString(16).padStart(2, '0')}:0${n}`;
      await ns.exec('ip', '-batch', temp.file('taps.batch', guests.flatMap((g) => [0, 1].flatMap((n) => [`tuntap add dev ${tap(g, n)} mode tap`, `link set ${tap(g, n)} master br0`])).join('\n')));
      for (const g of guests) writeFileSync(`${qemu}/g${g}.xml`, statusDomain([0, 1].map((n) => bridgeNic(mac(g, n), 'br0', tap(g, n))), `g${g}`));
      const ports = guests.flatMap((g) => [0, 1].map((n) => ({ tap: tap(g, n), mac: mac(g, n) })));
      const allRight = async () => (await portsProblems((command, ...args) => ns.exec(command, ...args), 'br0', ports)).size === 0;
      watcher = Watcher.inNetns(ns, ['--root', root, '--config', config, '--metrics-file', metrics, '--interval', '2'], env);
      expect(await eventually(allRight, 20, 200)).toBe(true);
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'mu').exec(readFileSync(metrics, 'utf8'))?.[1]);
      // The ports are right before the first reconcile writes its metrics.
      expect(await eventually(() => existsSync(metrics) && Number.isFinite(gauge('mactable_last_reconcile_timestamp_seconds')), 5)).toBe(true);
      // A periodic resync, after the first (which parsed every status file): wait for the timestamp to move on.
      const first = gauge('mactable_last_reconcile_timestamp_seconds');
      expect(await eventually(() => gauge('mactable_last_reconcile_timestamp_seconds') > first + 1, 5)).toBe(true);
      const resync = gauge('mactable_last_resync_duration_seconds');
      expect(resync).toBeLessThanOrEqual(1);

      const latencies: number[] = [];
      const durations: number[] = [];
      for (const g of [17, 150, 199]) {
        const before = gauge('mactable_last_reconcile_timestamp_seconds');
        await ns.exec('bridge', 'fdb', 'del', mac(g, 1), 'dev', tap(g, 1), 'master');
        const latency = await timeUntil(async () => (await entries(tap(g, 1))).includes(mac(g, 1)));
        expect(latency).not.toBeNull();
        latencies.push(latency as number);
        expect(await eventually(() => gauge('mactable_last_reconcile_timestamp_seconds') > before, 2)).toBe(true);
        durations.push(gauge('mactable_last_reconcile_duration_seconds'));
      }
      process.stderr.write(`watch at 200 guests: resync ${(resync * 1000).toFixed(0)} ms; one guest: event to fixed ${latencies.join('/')} ms, reconcile ${durations.map((d) => (d * 1000).toFixed(1)).join('/')} ms\n`);
      expect(Math.max(...durations)).toBeLessThanOrEqual(0.1);
    }, 60_000);

    it('quiet when idle: 30 s, one resync included, no write of its own, CPU <= 0.2 s, RSS <= 80 MB', async () => {
      const w = await start('--interval', '25');
      await eventually(() => readFileSync(metrics, 'utf8').includes('mactable_last_resync'), 2);
      const [monitorFile, ...monitorArgs] = ns.enter('bridge', 'monitor', 'fdb', 'link');
      const monitor = execa(monitorFile, monitorArgs, { reject: false, buffer: true });
      const before = w.usage();
      const since = Date.now();
      const resynced = () => Number(/^mactable_last_reconcile_timestamp_seconds (\S+)$/mu.exec(readFileSync(metrics, 'utf8'))?.[1]) * 1000 > since;
      expect(await eventually(() => Date.now() - since >= 30_000 && resynced(), 40, 200)).toBe(true);
      const after = w.usage();
      monitor.kill();
      // The kernel reports some changes of its own (a bridge's carrier); none may concern the ports the watcher keeps.
      const events = String((await monitor).stdout).split('\n').filter((line) => /\b(tap0|tap1)\b/u.test(line));
      expect(events).toEqual([]);
      expect(after.cpuSeconds - before.cpuSeconds).toBeLessThanOrEqual(0.2);
      expect(after.rssKiB).toBeLessThanOrEqual(80 * 1024);
      process.stderr.write(`watch idle 30 s: ${(after.cpuSeconds - before.cpuSeconds).toFixed(2)} s CPU, ${Math.round(after.rssKiB / 1024)} MB RSS\n`);
    }, 60_000);
  },
);

// Running, not gone and not a zombie waiting to be reaped.
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function promtool(file: string): Promise<void> {
  const result = await execa('promtool', ['check', 'metrics'], { input: readFileSync(file, 'utf8'), reject: false });
  expect([result.exitCode, String(result.stdout), String(result.stderr)]).toEqual([0, '', '']);
}
