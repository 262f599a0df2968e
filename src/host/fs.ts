import * as fs from 'node:fs';

// Host file access below a root directory ('/' on a host, a saved tree when replaying).
// Paths are host paths ('/sys/class/net/br0/bridge'); errors other than "absent" are thrown.
export interface HostFs {
  root: string;
  readText(path: string): string | null; // null: no such file
  readLink(path: string): string | null;
  exists(path: string): boolean;
  writeText(path: string, text: string): void;
  list(path: string): string[] | null; // null: no such directory
}

const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

// Run a read; a missing file or directory gives null, any other error is thrown.
export function absentAsNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (ABSENT.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
}

export function rootedFs(root: string): HostFs {
  const at = (path: string) => (root === '/' ? path : `${root}${path}`);
  return {
    root,
    readText: (path) => absentAsNull(() => fs.readFileSync(at(path), 'utf8')),
    readLink: (path) => absentAsNull(() => fs.readlinkSync(at(path))),
    exists: (path) => fs.existsSync(at(path)),
    writeText: (path, text) => fs.writeFileSync(at(path), text),
    list: (path) => absentAsNull(() => fs.readdirSync(at(path))),
  };
}

// The kernel's words for a failed file operation: "Permission denied (EACCES)" rather than Node's message.
export function osErrorText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const words = /^[A-Z]+: ([^,]+)/u.exec(message ?? '')?.[1];
  if (!code || !words) return String(message ?? error);
  return `${words[0]?.toUpperCase()}${words.slice(1)} (${code})`;
}
