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

// An entry on a port, as the kernel shows it.
export interface EntryState {
  state: string;
  flags: string[];
}

// A static entry for a MAC on one port of a bridge.
export interface Placed {
  bridge: string;
  mac: string;
  port: string;
}

// What the kernel says about one guest port right now.
export interface PortState {
  tapExists: boolean;
  master: string | null;
  learning: boolean | null; // null: not a port of its bridge, or the kernel has no such control
  flood: boolean | null;
  locked: boolean | null; // null: the kernel does not report it
  entry: EntryState | null; // the guest MAC's entry on the tap, if any
  extraEntries: { mac: string; entry: EntryState | null }[]; // each extra MAC's, in the plan's order
  stale: string[]; // static entries for MACs that are neither (see staleMacs): drift, deleted by repair
  strays: Placed[]; // static entries for its MACs on other ports of its bridge while the guest is paused (see straysAmong)
  failure: string | null; // the entries could not be read
}
