// The daemon's clock driver: an exec a client waits on skips idle virtual
// time in fast pacing; a command that streams until stopped (hubble observe
// --follow, cilium monitor) does not, so its flows keep wall-clock times.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { VirtualClock } from '../../src/util/clock.js';
import { ClockDriver, streamsUntilStopped } from '../../src/cluster/clock-driver.js';

test('streaming commands are told apart by program and flags', () => {
  for (const argv of [['hubble', 'observe', '--follow'], ['hubble', 'observe', '-f', '--namespace', 'demo'], ['/usr/bin/hubble', 'observe', '--follow=true'], ['cilium', 'monitor'], ['cilium-dbg', 'monitor', '-t', 'drop']]) {
    assert.equal(streamsUntilStopped(argv), true, argv.join(' '));
  }
  for (const argv of [['hubble', 'observe', '--last', '5'], ['hubble', 'status'], ['cilium', 'status'], ['curl', '-f', 'http://backend:8080'], ['sh', '-c', 'hubble observe --follow'], []]) {
    assert.equal(streamsUntilStopped(argv), false, argv.join(' '));
  }
});

test('fast pacing: a waited-on exec jumps to the next timer, a streaming one leaves time to the wall clock', async () => {
  const clock = new VirtualClock();
  const driver = new ClockDriver(clock, 'fast', 60_000);
  clock.setTimer(3_600_000, () => undefined);

  let stopFollow!: () => void;
  const follow = driver.exec(['hubble', 'observe', '--follow'], new Promise<void>((r) => (stopFollow = r)));
  for (let i = 0; i < 20; i++) await tick();
  assert.ok(clock.now() < 1000, `time stayed put under --follow (now ${clock.now()} ms)`);
  stopFollow();
  await follow;

  let fired = false;
  await driver.exec(['sleep', '3600'], new Promise<void>((r) => clock.setTimer(3_600_000, () => ((fired = true), r()))));
  assert.equal(fired, true);
  assert.ok(clock.now() >= 3_600_000);
  driver.stop();
});
