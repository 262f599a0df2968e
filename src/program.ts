import { describe, exitCodeOf } from './errors.js';
import type { Runtime } from './runtime.js';

// Run one invocation; every error is caught here once and mapped to an exit code with one line on stderr.
export async function run(rt: Runtime): Promise<number> {
  // The hook path loads neither yargs nor the help text; `hook --help` goes to the CLI.
  if (rt.argv[0] === 'hook' && !rt.argv.includes('--help')) {
    const { runHook } = await import('./hook.js');
    return runHook(rt);
  }
  try {
    const { runCli } = await import('./cli/cli.js');
    return await runCli(rt);
  } catch (error) {
    rt.stderr(`mactable: ${describe(error)}\n`);
    return exitCodeOf(error);
  }
}
