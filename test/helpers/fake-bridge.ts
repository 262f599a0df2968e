import type { CommandResult } from '../../src/runtime/runtime.js';

export interface FakeEntry {
  mac: string;
  state: string;
  flags: string[];
}

// A small model of what `bridge -j -d -force -batch -` does to ports' entries and locks, for tests without a
// kernel. `fail` makes a command line fail with the given message; `calls` records every batch.
export class FakeBridge {
  readonly entries = new Map<string, FakeEntry[]>(); // by tap
  readonly locked = new Map<string, boolean>();
  readonly calls: string[][] = [];
  fail: (line: string) => string | null = () => null;

  constructor(readonly bridge = 'br0') {}

  run = (args: string[], input: string): CommandResult => {
    const lines = input.split('\n').filter(Boolean);
    this.calls.push(lines);
    const stdout: string[] = [];
    const stderr: string[] = [];
    lines.forEach((line, i) => {
      const error = this.fail(line) ?? this.apply(line, stdout);
      if (error !== null) stderr.push(error, `Command failed -:${i + 1}`);
    });
    return { exitCode: stderr.length > 0 ? 1 : 0, stdout: stdout.map((line) => `${line}\n`).join(''), stderr: stderr.map((line) => `${line}\n`).join(''), failure: null, timedOut: false };
  };

  private apply(line: string, stdout: string[]): string | null {
    const words = line.split(' ');
    const list = (tap: string) => this.entries.get(tap) ?? [];
    if (line.startsWith('fdb show')) {
      stdout.push(JSON.stringify(list(words[5] as string).map((entry) => ({ ...entry, master: this.bridge }))));
    } else if (line.startsWith('fdb get')) {
      const mac = words[2] as string;
      const found = [...this.entries].flatMap(([tap, entries]) => entries.filter((entry) => entry.mac === mac).map((entry) => ({ ...entry, ifname: tap, master: this.bridge })));
      if (found.length === 0) return 'Error: Fdb entry not found.';
      stdout.push(JSON.stringify(found.slice(0, 1)));
    } else if (line.startsWith('link show')) {
      stdout.push(JSON.stringify([{ ifname: words[3], master: this.bridge, locked: this.locked.get(words[3] as string) ?? false }]));
    } else if (line.startsWith('fdb replace')) {
      const [mac, tap] = [words[2] as string, words[4] as string];
      this.entries.set(tap, [...list(tap).filter((entry) => entry.mac !== mac), { mac, state: words[6] as string, flags: words.slice(7) }]);
    } else if (line.startsWith('fdb del')) {
      const [mac, tap] = [words[2] as string, words[4] as string];
      if (!list(tap).some((entry) => entry.mac === mac)) return 'RTNETLINK answers: No such file or directory';
      this.entries.set(tap, list(tap).filter((entry) => entry.mac !== mac));
    } else if (line.startsWith('link set')) {
      this.locked.set(words[3] as string, words[5] === 'on');
    } else return `unknown command: ${line}`;
    return null;
  }
}
