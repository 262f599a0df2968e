import type { BridgeMode } from '../model/bridge-mode.js';
import { bridgeDir, netDevice } from '../model/paths.js';
import type { HostFs } from '../runtime/fs.js';
import { readPortFlag } from './sysfs.js';

const IFF_PROMISC = 0x100;

// Whether a device is promiscuous, from /sys/class/net/DEV/flags (the kernel sets IFF_PROMISC while any user wants it).
const promiscuous = (host: HostFs, dev: string) => (Number.parseInt(host.readText(`${netDevice(dev)}/flags`) ?? '0', 16) & IFF_PROMISC) !== 0;

// A device's driver as sysfs names it (/sys/class/net/DEV/device/driver); virtual devices have none there.
function driverOf(host: HostFs, dev: string): string | null {
  const link = host.readLink(`${netDevice(dev)}/device/driver`);
  return link === null ? null : link.slice(link.lastIndexOf('/') + 1);
}

// A bridge's mode and its ports', from sysfs; null when it is not a Linux bridge (any more).
export function readBridgeMode(host: HostFs, bridge: string): BridgeMode | null {
  const filtering = host.readText(`${bridgeDir(bridge)}/vlan_filtering`);
  const names = host.list(`${netDevice(bridge)}/brif`);
  if (names === null) return null;
  const ports = names.sort().map((name) => ({
    name,
    auto: readPortFlag(host, bridge, name, 'learning') !== false || readPortFlag(host, bridge, name, 'unicast_flood') !== false,
    promiscuous: promiscuous(host, name),
    driver: driverOf(host, name),
  }));
  return { bridge, vlanFiltering: filtering === null ? null : filtering.trim() === '1', promiscuous: promiscuous(host, bridge), ports };
}
