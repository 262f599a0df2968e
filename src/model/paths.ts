// Host paths mactable reads and writes, built only from names already validated by names.ts.

export const RUN_NETWORK = '/run/libvirt/network';
export const RUN_LIBVIRT = '/run/libvirt';
export const RUN_QEMU = '/run/libvirt/qemu';
// The daemon's sockets (libvirtd, or the modular virtqemud): made again whenever it starts.
export const DAEMON_SOCKETS = ['libvirt-sock', 'virtqemud-sock'];
// The running watcher holds an exclusive lock on WATCH_LOCK, a waiter on its guest's; hooks/qemu tests the first.
const RUN_MACTABLE = '/run/mactable';
export const WATCH_LOCK = `${RUN_MACTABLE}/watch.lock`;
// A reconnect that found another one reconciling every guest leaves this mark, for it to go round again.
export const RECONNECT_DUE = `${RUN_MACTABLE}/reconnect.due`;
export const NETWORK_CONFIG = '/etc/libvirt/qemu/networks';
export const SYS_NET = '/sys/class/net';
export const DEFAULT_CONFIG = '/etc/libvirt/mactable.json';

export const portFile = (network: string, portid: string) => `${RUN_NETWORK}/${network}/ports/${portid}.xml`;
export const waiterLock = (guest: string) => `${RUN_MACTABLE}/waiters/${encodeURIComponent(guest)}.lock`;
export const guestStatusFile = (guest: string) => `${RUN_QEMU}/${guest}.xml`;
export const networkStatusFile = (network: string) => `${RUN_NETWORK}/${network}.xml`;
export const networkConfigFile = (network: string) => `${NETWORK_CONFIG}/${network}.xml`;
export const netDevice = (dev: string) => `${SYS_NET}/${dev}`;
export const masterLink = (dev: string) => `${SYS_NET}/${dev}/master`;
export const bridgeDir = (dev: string) => `${SYS_NET}/${dev}/bridge`;
export const brportAttr = (bridge: string, tap: string, attr: string) => `${SYS_NET}/${bridge}/brif/${tap}/${attr}`;
