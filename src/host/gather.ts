import { parseNetworkDef, parsePortPlug } from '../domain/network.js';
import type { Domain } from '../domain/types.js';
import { InputError } from '../errors.js';
import { ifnameProblem, networkNameProblem, portIdProblem } from '../names.js';
import { emptyFacts, portKey, type FileFact, type HostFacts, type TapMaster } from '../plan/facts.js';
import { osErrorText, type HostFs } from './fs.js';
import { bridgeDir, networkConfigFile, networkStatusFile, portFile } from './paths.js';
import { masterOf } from './port-checks.js';

// Read the host files the domain's NICs point at (only after their names are validated).
export function gatherFacts(domain: Domain, host: HostFs): HostFacts {
  const facts = emptyFacts();
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

// The tap's master from the /sys/class/net/TAP/master symlink, and whether it is a Linux bridge.
function tapMaster(host: HostFs, tap: string): TapMaster {
  const master = masterOf(host, tap);
  const isLinuxBridge = master !== null && ifnameProblem(master) === null && host.exists(bridgeDir(master));
  return { master, isLinuxBridge };
}
