import { setTimeout as sleep } from 'node:timers/promises';

// Poll until `check` holds or `seconds` pass; true when it held. Tests wait for conditions, never for fixed times.
export async function eventually(check: () => boolean | Promise<boolean>, seconds: number, intervalMs = 20): Promise<boolean> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await sleep(intervalMs);
  }
}

// How long until `check` holds, in milliseconds, or null when it did not within `seconds`.
export async function timeUntil(check: () => boolean | Promise<boolean>, seconds = 1): Promise<number | null> {
  const started = Date.now();
  return (await eventually(check, seconds)) ? Date.now() - started : null;
}
