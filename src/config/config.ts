import { InputError } from '../runtime/errors.js';
import { osErrorText, type HostFs } from '../runtime/fs.js';
import { printable } from '../domain/names.js';
import { compileGlob } from './glob.js';

export type OnError = 'fail' | 'warn';

interface NamePattern {
  pattern: string;
  regex: RegExp;
}

export interface Config {
  bridges: NamePattern[];
  networks: NamePattern[];
  onError: OnError;
  timeout: number; // seconds for one whole invocation, every command included
  sticky: boolean; // static entries do not move to another port that shows the MAC
  lockPorts: boolean; // guest ports drop frames whose source MAC has no entry on them
  source: string; // the file as the administrator knows it, for reasons and messages
  found: boolean; // false: no file, every list empty
}

export const CONFIG_KEYS = ['bridges', 'networks', 'onError', 'timeout', 'sticky', 'lockPorts'] as const;
export const DEFAULT_TIMEOUT = 10;
const DEFAULTS = { onError: 'fail', timeout: DEFAULT_TIMEOUT, sticky: false, lockPorts: false } as const;
const MAX_TIMEOUT = 300;
const COMMENT = '//'; // npm's convention for comments in JSON: a string or a list of strings

export function emptyConfig(source: string): Config {
  return { bridges: [], networks: [], ...DEFAULTS, source, found: false };
}

// A config, or why there is none (one line) and the onError it asks for if that much is readable.
export type ConfigResult = { failure: null; config: Config } | { failure: string; onError: OnError | null };

// Parse and validate a config file's text; every problem is listed in one message.
export function checkConfig(text: string, source: string): ConfigResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    // The parser may quote the text, newlines included: escaped, so the problem stays one line.
    return { failure: `invalid config ${source}: not valid JSON: ${printable((error as Error).message)}`, onError: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { failure: `invalid config ${source}: expected a JSON object with keys ${CONFIG_KEYS.join(', ')}`, onError: null };
  }
  const rawConfig = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(rawConfig)) {
    if (key !== COMMENT && !(CONFIG_KEYS as readonly string[]).includes(key)) problems.push(`${key}: unknown key (known: ${CONFIG_KEYS.join(', ')})`);
  }
  const comment = rawConfig[COMMENT];
  const lines = Array.isArray(comment) ? comment : [comment ?? ''];
  if (!lines.every((line) => typeof line === 'string')) problems.push(`${COMMENT}: comments must be a string or a list of strings`);
  const bridges = patterns(rawConfig, 'bridges', problems);
  const networks = patterns(rawConfig, 'networks', problems);
  const onError = rawConfig.onError ?? DEFAULTS.onError;
  const validOnError = onError === 'fail' || onError === 'warn' ? onError : null;
  if (validOnError === null) problems.push(`onError: must be "fail" or "warn", not ${JSON.stringify(onError)}`);
  const timeout = rawConfig.timeout ?? DEFAULTS.timeout;
  if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= MAX_TIMEOUT)) {
    problems.push(`timeout: must be a number of seconds above 0 and at most ${MAX_TIMEOUT}, not ${describeJson(timeout)}`);
  }
  const sticky = flag(rawConfig, 'sticky', problems);
  const lockPorts = flag(rawConfig, 'lockPorts', problems);
  if (problems.length > 0 || validOnError === null) {
    return { failure: `invalid config ${source}: ${problems.join('; ')}`, onError: validOnError };
  }
  return { failure: null, config: { bridges, networks, onError: validOnError, timeout: timeout as number, sticky, lockPorts, source, found: true } };
}

// The config, or an InputError with its problem.
export function configOrThrow(result: ConfigResult): Config {
  if ('config' in result) return result.config;
  throw new InputError(result.failure);
}

export function parseConfig(text: string, source: string): Config {
  return configOrThrow(checkConfig(text, source));
}

function flag(raw: Record<string, unknown>, key: 'sticky' | 'lockPorts', problems: string[]): boolean {
  const value = raw[key] ?? DEFAULTS[key];
  if (typeof value === 'boolean') return value;
  problems.push(`${key}: must be true or false, not ${describeJson(value)}`);
  return false;
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
    const compiled = compileGlob(item);
    if (compiled.failure !== null) {
      problems.push(`${key}[${i}]: ${JSON.stringify(item)} ${compiled.failure}`);
      return [];
    }
    return [{ pattern: item, regex: compiled.regex }];
  });
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : `a ${typeof value}`;
}

// Read, parse and validate the config. A missing default file means empty lists; a file named
// explicitly (--config, MACTABLE_CONFIG) must exist. One that others may write is refused:
// it decides what a root hook does to the host's bridges.
export function readConfig(file: Pick<HostFs, 'readText'> & { stat(path: string): { mode: number } | null }, path: string, source: string, { explicit }: { explicit: boolean }): ConfigResult {
  let text: string | null;
  let mode: number | undefined;
  try {
    text = file.readText(path);
    mode = file.stat(path)?.mode;
  } catch (error) {
    return { failure: `cannot read config ${source}: ${osErrorText(error)}`, onError: null };
  }
  if (text === null) {
    return explicit ? { failure: `cannot read config ${source}: no such file`, onError: null } : { failure: null, config: emptyConfig(source) };
  }
  if (mode !== undefined && (mode & 0o002) !== 0) {
    return { failure: `config ${source} is writable by others (mode ${(mode & 0o777).toString(8)}): run chmod o-w ${source}`, onError: null };
  }
  return checkConfig(text, source);
}
