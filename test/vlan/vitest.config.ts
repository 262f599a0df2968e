import { defineConfig } from 'vitest/config';

// The suites that need a kernel with bridge VLAN filtering (test/vlan/), run by test/harness/vlan.test.ts inside
// Debian's user-mode-linux (or directly on a kernel that has it), one file at a time. Nothing is written into the
// tree: inside the user-mode kernel it is read-only (no cache; `--configLoader runner` bundles no config file).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/vlan/**/*.test.ts'],
    cache: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
