import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

// docs/results.json: every figure the README and docs/ quote. `npm run bench` writes its section, the soak and the
// test run theirs (with MACTABLE_RESULTS=docs/results.json); each keeps the others. test/unit/figures.test.ts
// fails when a page quotes a figure that is not in it. A leaf's unit is its key's suffix (test/helpers/figures.ts).
export const RESULTS = new URL('../../docs/results.json', import.meta.url).pathname;

export type Section = Record<string, unknown>;

export const readResults = (file = RESULTS): Record<string, Section> => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Section>) : {});

// Which run wrote a section: when, from which commit, and how loaded the machine was (other work shares it).
export function runOf(command: string): Section {
  let commit = process.env.MACTABLE_RESULTS_COMMIT ?? '';
  if (commit === '') {
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      commit = 'unknown'; // not a git checkout
    }
  }
  return { command, date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', commit, loadAverageAtStart: Number(loadavg()[0]?.toFixed(1)) };
}

// Replace one section of the results file, keep the rest; written whole and renamed, so a reader never sees half of it.
export function writeSection(file: string, name: string, section: Section): void {
  const all = { ...readResults(file), [name]: section };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
