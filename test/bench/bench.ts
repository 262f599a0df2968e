// npm run bench [-- --quick] [-- --json]
// The installed hook and CLI timed side by side with their baselines (A B A B ...), in a network
// namespace with a bridge and 64 taps. Wall time and peak RSS per whole process, from the OS.
// A benchmark, not a test: it reports ratios of medians against targets and always exits 0 when it ran.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Netns } from '../helpers/netns.js';
import { installSh } from '../helpers/installed.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

interface Command {
  argv: string[];
  stdin?: string;
  reset?: boolean; // put the ports back as libvirt leaves them before the run (learning and flooding on, no entries)
}

interface Case {
  name: string;
  a: string; // what mactable runs
  b: string; // the baseline
  target: number | null; // null: shown for reference, no target
  measure: 'wall' | 'rss';
  mactable: Command;
  baseline: Command;
}

interface Sample {
  ms: number;
  kib: number;
}

interface Spec {
  cases: Case[];
  pairs: number;
  warmup: number;
  env: Record<string, string>;
  bridge: string;
  resetBatch: string;
}

const TIME = '/usr/bin/time';

// One run of a whole process: wall clock around it, peak RSS as wait4 reports it through GNU time.
function runOnce(command: Command, spec: Spec, scratch: string): Sample {
  if (command.reset) spawnSync('bridge', ['-force', '-batch', '-'], { input: spec.resetBatch, stdio: ['pipe', 'ignore', 'ignore'] });
  const [file, ...args] = command.argv as [string, ...string[]];
  const start = process.hrtime.bigint();
  const result = spawnSync(TIME, ['-f', '%M', '-o', scratch, file, ...args], { input: command.stdin ?? '', env: spec.env, stdio: ['pipe', 'ignore', 'ignore'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command.argv.join(' ')} exited ${result.status}`);
  return { ms, kib: Number.parseInt(readFileSync(scratch, 'utf8').trim().split('\n').pop() ?? '', 10) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

// Inside the namespace: alternate A and B for each case, after a warm-up of each.
function measure(spec: Spec, scratch: string) {
  return spec.cases.map((c) => {
    for (let i = 0; i < spec.warmup; i++) {
      runOnce(c.mactable, spec, scratch);
      runOnce(c.baseline, spec, scratch);
    }
    const a: Sample[] = [];
    const b: Sample[] = [];
    for (let i = 0; i < spec.pairs; i++) {
      a.push(runOnce(c.mactable, spec, scratch));
      b.push(runOnce(c.baseline, spec, scratch));
    }
    const pick = (s: Sample) => (c.measure === 'wall' ? s.ms : s.kib);
    const medianA = median(a.map(pick));
    const medianB = median(b.map(pick));
    const ratio = medianA / medianB;
    return { case: c.name, a: c.a, b: c.b, unit: c.measure === 'wall' ? 'ms' : 'KiB', medianA, medianB, ratio, target: c.target, pass: c.target === null ? null : ratio <= c.target, pairs: spec.pairs };
  });
}

type Result = ReturnType<typeof measure>[number];

function table(results: Result[], pairs: number): string {
  const rows = results.map((r) => [
    r.case,
    `${r.medianA.toFixed(r.unit === 'ms' ? 1 : 0)} ${r.unit}`,
    `${r.medianB.toFixed(r.unit === 'ms' ? 1 : 0)} ${r.unit}`,
    r.ratio.toFixed(2),
    r.target === null ? '-' : `≤ ${r.target}`,
    r.pass === null ? 'reference' : r.pass ? 'pass' : 'FAIL',
  ]);
  const header = ['case', 'mactable (median)', 'baseline (median)', 'ratio', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  const legend = results.map((r) => `- ${r.case}: ${r.a} vs ${r.b}`).join('\n');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '', `${pairs} pairs per case after warm-up, A and B alternating.`, legend].join('\n');
}

async function orchestrate(quick: boolean, json: boolean, inherit: boolean): Promise<void> {
  const temp = new TempDir();
  const ns = await Netns.create();
  try {
    mkdirSync(`${temp.path}/etc/libvirt/hooks`, { recursive: true });
    const install = await installSh(['--prefix', `${temp.path}/lib`, '--hooks-dir', `${temp.path}/etc/libvirt/hooks`, '--bin-dir', `${temp.path}/bin`, '--libvirt-version', '9.0.0']);
    if (install.code !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
    await ns.bridge('br0');
    const taps = Array.from({ length: 64 }, (_, i) => `tap${i}`);
    for (const tap of taps) await ns.tap(tap, 'br0');
    const mac = (i: number) => `52:54:00:be:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const one = liveDomain([bridgeNic(mac(0), 'br0', 'tap0')], 'bench1');
    const many = liveDomain(taps.map((tap, i) => bridgeNic(mac(i), 'br0', tap)), 'bench64');
    const manyFile = temp.file('domain-64.xml', many);
    const hook = `${temp.path}/etc/libvirt/hooks/qemu.d/mactable`;
    const shHook = temp.file('exit0-hook', '#!/bin/sh\nexit 0\n', 0o755);
    const nodeE0 = { argv: [process.execPath, '-e', '0'] };
    const started = (xml: string, name: string): Command => ({ argv: [hook, name, 'started', 'begin', '-'], stdin: xml, reset: true });
    const resetBatch = taps.map((tap, i) => `link set dev ${tap} learning on flood on\nfdb del ${mac(i)} dev ${tap} master\n`).join('');

    const spec: Spec = {
      pairs: quick ? 5 : 25,
      warmup: quick ? 1 : 3,
      // What libvirt gives a hook (LC_ALL=C, its PATH), plus the config a host would have in /etc/libvirt;
      // --env=inherit runs both sides in this shell's environment instead.
      env: {
        ...(inherit ? (process.env as Record<string, string>) : { LC_ALL: 'C', PATH: '/usr/bin:/bin', HOME: '/root' }),
        MACTABLE_CONFIG: temp.json('mactable.json', { bridges: ['br0'] }),
      },
      bridge: 'br0',
      resetBatch,
      cases: [
        { name: 'ignored operation (prepare)', a: 'installed hooks/qemu', b: 'a `#!/bin/sh` + `exit 0` hook', target: 1.5, measure: 'wall', mactable: { argv: [hook, 'bench1', 'prepare', 'begin', '-'], stdin: one }, baseline: { argv: [shHook, 'bench1', 'prepare', 'begin', '-'], stdin: one } },
        { name: 'started, 1 managed NIC', a: 'installed hooks/qemu', b: '`node -e 0`', target: 1.25, measure: 'wall', mactable: started(one, 'bench1'), baseline: nodeE0 },
        { name: 'started, 64 managed NICs', a: 'installed hooks/qemu', b: '`node -e 0`', target: 1.5, measure: 'wall', mactable: started(many, 'bench64'), baseline: nodeE0 },
        { name: 'peak RSS, started with 64 NICs', a: 'installed hooks/qemu', b: '`node -e 0`', target: 1.25, measure: 'rss', mactable: started(many, 'bench64'), baseline: nodeE0 },
        // The least any Node.js hook that runs `bridge` once can cost: where the ratios above start from.
        { name: 'reference: Node.js running `bridge` once', a: '`node -e` spawnSync(bridge -V)', b: '`node -e 0`', target: null, measure: 'wall', mactable: { argv: [process.execPath, '-e', "require('child_process').spawnSync('bridge', ['-V'])"] }, baseline: nodeE0 },
        { name: '`mactable plan` on 64 NICs', a: 'installed `mactable plan --json FILE`', b: '`node -e 0`', target: 1.5, measure: 'wall', mactable: { argv: [`${temp.path}/bin/mactable`, 'plan', '--json', manyFile] }, baseline: nodeE0 },
      ],
    };
    const specFile = temp.json('spec.json', spec);
    // Measure from inside the namespace, so neither side pays for entering it.
    const inside = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, ...process.execArgv, new URL(import.meta.url).pathname, '--measure', specFile, `${temp.path}/time.out`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (inside.status !== 0) throw new Error('the measurement failed');
    const results = JSON.parse(inside.stdout) as Result[];
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Linux ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`;
    if (json) process.stdout.write(`${JSON.stringify({ machine, results }, null, 2)}\n`);
    else process.stdout.write(`${table(results, spec.pairs)}\n\nMachine: ${machine}\n`);
  } finally {
    await ns.remove();
    temp.cleanup();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--measure') {
  const spec = JSON.parse(readFileSync(args[1] as string, 'utf8')) as Spec;
  writeFileSync(process.stdout.fd, JSON.stringify(measure(spec, args[2] as string)));
} else {
  await orchestrate(args.includes('--quick'), args.includes('--json'), args.includes('--env=inherit'));
}
