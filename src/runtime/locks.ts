import * as fs from 'node:fs';
import { dirname } from 'node:path';
import type { Result } from '../model/result.js';
import { commandEnv, type LoadChildProcess } from './commands.js';

type Env = Record<string, string | undefined>;

// What taking a lock gave: this process holds it (`held`), another one does (not `held`), or why it could not be tried.
export type LockResult = Result<{ held: boolean }>;

// Node has no flock(2): flock(1) locks the open file description it inherits as fd 3, which stays locked while
// this process keeps the descriptor open (Node opens files close-on-exec: no other child inherits it).
async function flockFd(load: LoadChildProcess, fd: number, args: string[], env: Env): Promise<{ code: number | null; why: string }> {
  const { spawnSync } = await load();
  const result = spawnSync('flock', [...args, '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], env: commandEnv(env), encoding: 'utf8', timeout: 30_000 });
  if (result.error) return { code: null, why: `cannot run flock: ${result.error.message}` };
  return { code: result.status, why: result.stderr.trim() || `flock exited with ${result.status ?? result.signal}` };
}

// An exclusive lock on `path` (made with its directory) for the rest of this process's life, with our pid in the
// file for doctor. `waitSeconds` rides out the instant a `lockHeld` check holds it shared.
export async function holdLock(load: LoadChildProcess, env: Env, path: string, waitSeconds: number, pid: number): Promise<LockResult> {
  let fd: number;
  try {
    fs.mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  } catch (error) {
    return { failure: `cannot open ${path}: ${(error as Error).message}` };
  }
  const { code, why } = await flockFd(load, fd, [waitSeconds > 0 ? `--wait=${waitSeconds}` : '--nonblock', '--exclusive'], env);
  if (code !== 0) {
    fs.closeSync(fd);
    return code === 1 ? { failure: null, held: false } : { failure: why };
  }
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, `${pid}\n`, 0);
  return { failure: null, held: true }; // the descriptor stays open until the process ends, and the kernel releases the lock then
}

// Whether some process holds an exclusive lock on `path`: only then is a shared one refused. A file nobody locks
// (a stale one, or none) is not a holder; neither is anything when flock cannot run (the caller then does the work).
export async function lockHeld(load: LoadChildProcess, env: Env, path: string): Promise<boolean> {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY);
  } catch {
    return false;
  }
  try {
    return (await flockFd(load, fd, ['--nonblock', '--shared'], env)).code === 1;
  } finally {
    fs.closeSync(fd);
  }
}
