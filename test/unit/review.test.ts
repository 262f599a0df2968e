import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;
const sources = (readdirSync(SRC, { recursive: true, encoding: 'utf8' }) as string[]).filter((file) => file.endsWith('.ts'));

// What the program must never contain: it runs as root, fed by libvirtd.
const FORBIDDEN: [string, RegExp][] = [
  ['a shell', /\bshell\s*:\s*true|['"]\/bin\/sh['"]|['"]sh['"]\s*,\s*\[\s*['"]-c['"]/u],
  ['eval', /\beval\s*\(|new Function\s*\(|vm\.\w*[Cc]ompile|runInThisContext/u],
  ['child_process.exec (a command line as one string)', /import\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*['"]node:child_process['"]|child_process\.exec/u],
];

describe('review: no shell strings, no eval', () => {
  it('checks every source file', () => {
    expect(sources.length).toBeGreaterThan(20);
  });

  it.each(FORBIDDEN)('src/ never uses %s', (_what, pattern) => {
    const offenders = sources.filter((file) => pattern.test(readFileSync(`${SRC}${file}`, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('install.sh installs every file root-owned and not writable by others', () => {
    const script = readFileSync(new URL('../../install.sh', import.meta.url), 'utf8');
    const installs = script.split('\n').filter((line) => /\binstall\s+(-D\s+)?-m/u.test(line));
    expect(installs.length).toBeGreaterThan(1);
    for (const line of installs) expect(line).toMatch(/-m (0644|0755|"\$3") \$OWNER /u);
    // Root's, but when staging a package (--destdir), where dpkg-deb --root-owner-group makes them root's.
    expect([...script.matchAll(/\bOWNER=('[^']*'|;)/gu)].map((match) => match[1])).toEqual(["'-o root -g root'", ';']);
    expect(readFileSync(new URL('../../packaging/debian/build.sh', import.meta.url), 'utf8')).toContain('dpkg-deb --root-owner-group');
    expect([...script.matchAll(/put "[^"]+" "[^"]+" (\d+)/gu)].map((match) => match[1])).toEqual(['0644', '0755', '0755', '0644', '0644', '0644', '0644', '0644']);
  });
});
