import type { Config } from '../config/config.js';
import type { RunState } from '../model/domain.js';
import type { Desired } from '../model/state.js';

// The status file says whether the vCPUs run: they do unless it says 'paused' (no status file: taken as running).
export function vcpusRun(run: RunState | null): boolean {
  return run?.state !== 'paused';
}

// While libvirt migrates the guest away (from the job's start, seconds before the switch-over; the status file says
// so), its entries are not sticky: the destination's announce moves them off the tap at once, as a plain bridge
// would, instead of the source keeping the guest's frames until its entry goes. A job that ends without a
// switch-over (failed, cancelled) rewrites the status file: the entries are sticky again.
function migratingAway(run: RunState | null): boolean {
  return run?.job === 'migration out';
}

// The one rule: tight while the vCPUs run, as libvirt made it while they do not.
export function desiredFor(run: RunState | null, { libvirtTable }: { libvirtTable: boolean }, { sticky, lockPorts }: Config): Desired {
  if (vcpusRun(run)) return { learning: false, entry: true, sticky: sticky && !migratingAway(run), lock: lockPorts };
  return { learning: !libvirtTable, entry: false, sticky, lock: false };
}

// "paused (migration)" for messages.
export function pausedWords(run: RunState | null): string {
  return `paused${run?.reason ? ` (${run.reason})` : ''}`;
}
