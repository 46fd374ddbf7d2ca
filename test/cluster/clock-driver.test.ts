// The daemon's clock driver: an exec a client waits on skips idle virtual
// time in fast pacing; a command paced by the wall clock (hubble observe
// --follow, cilium monitor, a shell loop that sleeps) does not, so its flows
// keep wall-clock times and its loop runs once a second.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { VirtualClock } from '../../src/util/clock.js';
import { ClockDriver, pacedByWallClock } from '../../src/cluster/clock-driver.js';

test('commands paced by the wall clock are told apart by program, flags and script', () => {
  const paced = [
    ['hubble', 'observe', '--follow'],
    ['hubble', 'observe', '-f', '--namespace', 'demo'],
    ['/usr/bin/hubble', 'observe', '--follow=true'],
    ['cilium', 'monitor'],
    ['cilium-dbg', 'monitor', '-t', 'drop'],
    ['sleep', '5'],
    ['sh', '-c', 'while true; do curl -s http://backend:8080; sleep 1; done'],
    ['/bin/sh', '-c', 'for i in 1 2 3; do curl -s backend:8080;sleep 0.5; done'],
    ['sh'],
  ];
  for (const argv of paced) assert.equal(pacedByWallClock(argv), true, argv.join(' '));
  const waited = [['hubble', 'observe', '--last', '5'], ['hubble', 'status'], ['cilium', 'status'], ['curl', '-f', '--max-time', '5', 'http://backend:8080'], ['sh', '-c', 'curl -s backend:8080; exit 3'], ['sh', '-c', 'echo nosleep'], []];
  for (const argv of waited) assert.equal(pacedByWallClock(argv), false, argv.join(' '));
});

test('fast pacing: a waited-on exec jumps to the next timer, a paced one leaves time to the wall clock', async () => {
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
  await driver.exec(['curl', '-s', '--max-time', '3600', 'http://10.0.9.9/'], new Promise<void>((r) => clock.setTimer(3_600_000, () => ((fired = true), r()))));
  assert.equal(fired, true);
  assert.ok(clock.now() >= 3_600_000);
  driver.stop();
});
