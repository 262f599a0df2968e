import { Box, boxMissing, joinBridges } from '../helpers/box.js';
import { GAP_MODES, roundTrip } from '../helpers/gap.js';

const MAC = '52:54:00:e4:00:02';

// The switch-over gap of a live migration, per mode (test/e2e/migration.test.ts holds the bounds): two libvirt
// hosts in boxes, `rounds` round trips A→B→A each, frames at RATE a second. Per mode the frames missed A→B and B→A.
export interface GapRow {
  mode: string;
  aToBFrames: number[];
  bToAFrames: number[];
  medianFrames: number;
}

export async function gapRows(rounds: number): Promise<GapRow[] | string> {
  const missing = boxMissing();
  if (missing !== null) return `Switch-over gaps not measured: ${missing}`;
  const boxes: Box[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const box = await Box.create({ mactable: { bridges: [] } });
      boxes.push(box);
      await box.bridge('br0');
    }
    const pair = boxes as [Box, Box];
    const addresses = await joinBridges(pair[0], pair[1], 'br0');
    const rows: GapRow[] = [];
    for (const mode of GAP_MODES) {
      const aToB: number[] = [];
      const bToA: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const { gaps } = await roundTrip(pair, addresses, mode, `mtbench${GAP_MODES.indexOf(mode)}${round}`, MAC);
        aToB.push(gaps[0]?.lost as number);
        bToA.push(gaps[1]?.lost as number);
      }
      const sorted = [...aToB, ...bToA].sort((x, y) => x - y);
      rows.push({ mode: mode.name, aToBFrames: aToB, bToAFrames: bToA, medianFrames: sorted[Math.floor(sorted.length / 2)] as number });
    }
    return rows;
  } finally {
    for (const box of boxes) await box.destroy();
  }
}
