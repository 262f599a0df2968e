import { inject } from 'vitest';
import { canRun } from '../helpers/sh.js';

// The run's Debian 13 root with libvirt (test/setup/libvirt-root.ts) for `suite`, or null when the suite must skip
// (canRun has said why, or failed under MACTABLE_REQUIRE_ALL). A root that could not be made fails the suite.
export function libvirtRoot(suite: string): string | null {
  const root = inject('libvirtRoot');
  if ('failed' in root) throw new Error(`${suite}: the Debian 13 root with libvirt could not be made: ${root.failed}`);
  if ('missing' in root) {
    canRun(suite, root.missing);
    return null;
  }
  return root.path;
}
