import { configOrThrow, configSummary, type Config } from '../config/config.js';
import { settingsFrom } from '../config/settings.js';
import type { Runtime } from '../runtime/runtime.js';

interface CheckConfigArgs {
  file?: string | undefined;
  root?: string | undefined;
  config?: string | undefined;
  json: boolean;
}

// `mactable check-config [FILE]`: the config parsed and validated as the hook and the watcher do, nothing else read.
// A bad one is an InputError: exit 2, its problems in one line naming the file and each key (for Ansible's `validate:`).
export function checkConfigCommand(rt: Runtime, args: CheckConfigArgs): number {
  // A FILE given is checked as --config would be read: it must exist, and not be writable by others.
  const config = configOrThrow(settingsFrom(rt, { root: args.root, config: args.file ?? args.config }).config());
  rt.stdout(args.json ? `${JSON.stringify(configJson(config))}\n` : `${checkText(config)}\n`);
  return 0;
}

// The documented JSON shape: {"file", "found", "config": {every key, defaults filled in}}.
function configJson({ source, found, bridges, networks, onError, timeout, sticky, lockPorts }: Config) {
  const names = (list: Config['bridges']) => list.map(({ pattern }) => pattern);
  return { file: source, found, config: { bridges: names(bridges), networks: names(networks), onError, timeout, sticky, lockPorts } };
}

function checkText(config: Config): string {
  return config.found ? configSummary(config) : `no ${config.source}: the defaults apply (only networks with macTableManager='libvirt' are managed)`;
}
