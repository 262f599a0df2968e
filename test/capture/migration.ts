// When libvirt rewrites a migrating guest's status files, and what they say, beside the frames of a 1 kHz sender.
// Run as root: npx tsx test/capture/migration.ts [plain|sticky|sticky-watch] [KEEP_DIR]
// Two boxes (test/helpers/box.ts), a guest migrated A→B→A, then a migration A→B cancelled with `virsh
// domjobabort` once the source's status file shows the job in its perform phase. Prints, per migration and from
// its start, every change of both status files (test/capture/status-log.mjs), the destination's announce, and
// the first and last numbered frame each tap took. KEEP_DIR: every distinct status file saved there.
import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { Box, joinBridges, migrate } from '../helpers/box.js';
import { GapMeter, type Span } from '../helpers/gap.js';
import { eventually } from '../helpers/wait.js';
import type { Watcher } from '../helpers/watcher.js';

const mode = process.argv[2] ?? 'plain';
const keep = process.argv[3];
const GUEST = 'mtcap-mig';
const MAC = '52:54:00:e4:00:07';
const LOGGER = new URL('./status-log.mjs', import.meta.url).pathname;
const config = mode === 'plain' ? { bridges: [] } : { bridges: ['br0'], sticky: true };

interface Change {
  at: number;
  file: string;
  head: string | null;
  job: string | null;
}
interface Counted {
  frames: Record<string, [number, number][]>;
  announces: Record<string, number>;
}

const step = (what: string) => process.stderr.write(`capture: ${what}\n`);

// A status logger per box, outside it: the box's /run is a directory of this machine.
function startLogger(box: Box, name: string): { child: ResultPromise; out: string } {
  const out = `${box.path}/${name}-status.json`;
  const child = execa(process.execPath, [LOGGER, `${box.path}/run/libvirt/qemu`, out, ...(keep ? [`${keep}/${name}`] : [])], { reject: false, buffer: false });
  return { child, out };
}

async function stopLogger({ child, out }: { child: ResultPromise; out: string }): Promise<Change[]> {
  child.kill('SIGTERM');
  await child;
  return JSON.parse(readFileSync(out, 'utf8')) as Change[];
}

const short = (change: Change) =>
  change.head === null ? 'removed' : `${/state='([^']*)'/u.exec(change.head)?.[1]}/${/reason='([^']*)'/u.exec(change.head)?.[1]} ${change.job ?? '(no job)'}`;

function report(title: string, span: { started: number; returned: number }, changes: [string, Change[]][], counted: [Counted, Counted] | null, taps: [number, string][]): void {
  const lines: [number, string][] = [];
  for (const [who, list] of changes) for (const change of list) if (change.at >= span.started - 100 && change.at <= span.returned + 3000) lines.push([change.at, `${who} status: ${short(change)}`]);
  if (counted !== null) {
    for (const [box, tap] of taps) {
      const frames = (counted[box]?.frames[tap] ?? []).filter(([, at]) => at >= span.started && at <= span.returned + 3000);
      if (frames.length > 0) {
        lines.push([(frames[0] as [number, number])[1], `box ${box} ${tap}: first frame #${(frames[0] as [number, number])[0]} (${frames.length} in span)`]);
        lines.push([(frames.at(-1) as [number, number])[1], `box ${box} ${tap}: last frame #${(frames.at(-1) as [number, number])[0]}`]);
      }
      const announce = counted[box]?.announces[tap];
      if (announce !== undefined && announce >= span.started) lines.push([announce, `box ${box} ${tap}: announce (RARP) in`]);
    }
  }
  lines.push([span.started, 'virsh migrate starts'], [span.returned, 'virsh migrate returns']);
  lines.sort((x, y) => x[0] - y[0]);
  process.stdout.write(`\n${title}\n${lines.map(([at, text]) => `  ${String((at - span.started).toFixed(1)).padStart(9)} ms  ${text}`).join('\n')}\n`);
}

const boxes: Box[] = [];
const watchers: Watcher[] = [];
try {
  for (let i = 0; i < 2; i++) {
    const box = await Box.create({ mactable: config });
    boxes.push(box);
    await box.bridge('br0');
  }
  const [a, b] = boxes as [Box, Box];
  const addresses = await joinBridges(a, b, 'br0');
  if (mode === 'sticky-watch') for (const box of boxes) watchers.push(await box.startWatcher());
  const loggers = [startLogger(a, 'A'), startLogger(b, 'B')] as const;
  await a.guest({ name: GUEST, nics: [`<interface type='bridge'><mac address='${MAC}'/><source bridge='br0'/><model type='virtio'/></interface>`] });
  const meter = await GapMeter.start([a, b], 'br0', MAC, a.path);
  const spans: Span[] = [];
  step('migrating A→B');
  spans.push(await meter.migrate(a, b, GUEST, addresses[1], ['A', 'B']));
  step('migrating B→A');
  spans.push(await meter.migrate(b, a, GUEST, addresses[0], ['B', 'A']));
  step('migrating A→B and cancelling it in its perform phase');
  const started = Date.now();
  const running = migrate(a, b, GUEST, addresses[1]).then(() => 'completed', (error: Error) => `failed: ${error.message.split('\n').at(-1)}`);
  const status = `${a.path}/run/libvirt/qemu/${GUEST}.xml`;
  const performing = await eventually(() => /<job[^>]*phase='perform/u.test(readFileSync(status, 'utf8')), 30, 5);
  await a.virsh('domjobabort', GUEST);
  const outcome = await running;
  const cancelled = { started, returned: Date.now() };
  const gaps = await meter.stop(spans);
  const counted = [0, 1].map((i) => JSON.parse(readFileSync(`${a.path}/count${i}.json`, 'utf8')) as Counted) as [Counted, Counted];
  const changes: [string, Change[]][] = [
    ['A', await stopLogger(loggers[0])],
    ['B', await stopLogger(loggers[1])],
  ];
  process.stdout.write(`mode ${mode}: ${JSON.stringify(config)}${mode === 'sticky-watch' ? ', watcher in both boxes' : ''}\n`);
  for (const [i, span] of spans.entries()) {
    const gap = gaps[i];
    const fromBox = 1 - span.toBox;
    report(`${span.from}→${span.to}: missed ${gap?.lost} / neither ${gap?.neither}, migration ${gap?.seconds.toFixed(1)} s`, span, changes, counted, [
      [fromBox, span.source],
      [span.toBox, span.target],
    ]);
  }
  report(`A→B cancelled (${performing ? 'in perform' : 'perform phase never seen'}; virsh migrate: ${outcome})`, cancelled, changes, null, []);
  process.stdout.write(`\nafter the cancel, A: ${(await a.virsh('domstate', '--reason', GUEST)).trim()}\n`);
  for (const watcher of watchers) process.stdout.write(`watcher: ${watcher.lines.join('\n  ')}\n`);
} finally {
  for (const watcher of watchers) await watcher.kill();
  for (const box of boxes) await box.destroy();
}
