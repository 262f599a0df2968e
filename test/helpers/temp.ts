import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A temporary directory for one test file, removed by cleanup().
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'mactable-test-'));

  file(name: string, content: string, mode = 0o644): string {
    const path = join(this.path, name);
    writeFileSync(path, content, { mode });
    return path;
  }

  json(name: string, value: unknown): string {
    return this.file(name, `${JSON.stringify(value)}\n`);
  }

  // A host tree for --root whose /sys is the network namespace's own (Netns mounts a fresh sysfs there) and whose
  // /run/libvirt/qemu holds the test's status files; `env` points the program at it and at a system log socket
  // nobody listens on, so nothing reaches the machine's own log. It has no /proc: no watcher of the machine is seen.
  hostRoot(): { root: string; qemu: string; env: Record<string, string> } {
    const root = join(this.path, 'root');
    const qemu = `${root}/run/libvirt/qemu`;
    mkdirSync(qemu, { recursive: true });
    symlinkSync('/sys', `${root}/sys`);
    return { root, qemu, env: { MACTABLE_ROOT: root, MACTABLE_SYSLOG_SOCKET: `${root}/dev/log` } };
  }

  cleanup(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
