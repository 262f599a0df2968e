import type { Result } from '../model/result.js';
import type { BridgeRunner } from '../runtime/runtime.js';

// One command for `bridge -batch`, and whether it prints a JSON result (the show commands).
export interface BatchCommand {
  line: string;
  shows: boolean;
}

// One caller's share of a batch (a port, a lookup): its commands by name, run in the order they are written.
interface BatchStep<K> {
  key: K;
  commands: Record<string, BatchCommand>;
}

// One command's answer: its JSON output (undefined for a command that prints none), or why it failed.
export type BatchAnswer = Result<{ output: unknown }>;

// Each step's answers by command name, each step by its key: another command in the batch never shifts them.
type BatchAnswers<K> = Map<K, Map<string, BatchAnswer>>;

const FAILED = /^Command failed -:(\d+)$/u;

// The answer to the command `name` of a step.
export const answerOf = (answers: Map<string, BatchAnswer> | undefined, name: string): BatchAnswer => answers?.get(name) ?? { failure: 'no answer' };

// Run every step's commands through one `bridge -j -d -force -batch -` process (-d: ports show whether they are
// locked). Fails as a whole when the process itself could not run or said nothing we can attribute.
export async function runBatch<K>(bridge: BridgeRunner, steps: BatchStep<K>[]): Promise<Result<{ answers: BatchAnswers<K> }>> {
  const answers: BatchAnswers<K> = new Map(steps.map(({ key }) => [key, new Map()]));
  if (answers.size !== steps.length) throw new Error('runBatch: two steps share a key');
  const commands = steps.flatMap(({ key, commands: named }) => Object.entries(named).map(([name, command]) => ({ key, name, command })));
  const input = commands.map(({ command }) => `${command.line}\n`).join('');
  const result = await bridge(['-j', '-d', '-force', '-batch', '-'], input);
  if (result.exitCode === null) return { failure: `cannot run bridge: ${result.failure ?? 'it did not finish'}` };

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
    return { failure: `bridge failed (exit ${result.exitCode}): ${result.stderr.trim() || 'no message'}` };
  }

  const outputs = result.stdout.split('\n').filter((line) => line.trim() !== '');
  for (const [index, { key, name, command }] of commands.entries()) {
    (answers.get(key) as Map<string, BatchAnswer>).set(name, answerTo(command, errors.get(index + 1), outputs));
  }
  return { failure: null, answers };
}

// A failed command's error; else a show command's JSON line (the next one: bridge prints nothing for a failed show).
function answerTo(command: BatchCommand, error: string | undefined, outputs: string[]): BatchAnswer {
  if (error !== undefined) return { failure: error };
  if (!command.shows) return { failure: null, output: undefined };
  const output = parseJson(outputs.shift());
  return output === undefined ? { failure: 'bridge printed no JSON for it' } : { failure: null, output };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
