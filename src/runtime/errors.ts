// The two ways mactable says "it failed". Thrown: the few error classes below, for what stops a command; program.ts
// (and the hook, by its operation's policy) catches them once and maps them to exit codes. Returned: every other
// result that can fail carries `failure: string | null` (null: it worked; else why not, in one line naming what it
// is about), with its data beside it: a `Result`, or a record that keeps what was done before the failure
// (Outcome, CommandResult). No other shape: no `| string`, no `ok`/`error`. (A `problem` is a finding about input
// that still lets the work go on: a plan's problems, a NIC mactable cannot manage, an unusable file among facts.)
export type Result<T extends object> = ({ failure: null } & T) | { failure: string };

export const EXIT = { ok: 0, failed: 1, input: 2 } as const;

// Bad input from the administrator or libvirt: XML, config, arguments. Exit 2, one line.
export class InputError extends Error {
  readonly exitCode = EXIT.input;
  override name = 'InputError';
}

// A host operation that could not be carried out (a command that cannot run, a file that cannot be read).
export class HostError extends Error {
  readonly exitCode = EXIT.failed;
  override name = 'HostError';
}

// The exit code for anything thrown: ours carry one, anything else is a failure.
export function exitCodeOf(error: unknown): number {
  return error instanceof InputError || error instanceof HostError ? error.exitCode : EXIT.failed;
}

// One line for stderr: our errors as they are, others marked as internal so they are reported.
export function describe(error: unknown): string {
  if (error instanceof InputError || error instanceof HostError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return `internal error: ${message.split('\n')[0]}`;
}
