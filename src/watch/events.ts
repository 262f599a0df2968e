import type { HostFs } from '../runtime/fs.js';
import { RUN_QEMU } from '../model/paths.js';
import type { Monitor, Runtime } from '../runtime/runtime.js';

// A kernel monitor line names a device: "3: vnet0: <...> master br0 ..." for a port's link (joined, left, flags
// changed), "52:54:00:... dev vnet0 master br0 static" for an entry, "vnet0    30" for a VLAN of a port (added,
// removed); "Deleted " may lead each.
export function deviceOf(line: string): string | null {
  return /^(?:Deleted )?\d+: ([^:@\s]+)/u.exec(line)?.[1] ?? /\bdev (\S+)/u.exec(line)?.[1] ?? /^(?:Deleted )?([^:\s]+)\s+\d+(?:-\d+)?(?:\s|$)/u.exec(line)?.[1] ?? null;
}

// The bridge a link or entry line names ("master br0"), if any: a port that is no guest's changing on a managed
// bridge changes the bridge's mode (its auto ports).
export const masterIn = (line: string): string | null => /\bmaster (\S+)/u.exec(line)?.[1] ?? null;

// An entry line's MAC and bridge ("52:54:00:00:00:01 dev up0 master br0 static", also "Deleted ..."): the watcher
// follows a guest's MAC wherever learning moves its entry. Null for a link line and for the kernel's `self` entries.
export function monitorEntry(line: string): { mac: string; bridge: string } | null {
  const match = /^(?:Deleted )?([0-9a-f]{2}(?::[0-9a-f]{2}){5}) dev \S+ (?:.* )?master (\S+)/u.exec(line);
  return match ? { mac: match[1] as string, bridge: match[2] as string } : null;
}

// Changes to a directory of the daemon's: the names of files made, renamed or removed in it, and null when the
// directory (re)appears. A missing directory (libvirtd not running) is polled for until it appears.
export function watchDirectory(rt: Runtime, path: string, exists: () => boolean, onChange: (file: string | null) => void): { close(): void } {
  let watcher: { close(): void } | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;
  const start = () => {
    if (!exists()) {
      poll ??= setInterval(() => (exists() ? start() : undefined), 1000);
      return;
    }
    if (poll !== null) clearInterval(poll);
    poll = null;
    watcher = rt.watchDir(path, (file) => {
      if (file === null || !exists()) {
        watcher?.close();
        watcher = null;
        start();
      } else onChange(file);
    });
    onChange(null);
  };
  start();
  return {
    close: () => {
      watcher?.close();
      if (poll !== null) clearInterval(poll);
    },
  };
}

// A guest's status file renamed into place (start, pause, resume, attach) or removed (stop), by the guest's name;
// null when libvirt's status directory (re)appears: every guest is due.
export function statusFileEvents(rt: Runtime, host: HostFs, onGuest: (guest: string | null) => void): { close(): void } {
  return watchDirectory(rt, host.real(RUN_QEMU), () => host.exists(RUN_QEMU), (file) => {
    if (file === null) onGuest(null);
    else if (file.endsWith('.xml')) onGuest(file.slice(0, -4));
  });
}

const BACKOFF_MS = [250, 500, 1000, 2000, 5000, 10_000, 30_000];
const STEADY_MS = 60_000; // a monitor that ran this long starts the backoff over

// `bridge monitor fdb link vlan`, restarted with backoff when it ends; every line's device (and an entry line's MAC
// and bridge, and the bridge a line names) goes to `onDevice`, and null after a restart (what happened meanwhile was
// not seen).
type OnDevice = (device: string | null, entry: { mac: string; bridge: string } | null, master: string | null) => void;
export function watchKernel(rt: Runtime, file: string, onDevice: OnDevice, log: (text: string) => void): { close(): Promise<void> } {
  let attempt = 0;
  let started = 0;
  let current: Promise<Monitor> | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const start = () => {
    started = rt.now();
    current = rt.monitor(file, ['monitor', 'fdb', 'link', 'vlan'], (line) => {
      const device = deviceOf(line);
      if (device !== null) onDevice(device, monitorEntry(line), masterIn(line));
    }, (why) => {
      if (rt.now() - started > STEADY_MS) attempt = 0;
      const delay = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)] as number;
      log(`the kernel monitor stopped (${why}); starting it again in ${delay / 1000} s`);
      timer = setTimeout(() => (start(), onDevice(null, null, null)), delay);
    });
  };
  start();
  return {
    close: async () => {
      if (timer !== null) clearTimeout(timer);
      await (await current)?.stop();
    },
  };
}
