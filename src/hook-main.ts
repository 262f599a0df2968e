import { crashExitCode, runHook } from './hook.js';
import { runProcess } from './process.js';

// libvirt's qemu hook (dist/hook.cjs, run as `hook qemu NAME OP SUBOP`): only the hook's code, no CLI.
// require, not import(): in CommonJS a dynamic import() starts the ES module loader (about 1 ms more).
runProcess(runHook, crashExitCode, async () => require('node:child_process') as typeof import('node:child_process'));
