import type { BridgeRunner } from '../runtime/runtime.js';

// One command for `bridge -batch`, and whether it prints a JSON result (the show commands).
export interface BatchCommand {
  line: string;
  shows: boolean;
}

export type BatchResult = { ok: true; output: unknown } | { ok: false; error: string };

const FAILED = /^Command failed -:(\d+)$/u;

// Run all commands through one `bridge -j -d -force -batch -` process (-d: ports show whether they
// are locked). Returns one result per command, or a single string when the process itself could not
// run or said nothing we can attribute.
export async function runBatch(bridge: BridgeRunner, commands: BatchCommand[]): Promise<BatchResult[] | string> {
  const input = commands.map((command) => `${command.line}\n`).join('');
  const result = await bridge(['-j', '-d', '-force', '-batch', '-'], input);
  if (result.exitCode === null) return `cannot run bridge: ${result.failure ?? 'it did not finish'}`;

  const errors = new Map<number, string>();
  let pending: string[] = [];
  for (const line of result.stderr.split('\n')) {
    const failed = FAILED.exec(line);
    if (failed) {
      errors.set(Number(failed[1]), pending.join('; ') || 'failed');
      pending = [];
    } else if (line.trim() !== '') pending.push(line.trim());
  }
  if (result.exitCode !== 0 && errors.size === 0) {
    return `bridge failed (exit ${result.exitCode}): ${result.stderr.trim() || 'no message'}`;
  }

  const outputs = result.stdout.split('\n').filter((line) => line.trim() !== '');
  const results: BatchResult[] = [];
  for (const [index, command] of commands.entries()) {
    const error = errors.get(index + 1);
    if (error !== undefined) results.push({ ok: false, error });
    else if (!command.shows) results.push({ ok: true, output: undefined });
    else {
      const output = parseJson(outputs.shift());
      results.push(output === undefined ? { ok: false, error: 'bridge printed no JSON for it' } : { ok: true, output });
    }
  }
  return results;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
