import { EXIT } from './runtime/errors.js';
import { crashExitCode } from './commands/hook.js';
import { runProcess } from './runtime/process.js';
import { run } from './commands/program.js';
import { RECONNECT_ALL } from './commands/reconnect-all.js';

// `mactable`, the command (dist/mactable.mjs): the CLI, and the hook as `mactable hook qemu ...`.
// `hook reconnect-all` ends with 1 when something unforeseen ends it: hooks/qemu then does not go round again.
runProcess(run, (argv) => (argv[0] === 'hook' && argv[1] !== RECONNECT_ALL ? crashExitCode(argv) : EXIT.failed), () => import('node:child_process'), () => import('node:net'));
