import { execa } from 'execa';
import type { DistRun } from './dist.js';
import type { Holder } from './holder.js';

export const SOURCE = new URL('../..', import.meta.url).pathname;

// install.sh with `args`, inside a box's namespaces when `inside` is given (then /etc/libvirt and /run are the box's).
export async function installSh(args: string[], inside?: Holder): Promise<DistRun> {
  const [file, ...rest] = (inside ? inside.enter(`${SOURCE}install.sh`, ...args) : [`${SOURCE}install.sh`, ...args]) as [string, ...string[]];
  const result = await execa(file, rest, { reject: false, timeout: 300_000 });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
