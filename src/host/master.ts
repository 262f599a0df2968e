import type { HostFs } from '../runtime/fs.js';
import { masterLink } from '../model/paths.js';

// The tap's master bridge, from /sys/class/net/TAP/master, or null when it has none.
export function masterOf(host: HostFs, tap: string): string | null {
  const link = host.readLink(masterLink(tap));
  return link === null ? null : link.slice(link.lastIndexOf('/') + 1);
}
