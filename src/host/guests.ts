import { InputError } from '../runtime/errors.js';
import { networkNameProblem, quote } from '../domain/names.js';
import type { HostFs } from './fs.js';
import { guestStatusFile, RUN_QEMU } from './paths.js';

interface RunningGuest {
  name: string;
  path: string;
  xml: string;
}

// The guests that have a status file, i.e. run (or are paused), by name.
export function runningGuestNames(host: HostFs): string[] {
  return (host.list(RUN_QEMU) ?? [])
    .filter((file) => file.endsWith('.xml'))
    .map((file) => file.slice(0, -4))
    .sort();
}

// The status XML libvirt keeps for each running guest in /run/libvirt/qemu (never libvirt's API):
// all of them, or the named ones, which must be running.
export function runningGuests(host: HostFs, names: string[]): RunningGuest[] {
  const wanted = names.length > 0 ? names : runningGuestNames(host);
  return wanted.map((name) => {
    // Guest names become file names just as network names do: the same rule keeps them in their directory.
    const problem = networkNameProblem(name);
    if (problem) throw new InputError(`guest name ${quote(name)} ${problem}`);
    const path = guestStatusFile(name);
    const xml = host.readText(path);
    if (xml === null) throw new InputError(`${name} is not running (no ${path})`);
    return { name, path, xml };
  });
}
