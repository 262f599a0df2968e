import { EXIT } from './errors.js';
import { crashExitCode } from './hook.js';
import { runProcess } from './process.js';
import { run } from './program.js';

// `mactable`, the command (dist/mactable.mjs): the CLI, and the hook as `mactable hook qemu ...`.
runProcess(run, (argv) => (argv[0] === 'hook' ? crashExitCode(argv) : EXIT.failed), () => import('node:child_process'));
