#!/usr/bin/env node
// Runs every compiled bench/*.bench.js in turn, with the V8 flags the daemon
// runs the engine with (src/util/engine-flags.ts); extra arguments (e.g.
// --json) are passed on.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ENGINE_V8_FLAGS } from '../dist/src/util/engine-flags.js';

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const dir = 'dist/bench';
let files = readdirSync(dir).filter((f) => f.endsWith('.bench.js')).sort();
if (only.length) files = files.filter((f) => only.some((s) => f.includes(s)));
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, ['--expose-gc', ...ENGINE_V8_FLAGS, join(dir, f), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
