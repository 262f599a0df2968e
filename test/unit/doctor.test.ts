import { chmodSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/runtime/runtime.js';
import { LockHolder } from '../helpers/lock-holder.js';
import { runFake } from '../helpers/runtime.js';
import { TempDir } from '../helpers/temp.js';

const HOOK = '/etc/libvirt/hooks/qemu.d/mactable';
const PROGRAM = '/usr/local/lib/mactable/dist/hook.cjs';
const BOOT = 1_700_000_000; // seconds since the epoch
const HOOK_INSTALLED = BOOT + 100;

const NO_WATCHER = 'mactable watch does not run: hot-plugged NICs, ports changed by hand and resumed guests stay as they are until repair';

const answer = (stdout: string, exitCode = 0): CommandResult => ({ exitCode, stdout, stderr: '', failure: null, timedOut: false });

interface Row {
  check: string;
  status: string;
  detail: string;
  fix: string | null;
}

// A prepared host tree: a good host unless a test changes it.
describe('mactable doctor on prepared root trees', () => {
  let temp: TempDir;
  const file = (path: string, content = '', mode = 0o644) => {
    mkdirSync(dirname(`${temp.path}${path}`), { recursive: true });
    writeFileSync(`${temp.path}${path}`, content);
    chmodSync(`${temp.path}${path}`, mode);
  };
  const dir = (path: string) => mkdirSync(`${temp.path}${path}`, { recursive: true });
  let libvirtVersion = '9.0.0';

  beforeEach(() => {
    temp = new TempDir();
    libvirtVersion = '9.0.0';
    lockedSupported = true;
    commands.length = 0;
    file('/usr/bin/node', '', 0o755);
    file(PROGRAM);
    file(HOOK, `#!/bin/sh\n# installed by mactable install.sh\nexec '/usr/bin/node' '${PROGRAM}' hook qemu "$@"\n`, 0o755);
    utimesSync(`${temp.path}${HOOK}`, HOOK_INSTALLED, HOOK_INSTALLED);
    file('/etc/libvirt/mactable.json', '{"bridges": ["br0", "br-*"], "networks": ["hostbr"]}');
    file('/sys/class/net/br0/bridge/vlan_filtering', '1\n');
    file('/sys/class/net/br0/brif/vnet0/learning', '0\n');
    file('/sys/class/net/br0/brif/vnet0/unicast_flood', '0\n');
    file('/sys/class/net/br-lan/bridge/vlan_filtering', '0\n');
    file('/proc/sys/kernel/osrelease', '6.1.0-18-amd64\n');
    file('/run/libvirtd.pid', '4242\n');
    file('/proc/stat', `cpu  1 2 3\nbtime ${BOOT}\n`);
    // Started 200 s after boot: after the hook was installed.
    file('/proc/4242/stat', `4242 (libvirtd) S 1 4242 4242 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 18 0 ${200 * 100} 1 1\n`);
    file('/run/mactable/watch.lock', '4300\n');
  });
  afterEach(async () => {
    await holder?.stop();
    holder = null;
    temp.cleanup();
  });
  let holder: LockHolder | null = null;

  let lockedSupported = true;
  const commands: string[][] = [];
  // libvirtd answers with its version; `unshare` runs the doctor's probe script in a throwaway namespace.
  const command = (binary: string, args: string[]) => {
    commands.push([binary, ...args]);
    if (binary === 'libvirtd') return answer(`libvirtd (libvirt) ${libvirtVersion}\n`);
    if (binary === 'unshare') return answer(lockedSupported ? 'sticky\nlocked\n' : 'sticky\n');
    return answer('', 127);
  };
  const doctor = async (nodeVersion = '20.20.2') => {
    const result = await runFake(['doctor', '--json', '--root', temp.path], { bridge: () => answer('bridge utility, 6.1.0\n'), command, nodeVersion });
    expect(result.stderr).toBe('');
    const { ok, checks } = JSON.parse(result.stdout) as { ok: boolean; checks: Row[] };
    return { code: result.code, ok, checks: Object.fromEntries(checks.map((row) => [row.check, row])) as Record<string, Row> };
  };

  it('a good host: every check ok, exit 0', async () => {
    holder = await LockHolder.start(`${temp.path}/run/mactable/watch.lock`);
    const { code, ok, checks } = await doctor();
    expect(Object.values(checks).filter((row) => row.status !== 'ok')).toEqual([]);
    expect([code, ok]).toEqual([0, true]);
    expect(checks.hook?.detail).toBe(`${HOOK} runs /usr/bin/node ${PROGRAM}`);
    expect(checks['configured bridges']?.detail).toBe('br0, br-*');
  });

  it.each([
    ['the service (a process holds the lock)', async (): Promise<void> => void (holder = await LockHolder.start(`${temp.path}/run/mactable/watch.lock`)), 'ok', 'mactable watch runs (pid 4300)'],
    ['no watcher, no lock file', async (): Promise<void> => rmSync(`${temp.path}/run/mactable`, { recursive: true }), 'warn', NO_WATCHER],
    ['the lock file of a watcher that ended (nobody holds it)', async (): Promise<void> => undefined, 'warn', NO_WATCHER],
    ["only a paused guest's waiter", async (): Promise<void> => void (holder = await LockHolder.start(`${temp.path}/run/mactable/waiters/g1.lock`)), 'warn', NO_WATCHER],
  ] as const)('the watcher: %s', async (_case, arrange, status, detail) => {
    await arrange();
    expect((await doctor()).checks.watcher).toMatchObject({ status, detail });
  });

  // Debian 12 ships 18.20, Ubuntu 24.04 18.19, Debian 13 20.19.
  it.each(['18.19.0', '18.20.4', '20.19.2', '22.12.0'])('Node.js %s is ok', async (version) => {
    expect((await doctor(version)).checks['Node.js']).toEqual({ check: 'Node.js', status: 'ok', detail: version, fix: null });
  });

  it('Node.js older than 18.19 fails with the fix', async () => {
    const { code, checks } = await doctor('18.18.2');
    expect(checks['Node.js']).toEqual({
      check: 'Node.js',
      status: 'fail',
      detail: '18.18.2 is older than 18.19',
      fix: 'install Node.js 18.19 or newer (apt-get install nodejs on Debian 12 or later), then run ./install.sh again',
    });
    expect(code).toBe(1);
  });

  it('a configured bridge that does not exist is a warning; one that is not a Linux bridge fails', async () => {
    file('/etc/libvirt/mactable.json', '{"bridges": ["br9", "eth9", "ovs-*"]}');
    dir('/sys/class/net/eth9');
    const { code, checks } = await doctor();
    expect(checks['configured bridges']).toEqual({
      check: 'configured bridges',
      status: 'fail',
      detail: "bridge br9 does not exist; eth9 is not a Linux bridge; no bridge matches 'ovs-*'",
      fix: `correct "bridges" in ${temp.path}/etc/libvirt/mactable.json`,
    });
    expect(code).toBe(1);
  });

  it.each([
    ['not executable', () => chmodSync(`${temp.path}${HOOK}`, 0o644), `${HOOK} is not executable`, `chmod 755 ${HOOK}`],
    ['its program gone', () => rmSync(`${temp.path}${PROGRAM}`), `${HOOK} runs ${PROGRAM}, which is missing`, 'run ./install.sh again'],
    ['its Node.js gone', () => rmSync(`${temp.path}/usr/bin/node`), `${HOOK} runs /usr/bin/node, which is missing or not executable`, 'run ./install.sh again'],
    ['absent', () => rmSync(`${temp.path}${HOOK}`), 'no mactable hook in /etc/libvirt/hooks', 'run ./install.sh'],
  ])('a broken hook (%s) fails with the fix', async (_case, breakIt, detail, fix) => {
    breakIt();
    const { code, checks } = await doctor();
    expect(checks.hook).toEqual({ check: 'hook', status: 'fail', detail, fix });
    expect(code).toBe(1);
  });

  it('an invalid config fails with every problem', async () => {
    file('/etc/libvirt/mactable.json', '{"bridges": "br0", "colour": true}');
    const { code, checks } = await doctor();
    expect(checks.config).toEqual({
      check: 'config',
      status: 'fail',
      detail: `invalid config ${temp.path}/etc/libvirt/mactable.json: colour: unknown key (known: bridges, networks, onError, timeout, sticky, lockPorts); bridges: must be a list of names or patterns, not "br0"`,
      fix: 'correct the file: every problem is listed above',
    });
    expect(code).toBe(1);
  });

  it('a daemon older than the hook may not run it: a warning with the way to reload', async () => {
    file('/proc/4242/stat', `4242 (libvirtd) S 1 4242 4242 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 18 0 ${50 * 100} 1 1\n`);
    const { code, checks } = await doctor();
    expect(checks['daemon has the hook']?.status).toBe('warn');
    expect(checks['daemon has the hook']?.fix).toBe('systemctl reload libvirtd (or virtqemud), or kill -HUP 4242');
    expect(code).toBe(0);
  });

  it('libvirt older than 6.5 does not run qemu.d hooks', async () => {
    libvirtVersion = '6.0.0';
    const { checks } = await doctor();
    expect(checks.libvirt).toMatchObject({ status: 'fail', detail: 'libvirt 6.0.0 does not run hooks in qemu.d (6.5 and newer do)' });
  });

  it("without VLAN filtering, networks with macTableManager='libvirt' cannot start: both say so", async () => {
    rmSync(`${temp.path}/sys/class/net/br0/bridge/vlan_filtering`);
    rmSync(`${temp.path}/sys/class/net/br-lan/bridge/vlan_filtering`);
    file('/sys/class/net/br-lan/bridge/stp_state', '0\n');
    file('/sys/class/net/br0/bridge/stp_state', '0\n');
    file('/etc/libvirt/qemu/networks/mtm.xml', "<network><name>mtm</name><bridge name='virbr9' macTableManager='libvirt'/></network>");
    file('/etc/libvirt/qemu/networks/plain.xml', "<network><name>plain</name><bridge name='virbr8'/></network>");
    const { checks } = await doctor();
    expect(checks['VLAN filtering']?.status).toBe('warn');
    expect(checks["macTableManager='libvirt'"]).toMatchObject({ status: 'warn', detail: 'mtm: libvirt cannot start these without bridge VLAN filtering' });
  });

  it('tries sticky entries and locked ports in a namespace that ends with its one process, never `ip netns add`', async () => {
    const { checks } = await doctor();
    expect(checks['sticky and lockPorts']).toMatchObject({ status: 'ok', detail: 'this kernel and iproute2 support sticky entries and locked ports' });
    const probes = commands.filter(([binary]) => binary !== 'libvirtd' && binary !== 'virtqemud');
    expect(probes).toEqual([['unshare', '--net', 'sh', '-c', expect.stringContaining('bridge fdb add 02:00:00:00:00:01 dev probe-p master static sticky')]]);
    expect(probes[0]?.[4]).not.toMatch(/netns/u);
  });

  it('says why it cannot tell when the probe cannot run', async () => {
    const failing = (binary: string, args: string[]) => (binary === 'unshare' ? { ...answer(''), exitCode: 1, stderr: 'unshare: unshare failed: Operation not permitted\n' } : command(binary, args));
    const result = await runFake(['doctor', '--json', '--root', temp.path], { bridge: () => answer('bridge utility, 6.1.0\n'), command: failing, nodeVersion: '20.20.2' });
    const row = (JSON.parse(result.stdout) as { checks: Row[] }).checks.find(({ check }) => check === 'sticky and lockPorts');
    expect(row).toMatchObject({ status: 'warn', detail: 'cannot tell: a test namespace could not be made (unshare: unshare failed: Operation not permitted)' });
  });

  it('fails when the config asks for what the kernel cannot do, and only then', async () => {
    lockedSupported = false;
    expect((await doctor()).checks['sticky and lockPorts']).toMatchObject({ status: 'ok', detail: 'this kernel or iproute2 lacks locked bridge ports (not asked for)' });
    file('/etc/libvirt/mactable.json', '{"lockPorts": true}');
    const { code, checks } = await doctor();
    expect(checks['sticky and lockPorts']).toMatchObject({ status: 'fail', detail: 'this kernel or iproute2 lacks locked bridge ports' });
    expect(code).toBe(1);
  });

  it("a configured bridge whose uplink stays promiscuous: a row per reason, each with its fix", async () => {
    file('/sys/class/net/br0/bridge/vlan_filtering', '0\n');
    for (const port of ['eth0', 'veth1']) {
      file(`/sys/class/net/br0/brif/${port}/learning`, '1\n');
      file(`/sys/class/net/br0/brif/${port}/unicast_flood`, '1\n');
    }
    const json = await runFake(['doctor', '--json', '--root', temp.path], { bridge: () => answer('bridge utility, 6.1.0\n'), command, nodeVersion: '20.20.2' });
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { checks: Row[] }).checks.filter((row) => row.check === 'uplink of br0')).toEqual([
      { check: 'uplink of br0', status: 'warn', detail: 'promiscuous: VLAN filtering is off', fix: 'give the ports their VLANs, then ip link set br0 type bridge vlan_filtering 1' },
      { check: 'uplink of br0', status: 'warn', detail: 'promiscuous: more than one auto port: eth0, veth1', fix: 'bridge link set dev PORT learning off flood off for each of eth0, veth1 but the uplink, or let mactable manage it' },
    ]);
    const result = await runFake(['doctor', '--root', temp.path], { bridge: () => answer('bridge utility, 6.1.0\n'), command, nodeVersion: '20.20.2' });
    expect(result.stdout).toContain('uplink of br0              warn    promiscuous: more than one auto port: eth0, veth1\n');
    expect(result.stdout).toContain('  uplink of br0: bridge link set dev PORT learning off flood off for each of eth0, veth1 but the uplink, or let mactable manage it\n');
  });

  it('prints a table and the fixes for a person', async () => {
    rmSync(`${temp.path}${HOOK}`);
    const result = await runFake(['doctor', '--root', temp.path], { bridge: () => answer('bridge utility, 6.1.0\n'), command, nodeVersion: '20.20.2' });
    expect(result.stdout).toContain('hook                       fail    no mactable hook in /etc/libvirt/hooks\n');
    expect(result.stdout).toContain('\n\nto fix:\n  hook: run ./install.sh\n');
  });
});
