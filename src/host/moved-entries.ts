import type { Result } from '../model/result.js';
import type { BridgeRunner } from '../runtime/runtime.js';
import { answerOf, runBatch, type BatchAnswer, type BatchCommand } from './batch.js';
import type { FdbOutcome } from './fdb.js';
import type { Placed } from '../model/state.js';

// A MAC to look up on a bridge.
export interface Lookup {
  bridge: string;
  mac: string;
}

// Where a lookup found the MAC's static entry: its place, or null for none.
type Found = Result<{ placed: Placed | null }>;

// One MAC's entry on one bridge: the kernel looks it up, so the cost does not grow with the bridge's table (measured
// with 10 000 entries: 0.07 ms per lookup in a batch, against 25 ms for each `fdb show br BR`).
const get = ({ bridge, mac }: Lookup): BatchCommand => ({ line: `fdb get ${mac} br ${bridge}`, shows: true });
const remove = ({ mac, port }: Placed): BatchCommand => ({ line: `fdb del ${mac} dev ${port} master`, shows: false });

// An absent entry is an answer, not a failure.
const NOT_FOUND = /entry not found/iu;

// The static entry a `fdb get` answer shows (learned and permanent ones are the kernel's), null for none.
function staticIn(answer: BatchAnswer, { bridge, mac }: Lookup): Found {
  if (answer.failure !== null) return NOT_FOUND.test(answer.failure) ? { failure: null, placed: null } : answer;
  const [entry] = Array.isArray(answer.output) ? (answer.output as { ifname?: unknown; master?: unknown; state?: unknown }[]) : [];
  if (entry?.state !== 'static' || entry.master !== bridge || typeof entry.ifname !== 'string') return { failure: null, placed: null };
  return { failure: null, placed: { bridge, mac, port: entry.ifname } };
}

// Where each MAC has a static entry on its bridge, in one `bridge` process, by lookup; a failure names the lookup.
export async function findStaticEntries(bridge: BridgeRunner, lookups: Lookup[]): Promise<Map<Lookup, Found>> {
  if (lookups.length === 0) return new Map();
  const batch = await runBatch(bridge, lookups.map((lookup) => ({ key: lookup, commands: { get: get(lookup) } })));
  return new Map(
    lookups.map((lookup): [Lookup, Found] => {
      const found = batch.failure === null ? staticIn(answerOf(batch.answers.get(lookup), 'get'), lookup) : batch;
      return [lookup, found.failure === null ? found : { failure: `cannot look up the entry for ${lookup.mac} on ${lookup.bridge}: ${found.failure}` }];
    }),
  );
}

// The places among lookups' answers.
export const placed = (answers: Iterable<Found | undefined>): Placed[] => [...answers].flatMap((answer) => (answer?.failure === null && answer.placed !== null ? [answer.placed] : []));

// Delete each entry and look it up again, in one `bridge` process, by entry. Already gone is fine; one that came back
// learned is not ours.
export async function ensureStraysGone(bridge: BridgeRunner, strays: Placed[]): Promise<Map<Placed, FdbOutcome>> {
  const unique = [...new Set(strays)];
  if (unique.length === 0) return new Map();
  const batch = await runBatch(bridge, unique.map((stray) => ({ key: stray, commands: { delete: remove(stray), get: get(stray) } })));
  return new Map(
    unique.map((stray): [Placed, FdbOutcome] => {
      const what = `static entry ${stray.mac} on ${stray.port}`;
      if (batch.failure !== null) return [stray, { changes: [], failure: `cannot delete the ${what}: ${batch.failure}` }];
      const answers = batch.answers.get(stray);
      const done = answerOf(answers, 'delete');
      const now = staticIn(answerOf(answers, 'get'), stray);
      if (now.failure !== null) return [stray, { changes: [], failure: `cannot read the ${what} back: ${now.failure}` }];
      if (now.placed !== null && now.placed.port === stray.port) return [stray, { changes: [], failure: `cannot delete the ${what}: ${done.failure ?? 'still there after bridge fdb del'}` }];
      return [stray, { changes: done.failure === null ? [`${what} deleted`] : [], failure: null }];
    }),
  );
}
