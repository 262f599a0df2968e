import type { ConfigResult } from '../config/config.js';
import { parseNetworkDef } from '../domain/network.js';
import type { HostFs } from '../runtime/fs.js';
import { HOOK_PATHS, HOOKS, MARKER, MIN_NODE } from './install-layout.js';
import { watcherPid, watcherRuns } from '../host/watchers.js';
import { readBridgeMode } from '../host/bridge-mode.js';
import { uplinkVerdict } from '../plan/uplink.js';
import { brportAttr, bridgeDir, DEFAULT_CONFIG, NETWORK_CONFIG, RUN_NETWORK, SYS_NET } from '../model/paths.js';
import type { Result } from '../model/result.js';
import type { BridgeRunner, Runtime } from '../runtime/runtime.js';

type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
  fix: string | null;
}

interface DoctorContext {
  rt: Runtime;
  host: HostFs;
  config: ConfigResult;
  bridge: BridgeRunner;
}

const DAEMON_PIDS = ['/run/libvirtd.pid', '/run/virtqemud.pid', '/run/libvirt/virtqemud.pid'];

const ok = (check: string, detail: string): Check => ({ check, status: 'ok', detail, fix: null });
const warn = (check: string, detail: string, fix: string | null): Check => ({ check, status: 'warn', detail, fix });
const fail = (check: string, detail: string, fix: string): Check => ({ check, status: 'fail', detail, fix });

// Dotted versions compared as numbers: is `version` at least `minimum`?
function atLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

// The Linux bridges of the host, and their ports.
function bridges(host: HostFs): { name: string; ports: string[] }[] {
  return (host.list(SYS_NET) ?? [])
    .filter((name) => host.exists(bridgeDir(name)))
    .sort()
    .map((name) => ({ name, ports: host.list(`${SYS_NET}/${name}/brif`) ?? [] }));
}

function nodeCheck({ rt }: DoctorContext): Check {
  return atLeast(rt.nodeVersion, MIN_NODE)
    ? ok('Node.js', `${rt.nodeVersion}`)
    : fail('Node.js', `${rt.nodeVersion} is older than ${MIN_NODE}`, `install Node.js ${MIN_NODE} or newer (apt-get install nodejs on Debian 12 or later), then run ./install.sh again`);
}

async function bridgeCommandCheck({ bridge }: DoctorContext): Promise<Check> {
  const result = await bridge(['-V'], '');
  if (result.exitCode === 0) return ok('bridge command', result.stdout.trim());
  return fail('bridge command', result.failure ?? (result.stderr.trim() || `exit ${result.exitCode}`), 'apt-get install iproute2');
}

function portControlsCheck({ host }: DoctorContext): Check {
  const ports = bridges(host).flatMap(({ name, ports: names }) => names.map((tap) => ({ bridge: name, tap })));
  const port = ports[0];
  if (port !== undefined) {
    const present = host.exists(brportAttr(port.bridge, port.tap, 'learning')) && host.exists(brportAttr(port.bridge, port.tap, 'unicast_flood'));
    return present
      ? ok('port controls', 'bridge ports have learning and unicast_flood')
      : fail('port controls', `${port.tap} on ${port.bridge} has no learning or unicast_flood control`, 'mactable needs Linux 3.15 or newer');
  }
  const release = host.readText('/proc/sys/kernel/osrelease')?.trim() ?? 'unknown';
  return atLeast(release.split('-')[0] ?? '0', '3.15')
    ? ok('port controls', `no bridge port to look at; Linux ${release} has them (since 3.15)`)
    : fail('port controls', `Linux ${release} predates the bridge port learning and unicast_flood controls`, 'mactable needs Linux 3.15 or newer');
}

function vlanFilteringCheck({ host }: DoctorContext): Check {
  const all = bridges(host);
  if (all.length === 0) return warn('VLAN filtering', 'cannot tell: no Linux bridge to look at', null);
  if (all.some(({ name }) => host.exists(`${bridgeDir(name)}/vlan_filtering`))) return ok('VLAN filtering', 'available');
  // The uplink checks and the macTableManager check say what follows from it.
  return warn('VLAN filtering', "not in this kernel: no bridge can keep its uplink out of promiscuous mode, and libvirt cannot start networks with macTableManager='libvirt' or put <vlan> tags on host bridges here", 'a kernel built with CONFIG_BRIDGE_VLAN_FILTERING (Debian\'s and Ubuntu\'s are)');
}

// Each configured bridge's uplink: out of promiscuous mode, or a row per reason it is not, each with its fix.
function uplinkChecks({ host, config }: DoctorContext): Check[] {
  if (!('config' in config)) return [];
  const patterns = config.config.bridges;
  const names = bridges(host).map(({ name }) => name).filter((name) => patterns.some(({ regex }) => regex.test(name)));
  const verdicts = names.map((name) => readBridgeMode(host, name)).filter((mode) => mode !== null).map(uplinkVerdict);
  if (verdicts.length === 0) return [ok('uplinks', 'no configured bridge to look at')];
  const rows = verdicts.flatMap(({ bridge, why }) => why.map(({ says, fix }) => warn(`uplink of ${bridge}`, `promiscuous: ${says}`, fix)));
  return rows.length > 0 ? rows : [ok('uplinks', `${names.join(', ')}: the kernel keeps their uplinks out of promiscuous mode`)];
}

function hooksDirCheck({ host }: DoctorContext): Check {
  return host.exists(HOOKS)
    ? ok('hooks directory', HOOKS)
    : fail('hooks directory', `${HOOKS} is missing`, 'install libvirt (apt-get install libvirt-daemon-system)');
}

// The installed hook: the file, and the Node.js and program it runs.
function installedHook(host: HostFs): { path: string; text: string } | null {
  for (const path of HOOK_PATHS) {
    const text = host.readText(path);
    if (text?.includes(MARKER)) return { path, text };
  }
  return null;
}

function hookCheck({ host }: DoctorContext): Check {
  const hook = installedHook(host);
  if (hook === null) return fail('hook', `no mactable hook in ${HOOKS}`, 'run ./install.sh');
  if (((host.stat(hook.path)?.mode ?? 0) & 0o111) === 0) return fail('hook', `${hook.path} is not executable`, `chmod 755 ${hook.path}`);
  const exec = /^exec '([^']+)' '([^']+)' hook qemu/mu.exec(hook.text);
  if (!exec) return fail('hook', `${hook.path} does not run mactable`, 'run ./install.sh again');
  const node = exec[1] as string;
  const program = exec[2] as string;
  if (((host.stat(node)?.mode ?? 0) & 0o111) === 0) return fail('hook', `${hook.path} runs ${node}, which is missing or not executable`, 'run ./install.sh again');
  if (!host.exists(program)) return fail('hook', `${hook.path} runs ${program}, which is missing`, 'run ./install.sh again');
  return ok('hook', `${hook.path} runs ${node} ${program}`);
}

async function libvirtVersion(rt: Runtime): Promise<string | null> {
  for (const daemon of ['libvirtd', 'virtqemud']) {
    const result = await rt.command(daemon, ['--version']);
    const version = result.exitCode === 0 ? /(\d+\.\d+\.\d+)\s*$/u.exec(result.stdout.trim())?.[1] : undefined;
    if (version) return version;
  }
  return null;
}

async function libvirtCheck({ rt, host }: DoctorContext): Promise<Check> {
  const version = await libvirtVersion(rt);
  if (version === null) return warn('libvirt', 'cannot tell the version: neither libvirtd --version nor virtqemud --version answers', null);
  const hook = installedHook(host);
  if (hook?.path.includes('/qemu.d/') && !atLeast(version, '6.5.0')) {
    return fail('libvirt', `libvirt ${version} does not run hooks in qemu.d (6.5 and newer do)`, 'run ./install.sh again: it installs hooks/qemu for older libvirt');
  }
  return ok('libvirt', version);
}

// The daemon's start time, from its pid file and /proc (seconds since the epoch).
function daemonStart(host: HostFs): { pid: string; started: number } | null {
  for (const pidFile of DAEMON_PIDS) {
    const pid = host.readText(pidFile)?.trim();
    if (!pid || !/^\d+$/u.test(pid)) continue;
    const stat = host.readText(`/proc/${pid}/stat`);
    const bootTime = /^btime (\d+)$/mu.exec(host.readText('/proc/stat') ?? '')?.[1];
    // Field 22 is the start time in clock ticks since boot (USER_HZ is 100 on Linux); the name in field 2 may hold spaces.
    const ticks = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    if (bootTime && ticks) return { pid, started: Number(bootTime) + Number(ticks) / 100 };
  }
  return null;
}

function reloadCheck({ host }: DoctorContext): Check {
  const hook = installedHook(host);
  const installed = hook ? host.stat(hook.path)?.mtimeMs : undefined;
  if (!hook || installed === undefined) return ok('daemon has the hook', 'no hook to compare with');
  const daemon = daemonStart(host);
  if (daemon === null) return warn('daemon has the hook', 'cannot tell: no running libvirtd or virtqemud found', null);
  if (daemon.started * 1000 >= installed) return ok('daemon has the hook', `the daemon (pid ${daemon.pid}) started after the hook was installed`);
  return warn(
    'daemon has the hook',
    `the daemon (pid ${daemon.pid}) started before the hook was installed; it runs the hook only if it was reloaded since, which cannot be seen from outside`,
    `systemctl reload libvirtd (or virtqemud), or kill -HUP ${daemon.pid}`,
  );
}

function configCheck({ config }: DoctorContext): Check {
  if (!('config' in config)) return fail('config', config.failure, 'correct the file: every problem is listed above');
  const { source, found, bridges: b, networks, onError } = config.config;
  if (!found) {
    return warn('config', `no ${source}: only networks with macTableManager='libvirt' are managed`, `write ${DEFAULT_CONFIG} (install.sh puts an example there)`);
  }
  return ok('config', `${source}: ${b.length} bridge and ${networks.length} network entries, onError ${onError}`);
}

const GLOB = /[*?[\\]/u;

function configuredBridgesCheck({ host, config }: DoctorContext): Check {
  if (!('config' in config) || config.config.bridges.length === 0) return ok('configured bridges', 'none listed');
  const existing = bridges(host).map(({ name }) => name);
  const problems: string[] = [];
  let broken = false;
  for (const { pattern, regex } of config.config.bridges) {
    if (GLOB.test(pattern)) {
      if (!existing.some((name) => regex.test(name))) problems.push(`no bridge matches '${pattern}'`);
    } else if (!host.exists(`${SYS_NET}/${pattern}`)) problems.push(`bridge ${pattern} does not exist`);
    else if (!existing.includes(pattern)) {
      broken = true;
      problems.push(`${pattern} is not a Linux bridge`);
    }
  }
  if (problems.length === 0) return ok('configured bridges', config.config.bridges.map(({ pattern }) => pattern).join(', '));
  const fix = `correct "bridges" in ${config.config.source}`;
  return broken ? fail('configured bridges', problems.join('; '), fix) : warn('configured bridges', problems.join('; '), fix);
}

// libvirt networks (defined or running) with <bridge macTableManager='libvirt'/>.
function libvirtManagedNetworks(host: HostFs): string[] {
  const names = new Set<string>();
  for (const dir of [NETWORK_CONFIG, RUN_NETWORK]) {
    for (const file of (host.list(dir) ?? []).filter((name) => name.endsWith('.xml'))) {
      try {
        const text = host.readText(`${dir}/${file}`);
        if (text !== null && parseNetworkDef(text, file).macTableManager === 'libvirt') names.add(file.slice(0, -4));
      } catch {
        // A file that is not a network definition says nothing about macTableManager.
      }
    }
  }
  return [...names].sort();
}

function libvirtManagedCheck(context: DoctorContext): Check {
  const networks = libvirtManagedNetworks(context.host);
  if (networks.length === 0) return ok("macTableManager='libvirt'", 'no libvirt network uses it');
  const list = networks.join(', ');
  if (vlanFilteringCheck(context).status === 'ok') {
    return ok("macTableManager='libvirt'", `${list}: libvirt manages their ports itself, mactable re-applies the same`);
  }
  return warn(
    "macTableManager='libvirt'",
    `${list}: libvirt cannot start these without bridge VLAN filtering`,
    `list them under "networks" in mactable.json and drop macTableManager='libvirt' from them`,
  );
}

// The probe: a bridge with a veth port, then a sticky entry and a locked port tried on it. It runs in a network
// namespace of its own made by `unshare --net`, which ends with the script: nothing of the host's is touched and
// nothing is left (`ip netns add` would bind-mount /run/netns over itself for good).
const PROBE = [
  'set -e',
  'ip link add name probe-br type bridge',
  'ip link add name probe-p type veth peer name probe-q',
  'ip link set dev probe-p master probe-br',
  'bridge fdb add 02:00:00:00:00:01 dev probe-p master static sticky 2> /dev/null && echo sticky || true',
  'bridge link set dev probe-p locked on 2> /dev/null && echo locked || true',
].join('\n');

// Sticky entries and locked ports: what the probe printed, or why it could not run.
async function probeSupport(rt: Runtime): Promise<Result<{ sticky: boolean; locked: boolean }>> {
  const result = await rt.command('unshare', ['--net', 'sh', '-c', PROBE]);
  if (result.exitCode !== 0) return { failure: result.failure ?? (result.stderr.trim() || `exit ${result.exitCode}`) };
  const said = result.stdout.split('\n');
  return { failure: null, sticky: said.includes('sticky'), locked: said.includes('locked') };
}

async function beyondLibvirtCheck({ rt, config }: DoctorContext): Promise<Check> {
  const name = 'sticky and lockPorts';
  const support = await probeSupport(rt);
  if (support.failure !== null) return warn(name, `cannot tell: a test namespace could not be made (${support.failure})`, null);
  const wanted = 'config' in config ? config.config : { sticky: false, lockPorts: false };
  const missing = [...(support.sticky ? [] : ['sticky FDB entries']), ...(support.locked ? [] : ['locked bridge ports'])];
  if (missing.length === 0) return ok(name, 'this kernel and iproute2 support sticky entries and locked ports');
  const needed = (!support.sticky && wanted.sticky) || (!support.locked && wanted.lockPorts);
  const detail = `this kernel or iproute2 lacks ${missing.join(' and ')}`;
  return needed ? fail(name, detail, 'turn the option off in mactable.json, or upgrade the kernel and iproute2') : ok(name, `${detail} (not asked for)`);
}

// The watcher holds WATCH_LOCK while it runs (the hook finds it the same way); its pid is in the file.
async function watcherCheck({ rt, host }: DoctorContext): Promise<Check> {
  if (await watcherRuns(rt, host)) return ok('watcher', `mactable watch runs (pid ${watcherPid(host) ?? 'unknown'})`);
  return warn(
    'watcher',
    'mactable watch does not run: hot-plugged NICs, ports changed by hand and resumed guests stay as they are until repair',
    'systemctl enable --now mactable (or start `mactable watch` with your init system)',
  );
}

export const CHECKS = [
  nodeCheck,
  bridgeCommandCheck,
  portControlsCheck,
  vlanFilteringCheck,
  uplinkChecks,
  hooksDirCheck,
  hookCheck,
  libvirtCheck,
  reloadCheck,
  watcherCheck,
  configCheck,
  configuredBridgesCheck,
  libvirtManagedCheck,
  beyondLibvirtCheck,
];
