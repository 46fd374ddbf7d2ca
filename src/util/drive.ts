// Running async code on the virtual clock: let promise continuations run, then
// jump time to the next timer, until the awaited work settles. This is what
// makes a 5 s curl timeout cost no wall time in tests and in `--clock fast`.

import type { VirtualClock } from './clock.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Settle `work` on `clock`. Between timer firings the event loop turns once so
 * microtasks and real I/O callbacks run. Throws if the work is still pending
 * with no timer left (nothing could ever wake it) or after `limitMs` of virtual time.
 */
export async function drive<T>(clock: VirtualClock, work: Promise<T>, limitMs = 3_600_000): Promise<T> {
  let state: 'pending' | 'done' | 'failed' = 'pending';
  let value: T | undefined;
  let error: unknown;
  work.then(
    (v) => {
      state = 'done';
      value = v;
    },
    (e: unknown) => {
      state = 'failed';
      error = e;
    },
  );
  const end = clock.now() + limitMs;
  let idleTurns = 0;
  while (state === 'pending') {
    await tick();
    if (state !== 'pending') break;
    const at = clock.nextTimerAt();
    if (at === undefined) {
      // Give in-flight continuations a few turns before calling it a deadlock.
      if (++idleTurns > 20) throw new Error('drive: work is pending but nothing is scheduled to wake it');
      continue;
    }
    idleTurns = 0;
    if (at > end) throw new Error(`drive: still pending after ${limitMs} ms of virtual time`);
    clock.advanceTo(at);
  }
  if (state === 'failed') throw error;
  return value as T;
}
