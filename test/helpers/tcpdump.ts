import { execa } from 'execa';
import { expect } from 'vitest';
import type { Netns } from './netns.js';
import { eventually } from './wait.js';

// The end of a test's traffic: one broadcast echo request, sent from `from` (through `dev`) to `broadcast` after the
// traffic, which the bridge floods to every port (broadcasts flood whatever unicast flooding says; on a VLAN-filtering
// bridge, to every port of the VLAN it came in on: VLAN 1 untagged by default). It comes in the way the frames
// counted do, and it is one frame, sent once: nothing of it arrives later (an ARP request would be sent again).
export interface Marker {
  from: Netns;
  broadcast: string;
  dev?: string;
}

// Count the frames matching `filter` that cross `dev` inside `ns` while `traffic` runs: tcpdump prints frames in the
// order they come in, so once the marker sent after the traffic shows, every frame before it has been counted.
export async function countFrames(ns: Netns, dev: string, filter: string, traffic: () => Promise<unknown>, marker: Marker): Promise<number> {
  // The marker's term first: a `vlan` term changes how the rest of a filter is read.
  const [file, ...args] = ns.enter('tcpdump', '-i', dev, '-n', '-l', '-q', '--immediate-mode', `(icmp and dst host ${marker.broadcast}) or (${filter})`);
  const capture = execa(file, args, { reject: false, buffer: false });
  let printed = '';
  let said = '';
  capture.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  capture.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
  // Capturing, or failed (a bad filter, no such device): then its own words, not a test timeout.
  await eventually(() => said.includes('listening on') || capture.exitCode !== null, 10, 10);
  if (!said.includes('listening on')) {
    capture.kill('SIGKILL');
    await capture;
    throw new Error(`tcpdump on ${dev} (the namespace of pid ${ns.pid}) did not start capturing: ${said.trim()}`);
  }
  await traffic();
  const [pingFile, ...pingArgs] = marker.from.enter('ping', '-b', '-c', '1', '-W', '1', ...(marker.dev === undefined ? [] : ['-I', marker.dev]), marker.broadcast);
  const ping = execa(pingFile, pingArgs, { reject: false });
  const seen = await eventually(() => printed.includes(`> ${marker.broadcast}`), 10);
  ping.kill('SIGINT');
  capture.kill('SIGINT');
  await Promise.all([ping, capture]);
  expect(seen, `the broadcast marker to ${marker.broadcast} on ${dev}`).toBe(true);
  const lines = printed.split('\n');
  return lines.slice(0, lines.findIndex((line) => line.includes(`> ${marker.broadcast}`))).filter((line) => line.trim() !== '').length;
}
