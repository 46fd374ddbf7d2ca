#!/usr/bin/env node
// Instructions per packet of the datapath bench's cross-node loops, counted by
// callgrind (the one repeatable measure on a shared machine). Runs
// dist/bench/datapath-loop.js under valgrind with `lo` and `hi` rounds and
// prints (Ir(hi) - Ir(lo)) / ((hi - lo) × conns): set-up and JIT warm-up cancel.
// Usage: npm run build && node scripts/datapath-instructions.js [new|established|both] [conns=10000] [lo=8] [hi=16] [--cache] [--v8-defaults] [--fresh]
// node runs with the engine's V8 flags (src/util/engine-flags.ts), as the
// daemon and `npm run bench` do; --v8-defaults measures without them.
// --cache adds callgrind's cache simulation (32 KiB L1s, and a 4 MiB last
// level: on the shared VMs this project is measured on, random loads stay at
// ~17 ns up to a 4 MiB working set and cost ~170 ns from 8 MiB on) and also
// prints L1 and last-level data misses per packet: the memory side of the
// figure, which instruction counts miss. Use the bench's own 50000 flows
// then (e.g. `new 50000 2 4 --cache`), so the working set is the bench's.
// node runs with --predictable and fixed hash and random seeds: V8 then
// compiles on the main thread in the same order every run, and two runs of
// one build agree to about an instruction per packet (without them they
// drifted by ~3%). A change can still move V8's inlining elsewhere by a few
// hundred instructions, so measure changes one at a time.
// Takes two to four minutes per mode (valgrind runs node ~50x slower). Keep lo
// at 8 rounds or more: V8 is still compiling the established path after 2-4
// rounds, and a shorter window counts TurboFan's work (25,645 instead of
// ~19,100 instructions/packet for established at rounds 6 minus 2).
import { spawnSync } from 'node:child_process';
import { CACHE_SIM, loopCommand, positionalArgs } from './lib/datapath-loop.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = process.argv.includes('--cache');
const [which = 'both', conns = '10000', lo = '8', hi = '16'] = positionalArgs();
const modes = which === 'both' ? ['new', 'established'] : [which];
const dir = mkdtempSync(join(tmpdir(), 'dp-callgrind-'));

/** Callgrind's totals for one run: Ir, and with --cache also Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw. */
function counts(mode, rounds) {
  const out = join(dir, `${mode}.${rounds}.out`);
  const r = spawnSync('valgrind', ['--tool=callgrind', ...(cache ? CACHE_SIM : []), `--callgrind-out-file=${out}`, ...loopCommand(mode, conns, rounds)], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`valgrind ${mode} ${rounds}: exit ${r.status}\n${r.stderr}`);
  const text = readFileSync(out, 'utf8');
  const events = /^events: (.*)$/m.exec(text)?.[1].trim().split(/\s+/) ?? [];
  const m = /^(?:summary|totals): ([\d ]+)$/m.exec(text);
  if (!m) throw new Error(`no totals in ${out}`);
  const values = m[1].trim().split(/\s+/).map(Number);
  return Object.fromEntries(events.map((e, i) => [e, values[i] ?? 0]));
}

try {
  for (const mode of modes) {
    const a = counts(mode, lo);
    const b = counts(mode, hi);
    const packets = (Number(hi) - Number(lo)) * Number(conns);
    const per = (e) => ((b[e] - a[e]) / packets).toFixed(e === 'Ir' ? 0 : 2);
    let line = `${mode}: ${per('Ir')} instructions/packet (Ir ${a.Ir} at ${lo} rounds, ${b.Ir} at ${hi} rounds of ${conns})`;
    if (cache) line += `; per packet: L1 data misses ${per('D1mr')} read + ${per('D1mw')} write, last-level (4 MiB) ${per('DLmr')} read + ${per('DLmw')} write`;
    console.log(line);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
