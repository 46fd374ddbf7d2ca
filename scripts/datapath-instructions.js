#!/usr/bin/env node
// Instructions per packet of the datapath bench's cross-node loops, counted by
// callgrind (the one repeatable measure on a shared machine). Runs
// dist/bench/datapath-loop.js under valgrind with `lo` and `hi` rounds and
// prints (Ir(hi) - Ir(lo)) / ((hi - lo) × conns): set-up and JIT warm-up cancel.
// Usage: npm run build && node scripts/datapath-instructions.js [new|established|both] [conns=10000] [lo=8] [hi=16]
// Takes two to four minutes per mode (valgrind runs node ~50x slower). Keep lo
// at 8 rounds or more: V8 is still compiling the established path after 2-4
// rounds, and a shorter window counts TurboFan's work (25,645 instead of
// ~19,100 instructions/packet for established at rounds 6 minus 2).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [which = 'both', conns = '10000', lo = '8', hi = '16'] = process.argv.slice(2);
const modes = which === 'both' ? ['new', 'established'] : [which];
const dir = mkdtempSync(join(tmpdir(), 'dp-callgrind-'));

function instructions(mode, rounds) {
  const out = join(dir, `${mode}.${rounds}.out`);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, 'dist/bench/datapath-loop.js', mode, conns, rounds], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`valgrind ${mode} ${rounds}: exit ${r.status}\n${r.stderr}`);
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!m) throw new Error(`no totals in ${out}`);
  return Number(m[1]);
}

try {
  for (const mode of modes) {
    const a = instructions(mode, lo);
    const b = instructions(mode, hi);
    const perPacket = (b - a) / ((Number(hi) - Number(lo)) * Number(conns));
    console.log(`${mode}: ${perPacket.toFixed(0)} instructions/packet (Ir ${a} at ${lo} rounds, ${b} at ${hi} rounds of ${conns})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
