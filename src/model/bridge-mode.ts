// A managed bridge's ports and mode, as sysfs shows them (host/bridge-mode.ts): what decides whether the kernel can
// take its uplink out of promiscuous mode (plan/uplink.ts).
export interface BridgeMode {
  bridge: string;
  vlanFiltering: boolean | null; // null: this kernel has no bridge VLAN filtering
  promiscuous: boolean;
  ports: { name: string; auto: boolean; promiscuous: boolean; driver: string | null }[]; // auto: learning or unicast flooding on
}
