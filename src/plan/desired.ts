import type { Config } from '../config/config.js';
import type { RunState } from '../model/domain.js';
import type { Desired } from '../model/state.js';

// The status file says whether the vCPUs run: they do unless it says 'paused' (no status file: taken as running).
export function vcpusRun(run: RunState | null): boolean {
  return run?.state !== 'paused';
}

// The one rule: tight while the vCPUs run, as libvirt made it while they do not.
export function desiredFor(run: RunState | null, { libvirtTable }: { libvirtTable: boolean }, { sticky, lockPorts }: Config): Desired {
  if (vcpusRun(run)) return { learning: false, entry: true, sticky, lock: lockPorts };
  return { learning: !libvirtTable, entry: false, sticky, lock: false };
}

// "paused (migration)" for messages.
export function pausedWords(run: RunState | null): string {
  return `paused${run?.reason ? ` (${run.reason})` : ''}`;
}
