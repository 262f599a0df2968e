import type { HostFs } from './fs.js';

// A running `mactable watch`: the service (or one started by hand), or the waiter the hook left for a paused guest.
export interface WatchProcess {
  pid: number;
  waitsFor: string | null; // the guest of a `--until-running` waiter; null for a full watcher
}

const WAITER = '--until-running=';

// The mactable watchers on this host, from the processes' command lines in /proc.
export function watchProcesses(host: HostFs): WatchProcess[] {
  return (host.list('/proc') ?? []).flatMap((pid): WatchProcess[] => {
    if (!/^\d+$/u.test(pid)) return [];
    let argv: string[];
    try {
      argv = (host.readText(`/proc/${pid}/cmdline`) ?? '').split('\0');
    } catch {
      return []; // gone meanwhile
    }
    const at = argv.indexOf('watch');
    if (at < 1 || !argv.slice(0, at).some((arg) => /mactable(\.mjs)?$/u.test(arg))) return [];
    const waiter = argv.find((arg) => arg.startsWith(WAITER));
    return [{ pid: Number(pid), waitsFor: waiter === undefined ? null : waiter.slice(WAITER.length) }];
  });
}

// The argument that makes `mactable watch` the waiter for one guest (one word: a name may start with '-').
export const waiterArg = (guest: string) => `${WAITER}${guest}`;
