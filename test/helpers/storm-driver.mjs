// Run inside a network namespace by test/helpers/storm.ts: start every command at once (as libvirtd runs
// `reconnect` for each running guest when it restarts), and report the time from the first start to the last
// exit, each exit code and stderr, and the peak memory: the sum of PSS over this process's descendants (shared
// pages counted once) and the largest drop of MemAvailable, sampled every 20 ms by a worker thread (the main
// thread is busy starting processes).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const kib = (text, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
};
const descendants = (root) => {
  const children = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    if (parent) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found = [];
  const walk = (pid) => (children.get(pid) ?? []).forEach((child) => (found.push(child), walk(child)));
  walk(root);
  return found;
};
const available = () => kib(read('/proc/meminfo'), 'MemAvailable');

if (!isMainThread) {
  // [stop, peak PSS KiB, peak MemAvailable drop KiB]
  const shared = new Int32Array(workerData.buffer);
  const before = available();
  parentPort.postMessage('ready');
  while (Atomics.load(shared, 0) === 0) {
    const pss = descendants(workerData.pid).reduce((sum, pid) => sum + kib(read(`/proc/${pid}/smaps_rollup`), 'Pss'), 0);
    shared[1] = Math.max(shared[1], pss);
    shared[2] = Math.max(shared[2], before - available());
    Atomics.wait(shared, 0, 0, 20);
  }
  process.exit(0);
}

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')); // { commands: [{ argv, stdin }], env }
const buffer = new SharedArrayBuffer(12);
const shared = new Int32Array(buffer);
const sampler = new Worker(new URL(import.meta.url), { workerData: { buffer, pid: String(process.pid) } });
await new Promise((resolve) => sampler.once('message', resolve)); // it has read the state before
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
Atomics.store(shared, 0, 1);
Atomics.notify(shared, 0);
await new Promise((resolve) => sampler.once('exit', resolve));
process.stdout.write(JSON.stringify({ ms, codes: results.map((r) => r.code), stderr: results.map((r) => r.stderr), peakPssKiB: shared[1], peakDropKiB: shared[2] }));
