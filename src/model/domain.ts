// The parts of a libvirt domain that decide a NIC's bridge port, exactly as written in the XML
// (not validated yet: see names.ts).

export interface Nic {
  index: number; // position among the domain's <interface> elements
  type: string | null; // <interface type=...>
  mac: string | null;
  source: {
    bridge: string | null;
    network: string | null;
    portid: string | null;
  };
  actual: { type: string | null; bridge: string | null } | null; // status XML only
  tap: string | null; // <target dev=...>
  tapManaged: boolean; // false for <target managed='no'>: a pre-made tap that outlives the guest
  virtualport: string | null; // <virtualport type=...> on the NIC or its <actual>
}

// Which document the domain came from: hook stdin / `virsh dumpxml` (live or inactive), or the daemon's status file.
type DomainShape = 'live' | 'inactive' | 'status';

// The run state in the daemon's status file (<domstatus state= reason=>): the vCPUs run unless it says 'paused'.
export interface RunState {
  state: string;
  reason: string | null;
}

// One <interface> of the guest's mactable metadata, validated: its NIC's choice and the extra MACs on its port.
export interface NicChoice {
  manage: boolean | null; // null: not said, the guest's choice or the config decides
  extraMacs: string[]; // lower case, unicast, non-zero
}

// The guest's own choices from <metadata><mactable xmlns="urn:mactable:1">, validated; what was wrong is in `problems`.
export interface GuestChoices {
  manage: boolean | null;
  nics: Map<string, NicChoice>; // by the NIC's MAC, lower case
  problems: string[];
}

export interface Domain {
  name: string;
  shape: DomainShape;
  run: RunState | null; // only the status file carries it
  nics: Nic[];
  choices: GuestChoices;
}
