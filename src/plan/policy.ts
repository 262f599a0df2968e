import type { Config } from '../config/config.js';
import { quote } from '../domain/names.js';
import { firstMatch } from '../config/glob.js';
import type { ResolvedNic } from './resolve.js';

interface Decision {
  manage: boolean;
  reason: string;
}

// What the guest's own metadata says: for this NIC, and for the whole guest (null: nothing).
interface MetaManage {
  nic: boolean | null;
  guest: boolean | null;
}

const yesNo = (manage: boolean) => `manage='${manage ? 'yes' : 'no'}'`;

// Whether mactable manages a resolved port, and why. A NIC that is not a Linux bridge port never is; else the
// guest's metadata for this NIC, then for the whole guest, then libvirt's own macTableManager, then the config's
// networks, then its bridges.
export function decide(nic: ResolvedNic, config: Config, meta: MetaManage): Decision {
  if (nic.problem !== null) return { manage: false, reason: nic.problem };
  if (meta.nic !== null) return { manage: meta.nic, reason: `${yesNo(meta.nic)} for this NIC in the guest's metadata` };
  if (meta.guest !== null) return { manage: meta.guest, reason: `${yesNo(meta.guest)} for the whole guest in its metadata` };
  const { network, bridge } = nic;
  if (network !== null && nic.macTableManager === 'libvirt') {
    return { manage: true, reason: `network ${network} has macTableManager='libvirt'` };
  }
  const byNetwork = network === null ? undefined : firstMatch(network, config.networks);
  if (byNetwork !== undefined) {
    return { manage: true, reason: `network ${network} matches ${quote(byNetwork)} in ${config.source}` };
  }
  const byBridge = bridge === null ? undefined : firstMatch(bridge, config.bridges);
  if (byBridge !== undefined) {
    return { manage: true, reason: `bridge ${bridge} matches ${quote(byBridge)} in ${config.source}` };
  }
  const where = config.found ? config.source : `${config.source} (no such file)`;
  const subjects = network === null ? `bridge ${bridge} is` : `network ${network} and bridge ${bridge} are`;
  return { manage: false, reason: `not selected: ${subjects} not listed in ${where}` };
}
