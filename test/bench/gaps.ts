import { Box, boxMissing, joinBridges } from '../helpers/box.js';
import { GAP_MODES, RATE, roundTrip } from '../helpers/gap.js';

const MAC = '52:54:00:e4:00:02';

// The switch-over gap of a live migration, per mode (test/e2e/migration.test.ts holds the bounds): two libvirt
// hosts in boxes, `rounds` round trips A→B→A each, frames at RATE a second. Markdown rows for the README's table.
export async function gapRows(rounds: number): Promise<string> {
  const missing = boxMissing();
  if (missing !== null) return `Switch-over gaps not measured: ${missing}\n`;
  const boxes: Box[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const box = await Box.create({ mactable: { bridges: [] } });
      boxes.push(box);
      await box.bridge('br0');
    }
    const pair = boxes as [Box, Box];
    const addresses = await joinBridges(pair[0], pair[1], 'br0');
    const rows = [`| switch-over gap, frames at ${RATE}/s the running guest missed (A→B, B→A per round trip) | median | runs |`, '|---|---|---|'];
    for (const mode of GAP_MODES) {
      const lost: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const { gaps } = await roundTrip(pair, addresses, mode, `mtbench${GAP_MODES.indexOf(mode)}${round}`, MAC);
        lost.push(...gaps.map((gap) => gap.lost));
      }
      const sorted = [...lost].sort((x, y) => x - y);
      rows.push(`| ${mode.name} | ${sorted[Math.floor(sorted.length / 2)]} | ${lost.join(', ')} |`);
    }
    return `${rows.join('\n')}\n`;
  } finally {
    for (const box of boxes) await box.destroy();
  }
}
