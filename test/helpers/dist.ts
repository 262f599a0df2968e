import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { Netns } from './netns.js';

export const DIST = new URL('../../dist/mactable.mjs', import.meta.url).pathname;

// The options the service gives Node.js before the program (packaging/mactable.service's ExecStart): tests run the
// watcher with them, as it runs on a host.
export const SERVICE_NODE_OPTIONS = /^ExecStart='@NODE@' (.*?) ?'@PREFIX@\/dist\/mactable\.mjs' watch \$MACTABLE_WATCH_ARGS$/mu
  .exec(readFileSync(new URL('../../packaging/mactable.service', import.meta.url), 'utf8'))?.[1]
  ?.split(' ')
  .filter(Boolean) ?? [];

// The Node.js that runs dist/: the test's own, or MACTABLE_TEST_NODE, a command taking node's arguments
// (test/distro runs the replay suite again with Debian 12's Node.js 18 in a chroot this way).
export const NODE = process.env.MACTABLE_TEST_NODE || process.execPath;

export interface DistRun {
  code: number;
  stdout: string;
  stderr: string;
}

// Run the built program as libvirt or an administrator would, optionally inside a network namespace;
// `env` adds to the test's own environment.
export async function runDist(
  argv: string[],
  options: { stdin?: string; env?: Record<string, string>; netns?: Netns } = {},
): Promise<DistRun> {
  const [file, ...args] = options.netns ? options.netns.enter(NODE, DIST) : [NODE, DIST];
  const result = await execa(file, [...args, ...argv], {
    input: options.stdin ?? '',
    env: options.env ?? {},
    reject: false,
    timeout: 60_000,
    stripFinalNewline: false,
  });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
