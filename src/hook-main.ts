import { crashExitCode, runHook } from './commands/hook.js';
import { runProcess } from './runtime/process.js';

// libvirt's qemu hook (dist/hook.cjs, run as `hook qemu NAME OP SUBOP`): only the hook's code, no CLI.
// require, not import(): in CommonJS a dynamic import() starts the ES module loader (about 1 ms more).
runProcess(
  runHook,
  crashExitCode,
  async () => require('node:child_process') as typeof import('node:child_process'),
  async () => require('node:net') as typeof import('node:net'),
);
