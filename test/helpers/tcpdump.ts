import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Netns } from './netns.js';

// Count the frames matching `filter` that cross `dev` inside `ns` (either way) while `traffic` runs.
export async function countFrames(ns: Netns, dev: string, filter: string, traffic: () => Promise<unknown>): Promise<number> {
  const [file, ...args] = ns.enter('tcpdump', '-i', dev, '-n', '-l', '-q', filter);
  const capture = execa(file, args, { reject: false, buffer: true });
  await new Promise<void>((resolve) => {
    capture.stderr?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) resolve();
    });
  });
  await traffic();
  await sleep(300); // the last frames' way through the bridge
  capture.kill('SIGINT');
  const { stdout } = await capture;
  return String(stdout).split('\n').filter((line) => line.trim() !== '').length;
}
