import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;
const sources = (readdirSync(SRC, { recursive: true, encoding: 'utf8' }) as string[]).filter((file) => file.endsWith('.ts'));

// A file's folder below src/ ('.' for the entry points at its root).
const folderOf = (file: string) => (file.includes('/') ? (file.split('/')[0] as string) : '.');

// Every import of ours between two folders, as "from -> to" with the importing file.
function folderEdges(): { from: string; to: string; file: string }[] {
  return sources.flatMap((file) => {
    const text = readFileSync(`${SRC}${file}`, 'utf8');
    return [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/gu)].flatMap((match) => {
      const target = normalize(join(dirname(file), match[1] as string));
      if (target.startsWith('..')) return []; // package.json
      const [from, to] = [folderOf(file), folderOf(target)];
      return from === to ? [] : [{ from, to, file }];
    });
  });
}

// The folder cycles: each as the path that closes it ("a -> b -> a"), found by a depth-first walk.
function cycles(edges: { from: string; to: string }[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const found = new Set<string>();
  const walk = (path: string[]) => {
    for (const to of next.get(path.at(-1) as string) ?? []) {
      const at = path.indexOf(to);
      if (at >= 0) found.add([...path.slice(at), to].join(' -> '));
      else walk([...path, to]);
    }
  };
  for (const start of next.keys()) walk([start]);
  return [...found];
}

// Imports that would make the core depend on the shell, or a layer on the one above it.
const FORBIDDEN: [string, string][] = [
  ['plan', 'host'],
  ['plan', 'actions'],
  ['runtime', 'host'],
  ['report', 'actions'],
  ['host', 'plan'],
  ['host', 'actions'],
];

describe('layers: imports flow one way', () => {
  const edges = folderEdges();

  it('reads the imports of every source file', () => {
    expect(sources.length).toBeGreaterThan(40);
    expect(edges.length).toBeGreaterThan(40);
  });

  it('no folder of src/ imports, through others, from itself', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('model/ imports nothing of ours', () => {
    expect(edges.filter(({ from }) => from === 'model')).toEqual([]);
  });

  it.each(FORBIDDEN)('%s/ imports nothing from %s/', (from, to) => {
    expect(edges.filter((edge) => edge.from === from && edge.to === to).map(({ file }) => file)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    expect(cycles([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'c', to: 'd' }])).toContain('a -> b -> c -> a');
  });
});
