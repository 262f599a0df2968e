import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { sh } from './sh.js';

declare module 'vitest' {
  export interface ProvidedContext {
    // Where one test run keeps its built Debian roots: made and removed by test/setup/debian-roots.ts.
    debianRootCache: string;
  }
}

export function makeCache(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mactable-debian-cache-'));
  // A root's / must stay reachable for its system users (_apt) through the cache: 0755, not mkdtemp's 0700.
  chmodSync(dir, 0o755);
  return dir;
}

// The run's cache; a vitest run without test/setup/debian-roots.ts gets one per test process, removed at its exit.
let own: string | undefined;
function cacheDir(): string {
  const provided = inject('debianRootCache');
  if (provided !== undefined) return provided;
  if (own === undefined) {
    const dir = makeCache();
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    own = dir;
  }
  return own;
}

// Run `fn` holding an exclusive flock on `file`. A child process holds the lock, so it goes when this process
// dies, whatever state the build was in (an unfinished build is a `.partial` directory, never the cached name).
async function locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const holder = spawn('flock', [file, 'sh', '-c', 'echo locked && exec cat > /dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [granted] = (await Promise.race([once(holder.stdout, 'data'), once(holder, 'exit')])) as [unknown];
  if (!Buffer.isBuffer(granted)) throw new Error(`flock ${file} failed (exit ${String(granted)})`);
  try {
    return await fn();
  } finally {
    const exited = once(holder, 'exit');
    holder.stdin.end();
    await exited;
  }
}

// The directory cached under `key`, built by `build(dir)` the first time any test process of this run asks for it.
// Returns whether this call built it, and how long getting it took (the wait for another process's build included).
export async function cachedRoot(key: string, build: (dir: string) => Promise<void>): Promise<{ dir: string; builtMs: number | null }> {
  const cache = cacheDir();
  const dir = join(cache, key);
  return locked(`${dir}.lock`, async () => {
    if (existsSync(dir)) return { dir, builtMs: null };
    const started = Date.now();
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { mode: 0o755 });
    await build(partial);
    renameSync(partial, dir);
    return { dir, builtMs: Date.now() - started };
  });
}

// A private copy of a cached root, for one test to change as it likes (reflinked where the filesystem can).
export async function copyRoot(from: string): Promise<string> {
  const to = mkdtempSync(join(tmpdir(), 'mactable-debian-'));
  chmodSync(to, 0o755);
  await sh('cp', ['-a', '--reflink=auto', `${from}/.`, to]);
  return to;
}
