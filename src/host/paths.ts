// Host paths mactable reads and writes, built only from names already validated by names.ts.

export const RUN_NETWORK = '/run/libvirt/network';
export const RUN_QEMU = '/run/libvirt/qemu';
export const NETWORK_CONFIG = '/etc/libvirt/qemu/networks';
export const SYS_NET = '/sys/class/net';
export const DEFAULT_CONFIG = '/etc/libvirt/mactable.json';

export const portFile = (network: string, portid: string) => `${RUN_NETWORK}/${network}/ports/${portid}.xml`;
export const guestStatusFile = (guest: string) => `${RUN_QEMU}/${guest}.xml`;
export const networkStatusFile = (network: string) => `${RUN_NETWORK}/${network}.xml`;
export const networkConfigFile = (network: string) => `${NETWORK_CONFIG}/${network}.xml`;
export const netDevice = (dev: string) => `${SYS_NET}/${dev}`;
export const masterLink = (dev: string) => `${SYS_NET}/${dev}/master`;
export const bridgeDir = (dev: string) => `${SYS_NET}/${dev}/bridge`;
export const brportAttr = (bridge: string, tap: string, attr: string) => `${SYS_NET}/${bridge}/brif/${tap}/${attr}`;
