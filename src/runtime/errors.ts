// What stops a command: thrown, caught once (program.ts, or the hook by its operation's policy), mapped to an exit
// code. Everything else that can fail returns model/result.ts's one shape.
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
