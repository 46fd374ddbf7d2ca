#!/usr/bin/env node
// Instructions per packet of the datapath bench's cross-node loops, counted by
// callgrind (the one repeatable measure on a shared machine). Runs
// dist/bench/datapath-loop.js under valgrind once and counts the passes of
// rounds lo..hi that the bench would time, which the loop marks
// (scripts/lib/datapath-loop.js): Ir(passes) / ((hi - lo) × conns). It also says how much of that was
// V8's compiler or garbage collector, which clean passes keep near zero.
// Usage: npm run build && node scripts/datapath-instructions.js [new|established|pairs|both] [conns=10000] [lo=8] [hi=16] [--cache] [--v8-defaults] [--fresh]
// node runs with the engine's V8 flags (src/util/engine-flags.ts), as the
// daemon and `npm run bench` do; --v8-defaults measures without them.
// --cache adds callgrind's cache simulation (32 KiB L1s, and a 4 MiB last
// level: on the shared VMs this project is measured on, random loads stay at
// ~17 ns up to a 4 MiB working set and cost ~170 ns from 8 MiB on) and also
// prints L1 and last-level misses per packet: the memory side of the figure,
// which instruction counts miss. Use the bench's own 50000 flows then (e.g.
// `new 50000 2 4 --cache`), so the working set is the bench's.
// node runs with --predictable and fixed hash and random seeds: V8 then
// compiles on the main thread in the same order every run. A change can still
// move V8's inlining elsewhere by a few hundred instructions, so measure
// changes one at a time.
// Takes one to two minutes per mode (valgrind runs node ~50x slower). Keep lo
// at 8 rounds or more: V8 is still compiling the established path after 2-4
// rounds, and the compiler's share says so.
import { eachInstructionCost } from './lib/callgrind.js';
import { CACHE_SIM, callgrindWindow, positionalArgs, totals } from './lib/datapath-loop.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = process.argv.includes('--cache');
const [which = 'both', conns = '10000', lo = '8', hi = '16'] = positionalArgs();
const modes = which === 'both' ? ['new', 'established'] : [which];
const dir = mkdtempSync(join(tmpdir(), 'dp-callgrind-'));

/** Native functions of V8's optimising compiler and of its garbage collector, by callgrind's names. */
const COMPILER = /v8::internal::(compiler|maglev|turboshaft)::|Pipeline|OptimizedCompilationJob/;
const GC = /v8::internal::(\w+::)?(Heap|Scavenger|Marking|MarkCompact|Sweeper|Evacuat|Concurrent|MemoryAllocator|.*Visitor)/;

try {
  for (const mode of modes) {
    const { texts } = callgrindWindow(join(dir, `${mode}.out`), mode, conns, lo, hi, ['--dump-instr=yes', ...(cache ? CACHE_SIM : [])]);
    const t = totals(texts);
    let compiler = 0;
    let gc = 0;
    for (const text of texts) {
      eachInstructionCost(text, (_addr, ir, fn) => {
        if (COMPILER.test(fn)) compiler += ir;
        else if (GC.test(fn)) gc += ir;
      });
    }
    const packets = (Number(hi) - Number(lo)) * Number(conns);
    const per = (n, digits = 0) => (n / packets).toFixed(digits);
    let line = `${mode}: ${per(t.Ir)} instructions/packet (Ir ${t.Ir} in the passes of rounds ${lo}..${hi} of ${conns}; V8's compiler ${per(compiler)}, garbage collector ${per(gc)} of them)`;
    if (cache) line += `; per packet: L1 instruction misses ${per(t.I1mr, 1)}, L1 data misses ${per(t.D1mr, 2)} read + ${per(t.D1mw, 2)} write, last-level (4 MiB) ${per(t.DLmr, 2)} read + ${per(t.DLmw, 2)} write`;
    console.log(line);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
