import type { Runtime } from '../runtime/runtime.js';
import type { HostFs } from '../runtime/fs.js';
import { WATCH_LOCK } from '../model/paths.js';

// Whether `mactable watch` runs for this root: it holds an exclusive lock on WATCH_LOCK for its life, which the
// kernel drops when it ends however it ends (a file left behind is no watcher). hooks/qemu tests the same lock.
export const watcherRuns = (rt: Runtime, host: HostFs): Promise<boolean> => rt.lockHeld(host.real(WATCH_LOCK));

// The pid the running watcher wrote into its lock file (doctor names it).
export const watcherPid = (host: HostFs): string | null => host.readText(WATCH_LOCK)?.trim() || null;

// The argument that makes `mactable watch` the waiter for one guest (one word: a name may start with '-').
export const waiterArg = (guest: string) => `--until-running=${guest}`;
