// Run inside a network namespace by test/helpers/storm.ts: start every command at once (as libvirtd runs
// `reconnect` for each running guest when it restarts), and report the time from the first start to the last
// exit, each exit code and stderr, and the peak memory: the sum of PSS over this process's descendants (shared
// pages counted once), sampled every 20 ms, and the largest drop of MemAvailable.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')); // { commands: [{ argv, stdin }], env }
const kib = (text, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
};
const descendants = () => {
  const children = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    if (parent) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found = [];
  const walk = (pid) => (children.get(pid) ?? []).forEach((child) => (found.push(child), walk(child)));
  walk(String(process.pid));
  return found;
};
const available = () => kib(read('/proc/meminfo'), 'MemAvailable');
const before = available();
let peakPss = 0;
let peakDrop = 0;
const sample = () => {
  peakPss = Math.max(peakPss, descendants().reduce((sum, pid) => sum + kib(read(`/proc/${pid}/smaps_rollup`), 'Pss'), 0));
  peakDrop = Math.max(peakDrop, before - available());
};
const sampler = setInterval(sample, 20);
const start = process.hrtime.bigint();
const runs = spec.commands.map(({ argv, stdin }) => {
  const input = openSync(stdin ?? '/dev/null', 'r');
  const child = spawn(argv[0], argv.slice(1), { env: spec.env, stdio: [input, 'ignore', 'pipe'] });
  closeSync(input);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? signal, stderr })));
});
const results = await Promise.all(runs);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
clearInterval(sampler);
process.stdout.write(JSON.stringify({ ms, codes: results.map((r) => r.code), stderr: results.map((r) => r.stderr), peakPssKiB: peakPss, peakDropKiB: peakDrop }));
