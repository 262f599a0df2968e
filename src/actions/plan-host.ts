import type { Config } from '../config/config.js';
import { parseDomain } from '../domain/parse.js';
import type { HostFs } from '../host/fs.js';
import { gatherFacts } from '../host/gather.js';
import { runningGuests } from '../host/guests.js';
import { planDomain, refuseSharedAcrossGuests, type Plan } from '../plan/plan.js';

// The plan of each running guest (all, or the named ones), from the daemon's status files.
export function planRunningGuests(host: HostFs, config: Config, names: string[]): Plan[] {
  const plans = runningGuests(host, names).map((guest) => {
    const domain = parseDomain(guest.xml, guest.path);
    return planDomain(domain, gatherFacts(domain, host), config);
  });
  refuseSharedAcrossGuests(plans);
  return plans;
}

// Every running guest's plan, for the rule that an entry on a running managed guest's tap is never deleted: `all`
// when the caller has them all, else read when first asked; null when they cannot all be read (nothing is deleted).
export function everyGuest(host: HostFs, config: Config, all: Plan[] | null): () => Plan[] | null {
  return () => {
    if (all !== null) return all;
    try {
      return planRunningGuests(host, config, []);
    } catch {
      return null;
    }
  };
}
