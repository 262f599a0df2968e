import { describe, expect, it } from 'vitest';
import { type Counted, gapsOf, type Span } from '../helpers/gap.js';

// A round trip at 1 frame a ms: A→B switches over at 800 ms and returns at 1000; B→A starts at 1060, switches over at
// 1900 and returns at 2000. Each tap gets the frames sent while the guest runs behind it, but those in `dropped`.
function roundTrip(dropped: number[] = []): { spans: Span[]; counted: Counted[] } {
  const sent: [number, number][] = Array.from({ length: 3000 }, (_, ms) => [ms, ms]);
  const kept = (from: number, to: number) => sent.filter(([seq, ms]) => ms >= from && ms < to && !dropped.includes(seq));
  return {
    spans: [
      { from: 'A', to: 'B', source: 'vnet0', target: 'vnet0', toBox: 1, started: 0, returned: 1000 },
      { from: 'B', to: 'A', source: 'vnet0', target: 'vnet1', toBox: 0, started: 1060, returned: 2000 },
    ],
    counted: [
      { frames: { snd1: sent, vnet0: kept(0, 800), vnet1: kept(1900, 3000) }, announces: { vnet1: 1900 } },
      { frames: { vnet0: kept(800, 1900) }, announces: { vnet0: 800 } },
    ],
  };
}

describe('the gap meter', () => {
  it('gives the frames after the next migration has started to that migration, not to the one before', () => {
    const { spans, counted } = roundTrip();
    expect(gapsOf(spans, counted).map(({ lost, neither, sent }) => [lost, neither, sent])).toEqual([
      [0, 0, 1060],
      [0, 0, 1940],
    ]);
  });

  it('counts a frame the running side missed once, in the span it was sent in', () => {
    const { spans, counted } = roundTrip([799, 800, 1500, 1950]);
    expect(gapsOf(spans, counted).map(({ lost, neither }) => [lost, neither])).toEqual([
      [2, 2],
      [2, 2],
    ]);
  });
});
