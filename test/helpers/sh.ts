import { existsSync } from 'node:fs';
import { execa } from 'execa';

// Run a command for a test's setup or assertions; throws with its stderr when it fails.
export async function sh(command: string, args: string[], input?: string): Promise<string> {
  const result = await execa(command, args, { input: input ?? '', reject: false, timeout: 120_000 });
  if (result.exitCode !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.exitCode ?? result.signal}): ${String(result.stderr).trim()}`);
  }
  return String(result.stdout);
}

// Like sh, but failure is fine: for cleanup of things that may already be gone.
export async function shQuiet(command: string, args: string[]): Promise<void> {
  await execa(command, args, { reject: false, timeout: 60_000 });
}

export const isRoot = process.getuid?.() === 0;

// Suites that need root or libvirt skip loudly; with MACTABLE_REQUIRE_ALL=1 (CI) a missing need fails instead.
export function canRun(suite: string, missing: string | null): boolean {
  if (missing === null) return true;
  if (process.env.MACTABLE_REQUIRE_ALL === '1') throw new Error(`${suite} must run here but cannot: ${missing}`);
  process.stderr.write(`\n*** SKIPPED ${suite}: ${missing} ***\n\n`);
  return false;
}

// The first of `tools` (command: its Debian package) this machine lacks, as a reason to skip; null when all are there.
// npm test installs them as root where apt is (test/setup/packages.sh).
export function missingTool(tools: Record<string, string>): string | null {
  for (const [tool, debian] of Object.entries(tools)) {
    if (!['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((dir) => existsSync(`${dir}/${tool}`))) return `${tool} is missing (apt-get install ${debian})`;
  }
  return null;
}

// Kernel suites make network namespaces of their own: they need root, and some need `tools`.
export function kernelSuite(file: string, tools: Record<string, string> = {}): boolean {
  return canRun(`kernel tests (${file})`, isRoot ? missingTool({ unshare: 'util-linux', nsenter: 'util-linux', ip: 'iproute2', bridge: 'iproute2', ...tools }) : 'they need root to create network namespaces');
}

// A short random suffix so names are unique per run (interface names allow 15 bytes).
export function uniqueSuffix(): string {
  return Math.random().toString(36).slice(2, 7);
}
