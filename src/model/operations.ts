import type { EntryKey } from './port.js';
import type { MovedEntry, ObservedEntry } from './state.js';

export type PortFlag = 'learning' | 'unicast_flood';

// One change to one port, as plan/diff.ts decides it from what was observed (`was`, kept for the words) and host/
// runs it: a flag through sysfs, the rest in one `bridge -batch`. Entries are keyed by MAC and VLAN.
export type Operation =
  | { op: 'flag'; flag: PortFlag; on: boolean; was: boolean | null }
  | ({ op: 'add'; sticky: boolean; was: ObservedEntry | null } & EntryKey) // `fdb replace ... master static`
  | ({ op: 'delete'; why: 'paused' | 'unlisted' | 'undo' | 'vlan' } & EntryKey) // an entry on the port's own tap; vlan null: in every VLAN it has; 'vlan': in one it left (a flush of that VLAN)
  | { op: 'lock'; on: boolean; was: boolean | null }
  | { op: 'delete-moved'; entry: MovedEntry };

// Whether an entry is the one an add asks for: static, and sticky when asked (what the diff wants, and what the read-back
// checks).
export const entryAsAsked = (entry: ObservedEntry | null | undefined, sticky: boolean): boolean => entry?.state === 'static' && (!sticky || entry.flags.includes('sticky'));
