import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/clock.js';
import { drive } from '../../src/util/drive.js';

const sleep = (c: VirtualClock, ms: number): Promise<void> => new Promise((r) => c.setTimer(ms, r));

test('drive jumps virtual time across awaited sleeps', async () => {
  const c = new VirtualClock();
  const started = Date.now();
  const result = await drive(
    c,
    (async () => {
      await sleep(c, 5000);
      await sleep(c, 1000);
      return c.now();
    })(),
  );
  assert.equal(result, 6000);
  assert.ok(Date.now() - started < 5000, 'no wall time spent sleeping');
});

test('drive reports work that can never finish', async () => {
  const c = new VirtualClock();
  await assert.rejects(drive(c, new Promise(() => {})), /nothing is scheduled/);
});

test('drive passes rejections through', async () => {
  const c = new VirtualClock();
  await assert.rejects(
    drive(
      c,
      (async () => {
        await sleep(c, 10);
        throw new Error('boom');
      })(),
    ),
    /boom/,
  );
});
