import type { HostFs } from './fs.js';
import { RUN_QEMU } from './paths.js';

// The guests that have a status file, i.e. run (or are paused), by name.
export function runningGuestNames(host: HostFs): string[] {
  return (host.list(RUN_QEMU) ?? [])
    .filter((file) => file.endsWith('.xml'))
    .map((file) => file.slice(0, -4))
    .sort();
}
