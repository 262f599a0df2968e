import { readConfig, type ConfigResult } from './config.js';
import { InputError } from '../runtime/errors.js';
import type { HostFs } from '../runtime/fs.js';
import { DEFAULT_CONFIG } from '../model/paths.js';
import type { Runtime } from '../runtime/runtime.js';

export interface Settings {
  host: HostFs;
  config: () => ConfigResult; // read on demand: the hook and the CLI report an invalid config differently
}

// Where to read the host (--root, MACTABLE_ROOT, '/') and the config (--config, MACTABLE_CONFIG, ROOT/etc/libvirt/mactable.json).
export function settingsFrom(rt: Runtime, flags: { root?: string | undefined; config?: string | undefined }): Settings {
  const rawRoot = flags.root ?? rt.env.MACTABLE_ROOT ?? '/';
  const root = rawRoot === '/' ? '/' : rawRoot.replace(/\/+$/u, '');
  const host = rt.hostFs(root);
  if (root !== '/' && !host.exists('/')) throw new InputError(`root directory ${rawRoot} does not exist`);
  const explicit = flags.config ?? rt.env.MACTABLE_CONFIG;
  // A config named explicitly is a path as the administrator typed it, not one below the root.
  const config = explicit
    ? () => readConfig(rt.hostFs('/'), explicit, explicit, { explicit: true })
    : () => readConfig(host, DEFAULT_CONFIG, root === '/' ? DEFAULT_CONFIG : `${root}${DEFAULT_CONFIG}`, { explicit: false });
  return { host, config };
}

