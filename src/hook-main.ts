import { crashExitCode, runHook } from './hook.js';
import { runProcess } from './process.js';

// libvirt's qemu hook (dist/hook.cjs, run as `hook qemu NAME OP SUBOP`): only the hook's code, no CLI.
runProcess(runHook, crashExitCode);
