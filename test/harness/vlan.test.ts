import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun } from '../helpers/sh.js';
import type { DebianRoot } from '../helpers/debian-root.js';
import { makeLibvirtRoot, TRIXIE_ROOT_VARIABLE } from '../helpers/libvirt-root.js';
import { runVlanSuites, vlanHarnessMissing, type InnerFile, type VlanRun } from '../helpers/vlan-kernel.js';

// The suites of test/vlan/ need bridge VLAN filtering, which this machine's kernel may lack: they run once, at
// collection, in a kernel that has it (test/helpers/vlan-kernel.ts), and each of their tests is one test here, by
// its own name, passing, failing with its own message, or skipped.
const ROOT = new URL('../..', import.meta.url).pathname;
const SECONDS = 900;

const runs = canRun('VLAN suites (test/harness/vlan.test.ts)', vlanHarnessMissing());

// Debian 13's libvirt for its suite, built here first (apt needs this machine's network), when that suite runs.
const TRIXIE_SUITE = 'test/vlan/libvirt-trixie.test.ts';
const only = (process.env.MACTABLE_VLAN_ONLY ?? '').split(' ').filter(Boolean);
let trixie: { root: DebianRoot; ms: number } | Error | null = null;
if (runs && (only.length === 0 || only.some((filter) => TRIXIE_SUITE.includes(filter)))) {
  const started = Date.now();
  trixie = await makeLibvirtRoot().then(
    ({ root }) => ({ root, ms: Date.now() - started }),
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  if (!(trixie instanceof Error)) process.env[TRIXIE_ROOT_VARIABLE] = trixie.root.path;
}
let run: VlanRun | null = null;
try {
  run = runs ? await runVlanSuites(SECONDS) : null;
} finally {
  if (trixie !== null && !(trixie instanceof Error)) await trixie.root.cleanup();
}

// When something failed there, vitest's own report from inside (diffs, logs) is worth having here.
if (run !== null && run.code !== 0) process.stderr.write(`\nthe VLAN suites' own report (${run.kernel}):\n${run.output}\n`);

const tail = (text: string) => text.trimEnd().split('\n').slice(-60).join('\n');

function report(file: InnerFile): void {
  describe(relative(ROOT, file.name), () => {
    if (file.message) it('loads and sets up', () => expect.fail(file.message));
    for (const test of file.assertionResults) {
      it([...test.ancestorTitles, test.title].join(' > '), (context) => {
        if (test.status === 'failed') expect.fail(test.failureMessages.join('\n'));
        if (test.meta.measured) context.annotate(test.meta.measured);
        // A test that did not run there (a failed set-up skips a file's tests) fails where every suite must run (CI).
        if (test.status !== 'passed' && process.env.MACTABLE_REQUIRE_ALL === '1') expect.fail(`${test.status} in the VLAN kernel, and MACTABLE_REQUIRE_ALL=1`);
        if (test.status !== 'passed') context.skip(`${test.status} in the VLAN kernel`);
      });
    }
  });
}

describe.skipIf(run === null)(`in a kernel with bridge VLAN filtering (${run?.kernel})`, () => {
  it('the run ended, every test reported', () => {
    if (run?.code === null || run?.files.length === 0) expect.fail(`the VLAN suites did not end (time limit ${SECONDS} s):\n${tail(run?.output ?? '')}`);
    const failed = run?.files.some((file) => file.status === 'failed');
    if ((run?.code === 0) === failed) expect.fail(`vitest exited ${run?.code} in the VLAN kernel:\n${tail(run?.output ?? '')}`);
  });
  for (const file of run?.files ?? []) report(file);
  if (trixie !== null) {
    it("Debian 13's libvirt root for test/vlan/libvirt-trixie.test.ts is built", (context) => {
      if (trixie instanceof Error) expect.fail(trixie.message);
      else context.annotate(`root with libvirt, QEMU and the package: ${(trixie.ms / 1000).toFixed(0)} s`);
    });
  }
});
