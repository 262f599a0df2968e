import { HostError } from '../runtime/errors.js';
import { osErrorText, type HostFs } from '../runtime/fs.js';
import { brportAttr, netDevice } from '../model/paths.js';
import type { PortFlag } from '../model/operations.js';

export const FLAG_WORDS: Record<PortFlag, string> = { learning: 'learning', unicast_flood: 'unicast flooding' };

// The flag's value, read from /sys/class/net/BR/brif/TAP/FLAG; null when the kernel has no such file.
export function readPortFlag(host: HostFs, bridge: string, tap: string, flag: PortFlag): boolean | null {
  const path = brportAttr(bridge, tap, flag);
  let text: string | null;
  try {
    text = host.readText(path);
  } catch (error) {
    throw new HostError(`cannot read ${FLAG_WORDS[flag]} of ${tap} on ${bridge} (${path}): ${osErrorText(error)}`);
  }
  return text === null ? null : text.trim() === '1';
}

// Set a bridge port flag: read, write only when different, read back. True when it changed something.
export function ensurePortFlag(host: HostFs, bridge: string, tap: string, flag: PortFlag, on: boolean): boolean {
  const step = `cannot turn ${FLAG_WORDS[flag]} ${on ? 'on' : 'off'}`;
  const wanted = on ? '1' : '0';
  let result: { before: string; after: string } | null;
  try {
    result = host.update(brportAttr(bridge, tap, flag), wanted);
  } catch (error) {
    throw new HostError(`${step}: ${osErrorText(error)}`);
  }
  if (result === null) throw new HostError(`${step}: ${missingFlag(host, bridge, tap, flag)}`);
  if (result.after.trim() !== wanted) throw new HostError(`${step}: it reads back as ${result.after.trim()}`);
  return result.before.trim() !== wanted;
}

// Why a port flag's file is absent: the tap went away or left the bridge since the checks, or the kernel is too old.
function missingFlag(host: HostFs, bridge: string, tap: string, flag: PortFlag): string {
  if (!host.exists(netDevice(tap))) return `tap ${tap} is gone`;
  if (!host.exists(brportAttr(bridge, tap, ''))) return `tap ${tap} is no longer a port of ${bridge}`;
  return `this kernel has no bridge port ${flag} control (it came with Linux 3.15)`;
}
