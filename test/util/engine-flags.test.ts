import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ENGINE_V8_FLAGS, hasEngineFlags } from '../../src/util/engine-flags.js';

test('this Node accepts the engine V8 flags (the daemon would not start otherwise)', () => {
  const r = spawnSync(process.execPath, [...ENGINE_V8_FLAGS, '-e', 'process.stdout.write(process.execArgv.join(" "))'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(hasEngineFlags(r.stdout.split(' ')), r.stdout);
});

test('hasEngineFlags needs every engine flag', () => {
  assert.equal(hasEngineFlags([...ENGINE_V8_FLAGS, '--expose-gc']), true);
  assert.equal(hasEngineFlags(ENGINE_V8_FLAGS.slice(1)), false);
  assert.equal(hasEngineFlags([]), false);
});
