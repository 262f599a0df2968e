// A guest port as the kernel knows it: the guest's MAC and the extra MACs on TAP, whose master is BRIDGE (validated).
export interface PortRef {
  mac: string;
  extraMacs: string[];
  tap: string;
  bridge: string;
}

// Every MAC a port has a static entry for: the guest's own first, then the extras.
export const macsOf = (port: { mac: string; extraMacs: string[] }): string[] => [port.mac, ...port.extraMacs];
