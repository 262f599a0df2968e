// The figures a page quotes and the figures docs/results.json holds, to check that every quoted figure is one the
// results file has (test/unit/figures.test.ts). A quoted figure is, outside code:
// - a number with a unit of time, size or ratio (`264 ms`, `67.6 → 72.1 MB`, `0.56–0.97 s`, `1.77 ×`, `12 %`);
// - a number of soak events, reconciles, repaired ports, monitor kills or descriptors (`16 507 events`);
// - a bare number with two or more decimals (a ratio: `1.77`), unless a version (after Node.js, Linux, `>=`...);
// - every integer (or `N / M`) in a table whose header says A→B (the switch-over gaps), and every comma-separated list of
//   integers in a table cell.
// It matches when some figure of the results file of the same kind, in the quoted unit and rounded to the quoted
// decimals, equals it. A figure under a `previous` key (the bench's run before the last) matches only in a paragraph
// that says it is past: was, were, before, earlier, previous.

export type Kind = 'time' | 'size' | 'ratio' | 'percent' | 'count';

export interface Quoted {
  page: string;
  line: number;
  text: string; // as written, for the message
  value: number;
  decimals: number;
  unit: string; // ms, s, min, KiB, MB, ×, %, count...
  paragraph: string;
}

interface Known {
  kind: Kind;
  base: number; // the value in the kind's base unit: ms, bytes, ratio, percent, count
  past: boolean;
}

// Each unit: its kind and how many base units it is.
const UNITS: Record<string, [Kind, number]> = {
  ms: ['time', 1],
  s: ['time', 1000],
  seconds: ['time', 1000],
  min: ['time', 60_000],
  minutes: ['time', 60_000],
  h: ['time', 3_600_000],
  hours: ['time', 3_600_000],
  bytes: ['size', 1],
  KB: ['size', 1000],
  kB: ['size', 1000],
  KiB: ['size', 1024],
  MB: ['size', 1024 ** 2],
  MiB: ['size', 1024 ** 2],
  '×': ['ratio', 1],
  ratio: ['ratio', 1],
  '%': ['percent', 1],
  count: ['count', 1],
};

// A results key's unit is its suffix: rightAfterLastEventMs, drivenS, rssAtEndMB, mactableKiB, ratio, floorRatio, ...Pct; any other number counts.
function unitOfKey(key: string): string {
  const suffixes: [RegExp, string][] = [
    [/Ms$/u, 'ms'],
    [/[a-z]S$/u, 's'],
    [/Min$/u, 'min'],
    [/Bytes$/u, 'bytes'],
    [/KiB$/u, 'KiB'],
    [/MiB$/u, 'MiB'],
    [/KB$/u, 'KB'],
    [/MB$/u, 'MB'],
    [/^(ratio|target)$|Ratio$/u, 'ratio'],
    [/Pct$/u, '%'],
  ];
  return suffixes.find(([pattern]) => pattern.test(key))?.[1] ?? 'count';
}

// Every number of the results file with its kind, in base units.
export function knownFigures(results: unknown): Known[] {
  const known: Known[] = [];
  const walk = (value: unknown, key: string, past: boolean) => {
    if (typeof value === 'number') {
      const [kind, factor] = UNITS[unitOfKey(key)] as [Kind, number];
      known.push({ kind, base: value * factor, past });
    } else if (Array.isArray(value)) for (const item of value) walk(item, key, past);
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k, past || k === 'previous');
  };
  walk(results, '', false);
  return known;
}

const NUMBER = String.raw`\d{1,3}(?:[ \u202f\u00a0]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`;
const UNIT = String.raw`ms|seconds|s|minutes|min|hours|h|bytes|KiB|KB|kB|MiB|MB|×|%`;
const COUNTED = String.raw`events|reconciles|rounds|ports repaired|monitor kills|descriptors`;
// A number, optionally a range or change (`0.56–0.97`, `67.6 → 72.1`), then a unit; × not before a capital (`2 × AMD`).
const WITH_UNIT = new RegExp(String.raw`(?<![\w.])(${NUMBER})(?:\s?(?:–|-|→|to)\s?(${NUMBER}))?\s?(${UNIT}|${COUNTED})(?![\w/])(?!\s[A-Z])`, 'gu');
const DECIMAL = /(?<![\w.])(\d+\.\d{2,})(?!\w|\.\d|\s?(?:ms|s|KiB|MB|×|%)\b)/gu;
const VERSION_BEFORE = /(?:Node(?:\.js)?|Linux|Ubuntu|Debian|libvirt|iproute2|esbuild|yargs|version|nodejs|v|>=|≥)\s*$/iu;

const parse = (text: string) => {
  const plain = text.replace(/[ \u202f\u00a0](?=\d{3}\b)/gu, '');
  return { value: Number(plain), decimals: plain.includes('.') ? (plain.split('.')[1] as string).length : 0 };
};

// The figures one page quotes: code blocks and `code` left out.
export function quotedFigures(page: string, markdown: string): Quoted[] {
  const figures: Quoted[] = [];
  const lines = markdown.split('\n');
  let fenced = false;
  let gapTable = false;
  let paragraph = '';
  lines.forEach((raw, i) => {
    if (raw.startsWith('```')) fenced = !fenced;
    if (fenced || raw.startsWith('```')) return;
    if (raw.trim() === '') paragraph = '';
    else if (paragraph === '') paragraph = lines.slice(i, lines.findIndex((l, j) => j > i && l.trim() === '') >>> 0).join(' ');
    const line = raw.replace(/`[^`]*`/gu, '``');
    const quote = (text: string, unit: string, number = text) => figures.push({ page, line: i + 1, text, unit, paragraph, ...parse(number) });
    const taken: [number, number][] = [];
    for (const m of line.matchAll(WITH_UNIT)) {
      const unit = (m[3] as string) in UNITS ? (m[3] as string) : 'count';
      quote(`${m[1]} ${m[3]}`, unit, m[1]);
      if (m[2] !== undefined) quote(`${m[2]} ${m[3]}`, unit, m[2]);
      taken.push([m.index, m.index + m[0].length]);
    }
    for (const m of line.matchAll(DECIMAL)) {
      if (taken.some(([from, to]) => m.index >= from && m.index < to) || VERSION_BEFORE.test(line.slice(0, m.index))) continue;
      quote(m[1] as string, 'ratio');
    }
    if (line.startsWith('|')) {
      if (/A→B/u.test(line)) gapTable = true;
      const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
      for (const cell of cells.slice(1)) {
        if (gapTable && /^\d+(?: \/ \d+)?$/u.test(cell)) for (const n of cell.split(' / ')) quote(n, 'count');
        else if (/^\d+(?:, \d+)+$/u.test(cell)) for (const n of cell.split(', ')) quote(n, 'count');
      }
    } else gapTable = false;
  });
  return figures;
}

const PAST = /\b(?:was|were|before|earlier|previous)\b/iu;

// The quoted figures that the results file does not hold and the allowlist does not name.
export function unknownFigures(quoted: Quoted[], known: Known[], allowed: ReadonlySet<string>): Quoted[] {
  return quoted.filter((q) => {
    if (allowed.has(q.unit === 'count' || q.unit === 'ratio' ? q.text : `${q.value} ${q.unit}`)) return false;
    const [kind, factor] = UNITS[q.unit] as [Kind, number];
    return !known.some((k) => k.kind === kind && (!k.past || PAST.test(q.paragraph)) && Number((k.base / factor).toFixed(q.decimals)) === q.value);
  });
}
