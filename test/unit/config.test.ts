import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkConfig, configOrThrow, parseConfig, readConfig } from '../../src/config/config.js';
import { InputError } from '../../src/runtime/errors.js';

const SOURCE = '/etc/libvirt/mactable.json';

// A config file as readConfig sees it: its text (null: absent) and its mode.
const file = (text: string | null, mode = 0o100644) => ({ readText: () => text, stat: () => (text === null ? null : { mode, mtimeMs: 0 }) });

function problemOf(text: string): string {
  try {
    parseConfig(text, SOURCE);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('config', () => {
  it('reads bridges, networks and onError', () => {
    const config = parseConfig('{"bridges": ["br0", "br-*"], "networks": ["mtm"], "onError": "warn"}', SOURCE);
    expect(config.bridges.map((b) => b.pattern)).toEqual(['br0', 'br-*']);
    expect(config.networks.map((n) => n.pattern)).toEqual(['mtm']);
    expect(config.onError).toBe('warn');
    expect(config.found).toBe(true);
  });

  it('defaults to empty lists and onError fail', () => {
    expect(parseConfig('{}', SOURCE)).toMatchObject({ bridges: [], networks: [], onError: 'fail' });
  });

  it('lists every problem with its key in one message', () => {
    expect(problemOf('{"bridges": "br0", "networks": [1, "", "[x"], "onError": "ignore", "bridgez": []}')).toBe(
      `invalid config ${SOURCE}: bridgez: unknown key (known: bridges, networks, onError, timeout, sticky, lockPorts); ` +
        'bridges: must be a list of names or patterns, not "br0"; ' +
        'networks[0]: must be a non-empty string, not 1; ' +
        'networks[1]: must be a non-empty string, not ""; ' +
        `networks[2]: "[x" has an unclosed '[' at position 1; ` +
        'onError: must be "fail" or "warn", not "ignore"',
    );
  });

  it.each([
    ['not JSON', '{bridges:', /^invalid config \/etc\/libvirt\/mactable.json: not valid JSON: /u],
    ['an array', '[]', /expected a JSON object with keys bridges, networks, onError, timeout, sticky, lockPorts$/u],
    ['null', 'null', /expected a JSON object/u],
  ])('refuses %s', (_what, text, message) => {
    expect(problemOf(text)).toMatch(message);
  });

  it('keeps the onError of an invalid config when it is readable, for the hook', () => {
    expect(checkConfig('{"onError": "warn", "bridges": [1]}', SOURCE)).toEqual({
      failure: `invalid config ${SOURCE}: bridges[0]: must be a non-empty string, not 1`,
      onError: 'warn',
    });
    expect(checkConfig('{"onError": "warn", ', SOURCE)).toMatchObject({ onError: null });
  });

  it('treats a missing default file as empty lists', () => {
    expect(configOrThrow(readConfig(file(null), SOURCE, SOURCE, { explicit: false }))).toMatchObject({ bridges: [], networks: [], found: false });
  });

  it('requires a file named explicitly to exist', () => {
    expect(readConfig(file(null), 'my.json', 'my.json', { explicit: true })).toEqual({ failure: 'cannot read config my.json: no such file', onError: null });
  });

  it('names the read error', () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open 'x'"), { code: 'EACCES' });
    const unreadable = {
      readText: () => {
        throw denied;
      },
      stat: () => null,
    };
    expect(readConfig(unreadable, SOURCE, SOURCE, { explicit: false })).toEqual({ failure: `cannot read config ${SOURCE}: Permission denied (EACCES)`, onError: null });
  });
});

describe('who may write the config', () => {
  it('refuses a config others may write, and says how to fix it', () => {
    expect(readConfig(file('{}', 0o100666), SOURCE, SOURCE, { explicit: false })).toEqual({
      failure: `config ${SOURCE} is writable by others (mode 666): run chmod o-w ${SOURCE}`,
      onError: null,
    });
    expect(readConfig(file('{}', 0o100664), SOURCE, SOURCE, { explicit: false })).toMatchObject({ config: { found: true } });
  });
});

describe('comments in the config', () => {
  it('accepts "//" as a string or a list of strings, as npm does in package.json', () => {
    expect(parseConfig('{"//": "one line", "bridges": ["br0"]}', SOURCE).bridges).toHaveLength(1);
    expect(parseConfig('{"//": ["a", "b"]}', SOURCE).found).toBe(true);
    expect(problemOf('{"//": [1]}')).toBe(`invalid config ${SOURCE}: //: comments must be a string or a list of strings`);
  });

  it('reads the example config install.sh writes', () => {
    const example = readFileSync(new URL('../../packaging/mactable.json.example', import.meta.url), 'utf8');
    expect(parseConfig(example, SOURCE)).toMatchObject({ bridges: [], networks: [], onError: 'fail' });
  });
});

describe('timeout, sticky and lockPorts', () => {
  it('default to 10 s, off and off', () => {
    expect(parseConfig('{}', SOURCE)).toMatchObject({ timeout: 10, sticky: false, lockPorts: false });
    expect(parseConfig('{"timeout": 2.5, "sticky": true, "lockPorts": true}', SOURCE)).toMatchObject({ timeout: 2.5, sticky: true, lockPorts: true });
  });

  it('refuse wrong types and bounds, each with its key', () => {
    expect(problemOf('{"timeout": 0, "sticky": "yes", "lockPorts": 1}')).toBe(
      `invalid config ${SOURCE}: timeout: must be a number of seconds above 0 and at most 300, not 0; ` +
        'sticky: must be true or false, not "yes"; lockPorts: must be true or false, not 1',
    );
    expect(problemOf('{"timeout": 301}')).toContain('timeout: must be a number of seconds above 0 and at most 300, not 301');
  });
});
