import type { Config } from '../config/config.js';
import { parseDomain } from '../domain/parse.js';
import { describe } from '../runtime/errors.js';
import type { HostFs } from '../host/fs.js';
import { gatherFacts } from '../host/gather.js';
import { guestStatusFile } from '../host/paths.js';
import { planDomain, type Plan } from '../plan/plan.js';

// Plans of running guests from their status files, parsed again only when a file changed: a full resync of
// hundreds of guests then costs a stat per guest, not an XML parse. The host facts are gathered every time.
export class PlanCache {
  private readonly parsed = new Map<string, { stamp: string; domain: ReturnType<typeof parseDomain> }>();

  // The guest's plan; null when it is not running (no status file); a string when its file is unusable.
  plan(host: HostFs, config: Config, guest: string): Plan | null | string {
    const path = guestStatusFile(guest);
    try {
      const stat = host.stat(path);
      if (stat === null) {
        this.parsed.delete(guest);
        return null;
      }
      const stamp = `${stat.mtimeMs}/${stat.size}`;
      let cached = this.parsed.get(guest);
      if (cached?.stamp !== stamp) {
        const xml = host.readText(path);
        if (xml === null) return null;
        cached = { stamp, domain: parseDomain(xml, path) };
        this.parsed.set(guest, cached);
      }
      return planDomain(cached.domain, gatherFacts(cached.domain, host), config);
    } catch (error) {
      this.parsed.delete(guest);
      return describe(error);
    }
  }
}
