import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../src/watch/queue.js';

describe('the watcher work queue', () => {
  let rounds: (string[] | null)[];
  let answer: (keys: string[] | null) => Map<string, boolean>;
  let errors: unknown[];
  let queue: WorkQueue;

  beforeEach(() => {
    vi.useFakeTimers();
    rounds = [];
    errors = [];
    answer = (keys) => new Map((keys ?? ['a', 'b']).map((key) => [key, true]));
    queue = new WorkQueue(
      async (keys) => {
        rounds.push(keys === null ? null : [...keys].sort());
        return answer(keys);
      },
      { debounceMs: 50, maxBackoffMs: 4000, onError: (error) => errors.push(error) },
      Date.now,
    );
  });
  afterEach(async () => {
    await queue.stop();
    vi.useRealTimers();
  });

  it('coalesces a burst of events into one round with each key once', async () => {
    for (let i = 0; i < 500; i++) queue.add(i % 2 === 0 ? 'a' : 'b');
    await vi.advanceTimersByTimeAsync(60);
    expect(rounds).toEqual([['a', 'b']]);
  });

  it('events during a round go into the next one, not into a growing queue', async () => {
    let release: () => void = () => undefined;
    answer = (keys) => new Map((keys ?? []).map((key) => [key, true]));
    const slow = new WorkQueue(
      async (keys) => {
        rounds.push(keys);
        await new Promise<void>((resolve) => (release = resolve));
        return answer(keys);
      },
      { debounceMs: 50, maxBackoffMs: 4000, onError: () => undefined },
      Date.now,
    );
    slow.add('a');
    await vi.advanceTimersByTimeAsync(60);
    for (let i = 0; i < 100; i++) slow.add('b');
    slow.add('a');
    await vi.advanceTimersByTimeAsync(200);
    expect(rounds).toEqual([['a']]);
    release();
    await vi.advanceTimersByTimeAsync(60);
    expect(rounds).toEqual([['a'], ['b', 'a']]);
    release();
    await slow.stop();
  });

  it('addAll reconciles everything, whatever is dirty', async () => {
    queue.add('a');
    queue.addAll();
    await vi.advanceTimersByTimeAsync(60);
    expect(rounds).toEqual([null]);
  });

  it('retries a failing key after 1 s, doubling, at most the maximum', async () => {
    answer = (keys) => new Map((keys ?? []).map((key) => [key, false]));
    queue.add('a');
    await vi.advanceTimersByTimeAsync(60); // round 1 at 50 ms, fails
    const at = (n: number) => rounds.length >= n;
    await vi.advanceTimersByTimeAsync(1000);
    expect(at(1) && !at(2)).toBe(true);
    await vi.advanceTimersByTimeAsync(60); // round 2 at 1 s + 50 ms after the failure
    expect(rounds.length).toBe(2);
    await vi.advanceTimersByTimeAsync(2000 + 60);
    expect(rounds.length).toBe(3);
    await vi.advanceTimersByTimeAsync(4000 + 60);
    expect(rounds.length).toBe(4);
    await vi.advanceTimersByTimeAsync(4000 + 60); // capped at 4 s
    expect(rounds.length).toBe(5);
  });

  it('holds kernel events for a failing key back until its backoff ends; a changed desired state goes at once', async () => {
    answer = (keys) => new Map((keys ?? []).map((key) => [key, false]));
    queue.add('a');
    await vi.advanceTimersByTimeAsync(60);
    answer = (keys) => new Map((keys ?? []).map((key) => [key, true]));
    for (let i = 0; i < 10; i++) queue.add('a');
    await vi.advanceTimersByTimeAsync(500);
    expect(rounds.length).toBe(1);
    queue.add('a', true);
    await vi.advanceTimersByTimeAsync(60);
    expect(rounds.length).toBe(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(rounds.length).toBe(2); // right now: no retry left
  });

  it('a round that throws is said, and its keys are retried after their backoff', async () => {
    let throws = true;
    const failing = new WorkQueue(
      async (keys) => {
        rounds.push(keys);
        if (throws) throw new Error('boom');
        return new Map((keys ?? []).map((key) => [key, true]));
      },
      { debounceMs: 50, maxBackoffMs: 4000, onError: (error) => errors.push(error) },
      Date.now,
    );
    failing.add('a');
    await vi.advanceTimersByTimeAsync(60);
    throws = false;
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1060);
    expect(rounds).toEqual([['a'], ['a']]);
    await failing.stop();
  });

  it('takes nothing after stop, and stop waits for the round in flight', async () => {
    let ended = false;
    const slow = new WorkQueue(
      async (keys) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ended = true;
        return new Map((keys ?? []).map((key) => [key, true]));
      },
      { debounceMs: 50, maxBackoffMs: 4000, onError: () => undefined },
      Date.now,
    );
    slow.add('a');
    await vi.advanceTimersByTimeAsync(60);
    const stopping = slow.stop();
    slow.add('b');
    await vi.advanceTimersByTimeAsync(100);
    await stopping;
    expect(ended).toBe(true);
  });
});
