// The watcher's work queue, after controller-runtime's: events only add keys (duplicates collapse), one worker
// reconciles the keys dirty at that moment, and a key whose reconcile failed comes back after a backoff. Events
// faster than reconciles coalesce into the next round: the queue never holds more than one entry per key.

// What one round did with each key it was given: true when the key is right now, false when it must be retried.
export type Work = (keys: string[] | null) => Promise<Map<string, boolean>>; // null: every key (a resync)

interface QueueTimers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

interface QueueOptions {
  debounceMs: number; // events within this window go into one round (a guest starting, our own writes)
  maxBackoffMs: number; // a failing key is retried after 1 s, doubling up to this
  timers?: QueueTimers;
  onError: (error: unknown) => void; // a round that threw: its keys stay dirty for the next one
}

const BASE_BACKOFF_MS = 1000;

export class WorkQueue {
  private readonly dirty = new Set<string>();
  private everything = false;
  private readonly failing = new Map<string, { count: number; until: number }>();
  private readonly waiting = new Map<string, unknown>(); // keys held back until their backoff ends
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly timers: QueueTimers;

  constructor(
    private readonly work: Work,
    private readonly options: QueueOptions,
    private readonly now: () => number,
  ) {
    this.timers = options.timers ?? { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout) };
  }

  // A key changed: reconcile it soon. A failing key waits for its backoff to end (its own put-back writes are kernel
  // events too), unless `desired` says what it should be changed (a status file rewritten).
  add(key: string, desired = false): void {
    if (this.stopped) return;
    const until = this.failing.get(key)?.until ?? 0;
    if (!desired && until > this.now()) {
      if (this.waiting.has(key)) return;
      this.waiting.set(key, this.timers.setTimeout(() => (this.waiting.delete(key), this.queue(key)), until - this.now()));
      return;
    }
    this.queue(key);
  }

  // Something happened that no key names (a resync, a monitor restarted): reconcile everything, backoffs aside.
  addAll(): void {
    if (this.stopped) return;
    this.everything = true;
    this.schedule();
  }

  // Stop taking work; resolves once a round in flight has ended, so a port is never left half-done.
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    for (const timer of this.waiting.values()) this.timers.clearTimeout(timer);
    this.waiting.clear();
    await this.running;
  }

  private queue(key: string): void {
    this.dirty.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.running !== null || this.stopped) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.running = this.round().finally(() => {
        this.running = null;
        if (this.everything || this.dirty.size > 0) this.schedule();
      });
    }, this.options.debounceMs);
  }

  private async round(): Promise<void> {
    const keys = this.everything ? null : [...this.dirty];
    this.everything = false;
    this.dirty.clear();
    let results: Map<string, boolean>;
    try {
      results = await this.work(keys);
    } catch (error) {
      // Its keys are retried after their backoff; a resync that threw waits for the next resync.
      this.options.onError(error);
      results = new Map((keys ?? []).map((key) => [key, false]));
    }
    // A resync sees every key there is: one it no longer reports (a guest gone) is no longer failing.
    if (keys === null) for (const key of [...this.failing.keys()].filter((key) => !results.has(key))) this.forget(key);
    for (const [key, right] of results) {
      if (right) {
        this.forget(key);
        continue;
      }
      const count = (this.failing.get(key)?.count ?? 0) + 1;
      const backoff = Math.min(BASE_BACKOFF_MS * 2 ** (count - 1), this.options.maxBackoffMs);
      this.failing.set(key, { count, until: this.now() + backoff });
      this.add(key); // requeued after its backoff
    }
  }

  private forget(key: string): void {
    this.failing.delete(key);
    if (this.waiting.has(key)) this.timers.clearTimeout(this.waiting.get(key));
    this.waiting.delete(key);
  }
}
