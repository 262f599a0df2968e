import { readFileSync } from 'node:fs';
import { type Box, migrate } from './box.js';
import { portProblem, readStaticEntries } from './netns.js';
import { eventually } from './wait.js';
import type { Watcher } from './watcher.js';

const FRAMES = new URL('./frames.py', import.meta.url).pathname;
export const RATE = 1000; // frames a second

// One live migration as the frames saw it: those sent from the migration's start to 1 s after it returned (or to the
// next migration's start) that the guest's running side did not get (before its announce: the source's tap; after:
// the destination's), and those that reached neither tap. Times are the kernel's: when the sender's interface sent
// each frame, when the destination's tap took in the announce.
export interface Gap {
  from: string;
  to: string;
  lost: number;
  neither: number;
  sent: number; // frames sent in the span
  seconds: number; // how long `virsh migrate` took
}

// What each box's counter wrote (frames.py count).
export interface Counted {
  frames: Record<string, [number, number][]>; // [seq, ms]
  announces: Record<string, number>;
}

// A sender on box a's bridge at RATE frames a second to the guest's MAC (through a veth pair of its own), and a
// counter in each box of the numbered frames every interface transmits, for the switch-overs of live migrations.
export class GapMeter {
  private readonly counters: Watcher[] = [];
  private sender: Watcher | null = null;

  private constructor(
    private readonly boxes: [Box, Box],
    private readonly mac: string,
    private readonly dir: string,
  ) {}

  static async start(boxes: [Box, Box], bridge: string, mac: string, dir: string): Promise<GapMeter> {
    const meter = new GapMeter(boxes, mac, dir);
    const [a] = boxes;
    await a.exec('ip', 'link', 'add', 'snd0', 'type', 'veth', 'peer', 'name', 'snd1');
    try {
      await a.exec('ip', 'link', 'set', 'snd0', 'master', bridge, 'up');
      await a.exec('ip', 'link', 'set', 'snd1', 'up');
      for (const [i, box] of boxes.entries()) {
        const counter = await box.spawn('python3', FRAMES, 'count', mac, meter.file(`count${i}`));
        meter.counters.push(counter);
        if (!(await counter.waitForLine(/^ready$/u, 30))) throw new Error(`the frame counter in box ${i} did not start: ${counter.lines.join('; ')}`);
      }
      meter.sender = await a.spawn('python3', FRAMES, 'send', 'snd1', mac, String(RATE));
    } catch (error) {
      // What started goes now, not with the box: the next test's meter needs the machine and the names.
      await meter.kill();
      await a.exec('ip', 'link', 'del', 'snd0').catch(() => undefined);
      throw error;
    }
    return meter;
  }

  private file(name: string): string {
    return `${this.dir}/${name}.json`;
  }

  // Migrate and return the spans to measure; the frames are counted once the meter stops.
  async migrate(from: Box, to: Box, guest: string, address: string, names: [string, string]): Promise<Span> {
    const source = await from.tapOf(guest, this.mac);
    const started = Date.now();
    await migrate(from, to, guest, address);
    const returned = Date.now();
    return { from: names[0], to: names[1], source, target: await to.tapOf(guest, this.mac), toBox: this.boxes.indexOf(to), started, returned };
  }

  // Stop sender and counters, and measure each span (gapsOf). A span the sender sent less than half its rate in
  // measured nothing: an error, not a gap of 0.
  async stop(spans: Span[]): Promise<Gap[]> {
    await this.sender?.stop();
    for (const counter of this.counters) await counter.stop();
    const gaps = gapsOf(spans, [0, 1].map((i) => JSON.parse(readFileSync(this.file(`count${i}`), 'utf8')) as Counted));
    for (const gap of gaps) {
      if (gap.sent < (RATE * gap.seconds) / 2) throw new Error(`the frame sender sent ${gap.sent} frames during the ${gap.seconds} s migration ${gap.from}→${gap.to}: the meter measured nothing`);
    }
    return gaps;
  }

  // For teardown after a failure: the processes end with their box anyway; this stops them first if it can.
  async kill(): Promise<void> {
    for (const process of [this.sender, ...this.counters]) await process?.kill().catch(() => undefined);
  }
}

// Each span from its start to 1 s after its migration returned, or to the next span's start if sooner: a round trip's
// next migration starts ~60 ms after one returns and may switch over within that second, and its frames are its own
// (counted against the span before, they were 100–300 frames "lost" on libvirt 11.3). `counted` is box a's, then b's.
export function gapsOf(spans: Span[], counted: Counted[]): Gap[] {
  // When each frame left the sender's interface, by the kernel's clock.
  const sent = counted[0]?.frames.snd1 ?? [];
  return spans.map((span, i) => {
    const end = Math.min(span.returned + 1000, spans[i + 1]?.started ?? Infinity);
    const on = (box: number, tap: string) => new Set((counted[box]?.frames[tap] ?? []).map(([seq]) => seq));
    const source = on(1 - span.toBox, span.source);
    const target = on(span.toBox, span.target);
    // The switch-over: the destination's QEMU announces the guest from its tap.
    const announced = counted[span.toBox]?.announces[span.target] ?? Infinity;
    let lost = 0;
    let neither = 0;
    let inSpan = 0;
    for (const [seq, at] of sent) {
      if (at < span.started || at >= end) continue;
      inSpan += 1;
      if (!source.has(seq) && !target.has(seq)) neither += 1;
      if (!(at < announced ? source : target).has(seq)) lost += 1;
    }
    return { from: span.from, to: span.to, lost, neither, sent: inSpan, seconds: (span.returned - span.started) / 1000 };
  });
}

export interface Span {
  from: string;
  to: string;
  source: string;
  target: string;
  toBox: number;
  started: number;
  returned: number;
}

// 1 s after a migration: no static entry for the guest's MAC on any port of the source's bridge; on the destination
// learning and flooding off and the static entry on the guest's tap (sticky when asked).
export async function settledWithin(from: Box, to: Box, bridge: string, tap: string, mac: string, sticky: boolean): Promise<{ source: boolean; destination: boolean }> {
  const sourceClean = async () => !(await readStaticEntries(from.exec, bridge)).some((entry) => entry.mac === mac);
  const destinationRight = async () => (await portProblem(to.exec, bridge, tap, [mac], sticky)) === null;
  const [source, destination] = await Promise.all([eventually(sourceClean, 1), eventually(destinationRight, 1)]);
  return { source, destination };
}

// One way mactable is set up on both hosts for a round trip.
export interface GapMode {
  name: string;
  config: { bridges: string[]; sticky?: boolean };
  watcher: boolean;
}

// The modes the suite and the benchmark measure: a plain bridge (mactable manages nothing) first.
export const GAP_MODES: GapMode[] = [
  { name: 'plain bridge', config: { bridges: [] }, watcher: false },
  { name: 'hook + waiter', config: { bridges: ['br0'] }, watcher: false },
  { name: 'watcher in both hosts', config: { bridges: ['br0'] }, watcher: true },
  { name: 'sticky, hook + waiter', config: { bridges: ['br0'], sticky: true }, watcher: false },
  { name: 'sticky, watcher in both hosts', config: { bridges: ['br0'], sticky: true }, watcher: true },
];

// A guest started on a, migrated a→b→a while the meter runs; each migration's gap, and whether both hosts were
// right 1 s after it returned (only asked where mactable manages the bridge), and its state back on a. The guest is
// gone afterwards.
export async function roundTrip(
  boxes: [Box, Box],
  addresses: [string, string],
  mode: GapMode,
  guest: string,
  mac: string,
): Promise<{ gaps: Gap[]; settled: { source: boolean; destination: boolean }[]; home: string }> {
  const [a, b] = boxes;
  const watchers: Watcher[] = [];
  let meter: GapMeter | null = null;
  try {
    for (const box of boxes) box.configure(mode.config);
    if (mode.watcher) for (const box of boxes) watchers.push(await box.startWatcher());
    await a.guest({ name: guest, nics: [`<interface type='bridge'><mac address='${mac}'/><source bridge='br0'/><model type='virtio'/></interface>`] });
    meter = await GapMeter.start(boxes, 'br0', mac, a.path);
    const spans: Span[] = [];
    const settled: { source: boolean; destination: boolean }[] = [];
    for (const [from, to, address, names] of [
      [a, b, addresses[1], ['A', 'B']],
      [b, a, addresses[0], ['B', 'A']],
    ] as const) {
      const span = await meter.migrate(from, to, guest, address, [...names]);
      spans.push(span);
      if (mode.config.bridges.length > 0) settled.push(await settledWithin(from, to, 'br0', span.target, mac, mode.config.sticky === true));
    }
    const gaps = await meter.stop(spans);
    meter = null;
    return { gaps, settled, home: (await a.virsh('domstate', guest)).trim() };
  } finally {
    await meter?.kill();
    for (const watcher of watchers) await watcher.kill();
    await a.virsh('destroy', guest).catch(() => undefined);
    await a.virsh('undefine', guest).catch(() => undefined);
    await a.exec('ip', 'link', 'del', 'snd0').catch(() => undefined);
  }
}
