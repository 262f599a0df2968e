import yargs from 'yargs';
import pkg from '../../package.json' with { type: 'json' };
import { InputError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { planCommand } from './plan-command.js';

// Parse the command line; yargs only parses and writes help, the commands run below.
export async function runCli(rt: Runtime): Promise<number> {
  const parsed = await parse(rt.argv);
  if (parsed.output) {
    rt.stdout(`${parsed.output}\n`);
    return 0;
  }
  const args = parsed.args;
  switch (args._[0]) {
    case 'plan':
      return planCommand(rt, { file: fileArg(args.file), root: args.root, config: args.config, json: args.json === true });
    default:
      throw new InputError(`unknown command ${String(args._[0])}: see mactable --help`);
  }
}

type Args = { _: (string | number)[]; file?: unknown; root?: string; config?: string; json?: boolean };

// The positional is left untyped: yargs turns a lone '-' into `true` (or '' when typed as a string); it means stdin.
function fileArg(file: unknown): string | undefined {
  return file === true ? '-' : file === undefined ? undefined : String(file);
}

function parse(argv: string[]): Promise<{ args: Args; output: string }> {
  const parser = yargs()
    .scriptName('mactable')
    .usage('$0 <command> [options]\n\nManages Linux bridge MAC tables for libvirt guests: per guest tap, learning off,\nunicast flooding off and a static FDB entry for the guest\'s MAC.')
    .option('root', { type: 'string', describe: 'read host files below DIR (default: MACTABLE_ROOT or /)', global: true })
    .option('config', { type: 'string', describe: 'config file (default: MACTABLE_CONFIG or /etc/libvirt/mactable.json)', global: true })
    .command('plan [file]', 'show what mactable would do for a domain XML (FILE or - for stdin)', (y) =>
      y
        .positional('file', { describe: 'domain XML: hook input, virsh dumpxml, or /run/libvirt/qemu/NAME.xml' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
        .example('$0 plan /run/libvirt/qemu/guest1.xml', 'the plan for a running guest')
        .example('virsh dumpxml guest1 | $0 plan --json -', 'the same from virsh, as JSON'),
    )
    .command('hook qemu <name> <op> <subop> [extra]', "libvirt's qemu hook entry (domain XML on stdin)")
    .demandCommand(1, 'give a command')
    .strict()
    .help()
    .version(pkg.version)
    .wrap(100)
    .epilog('Exit codes: 0 ok, 1 something failed or drifted, 2 bad input or usage.');
  return new Promise((resolve, reject) => {
    parser.parse(argv, {}, (error, args, output) => {
      if (error) reject(new InputError(`${error.message} (see mactable --help)`));
      else resolve({ args: args as Args, output });
    });
  });
}
