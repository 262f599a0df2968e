import type { EntryKey } from './port.js';

// What a managed port should look like in the kernel. mactable's state exists exactly while the guest's vCPUs run:
// then learning and unicast flooding are off, the static entries are on the tap (sticky when asked) and the port is
// locked when asked. While the guest is paused (incoming migration, start or restore --paused, suspend) the port is
// as libvirt made it, so the bridge learns the guest's new place from its announce at once: on a plain bridge
// learning and flooding on; on a macTableManager='libvirt' network libvirt's own flags (off); no entry, unlocked.
export interface Desired {
  learning: boolean; // learning and unicast flooding on
  entry: boolean;
  sticky: boolean;
  lock: boolean;
}

// One of the bridge's own entries on a port (not a `self` one), as the kernel shows it, whatever its state.
export interface ObservedEntry extends EntryKey {
  state: string; // static, permanent, '' (learned), ...
  flags: string[];
}

// A static entry for a port's MAC on another port of its bridge (moved there by learning: a migration's announce).
export interface MovedEntry extends EntryKey {
  bridge: string;
  port: string;
}

// Whether a bridge exists and is a Linux bridge (/sys/class/net/BR/bridge).
export type BridgeKind = 'linux' | 'other' | 'absent';

// What the kernel says about one guest port, read once per round by host/observe.ts.
export interface PortState {
  tapExists: boolean;
  master: string | null;
  bridge: BridgeKind;
  learning: boolean | null; // null: not a port of its bridge, or the kernel has no such control
  flood: boolean | null;
  locked: boolean | null; // null: not asked, or the kernel does not report it
  entries: ObservedEntry[] | null; // the bridge's own entries on the tap; null: not read (the hook reads them in its one batch)
  vlans: number[] | null; // the tap's VLANs on a bridge that filters them (its entries are keyed by each, and vid 0); null: VLANs do not count
  moved: MovedEntry[]; // looked up only for a paused guest's port: its MACs' static entries on other ports
  failure: string | null; // the port could not be read: naming its bridge, tap and the file or command
}
