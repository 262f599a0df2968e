import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  cleanup(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
