// A guest port as the kernel knows it: the guest's MAC and the extra MACs on TAP, whose master is BRIDGE (validated).
export interface PortRef {
  mac: string;
  extraMacs: string[];
  tap: string;
  bridge: string;
}

// Every MAC a port has a static entry for: the guest's own first, then the extras.
export const macsOf = (port: { mac: string; extraMacs: string[] }): string[] => [port.mac, ...port.extraMacs];

// A VLAN id; null: no VLAN (vid 0), all there is on a bridge without vlan_filtering.
export type Vlan = number | null;

// What a static entry is keyed by: one MAC in one VLAN (`bridge -j fdb show` gives "vlan" on a filtering bridge).
export interface EntryKey {
  mac: string;
  vlan: Vlan;
}

// Every entry a port should have while its guest runs: each of its MACs in each of its VLANs (today the one null).
export const keysOf = (port: { mac: string; extraMacs: string[] }, vlans: Vlan[] = [null]): EntryKey[] =>
  macsOf(port).flatMap((mac) => vlans.map((vlan) => ({ mac, vlan })));

// Every entry a port should have in the VLANs its state says it has (`vlans`: null when VLANs do not count).
export const keyVlansOf = (port: { mac: string; extraMacs: string[] }, { vlans }: { vlans: number[] | null }): EntryKey[] => keysOf(port, vlans === null ? [null] : [null, ...vlans]);

// An entry's VLAN in words, after its MAC: nothing for vid 0.
export const onVlan = (vlan: Vlan): string => (vlan === null ? '' : ` on VLAN ${vlan}`);

// Whether two keys name the same entry.
export const sameKey = (a: EntryKey, b: EntryKey): boolean => a.mac === b.mac && a.vlan === b.vlan;
