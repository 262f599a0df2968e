import { readFileSync, rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { makeCache } from '../helpers/root-cache.js';

// One cache of built Debian roots for the whole run (test/helpers/root-cache.ts), provided to every test file
// and removed when the run ends. Nothing is built until a test asks for a root.
export default function setup(project: TestProject): (() => void) | undefined {
  // vitest runs a global setup once for each project, and each project gets what the root project provides: the
  // root's cache is every project's (the VLAN kernel's Debian 13 libvirt root is e2e-trixie's, distro's roots too).
  if (!project.isRootProject()) return undefined;
  const dir = makeCache();
  project.provide('debianRootCache', dir);
  return () => {
    // Roots are entered only in mount namespaces that end with their commands: a mount below one is a leak, kept.
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => (line.split(' ')[4] ?? '').startsWith(`${dir}/`));
    if (mounted) process.stderr.write(`debian roots: something is still mounted below ${dir}; not removing it\n`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
