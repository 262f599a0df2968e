import { defineConfig } from 'vitest/config';

// Seven suites, one after the other: unit and replay (no privileges), kernel (root, network namespaces), vlan (root: test/vlan/ in a
// kernel with bridge VLAN filtering, Debian's user-mode-linux here: test/harness/vlan.test.ts), soak (root: the
// watcher under churn for MACTABLE_SOAK_SECONDS, 600 by default), e2e (root, libvirtd in boxes: test/helpers/box.ts), distro (root: the package
// in clean Debian 12 and 13 roots, replay under their Node.js 18 and 20, the unit under systemd there, upgrades with guests running),
// then e2e-trixie (root: the e2e core in boxes whose libvirt 11.3 is a Debian 13 root's).
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    // The Debian packages the suites use, installed once when missing (root and apt only); the run's cache of Debian roots.
    globalSetup: ['test/setup/global.ts', 'test/setup/debian-roots.ts'],
    // A worker whose files started daemons and containers can take longer than vitest's 10 s to stop on a busy
    // machine, and vitest then reports the file as failed though every test passed.
    teardownTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: { name: 'kernel', include: ['test/kernel/**/*.test.ts'], testTimeout: 30_000, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        // test/vlan/ inside a kernel with bridge VLAN filtering (Debian's user-mode-linux here), run once at collection.
        test: { name: 'vlan', include: ['test/harness/vlan.test.ts'], fileParallelism: false, sequence: { groupOrder: 2 } },
      },
      {
        extends: true,
        test: { name: 'soak', include: ['test/soak/**/*.test.ts'], hookTimeout: 120_000, fileParallelism: false, sequence: { groupOrder: 3 } },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-trixie',
          include: ['test/e2e-trixie/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          sequence: { groupOrder: 6 },
        },
      },
      {
        extends: true,
        test: { name: 'distro', include: ['test/distro/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 900_000, fileParallelism: false, sequence: { groupOrder: 5 } },
      },
    ],
  },
});
