import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { canRun, isRoot, missingTool } from './sh.js';
import { TempDir } from './temp.js';
import { inUml, umlMissing } from './uml.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const VITEST = `${ROOT}node_modules/vitest/vitest.mjs`;
const HARNESS = 'test/harness/vlan.test.ts';

// What a test measured, carried back to the harness in its result (vitest's task meta).
declare module '@vitest/runner' {
  interface TaskMeta {
    measured?: string;
  }
}

// Inside the user-mode kernel (MACTABLE_VLAN_KERNEL=uml, set by the harness) everything runs several times slower
// than on the machine (Node.js starts in 0.45 s instead of 0.04 s): the watcher's 1 s becomes this.
export const WATCH_MS = process.env.MACTABLE_VLAN_KERNEL === 'uml' ? 3000 : 1000;

// Whether this kernel makes VLAN-filtering bridges: tried in a namespace that ends with the command.
export function vlanFilteringHere(): boolean {
  return spawnSync('unshare', ['--net', 'ip', 'link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1'], { stdio: 'ignore' }).status === 0;
}

// The suites in test/vlan/ need root, `tools` and a kernel with bridge VLAN filtering; elsewhere the harness
// runs them in one.
export function vlanSuite(file: string, tools: Record<string, string> = {}): boolean {
  const missing = isRoot
    ? missingTool({ unshare: 'util-linux', nsenter: 'util-linux', ip: 'iproute2', bridge: 'iproute2', ...tools })
    : 'they need root to create network namespaces';
  return canRun(`VLAN tests (${file})`, missing ?? (vlanFilteringHere() ? null : `this kernel has no bridge VLAN filtering (${HARNESS} runs them in one that has)`));
}

// One test's result as vitest's JSON reporter gives it.
export interface InnerTest {
  ancestorTitles: string[];
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages: string[];
  meta: { measured?: string };
}

export interface InnerFile {
  name: string;
  status: string;
  message: string; // why the file failed outside its tests (it did not load, a hook failed)
  assertionResults: InnerTest[];
}

export interface VlanRun {
  kernel: string; // where they ran
  code: number | null;
  output: string; // vitest's own report, and the kernel's console when it did not end
  files: InnerFile[];
}

// Run test/vlan/ (or those matching MACTABLE_VLAN_ONLY, vitest's file filters) where bridges filter VLANs: this
// kernel if it can, else Debian's user-mode-linux with this machine's Node.js and tools; every result comes back
// by name (vitest's JSON report, written to a directory of this machine).
export async function runVlanSuites(seconds: number): Promise<VlanRun> {
  const temp = new TempDir();
  try {
    const report = `${temp.path}/report.json`;
    const only = (process.env.MACTABLE_VLAN_ONLY ?? '').split(' ').filter(Boolean);
    const command = [process.execPath, VITEST, 'run', '--config', 'test/vlan/vitest.config.ts', '--configLoader', 'runner', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...only];
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('MACTABLE_'))) as Record<string, string>;
    let run: { kernel: string; code: number | null; output: string };
    if (vlanFilteringHere()) {
      const result = await execa(command[0] as string, command.slice(1), { cwd: ROOT, env: { ...env, NO_COLOR: '1' }, reject: false, all: true, timeout: seconds * 1000 });
      run = { kernel: 'this machine', code: result.exitCode ?? null, output: String(result.all) };
    } else {
      const result = await inUml(command, { dir: temp.path, cwd: ROOT, env: { ...env, NO_COLOR: '1', MACTABLE_VLAN_KERNEL: 'uml' }, seconds });
      const output = result.code === null ? `${result.output}\nthe user-mode kernel's console:\n${result.console}` : result.output;
      run = { kernel: `user-mode-linux ${result.release}`, code: result.code, output };
    }
    let files: InnerFile[] = [];
    try {
      files = (JSON.parse(readFileSync(report, 'utf8')) as { testResults: InnerFile[] }).testResults;
    } catch {
      // no report: the run ended early, its output says why
    }
    return { ...run, files };
  } finally {
    temp.cleanup();
  }
}

// Why the VLAN suites cannot run on this machine at all, or null.
export function vlanHarnessMissing(): string | null {
  if (!isRoot) return 'they need root to create network namespaces';
  return vlanFilteringHere() ? null : umlMissing();
}
