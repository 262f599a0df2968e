import type { TestProject } from 'vitest/node';
import { libvirtRootMissing, makeLibvirtRoot, removeLibvirtRoot } from '../helpers/libvirt-root.js';

// The e2e-trixie project's Debian 13 root with libvirt, made once per run and shared by its test files (inject('libvirtRoot')).
declare module 'vitest' {
  export interface ProvidedContext {
    libvirtRoot: { path: string } | { missing: string } | { failed: string };
  }
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const missing = libvirtRootMissing();
  if (missing !== null) {
    project.provide('libvirtRoot', { missing });
    return undefined;
  }
  const started = Date.now();
  let path: string;
  try {
    path = await makeLibvirtRoot();
  } catch (error) {
    // The files fail with this; a throw here would end every other suite of the run too.
    project.provide('libvirtRoot', { failed: String(error instanceof Error ? error.message : error) });
    return undefined;
  }
  process.stderr.write(`e2e-trixie: the Debian 13 root with libvirt took ${((Date.now() - started) / 1000).toFixed(0)} s to make\n`);
  project.provide('libvirtRoot', { path });
  return () => removeLibvirtRoot(path);
}
