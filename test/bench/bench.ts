// npm run bench [-- --quick] [-- --json] [-- --env=inherit] [-- --only=PAIR,PAIR] [-- --results=FILE]
// The installed hook and CLI timed side by side with their baselines (A B A B ...), in a network
// namespace with bridges and taps. Wall time and peak RSS per whole process, from the OS.
// A benchmark, not a test: it reports ratios of medians against targets and always exits 0 when it ran.
// A full run writes its section of docs/results.json (the figures the docs quote; the run before it kept as
// `previous`); --quick and --only write only where --results says.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { buildSync } from 'esbuild';
import { asLibvirtLeavesIt, Netns } from '../helpers/netns.js';
import { gapRows, type GapRow } from './gaps.js';
import { vlanResults } from './vlans.js';
import { installSh, SOURCE } from '../helpers/installed.js';
import { lockedExclusively } from '../helpers/lock-holder.js';
import { NAIVE_HOOK, Storm, STORM_DRIVER, type StormRun } from '../helpers/storm.js';
import { readResults, RESULTS, runOf, writeSection, type Section } from '../helpers/results.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain, statusDomain } from '../helpers/xml.js';

interface Command {
  argv: string[];
  stdin?: string;
  env?: Record<string, string>; // on top of the spec's environment
}

// What one timed run starts: one command, or several at once (as libvirtd runs hooks after a restart).
interface Side {
  commands: Command[];
  reset?: string; // a `bridge -batch` run before the clock starts: ports put back as libvirt leaves them, so every run really applies
  driver?: string; // instead of commands: test/helpers/storm-driver.mjs with this spec, which reports the storm's wall time and peak PSS itself
}

// Two sides timed alternately; several table rows may read the same pair.
interface Pair {
  mactable: Side;
  baseline: Side;
  rounds?: number; // fewer than the spec's for slow pairs
  watcher?: { argv: string[]; lock: string }; // runs through the pair (started, and seen holding its lock, before it)
}

type Measure = 'wall' | 'rss' | 'each';

interface Case {
  name: string;
  a: string; // what mactable runs
  b: string; // the baseline
  target: number | null; // null: shown for reference, no target
  measure: Measure; // wall: first start to last exit; rss: peak RSS; each: median wall time of one process among those started at once
  pair: string;
  floor?: string; // the pair, against `node -e 0`, below which this row's ratio cannot go
}

interface Sample {
  ms: number;
  kib: number;
  each: number;
}

export interface Spec {
  pairs: Record<string, Pair>;
  cases: Case[];
  rounds: number;
  warmup: number;
  env: Record<string, string>;
}

const TIME = '/usr/bin/time';
const GUESTS = 200; // the reconnect storm: running guests, 2 NICs each

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

// One process under GNU time (peak RSS as wait4 reports it); resolves with its wall time when it has exited.
function timed(command: Command, env: Record<string, string>, scratch: string): Promise<{ ms: number; kib: number }> {
  const [file, ...args] = command.argv as [string, ...string[]];
  const start = process.hrtime.bigint();
  const child = spawn(TIME, ['-f', '%M', '-o', scratch, file, ...args], { env: { ...env, ...command.env }, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => {}); // a hook that ends without reading its stdin (an ignored operation) is fine
  child.stdin.end(command.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`${command.argv.join(' ')} exited ${code}`));
      resolve({ ms, kib: Number.parseInt(readFileSync(scratch, 'utf8').trim().split('\n').pop() ?? '', 10) });
    });
  });
}

// One run of a side: its commands started together, wall clock from the first start to the last exit.
async function runSide(side: Side, env: Record<string, string>, scratch: string): Promise<Sample> {
  if (side.reset) spawnSync('bridge', ['-force', '-batch', '-'], { input: side.reset, stdio: ['pipe', 'ignore', 'ignore'] });
  if (side.driver) {
    const run = spawnSync(process.execPath, [STORM_DRIVER, side.driver], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const { ms, peakPssKiB, codes } = JSON.parse(run.stdout) as StormRun;
    if (codes.some((code) => code !== 0)) throw new Error(`a storm's hook failed: ${(JSON.parse(run.stdout) as StormRun).stderr.find(Boolean)}`);
    return { ms, kib: peakPssKiB, each: ms };
  }
  const start = process.hrtime.bigint();
  const runs = await Promise.all(side.commands.map((command, i) => timed(command, env, `${scratch}.${i}`)));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, kib: Math.max(...runs.map((run) => run.kib)), each: median(runs.map((run) => run.ms)) };
}

// Inside the namespace: for each pair a warm-up of both sides, then A and B alternating; then each case's medians.
async function measure(spec: Spec, scratch: string) {
  const samples = new Map<string, { a: Sample[]; b: Sample[] }>();
  for (const [id, pair] of Object.entries(spec.pairs)) {
    const watcher = pair.watcher ? await startWatcher(pair.watcher, spec.env) : null;
    try {
      for (let i = 0; i < spec.warmup; i++) {
        await runSide(pair.mactable, spec.env, scratch);
        await runSide(pair.baseline, spec.env, scratch);
      }
      const a: Sample[] = [];
      const b: Sample[] = [];
      for (let i = 0; i < Math.min(spec.rounds, pair.rounds ?? spec.rounds); i++) {
        a.push(await runSide(pair.mactable, spec.env, scratch));
        b.push(await runSide(pair.baseline, spec.env, scratch));
      }
      samples.set(id, { a, b });
    } finally {
      watcher?.kill('SIGTERM');
      if (watcher) await once(watcher, 'close');
    }
  }
  const medians = (pair: string, measure: Measure) => {
    const { a, b } = samples.get(pair) as { a: Sample[]; b: Sample[] };
    const pick = (s: Sample) => (measure === 'rss' ? s.kib : s[measure === 'each' ? 'each' : 'ms']);
    return { medianA: median(a.map(pick)), medianB: median(b.map(pick)) };
  };
  return spec.cases.map((c) => {
    const { medianA, medianB } = medians(c.pair, c.measure);
    const ratio = medianA / medianB;
    const floor = c.floor === undefined ? null : (({ medianA: f, medianB: base }) => ({ ratio: f / base, pair: c.floor }))(medians(c.floor, 'wall'));
    return { case: c.name, a: c.a, b: c.b, unit: c.measure === 'rss' ? 'KiB' : 'ms', medianA, medianB, ratio, target: c.target, pass: c.target === null ? null : ratio <= c.target, floor, pairs: spec.rounds };
  });
}

// `mactable watch` for a pair, once it holds its lock (then the hooks see it).
async function startWatcher({ argv, lock }: { argv: string[]; lock: string }, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: 'ignore' });
  const end = Date.now() + 30_000;
  while (!lockedExclusively(lock)) {
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`the watcher did not take ${lock} within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

export type Result = Awaited<ReturnType<typeof measure>>[number];

function table(results: Result[], rounds: number): string {
  const rows = results.map((r) => [
    r.case,
    `${r.medianA.toFixed(r.unit === 'ms' ? 1 : 0)} ${r.unit}`,
    `${r.medianB.toFixed(r.unit === 'ms' ? 1 : 0)} ${r.unit}`,
    r.ratio.toFixed(2),
    r.target === null ? '-' : `≤ ${r.target}`,
    r.pass === null ? 'reference' : r.pass ? 'pass' : 'FAIL',
    r.floor === null ? '' : `${r.floor.ratio.toFixed(2)} (${FLOORS[r.floor.pair]?.row})`,
  ]);
  const header = ['case', 'mactable (median)', 'baseline (median)', 'ratio', 'target', '', 'floor'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  const legend = results.map((r) => `- ${r.case}: ${r.a} vs ${r.b}`).join('\n');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '', `${rounds} pairs per case after warm-up, A and B alternating; floor: that row's floor against \`node -e 0\`.`, legend].join('\n');
}

// The floors: the least a Node.js process doing part of mactable's work costs, each against `node -e 0`.
const FLOORS: Record<string, { row: string; runs: string }> = {
  bridge: { row: 'Node.js running `bridge` once', runs: '`node -e` spawnSync(bridge -V)' },
  bridgeLogger: { row: 'Node.js running `bridge` and `logger` once', runs: '`node -e` spawnSync(bridge -V), spawnSync(logger, one line)' },
  xml: { row: 'Node.js parsing the XML with fast-xml-parser', runs: 'bundled fast-xml-parser validating and parsing the 1-NIC XML from stdin' },
  yargs: { row: 'Node.js parsing the command line with yargs', runs: 'bundled yargs parsing `plan --json FILE`' },
};

// A minified one-file bundle of `source` (the way dist/ is built), for the floors.
function bundle(temp: TempDir, name: string, source: string, format: 'cjs' | 'esm'): string {
  const outfile = `${temp.path}/${name}`;
  buildSync({ stdin: { contents: source, resolveDir: SOURCE, loader: 'ts' }, bundle: true, platform: 'node', target: 'node18', format, minify: true, outfile, logLevel: 'warning' });
  return outfile;
}

// A stand-in for /dev/log (this machine has none; a host has journald there) that drops what it gets. Not
// test/helpers/syslog.ts: that one hands every message to this process, which is blocked while it measures.
async function syslogSink(path: string): Promise<ChildProcess> {
  const drop = 'import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint(flush=True)\nwhile True: s.recv(65536)';
  const child = spawn('python3', ['-c', drop, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout as NodeJS.ReadableStream, 'data');
  return child;
}

const mac = (i: number, prefix = '52:54:00:be') => `${prefix}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

// A stand-in for journald's stream socket (/run/systemd/journal/stdout) that reads every connection to its end.
async function journalSink(path: string): Promise<ChildProcess> {
  const drain = [
    'import os, socket, sys, threading',
    'os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
    's.bind(sys.argv[1])',
    's.listen(64)',
    'print(flush=True)',
    'def drain(c):',
    '    while c.recv(65536): pass',
    '    c.close()',
    'while True: threading.Thread(target=drain, args=(s.accept()[0],), daemon=True).start()',
  ].join('\n');
  const child = spawn('python3', ['-c', drain, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout as NodeJS.ReadableStream, 'data');
  return child;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

// The results file's bench section: per row the medians (the unit in the key), ratio, target and floor; per mode the gaps.
function section(run: Section, results: Result[], gaps: GapRow[] | string, machine: string, pairs: number, stormPairs: number, gapRoundTrips: number): Section {
  const unit = (r: Result) => (r.unit === 'ms' ? 'Ms' : 'KiB');
  const rows = Object.fromEntries(
    results.map((r) => [
      r.case,
      {
        [`mactable${unit(r)}`]: round(r.medianA, r.unit === 'ms' ? 1 : 0),
        [`baseline${unit(r)}`]: round(r.medianB, r.unit === 'ms' ? 1 : 0),
        ratio: round(r.ratio, 4),
        target: r.target,
        ...(r.floor === null ? {} : { floorRatio: round(r.floor.ratio, 4) }),
      },
    ]),
  );
  const modes = typeof gaps === 'string' ? gaps : Object.fromEntries(gaps.map(({ mode, ...row }) => [mode, row]));
  const bundles = { hookBytes: statSync(`${SOURCE}/dist/hook.cjs`).size, cliBytes: statSync(`${SOURCE}/dist/mactable.mjs`).size };
  return { ...run, endedAt: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', loadAverageAtEnd: round(loadavg()[0] as number, 1), machine, pairs, stormPairs, gapRoundTrips, rows, gaps: modes, bundles };
}

// Markdown rows of the switch-over gaps.
const gapTable = (gaps: GapRow[] | string) =>
  typeof gaps === 'string'
    ? gaps
    : ['| switch-over gap, frames the running guest missed | A→B | B→A | median |', '|---|---|---|---|', ...gaps.map((g) => `| ${g.mode} | ${g.aToBFrames.join(', ')} | ${g.bToAFrames.join(', ')} | ${g.medianFrames} |`)].join('\n');

async function orchestrate(quick: boolean, json: boolean, inherit: boolean, only: string[] | null, resultsFile: string | null): Promise<void> {
  const run = runOf(quick ? 'npm run bench -- --quick' : 'npm run bench');
  const temp = new TempDir();
  const ns = await Netns.create();
  const syslogSocket = `${temp.path}/log.sock`;
  const syslog = await syslogSink(syslogSocket);
  // A --root whose /sys is the namespace's and whose journald listens.
  const journalRoot = `${temp.path}/root-journal`;
  const journal = await journalSink(`${journalRoot}/run/systemd/journal/stdout`);
  symlinkSync('/sys', `${journalRoot}/sys`);
  try {
    mkdirSync(`${temp.path}/etc/libvirt/hooks`, { recursive: true });
    const install = await installSh(['--prefix', `${temp.path}/lib`, '--hooks-dir', `${temp.path}/etc/libvirt/hooks`, '--bin-dir', `${temp.path}/bin`, '--unit-dir', `${temp.path}/systemd`, '--libvirt-version', '9.0.0']);
    if (install.code !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
    const hook = `${temp.path}/etc/libvirt/hooks/qemu.d/mactable`;
    const cli = `${temp.path}/bin/mactable`;
    const config = temp.json('mactable.json', { bridges: ['br*'] });
    // The hooks' host: a root of our own (no status file, no watcher), never the machine's /run/libvirt.
    const { root: hookRoot } = temp.hostRoot();

    // br0: 64 guest taps. br1, br2, br3: one guest tap each and a veth port holding 10 000, 50 000 and no other
    // entries; br2 and br3 also carry the taps of 10 running guests for `status`.
    await ns.bridge('br0');
    const taps = Array.from({ length: 64 }, (_, i) => ({ tap: `tap${i}`, mac: mac(i), bridge: 'br0' }));
    for (const { tap } of taps) await ns.tap(tap, 'br0');
    const others = { br1: 10_000, br2: 50_000, br3: 0 };
    for (const [bridge, entries] of Object.entries(others)) {
      await ns.bridge(bridge);
      await ns.ip('link', 'add', `${bridge}v`, 'type', 'veth', 'peer', 'name', `${bridge}p`);
      await ns.ip('link', 'set', `${bridge}v`, 'master', bridge);
      await ns.tap(`${bridge}t`, bridge);
      const lines = Array.from({ length: entries }, (_, i) => `fdb add ${mac(i, `02:00:00:${(i >> 16).toString(16).padStart(2, "0")}`)} dev ${bridge}v master static\n`);
      if (entries > 0) await ns.exec('bridge', '-batch', temp.file(`fill-${bridge}`, lines.join('')));
    }
    const one = liveDomain([bridgeNic(mac(0), 'br0', 'tap0')], 'bench1');
    const many = liveDomain(taps.map(({ mac: m, tap }) => bridgeNic(m, 'br0', tap)), 'bench64');
    const oneOn = (bridge: string) => ({ xml: liveDomain([bridgeNic(mac(0), bridge, `${bridge}t`)], 'bench1'), reset: asLibvirtLeavesIt([{ tap: `${bridge}t`, mac: mac(0) }]) });
    // A --root tree per bridge whose /sys is the namespace's own and whose /run holds 10 guests' status files.
    const statusRoot = async (bridge: string) => {
      const root = `${temp.path}/root-${bridge}`;
      mkdirSync(`${root}/run/libvirt/qemu`, { recursive: true });
      symlinkSync('/sys', `${root}/sys`);
      for (let g = 0; g < 10; g++) {
        await ns.tap(`${bridge}s${g}`, bridge);
        writeFileSync(`${root}/run/libvirt/qemu/st${g}.xml`, statusDomain([bridgeNic(mac(100 + g), bridge, `${bridge}s${g}`)], `st${g}`));
      }
      await ns.exec('env', `MACTABLE_SYSLOG_SOCKET=${syslogSocket}`, cli, 'repair', '--all', '--root', root, '--config', config);
      return root;
    };
    const [root50k, rootEmpty] = [await statusRoot('br2'), await statusRoot('br3')];
    // The reconnect storm: GUESTS guests × 2 NICs on brs, their status files under a root of their own.
    const stormRoot = `${temp.path}/root-storm`;
    mkdirSync(`${stormRoot}/run/libvirt/qemu`, { recursive: true });
    symlinkSync('/sys', `${stormRoot}/sys`);
    const storm = await Storm.create(ns, temp, stormRoot, GUESTS, 'brs');

    // What libvirt gives a hook (LC_ALL=C, its PATH, HOME), the config a host would have in /etc/libvirt and
    // a system log socket; --env=inherit runs both sides in this shell's environment instead.
    const specEnv: Record<string, string> = {
      ...(inherit ? (process.env as Record<string, string>) : { LC_ALL: 'C', PATH: '/usr/bin:/bin', HOME: '/root' }),
      MACTABLE_CONFIG: config,
      MACTABLE_SYSLOG_SOCKET: syslogSocket,
      MACTABLE_ROOT: hookRoot,
    };
    const shHook = temp.file('exit0-hook', '#!/bin/sh\nexit 0\n', 0o755);
    const single = (command: Command, reset?: string): Side => ({ commands: [command], reset });
    const nodeE0 = single({ argv: [process.execPath, '-e', '0'] });
    const stormSpec = (name: string, argv: string[]) => storm.spec(temp, name, argv, { ...specEnv, MACTABLE_ROOT: stormRoot });
    const started = (xml: string, reset: string, name = 'bench1'): Side => single({ argv: [hook, name, 'started', 'begin', '-'], stdin: xml }, reset);
    const node = (...args: string[]): Side => single({ argv: [process.execPath, ...args] });
    const status = (root: string): Side => single({ argv: [cli, 'status', '--root', root] });
    // The same started call, one NIC, through journald's socket and through logger.
    const viaJournal = (): Side => single({ argv: [hook, 'bench1', 'started', 'begin', '-'], stdin: one, env: { MACTABLE_ROOT: journalRoot, MACTABLE_SYSLOG_SOCKET: '' } }, asLibvirtLeavesIt(taps.slice(0, 1)));
    const viaLogger = (): Side => single({ argv: [hook, 'bench1', 'started', 'begin', '-'], stdin: one, env: { MACTABLE_ROOT: journalRoot } }, asLibvirtLeavesIt(taps.slice(0, 1)));
    const e1 = oneOn('br1');
    const e2 = oneOn('br2');
    const e3 = oneOn('br3');

    const spec: Spec = {
      rounds: quick ? 3 : 25,
      warmup: quick ? 1 : 3,
      env: specEnv,
      pairs: {
        ignored: { mactable: single({ argv: [hook, 'bench1', 'prepare', 'begin', '-'], stdin: one }), baseline: single({ argv: [shHook, 'bench1', 'prepare', 'begin', '-'], stdin: one }) },
        started1: { mactable: started(one, asLibvirtLeavesIt(taps.slice(0, 1))), baseline: nodeE0 },
        started64: { mactable: started(many, asLibvirtLeavesIt(taps), 'bench64'), baseline: nodeE0 },
        fdb10k: { mactable: started(e1.xml, e1.reset), baseline: started(e3.xml, e3.reset) },
        fdb50k: { mactable: started(e2.xml, e2.reset), baseline: started(e3.xml, e3.reset) },
        nothing: { mactable: single({ argv: [hook, 'bench1', 'started', 'begin', '-'], stdin: one, env: { MACTABLE_CONFIG: temp.json('nothing.json', { bridges: [] }) } }), baseline: nodeE0 },
        status10: { mactable: status(root50k), baseline: status(rootEmpty) },
        storm: { mactable: { commands: [], driver: stormSpec('storm-mactable.json', [hook]), reset: storm.resetLines() }, baseline: { commands: [], driver: stormSpec('storm-naive.json', [NAIVE_HOOK]), reset: storm.resetLines() }, rounds: quick ? 1 : 7 },
        stormWatched: {
          mactable: { commands: [], driver: stormSpec('storm-watched.json', [hook]), reset: storm.resetLines() },
          baseline: { commands: [], driver: stormSpec('storm-naive.json', [NAIVE_HOOK]), reset: storm.resetLines() },
          rounds: quick ? 1 : 7,
          watcher: { argv: [cli, 'watch', '--root', stormRoot], lock: `${stormRoot}/run/mactable/watch.lock` },
        },
        plan: { mactable: single({ argv: [cli, 'plan', '--json', temp.file('domain-64.xml', many)] }), baseline: nodeE0 },
        journal1: { mactable: viaJournal(), baseline: nodeE0 },
        journalLogger: { mactable: viaJournal(), baseline: viaLogger() },
        bridge: { mactable: node('-e', "require('child_process').spawnSync('bridge', ['-V'])"), baseline: nodeE0 },
        bridgeLogger: {
          mactable: node('-e', `const c = require('child_process'); c.spawnSync('bridge', ['-V']); c.spawnSync('logger', ['--prio-prefix', '-t', 'mactable', '-u', ${JSON.stringify(syslogSocket)}], { input: '<30>bench\\n' })`),
          baseline: nodeE0,
        },
        xml: {
          mactable: single({
            argv: [process.execPath, bundle(temp, 'floor-xml.cjs', "import { XMLParser, XMLValidator } from 'fast-xml-parser'; import { readFileSync } from 'node:fs'; const x = readFileSync(0, 'utf8'); XMLValidator.validate(x); new XMLParser({ ignoreAttributes: false }).parse(x);", 'cjs')],
            stdin: one,
          }),
          baseline: nodeE0,
        },
        yargs: { mactable: node(bundle(temp, 'floor-yargs.mjs', "import yargs from 'yargs'; yargs(['plan', '--json', 'f.xml']).command('plan [file]', 'plan', (y) => y.option('json', { type: 'boolean' })).parseSync();", 'esm')), baseline: nodeE0 },
      },
      cases: [
        { name: 'ignored operation (prepare)', a: 'installed hooks/qemu', b: 'a `#!/bin/sh` + `exit 0` hook', target: 1.5, measure: 'wall', pair: 'ignored' },
        { name: 'started, 1 managed NIC', a: 'installed hooks/qemu', b: '`node -e 0`', target: 1.5, measure: 'wall', pair: 'started1', floor: 'bridgeLogger' },
        { name: 'started, 1 managed NIC, journald socket', a: 'installed hooks/qemu logging to journald\'s stream socket', b: '`node -e 0`', target: 1.5, measure: 'wall', pair: 'journal1', floor: 'bridgeLogger' },
        { name: 'started, 1 NIC: journald socket vs logger', a: 'installed hooks/qemu logging to journald\'s stream socket', b: 'the same call logging through `logger`', target: 1, measure: 'wall', pair: 'journalLogger' },
        { name: 'started, 64 managed NICs', a: 'installed hooks/qemu', b: '`node -e 0`', target: 1.7, measure: 'wall', pair: 'started64', floor: 'bridgeLogger' },
        { name: 'peak RSS, started with 64 NICs', a: 'installed hooks/qemu', b: '`node -e 0`', target: 1.25, measure: 'rss', pair: 'started64' },
        { name: 'started, 1 NIC, 10 000 other entries', a: 'installed hooks/qemu, bridge with 10 000 other entries', b: 'the same call on a bridge without', target: 1.15, measure: 'wall', pair: 'fdb10k' },
        { name: 'started, 1 NIC, 50 000 other entries', a: 'installed hooks/qemu, bridge with 50 000 other entries', b: 'the same call on a bridge without', target: 1.15, measure: 'wall', pair: 'fdb50k' },
        { name: 'peak RSS, 1 NIC, 50 000 other entries', a: 'installed hooks/qemu, bridge with 50 000 other entries', b: 'the same call on a bridge without', target: 1.15, measure: 'rss', pair: 'fdb50k' },
        { name: 'started, nothing managed', a: 'installed hooks/qemu, config selecting no bridge', b: '`node -e 0`', target: 1.5, measure: 'wall', pair: 'nothing', floor: 'xml' },
        { name: '`mactable status`, 10 guests, 50 000 other entries', a: 'installed `mactable status --root`, 10 guests on a bridge with 50 000 other entries', b: 'the same on a bridge without', target: 1.15, measure: 'wall', pair: 'status10' },
        { name: `reconnect storm, ${GUESTS} guests × 2 NICs, no watcher: first start to last exit`, a: `${GUESTS} installed hooks/qemu \`reconnect\` started at once`, b: `${GUESTS} naive Python hooks (test/bench/naive-hook.py) at once`, target: 1, measure: 'wall', pair: 'storm' },
        { name: `reconnect storm, ${GUESTS} guests × 2 NICs, no watcher: peak memory (PSS)`, a: `${GUESTS} installed hooks/qemu \`reconnect\` started at once`, b: `${GUESTS} naive Python hooks at once`, target: 1, measure: 'rss', pair: 'storm' },
        { name: `reconnect storm, ${GUESTS} guests × 2 NICs, watcher running: first start to last exit`, a: `${GUESTS} installed hooks/qemu \`reconnect\` at once beside \`mactable watch\``, b: `${GUESTS} naive Python hooks at once`, target: null, measure: 'wall', pair: 'stormWatched' },
        { name: `reconnect storm, ${GUESTS} guests × 2 NICs, watcher running: peak memory (PSS)`, a: `${GUESTS} installed hooks/qemu \`reconnect\` at once beside \`mactable watch\` (the watcher not counted)`, b: `${GUESTS} naive Python hooks at once`, target: null, measure: 'rss', pair: 'stormWatched' },
        { name: '`mactable plan` on 64 NICs', a: 'installed `mactable plan --json FILE`', b: '`node -e 0`', target: 3, measure: 'wall', pair: 'plan', floor: 'yargs' },
        ...Object.entries(FLOORS).map(([pair, { row, runs }]): Case => ({ name: `floor: ${row}`, a: runs, b: '`node -e 0`', target: null, measure: 'wall', pair })),
      ],
    };
    // --only: these pairs and the rows that read them.
    if (only !== null) {
      spec.pairs = Object.fromEntries(Object.entries(spec.pairs).filter(([id]) => only.includes(id)));
      spec.cases = spec.cases.filter((c) => only.includes(c.pair) && (c.floor === undefined || only.includes(c.floor)));
    }
    const specFile = temp.json('spec.json', spec);
    // Measure from inside the namespace, so neither side pays for entering it.
    const [enter, ...args] = ns.enter(process.execPath, ...process.execArgv, new URL(import.meta.url).pathname, '--measure', specFile, `${temp.path}/time.out`);
    const inside = spawnSync(enter, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (inside.status !== 0) throw new Error('the measurement failed');
    const results = JSON.parse(inside.stdout) as Result[];
    // The VLAN row: in a kernel that filters VLANs, maybe not this one.
    if (only === null || only.includes('vlans')) {
      const vlans = await vlanResults(quick, hook, temp.path);
      if ('missing' in vlans) process.stderr.write(`VLAN row not measured: ${vlans.missing}\n`);
      else results.push(...vlans.results.map((row) => ({ ...row, case: `${row.case} (${vlans.kernel})` })));
    }
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Linux ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`;
    // Live migrations between two libvirt hosts: not a ratio, frames counted per switch-over.
    const gapRoundTrips = quick ? 1 : 3;
    const gaps = only === null || only.includes('gaps') ? await gapRows(gapRoundTrips) : 'Switch-over gaps not asked for';
    const stormPairs = spec.pairs.storm?.rounds ?? spec.rounds;
    if (json) process.stdout.write(`${JSON.stringify({ machine, results, gaps }, null, 2)}\n`);
    else process.stdout.write(`${table(results, spec.rounds)}\n\n${gapTable(gaps)}\n\nMachine: ${machine}\n`);
    if (resultsFile !== null) {
      const { previous: _, ...last } = readResults(resultsFile).bench ?? {};
      writeSection(resultsFile, 'bench', { ...section(run, results, gaps, machine, spec.rounds, stormPairs, gapRoundTrips), ...(Object.keys(last).length > 0 ? { previous: last } : {}) });
      process.stderr.write(`bench: the figures are in ${resultsFile}\n`);
    }
  } finally {
    for (const sink of [syslog, journal]) {
      sink.kill();
      if (sink.exitCode === null && sink.signalCode === null) await once(sink, 'exit');
    }
    await ns.remove();
    temp.cleanup();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--measure') {
  const spec = JSON.parse(readFileSync(args[1] as string, 'utf8')) as Spec;
  writeFileSync(process.stdout.fd, JSON.stringify(await measure(spec, args[2] as string)));
} else {
  const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',') ?? null;
  const quick = args.includes('--quick');
  const resultsFile = args.find((arg) => arg.startsWith('--results='))?.slice('--results='.length) ?? (quick || only !== null ? null : RESULTS);
  await orchestrate(quick, args.includes('--json'), args.includes('--env=inherit'), only, resultsFile);
}
