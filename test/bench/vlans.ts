// The benchmark's VLAN row: `started` for a guest with 64 NICs whose taps have 4 VLANs each (1 untagged, 10, 20,
// 30) on a VLAN-filtering bridge, against the same guest on a bridge without VLANs, alternating in one kernel that
// filters VLANs: this machine's, or Debian's user-mode-linux (test/helpers/uml.ts) where this one cannot.
// `vlans.ts --here HOOK OUT [--quick]` is the measurement itself (HOOK: the installed hook; install.sh builds, which
// the user-mode kernel's read-only tree cannot), writing its results as JSON to OUT.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Result, Spec } from './bench.js';
import { asLibvirtLeavesIt, Netns } from '../helpers/netns.js';
import { TempDir } from '../helpers/temp.js';
import { inUml, umlMissing } from '../helpers/uml.js';
import { vlanFilteringHere } from '../helpers/vlan-kernel.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

const NICS = 64;
const BENCH = new URL('bench.ts', import.meta.url).pathname;
const mac = (bridge: number, i: number) => `52:54:00:b${bridge}:00:${i.toString(16).padStart(2, '0')}`;

// The pair measured in a network namespace of its own; the results as bench.ts's --measure gives them.
async function measureHere(quick: boolean, hook: string): Promise<Result[]> {
  const temp = new TempDir();
  const ns = await Netns.create();
  try {
    const { root, env } = temp.hostRoot();
    // br0 filters VLANs, br1 does not; each has the guest's 64 taps.
    await ns.bridge('br0', 'vlan_filtering', '1');
    await ns.bridge('br1');
    const guests = [0, 1].map((bridge) => {
      const ports = Array.from({ length: NICS }, (_, i) => ({ tap: `t${bridge}x${i}`, mac: mac(bridge, i) }));
      return { ports, xml: liveDomain(ports.map(({ tap, mac: m }) => bridgeNic(m, `br${bridge}`, tap)), `bench${bridge}`) };
    });
    // Two batches, not a command per tap: every process start costs several times more in the user-mode kernel.
    await ns.exec('ip', '-batch', temp.file('taps', guests.flatMap(({ ports }, bridge) => ports.flatMap(({ tap }) => [`tuntap add dev ${tap} mode tap`, `link set ${tap} master br${bridge}`])).join('\n')));
    await ns.exec('bridge', '-batch', temp.file('vlans', (guests[0]?.ports ?? []).flatMap(({ tap }) => [10, 20, 30].map((vid) => `vlan add dev ${tap} vid ${vid}`)).join('\n')));
    const started = (bridge: number) => ({
      commands: [{ argv: [hook, `bench${bridge}`, 'started', 'begin', '-'], stdin: guests[bridge]?.xml }],
      reset: asLibvirtLeavesIt(guests[bridge]?.ports ?? []),
    });
    const spec: Spec = {
      rounds: quick ? 3 : 15,
      warmup: 1,
      env: { LC_ALL: 'C', PATH: '/usr/bin:/bin', HOME: '/root', ...env, MACTABLE_ROOT: root, MACTABLE_CONFIG: temp.json('mactable.json', { bridges: ['br*'] }) },
      pairs: { vlans64: { mactable: started(0), baseline: started(1) } },
      cases: [{ name: `started, ${NICS} NICs × 4 VLANs`, a: `installed hooks/qemu, ${NICS} taps with VLANs 1, 10, 20, 30 on a VLAN-filtering bridge`, b: `the same call, ${NICS} taps on a bridge without VLANs`, target: null, measure: 'wall', pair: 'vlans64' }],
    };
    // Measured from inside the namespace, as bench.ts does.
    const [enter, ...args] = ns.enter(process.execPath, ...process.execArgv, BENCH, '--measure', temp.json('spec.json', spec), `${temp.path}/time.out`);
    const inside = spawnSync(enter, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (inside.status !== 0) throw new Error('the measurement failed');
    return JSON.parse(inside.stdout) as Result[];
  } finally {
    await ns.remove();
    temp.cleanup();
  }
}

// The row for bench.ts, measured here or inside the user-mode kernel (with `dir`, bench.ts's scratch directory
// holding the installed `hook`, shared with it), and which kernel it was.
export async function vlanResults(quick: boolean, hook: string, dir: string): Promise<{ kernel: string; results: Result[] } | { missing: string }> {
  if (vlanFilteringHere()) return { kernel: 'this machine', results: await measureHere(quick, hook) };
  const missing = umlMissing();
  if (missing !== null) return { missing };
  const out = `${dir}/vlans.json`;
  const run = await inUml([process.execPath, ...process.execArgv, new URL(import.meta.url).pathname, '--here', hook, out, ...(quick ? ['--quick'] : [])], { dir, cwd: process.cwd(), seconds: 1200 });
  if (run.code !== 0) throw new Error(`the VLAN benchmark failed in user-mode-linux: ${run.output.trim().split('\n').slice(-20).join('\n')}`);
  return { kernel: `user-mode-linux ${run.release}`, results: JSON.parse(readFileSync(out, 'utf8')) as Result[] };
}

const args = process.argv.slice(2);
if (args[0] === '--here') writeFileSync(args[2] as string, JSON.stringify(await measureHere(args.includes('--quick'), args[1] as string)));
