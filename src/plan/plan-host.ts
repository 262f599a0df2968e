import type { Config } from '../config/config.js';
import { networkNameProblem, quote } from '../domain/names.js';
import type { GatheredHost } from '../model/facts.js';
import { guestStatusFile } from '../model/paths.js';
import { InputError } from '../runtime/errors.js';
import { planDomain, refuseSharedAcrossGuests, type Plan } from './plan.js';

// Every running guest's plan, planned together (an extra MAC two guests claim is refused the same way whoever asks),
// and the guests whose status file could not be used, each with why.
interface HostPlan {
  plans: Plan[];
  unreadable: Map<string, string>; // guest → the problem, naming the file
}

// The one way every command plans the host: status, repair, the watcher and the waiter. Pure: gathered facts in.
export function planHost({ guests, unreadable }: GatheredHost, config: Config): HostPlan {
  return { plans: refuseSharedAcrossGuests(guests.map(({ domain, facts }) => planDomain(domain, facts, config))), unreadable };
}

// What status and repair look at: every running guest, or the named ones (planned with all the others), with the
// plans' problems and those of unusable status files; `unreadable` when a guest in scope could not be planned.
// `everyone`: every running guest's plan, for the rule that an entry on a running managed guest's tap is never
// deleted; null when a status file cannot be used (then nothing is deleted).
export function guestsInScope(
  gathered: GatheredHost,
  config: Config,
  names: string[],
): { plans: Plan[]; problems: string[]; unreadable: boolean; everyone: Plan[] | null } {
  const planned = planHost(gathered, config);
  const plans = names.length > 0 ? namedPlans(planned, names) : planned.plans;
  const unreadable = names.length > 0 ? [] : [...planned.unreadable.values()];
  return { plans, problems: [...plans.flatMap((plan) => plan.problems), ...unreadable], unreadable: unreadable.length > 0, everyone: everyonePlanned(planned) };
}

// Every running guest's plan, or null when one of their status files cannot be used.
export const everyonePlanned = ({ plans, unreadable }: HostPlan): Plan[] | null => (unreadable.size > 0 ? null : plans);

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
