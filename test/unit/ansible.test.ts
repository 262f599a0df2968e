import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { SOURCE } from '../helpers/installed.js';
import { canRun, missingTool } from '../helpers/sh.js';

const ANSIBLE = `${SOURCE}packaging/ansible/`;

// The role itself is applied to Debian 12 and 13 roots by test/distro/ansible.test.ts (root, debootstrap).
describe('the Ansible role (packaging/ansible)', () => {
  it("the metrics drop-in gives the package's command --metrics-file and leaves the command the package's", () => {
    const unit = readFileSync(`${SOURCE}packaging/mactable.service`, 'utf8');
    expect(unit.match(/^ExecStart=.*$/gmu)).toEqual([expect.stringMatching(/ watch \$MACTABLE_WATCH_ARGS$/u)]);
    const dropIn = readFileSync(`${ANSIBLE}roles/mactable/templates/metrics.conf.j2`, 'utf8');
    expect(dropIn).not.toMatch(/^ExecStart/mu);
    expect(dropIn).toContain('\nEnvironment="MACTABLE_WATCH_ARGS=--metrics-file {{ mactable_metrics_file }}"\n');
  });

  it.skipIf(!canRun('ansible-lint on the role (test/unit/ansible.test.ts)', missingTool({ 'ansible-lint': 'ansible-lint' })))(
    "passes Debian's ansible-lint, production profile",
    async () => {
      const lint = await execa('ansible-lint', ['--offline', '--nocolor', '--profile', 'production', 'site.yml', 'roles/mactable'], { cwd: ANSIBLE, reject: false, all: true, timeout: 120_000 });
      expect(lint.exitCode, String(lint.all)).toBe(0);
    },
    120_000,
  );
});
