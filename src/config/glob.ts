import type { Result } from '../model/result.js';

// Shell-style name patterns (fnmatch without flags): '*', '?', '[...]' with ranges and '!' or '^', '\' escapes.

// Compile a pattern; a failure names what is wrong with it.
export function compileGlob(pattern: string): Result<{ regex: RegExp }> {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\') source += escape(pattern[++i] ?? '\\');
    else if (c === '[') {
      const negated = pattern[i + 1] === '!' || pattern[i + 1] === '^';
      const first = i + (negated ? 2 : 1);
      const end = pattern.indexOf(']', first + 1); // a ']' right after '[' or '[!' is literal
      if (end === -1) return { failure: `has an unclosed '[' at position ${i + 1}` };
      const set = pattern.slice(first, end).replace(/[\\\]^]/gu, '\\$&');
      source += `[${negated ? '^' : ''}${set}]`;
      i = end;
    } else source += escape(c);
  }
  try {
    return { failure: null, regex: new RegExp(`^${source}$`, 'su') };
  } catch (error) {
    return { failure: `is not a usable pattern: ${(error as Error).message}` };
  }
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');
}

// The first pattern that matches `name`, or undefined.
export function firstMatch(name: string, patterns: readonly { pattern: string; regex: RegExp }[]): string | undefined {
  return patterns.find(({ regex }) => regex.test(name))?.pattern;
}
