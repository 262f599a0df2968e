import type { Config } from '../config/config.js';
import { parseDomain } from '../domain/parse.js';
import type { Domain } from '../domain/types.js';
import { describe, InputError } from '../runtime/errors.js';
import { networkNameProblem, quote } from '../domain/names.js';
import type { HostFs } from '../host/fs.js';
import { gatherFacts } from '../host/gather.js';
import { runningGuestNames } from '../host/guests.js';
import { guestStatusFile } from '../host/paths.js';
import { planDomain, refuseSharedAcrossGuests, type Plan } from '../plan/plan.js';

// Every running guest's plan, planned together (an extra MAC two guests claim is refused the same way whoever asks),
// and the guests whose status file could not be used, each with why.
interface HostPlan {
  plans: Plan[];
  unreadable: Map<string, string>; // guest → the problem, naming the file
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

// The one way every command plans the host: status, repair, the watcher and the waiter.
export function planHost(host: HostFs, config: Config, cache = new ParseCache()): HostPlan {
  const names = runningGuestNames(host);
  cache.keep(names);
  const plans: Plan[] = [];
  const unreadable = new Map<string, string>();
  for (const name of names) {
    try {
      const domain = cache.domain(host, name);
      if (domain !== null) plans.push(planDomain(domain, gatherFacts(domain, host), config));
    } catch (error) {
      unreadable.set(name, describe(error));
    }
  }
  return { plans: refuseSharedAcrossGuests(plans), unreadable };
}

// What status and repair look at: every running guest, or the named ones (planned with all the others), with the
// plans' problems and those of unusable status files; `unreadable` when a guest in scope could not be planned.
// `everyone`: every running guest's plan, for the rule that an entry on a running managed guest's tap is never
// deleted; null when a status file cannot be used (then nothing is deleted).
export function guestsInScope(
  host: HostFs,
  config: Config,
  names: string[],
): { plans: Plan[]; problems: string[]; unreadable: boolean; everyone: Plan[] | null } {
  const planned = planHost(host, config);
  const plans = names.length > 0 ? namedPlans(planned, names) : planned.plans;
  const unreadable = names.length > 0 ? [] : [...planned.unreadable.values()];
  return { plans, problems: [...plans.flatMap((plan) => plan.problems), ...unreadable], unreadable: unreadable.length > 0, everyone: everyonePlanned(planned) };
}

// Every running guest's plan, or null when one of their status files cannot be used.
export const everyonePlanned = ({ plans, unreadable }: HostPlan): Plan[] | null => (unreadable.size > 0 ? null : plans);

// The same, read only when first asked (the hook at release needs it only when it found an entry to delete).
export const everyGuest = (host: HostFs, config: Config) => (): Plan[] | null => everyonePlanned(planHost(host, config));

// The plans of the named guests, which must be running with a usable status file.
function namedPlans({ plans, unreadable }: HostPlan, names: string[]): Plan[] {
  return names.map((name) => {
    const problem = networkNameProblem(name);
    if (problem) throw new InputError(`guest name ${quote(name)} ${problem}`);
    const plan = plans.find((candidate) => candidate.domain === name);
    if (plan !== undefined) return plan;
    throw new InputError(unreadable.get(name) ?? `${name} is not running (no ${guestStatusFile(name)})`);
  });
}
