import { describe, exitCodeOf } from './errors.js';
import type { Runtime } from './runtime.js';

// Run one invocation; every error is caught here once and mapped to an exit code with one line on stderr.
export async function run(rt: Runtime): Promise<number> {
  try {
    const { runCli } = await import('./cli/cli.js');
    return await runCli(rt);
  } catch (error) {
    rt.stderr(`mactable: ${describe(error)}\n`);
    return exitCodeOf(error);
  }
}
