import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';

test('virtual clock fires timers in time order, same-instant timers in set order', () => {
  const c = new VirtualClock();
  const log: string[] = [];
  c.setTimer(10, () => log.push(`b@${c.now()}`));
  c.setTimer(5, () => log.push(`a@${c.now()}`));
  c.setTimer(10, () => log.push(`c@${c.now()}`));
  const cancelled = c.setTimer(7, () => log.push('never'));
  c.clearTimer(cancelled);
  assert.equal(c.advance(9), 1);
  assert.deepEqual(log, ['a@5']);
  assert.equal(c.now(), 9);
  c.advance(1);
  assert.deepEqual(log, ['a@5', 'b@10', 'c@10']);
  assert.equal(c.pending, 0);
});

test('runUntil jumps over idle time and stops at the limit', () => {
  const c = new VirtualClock();
  let n = 0;
  const tick = (): void => {
    n++;
    c.setTimer(1000, tick);
  };
  c.setTimer(1000, tick);
  assert.equal(c.runUntil(() => n === 5), true);
  assert.equal(c.now(), 5000);
  assert.equal(c.runUntil(() => n === 1000, 2500), false);
  assert.equal(n, 7);
});

test('seeded rng is reproducible and in range', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 100 }, () => a.u32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.u32()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => new Rng(43).u32()));
  for (let i = 0; i < 1000; i++) {
    const v = a.below(7);
    assert.ok(v >= 0 && v < 7 && Number.isInteger(v));
  }
});
