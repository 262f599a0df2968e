import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';
import { isRoot } from '../helpers/sh.js';

const SCRIPT = new URL('packages.sh', import.meta.url).pathname;

// Once per run (vitest runs a global setup for each project: here only the root project's): the Debian packages the
// suites need, when this is root on a machine with apt. Otherwise (or when apt fails) the suites that cannot run say
// why, one line each.
export default async function setup(project: TestProject): Promise<void> {
  if (!project.isRootProject() || !isRoot || !existsSync('/usr/bin/apt-get') || !existsSync('/usr/bin/dpkg-query')) return;
  const started = Date.now();
  const result = await execa('sh', [SCRIPT], { reject: false, timeout: 1_800_000, stdout: 'inherit', stderr: 'pipe' });
  const said = String(result.stderr).trim();
  if (result.exitCode !== 0) process.stderr.write(`test packages: not installed (${said.split('\n').at(-1) || `exit ${result.exitCode}`}); suites that need them say so\n`);
  else if (said !== '') process.stderr.write(`${said}\ntest packages: installed in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
