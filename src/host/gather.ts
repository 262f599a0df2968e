import { parseNetworkDef, parsePortPlug } from '../domain/network.js';
import { parseRunState } from '../domain/parse.js';
import type { Domain } from '../model/domain.js';
import { describe, InputError } from '../runtime/errors.js';
import { ifnameProblem, networkNameProblem, portIdProblem } from '../domain/names.js';
import { emptyFacts, portKey, type FileFact, type GatheredHost, type HostFacts, type TapMaster } from '../model/facts.js';
import { osErrorText, type HostFs } from '../runtime/fs.js';
import { bridgeDir, guestStatusFile, networkConfigFile, networkStatusFile, portFile } from '../model/paths.js';
import { masterOf } from './master.js';
import { ParseCache, runningGuestNames } from './guests.js';

// Read the host files the domain's NICs point at (only after their names are validated), and the run state from
// the guest's status file when the domain did not come from it (libvirt saves it right before `started`).
export function gatherFacts(domain: Domain, host: HostFs): HostFacts {
  const facts = emptyFacts();
  if (domain.run === null && networkNameProblem(domain.name) === null) {
    const status = readOrNull(host, guestStatusFile(domain.name));
    facts.run = status === null ? null : parseRunState(status);
  }
  for (const nic of domain.nics) {
    const { network, portid } = nic.source;
    if (network !== null && networkNameProblem(network) === null) {
      if (!facts.networks.has(network)) {
        facts.networks.set(network, {
          status: readFact(host, networkStatusFile(network), parseNetworkDef),
          config: readFact(host, networkConfigFile(network), parseNetworkDef),
        });
      }
      if (portid !== null && portIdProblem(portid) === null) {
        facts.ports.set(portKey(network, portid), readFact(host, portFile(network, portid), parsePortPlug));
      }
    }
    if (nic.type === 'ethernet' && nic.tap !== null && ifnameProblem(nic.tap) === null) {
      facts.taps.set(nic.tap, tapMaster(host, nic.tap));
    }
  }
  return facts;
}

function readFact<T>(host: HostFs, path: string, parse: (text: string, what: string) => T): FileFact<T> {
  try {
    const text = host.readText(path);
    return text === null ? { path, state: 'absent' } : { path, state: 'found', value: parse(text, path) };
  } catch (error) {
    const problem = error instanceof InputError ? error.message.slice(path.length + 2) : `cannot read: ${osErrorText(error)}`;
    return { path, state: 'bad', problem };
  }
}

// A status file that cannot be read says nothing about the run state: the guest is taken as running.
function readOrNull(host: HostFs, path: string): string | null {
  try {
    return host.readText(path);
  } catch {
    return null;
  }
}

// The tap's master from the /sys/class/net/TAP/master symlink, and whether it is a Linux bridge.
function tapMaster(host: HostFs, tap: string): TapMaster {
  const master = masterOf(host, tap);
  const isLinuxBridge = master !== null && ifnameProblem(master) === null && host.exists(bridgeDir(master));
  return { master, isLinuxBridge };
}

// Every running guest's domain and facts, and the guests whose status file could not be used: what status, repair,
// the watcher and the waiter plan from.

export function gatherHost(host: HostFs, cache = new ParseCache()): GatheredHost {
  const names = runningGuestNames(host);
  cache.keep(names);
  const guests: GatheredHost['guests'] = [];
  const unreadable = new Map<string, string>();
  for (const name of names) {
    try {
      const domain = cache.domain(host, name);
      if (domain !== null) guests.push({ domain, facts: gatherFacts(domain, host) });
    } catch (error) {
      unreadable.set(name, describe(error));
    }
  }
  return { guests, unreadable };
}
