import { EXIT } from './runtime/errors.js';
import { crashExitCode } from './commands/hook.js';
import { runProcess } from './runtime/process.js';
import { run } from './commands/program.js';

// `mactable`, the command (dist/mactable.mjs): the CLI, and the hook as `mactable hook qemu ...`.
runProcess(run, (argv) => (argv[0] === 'hook' ? crashExitCode(argv) : EXIT.failed), () => import('node:child_process'), () => import('node:net'));
