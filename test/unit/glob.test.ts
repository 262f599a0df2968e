import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/config/glob.js';

function matches(pattern: string, name: string): boolean {
  const compiled = compileGlob(pattern);
  if (compiled.failure !== null) throw new Error(compiled.failure);
  return compiled.regex.test(name);
}

describe('shell-style patterns', () => {
  it.each([
    ['br0', 'br0', true],
    ['br0', 'br01', false],
    ['br*', 'br-plain', true],
    ['br*', 'virbr0', false],
    ['*', '', true],
    ['br?', 'br1', true],
    ['br?', 'br12', false],
    ['br[0-2]', 'br1', true],
    ['br[0-2]', 'br3', false],
    ['br[!0-2]', 'br3', true],
    ['br[^0-2]', 'br1', false],
    ['br[]x]', 'br]', true],
    ['br\\*', 'br*', true],
    ['br\\*', 'br0', false],
    ['br.lan', 'br-lan', false],
    ['br(x)', 'br(x)', true],
  ])('%j against %j → %s', (pattern, name, expected) => {
    expect(matches(pattern, name)).toBe(expected);
  });

  it('refuses an unclosed bracket and an impossible range', () => {
    expect(compileGlob('br[0')).toEqual({ failure: "has an unclosed '[' at position 3" });
    expect(compileGlob('br[z-a]').failure).toMatch(/^is not a usable pattern: /u);
  });
});
