import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';

// The mount points of a mount namespace, as /proc/PID/mountinfo lists them.
const mountPoints = (mountinfo: string) => mountinfo.split('\n').map((line) => line.split(' ')[4]).filter(Boolean);

describe.skipIf(!kernelSuite('test/kernel/doctor.test.ts'))("doctor's sticky and lockPorts probe, run for real", () => {
  const temp = new TempDir();
  const { root, env } = temp.hostRoot();
  let ns: Netns;

  beforeAll(async () => {
    mkdirSync(`${temp.path}/bin`);
    ns = await Netns.create();
  });
  afterAll(async () => {
    try {
      await ns?.remove();
    } finally {
      temp.cleanup();
    }
  });

  // Run in the test's mount namespace (private), so a mount the probe made would show there and only there.
  it('answers, and leaves no mount and no process behind', async () => {
    const before = await ns.exec('cat', '/proc/self/mountinfo');
    // `ip` in front of the real one on PATH, writing down every call.
    const log = `${temp.path}/ip-calls`;
    temp.file('bin/ip', `#!/bin/sh\necho "$*" >> ${log}\nexec /usr/bin/env PATH=${process.env.PATH} ip "$@"\n`, 0o755);
    const path = { PATH: `${temp.path}/bin:${process.env.PATH}` };
    const result = await runDist(['doctor', '--json', '--root', root, '--config', temp.json('cfg.json', { sticky: true })], { netns: ns, env: { ...env, ...path } });
    const row = (JSON.parse(result.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks.find(({ check }) => check === 'sticky and lockPorts');
    expect(row?.detail).toMatch(/^this kernel (and iproute2 support sticky entries and locked ports|or iproute2 lacks locked bridge ports \(not asked for\))$/u);
    expect(mountPoints(await ns.exec('cat', '/proc/self/mountinfo'))).toEqual(mountPoints(before));
    expect(ns.processes()).toEqual([]);
    const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(calls).toContain('link add name probe-br type bridge');
    expect(calls.filter((call) => /\bnetns\b/u.test(call))).toEqual([]);
  });
});
