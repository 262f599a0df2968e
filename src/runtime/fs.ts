import * as fs from 'node:fs';

// Host file access below a root directory ('/' on a host, a saved tree when replaying).
// Paths are host paths ('/sys/class/net/br0/bridge'); errors other than "absent" are thrown.
export interface HostFs {
  root: string;
  real(path: string): string; // the host path as this machine sees it (below the root)
  readText(path: string): string | null; // null: no such file
  readLink(path: string): string | null;
  exists(path: string): boolean;
  // Write `value` unless the file already holds it, then read it back, all through one descriptor
  // (sysfs regenerates an attribute's text at offset 0). Null when the file is absent.
  update(path: string, value: string): { before: string; after: string } | null;
  list(path: string): string[] | null; // null: no such directory
  stat(path: string): { mode: number; mtimeMs: number; size: number } | null;
  remove(path: string): boolean; // false: there was no such file
}

const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

// Run a read; a missing file or directory gives null, any other error is thrown.
function absentAsNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (ABSENT.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
}

// Read a small file from offset 0 through an open descriptor.
function readAt(fd: number): string {
  const buffer = Buffer.alloc(256);
  return buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
}

function update(path: string, value: string): { before: string; after: string } {
  const fd = fs.openSync(path, 'r+');
  try {
    const before = readAt(fd);
    if (before.trim() === value) return { before, after: before };
    fs.writeSync(fd, value, 0);
    return { before, after: readAt(fd) };
  } finally {
    fs.closeSync(fd);
  }
}

export function rootedFs(root: string): HostFs {
  const at = (path: string) => (root === '/' ? path : `${root}${path}`);
  return {
    root,
    real: at,
    readText: (path) => absentAsNull(() => fs.readFileSync(at(path), 'utf8')),
    readLink: (path) => absentAsNull(() => fs.readlinkSync(at(path))),
    exists: (path) => fs.existsSync(at(path)),
    update: (path, value) => absentAsNull(() => update(at(path), value)),
    list: (path) => absentAsNull(() => fs.readdirSync(at(path))),
    stat: (path) => absentAsNull(() => fs.statSync(at(path))),
    remove: (path) => absentAsNull(() => fs.unlinkSync(at(path))) !== null,
  };
}

// The kernel's words for a failed file operation: "Permission denied (EACCES)" rather than Node's message.
export function osErrorText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const words = /^[A-Z]+: ([^,]+)/u.exec(message ?? '')?.[1];
  if (!code || !words) return String(message ?? error);
  return `${words[0]?.toUpperCase()}${words.slice(1)} (${code})`;
}
