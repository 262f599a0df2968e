import yargs from 'yargs';
import pkg from '../../package.json' with { type: 'json' };
import { InputError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkConfigCommand } from './check-config-command.js';
import { doctorCommand } from './doctor-command.js';
import { planCommand } from './plan-command.js';
import { repairCommand } from './repair-command.js';
import { statusCommand } from './status-command.js';
import { watchCommand } from './watch-command.js';

// Parse the command line; yargs only parses and writes help, the commands run below.
export async function runCli(rt: Runtime): Promise<number> {
  const parsed = await parse(rt.argv);
  if (parsed.output) {
    rt.stdout(`${parsed.output}\n`);
    return 0;
  }
  const args = parsed.args;
  const where = { root: args.root, config: args.config };
  const json = args.json === true;
  const names = (args.names ?? []).map(String);
  switch (args._[0]) {
    case 'plan':
      return planCommand(rt, { ...where, file: fileArg(args.file), json });
    case 'status':
      return statusCommand(rt, { ...where, names, format: args.format ?? (json ? 'json' : 'text') });
    case 'repair':
      return repairCommand(rt, { ...where, names, all: args.all === true, dryRun: args['dry-run'] === true });
    case 'watch':
      return watchCommand(rt, {
        ...where,
        interval: Number(args.interval),
        metricsFile: args['metrics-file'],
        once: args.once === true,
        untilRunning: args['until-running'],
        bound: Number(args.bound),
      });
    case 'doctor':
      return doctorCommand(rt, { ...where, json });
    case 'check-config':
      return checkConfigCommand(rt, { ...where, file: fileArg(args.file), json });
    default:
      throw new InputError(`unknown command ${String(args._[0])}: see mactable --help`);
  }
}

type Args = {
  _: (string | number)[];
  file?: unknown;
  names?: (string | number)[];
  root?: string;
  config?: string;
  json?: boolean;
  all?: boolean;
  'dry-run'?: boolean;
  format?: 'text' | 'json' | 'prometheus';
  interval?: number;
  'metrics-file'?: string;
  once?: boolean;
  'until-running'?: string;
  bound?: number;
};

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
    .command('status [names..]', "each running guest's ports: the plan, the kernel's state, and a verdict: ok, drift or unmanaged", (y) =>
      y
        .positional('names', { describe: 'guests to show (default: every running guest)' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (the same as --format json)' })
        .option('format', { choices: ['text', 'json', 'prometheus'] as const, describe: 'text (default), json, or prometheus gauges' })
        .example('$0 status', 'every running guest; exit 1 when a port drifted (for cron or monitoring)')
        .example('$0 status --json guest1', 'one guest, as JSON')
        .example('$0 status --format prometheus > /var/lib/prometheus/node-exporter/mactable.prom', "for node_exporter's textfile collector"),
    )
    .command('repair [names..]', 'apply the plan again to running guests (after hot-plug, a re-created bridge, manual changes)', (y) =>
      y
        .positional('names', { describe: 'guests to repair' })
        .option('all', { type: 'boolean', default: false, describe: 'repair every running guest' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'print what drifted, change nothing' })
        .example('$0 repair --all', 'every running guest; prints only what it changed'),
    )
    .command('watch', 'keep every managed port right between hook calls: reconcile on status file and kernel events, and every --interval', (y) =>
      y
        .option('interval', { type: 'number', default: 60, describe: 'seconds between full resyncs (the safety net for missed events)' })
        .option('metrics-file', { type: 'string', describe: 'write Prometheus metrics to PATH after every reconcile (atomically, for the textfile collector)' })
        .option('once', { type: 'boolean', default: false, describe: 'one full reconcile, then exit: 0 nothing drifted or all fixed, 1 something could not be fixed' })
        .option('until-running', { type: 'string', describe: "the hook's waiter: watch only guest NAME, end once its vCPUs run (its entry then in place) or it stops" })
        .option('bound', { type: 'number', default: 86_400, describe: 'with --until-running: seconds to wait at most' })
        .example('$0 watch --metrics-file /var/lib/prometheus/node-exporter/mactable.prom', "with metrics for node_exporter's textfile collector")
        .example('$0 watch --once', 'for cron'),
    )
    .command('doctor', 'check this host: Node.js, iproute2, kernel, libvirt, the installed hook, the config', (y) =>
      y.option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
    )
    .command('check-config [file]', 'check a config file as the hook and the watcher read it: exit 0, or 2 with every problem on one line', (y) =>
      y
        .positional('file', { describe: 'the config to check (default: the one mactable reads, see --config)' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON object: the file and every key, defaults filled in' })
        .example('$0 check-config /tmp/mactable.json.new && mv /tmp/mactable.json.new /etc/libvirt/mactable.json', 'replace the config only once it is valid'),
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
