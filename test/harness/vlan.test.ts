import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun } from '../helpers/sh.js';
import { runVlanSuites, vlanHarnessMissing, type InnerFile, type VlanRun } from '../helpers/vlan-kernel.js';

// The suites of test/vlan/ need bridge VLAN filtering, which this machine's kernel may lack: they run once, at
// collection, in a kernel that has it (test/helpers/vlan-kernel.ts), and each of their tests is one test here, by
// its own name, passing, failing with its own message, or skipped.
const ROOT = new URL('../..', import.meta.url).pathname;
const SECONDS = 900;

const run: VlanRun | null = canRun('VLAN suites (test/harness/vlan.test.ts)', vlanHarnessMissing()) ? await runVlanSuites(SECONDS) : null;

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
});
