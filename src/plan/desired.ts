import type { Config } from '../config/config.js';
import type { RunState } from '../domain/types.js';

// What a managed port should look like in the kernel. Learning and unicast flooding are off as soon as the tap
// exists; the static entry (and the lock) only while the guest's vCPUs run, as libvirt does for its own ports:
// a paused guest (incoming migration, start --paused, suspend) gets its frames through the uplink instead.
export interface Desired {
  entry: boolean;
  sticky: boolean;
  lock: boolean;
}

// The one rule for the entry: present unless the status file says the vCPUs are stopped.
export function vcpusRun(run: RunState | null): boolean {
  return run?.state !== 'paused';
}

export function desiredFor(run: RunState | null, { sticky, lockPorts }: Config): Desired {
  const entry = vcpusRun(run);
  return { entry, sticky, lock: lockPorts && entry };
}

// "paused (migration)" for messages.
export function pausedWords(run: RunState | null): string {
  return `paused${run?.reason ? ` (${run.reason})` : ''}`;
}
