import { describe, exitCodeOf } from '../runtime/errors.js';
import { runHook } from './hook.js';
import { RECONNECT_ALL, reconnectAll } from './reconnect-all.js';
import type { Runtime } from '../runtime/runtime.js';

// Run one invocation; every error is caught here once and mapped to an exit code with one line on stderr.
export async function run(rt: Runtime): Promise<number> {
  // `mactable hook --help` is the CLI's; after that every word is libvirt's (a guest may be named --help).
  if (rt.argv[0] === 'hook' && rt.argv[1] === RECONNECT_ALL) return reconnectAll(rt);
  if (rt.argv[0] === 'hook' && rt.argv[1] !== '--help') return runHook(rt);
  try {
    const { runCli } = await import('./cli.js');
    return await runCli(rt);
  } catch (error) {
    rt.stderr(`mactable: ${describe(error)}\n`);
    return exitCodeOf(error);
  }
}
