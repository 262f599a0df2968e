import type { Netns } from './netns.js';
import type { TempDir } from './temp.js';
import type { Watcher } from './watcher.js';

// On a VLAN-filtering bridge every port has VLAN 1 as its untagged pvid (the bridge's default); these add others, tagged.
export async function addVlans(ns: Netns, port: string, ...vids: number[]): Promise<void> {
  for (const vid of vids) await ns.exec('bridge', 'vlan', 'add', 'dev', port, 'vid', String(vid));
}

// The VLANs of a MAC's static entries on one port, in order; 0 is the entry without a VLAN (vid 0).
export async function entryVlans(ns: Netns, bridge: string, port: string, mac: string): Promise<number[]> {
  const entries = await ns.staticEntries(bridge);
  return entries
    .filter((entry) => entry.ifname === port && entry.mac === mac)
    .map((entry) => entry.vlan ?? 0)
    .sort((a, b) => a - b);
}

// One broadcast ARP-typed frame from `mac`, tagged VLAN `vid`, out of `dev`: a guest announcing itself on that VLAN.
export function announceOn(ns: Netns, dev: string, mac: string, vid: number): Promise<string> {
  const header = `ffffffffffff${mac.replace(/:/gu, '')}8100${vid.toString(16).padStart(4, '0')}0806`;
  return ns.exec('python3', '-c', `import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('${dev}', 0)); s.send(bytes.fromhex('${header}') + bytes(46))`);
}

// A test's root for --root (status files in `qemu`), a config managing `bridges`, and the program's environment.
export function rootFor(temp: TempDir, bridges: string[]): { config: string; root: string; qemu: string; env: Record<string, string> } {
  const config = temp.json('cfg.json', { bridges });
  const { root, qemu, env } = temp.hostRoot();
  return { config, root, qemu, env: { ...env, MACTABLE_CONFIG: config } };
}

// The end of a test: its watcher killed, then its namespace removed, whatever failed first.
export async function endWith(watcher: Watcher | null, ns: Netns | undefined): Promise<void> {
  try {
    await watcher?.kill();
  } finally {
    await ns?.remove();
  }
}
