import { InputError } from './errors.js';
import { osErrorText } from './host/fs.js';
import { compileGlob } from './plan/glob.js';

export type OnError = 'fail' | 'warn';

export interface NamePattern {
  pattern: string;
  regex: RegExp;
}

export interface Config {
  bridges: NamePattern[];
  networks: NamePattern[];
  onError: OnError;
  source: string; // the file as the administrator knows it, for reasons and messages
  found: boolean; // false: no file, every list empty
}

const KEYS = ['bridges', 'networks', 'onError'] as const;
const COMMENT = '//'; // npm's convention for comments in JSON: a string or a list of strings

export function emptyConfig(source: string): Config {
  return { bridges: [], networks: [], onError: 'fail', source, found: false };
}

// A config, or the one-line problem with it and the onError it asks for if that much is readable.
export type ConfigResult = { config: Config } | { problem: string; onError: OnError | null };

// Parse and validate a config file's text; every problem is listed in one message.
export function checkConfig(text: string, source: string): ConfigResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { problem: `invalid config ${source}: not valid JSON: ${(error as Error).message}`, onError: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { problem: `invalid config ${source}: expected a JSON object with keys ${KEYS.join(', ')}`, onError: null };
  }
  const rawConfig = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(rawConfig)) {
    if (key !== COMMENT && !(KEYS as readonly string[]).includes(key)) problems.push(`${key}: unknown key (known: ${KEYS.join(', ')})`);
  }
  const comment = rawConfig[COMMENT];
  const lines = Array.isArray(comment) ? comment : [comment ?? ''];
  if (!lines.every((line) => typeof line === 'string')) problems.push(`${COMMENT}: comments must be a string or a list of strings`);
  const bridges = patterns(rawConfig, 'bridges', problems);
  const networks = patterns(rawConfig, 'networks', problems);
  const onError = rawConfig.onError ?? 'fail';
  const validOnError = onError === 'fail' || onError === 'warn' ? onError : null;
  if (validOnError === null) problems.push(`onError: must be "fail" or "warn", not ${JSON.stringify(onError)}`);
  if (problems.length > 0 || validOnError === null) {
    return { problem: `invalid config ${source}: ${problems.join('; ')}`, onError: validOnError };
  }
  return { config: { bridges, networks, onError: validOnError, source, found: true } };
}

// The config, or an InputError with its problem.
export function configOrThrow(result: ConfigResult): Config {
  if ('config' in result) return result.config;
  throw new InputError(result.problem);
}

export function parseConfig(text: string, source: string): Config {
  return configOrThrow(checkConfig(text, source));
}

function patterns(raw: Record<string, unknown>, key: 'bridges' | 'networks', problems: string[]): NamePattern[] {
  const value = raw[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${key}: must be a list of names or patterns, not ${describeJson(value)}`);
    return [];
  }
  return value.flatMap((item: unknown, i): NamePattern[] => {
    if (typeof item !== 'string' || item === '') {
      problems.push(`${key}[${i}]: must be a non-empty string, not ${describeJson(item)}`);
      return [];
    }
    const regex = compileGlob(item);
    if (typeof regex === 'string') {
      problems.push(`${key}[${i}]: ${JSON.stringify(item)} ${regex}`);
      return [];
    }
    return [{ pattern: item, regex }];
  });
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`;
}

// Read, parse and validate the config. A missing default file means empty lists;
// a file named explicitly (--config, MACTABLE_CONFIG) must exist.
export function readConfig(
  readText: (path: string) => string | null,
  path: string,
  source: string,
  explicit: boolean,
): ConfigResult {
  let text: string | null;
  try {
    text = readText(path);
  } catch (error) {
    return { problem: `cannot read config ${source}: ${osErrorText(error)}`, onError: null };
  }
  if (text === null) {
    return explicit ? { problem: `cannot read config ${source}: no such file`, onError: null } : { config: emptyConfig(source) };
  }
  return checkConfig(text, source);
}
