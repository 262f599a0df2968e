import type { Domain, RunState } from './domain.js';

// What a network port file says about the port: /run/libvirt/network/NET/ports/PORTID.xml.
export interface PortPlug {
  plugType: string | null; // network | bridge | direct | hostdev-pci | none
  bridge: string | null;
  macTableManager: string | null; // libvirt writes it only when it is not the default, 'kernel'
}

// What a network's status or config file says about its bridge.
export interface NetworkDef {
  bridge: string | null;
  macTableManager: string | null;
  forwardMode: string | null;
  virtualport: string | null;
}

// One host file as the gatherer found it: parsed, absent, or present but unusable.
export type FileFact<T> =
  | { path: string; state: 'found'; value: T }
  | { path: string; state: 'absent' }
  | { path: string; state: 'bad'; problem: string };

// A tap's master device as /sys/class/net shows it.
export interface TapMaster {
  master: string | null;
  isLinuxBridge: boolean; // /sys/class/net/MASTER/bridge exists
}

// Everything the plan needs from the host, read once by host/gather.ts so the core reads no files.
export interface HostFacts {
  ports: Map<string, FileFact<PortPlug>>; // key: `${network}/${portid}`
  networks: Map<string, { status: FileFact<NetworkDef>; config: FileFact<NetworkDef> }>;
  taps: Map<string, TapMaster>;
  run: RunState | null; // from the guest's status file; null: none (a replay, a test namespace), taken as running
}

export function emptyFacts(): HostFacts {
  return { ports: new Map(), networks: new Map(), taps: new Map(), run: null };
}

export function portKey(network: string, portid: string): string {
  return `${network}/${portid}`;
}

// Every running guest's domain with the facts its NICs point at, and the guests whose status file could not be used,
// each with why (naming the file): what status, repair, the watcher and the waiter plan from.
export interface GatheredHost {
  guests: { domain: Domain; facts: HostFacts }[];
  unreadable: Map<string, string>;
}
