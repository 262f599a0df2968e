import { parseDomain } from '../domain/parse.js';
import type { Domain } from '../model/domain.js';
import type { HostFs } from '../runtime/fs.js';
import { guestStatusFile, RUN_QEMU } from '../model/paths.js';

// The guests that have a status file, i.e. run (or are paused), by name.
export function runningGuestNames(host: HostFs): string[] {
  return (host.list(RUN_QEMU) ?? [])
    .filter((file) => file.endsWith('.xml'))
    .map((file) => file.slice(0, -4))
    .sort();
}

// Status files parsed again only when they changed: a watcher's resync of hundreds of guests costs a stat per guest,
// not an XML parse. The host facts are gathered every time.
export class ParseCache {
  private readonly parsed = new Map<string, { stamp: string; domain: Domain }>();

  // The guest's domain from its status file; null when it stopped meanwhile. Throws when the file is unusable.
  domain(host: HostFs, guest: string): Domain | null {
    const path = guestStatusFile(guest);
    const stat = host.stat(path);
    const cached = this.parsed.get(guest);
    if (stat === null) {
      this.parsed.delete(guest);
      return null;
    }
    const stamp = `${stat.mtimeMs}/${stat.size}`;
    if (cached?.stamp === stamp) return cached.domain;
    this.parsed.delete(guest);
    const xml = host.readText(path);
    if (xml === null) return null;
    const domain = parseDomain(xml, path);
    this.parsed.set(guest, { stamp, domain });
    return domain;
  }

  // Only the guests that still run are kept.
  keep(guests: string[]): void {
    for (const guest of [...this.parsed.keys()]) if (!guests.includes(guest)) this.parsed.delete(guest);
  }
}
