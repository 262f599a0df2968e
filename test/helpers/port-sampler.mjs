// Samples every managed port of bridge BRIDGE every 10 ms until the file STOP exists, then writes what it saw to OUT
// as JSON. Run inside a host (a booted Debian root) by its own Node.js: node port-sampler.mjs BRIDGE OUT STOP [hook].
// A port is every <interface> of every status file in /run/libvirt/qemu, from the moment its file is there; it is
// right when learning and unicast_flood are off and the bridge forwards its MAC to it. A sample reads sysfs only
// (the bridge's FDB from brforward), no command, so one takes well under a millisecond; with learning off on the
// port, an entry there is the static one. At the end one `bridge fdb show` checks that those entries are static.
// With `hook`, each sample also notes whether libvirt's qemu.d holds mactable's hook.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';

const [bridge, out, stop, checkHook] = process.argv.slice(2);
const STATUS = '/run/libvirt/qemu';
const HOOK = '/etc/libvirt/hooks/qemu.d/mactable';
const nics = new Map();
const times = [];
const wrong = [];
let hookMissing = 0;

// The guests' ports, each status file read once (a guest's NICs do not change here).
function ports() {
  for (const file of readdirSync(STATUS)) {
    if (!file.endsWith('.xml') || nics.has(file)) continue;
    const xml = readFileSync(`${STATUS}/${file}`, 'utf8');
    nics.set(file, [...xml.matchAll(/<mac address='([^']+)'\/><source bridge='[^']+'\/><target dev='([^']+)'\/>/gu)].map((match) => ({ mac: match[1], tap: match[2] })));
  }
  return [...nics.values()].flat();
}

const flag = (tap, name) => readFileSync(`/sys/class/net/${tap}/brport/${name}`, 'utf8').trim();

// The bridge's forwarding table as "MAC port" strings: struct __fdb_entry, 16 bytes each (MAC, port_no, is_local,
// ageing timer, port_hi).
function forwarding() {
  const table = readFileSync(`/sys/class/net/${bridge}/brforward`);
  const entries = new Set();
  for (let at = 0; at + 16 <= table.length; at += 16) {
    const mac = [...table.subarray(at, at + 6)].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
    entries.add(`${mac} ${(table[at + 12] << 8) | table[at + 6]}`);
  }
  return entries;
}

function sample() {
  times.push(performance.now());
  if (times.length === 1) writeFileSync(`${out}.running`, '');
  if (checkHook === 'hook' && !existsSync(HOOK)) hookMissing++;
  const entries = forwarding();
  for (const { mac, tap } of ports()) {
    const port = { tap, learning: flag(tap, 'learning'), flood: flag(tap, 'unicast_flood'), entry: entries.has(`${mac} ${Number(flag(tap, 'port_no'))}`) };
    if (port.learning !== '0' || port.flood !== '0' || !port.entry) wrong.push({ at: Math.round(times.at(-1)), ...port });
  }
  if (!existsSync(stop)) return;
  clearInterval(timer);
  const gaps = times.slice(1).map((time, i) => time - times[i]).sort((a, b) => a - b);
  const at = (q) => Math.round(gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? 0);
  const fdb = JSON.parse(execFileSync('bridge', ['-j', 'fdb', 'show', 'br', bridge], { encoding: 'utf8' }));
  const notStatic = ports().filter(({ mac, tap }) => !fdb.some((e) => e.mac === mac && e.ifname === tap && e.state === 'static')).map(({ tap }) => tap);
  const report = { samples: times.length, ports: ports().length, wrong: wrong.length, firstWrong: wrong.slice(0, 5), notStatic, hookMissing, gapMs: { median: at(0.5), p99: at(0.99), max: at(1) } };
  writeFileSync(`${out}.new`, JSON.stringify(report));
  renameSync(`${out}.new`, out);
}

const timer = setInterval(sample, 10);
