#!/usr/bin/env node
// Instructions per packet of the datapath bench's loops, by function: the
// repeatable counterpart of a CPU profile. Runs dist/bench/datapath-loop.js
// under callgrind with V8 writing its perf map (--perf-basic-prof), names
// each JIT-compiled code range from that map, and prints the Ir of the
// passes of rounds lo..hi the bench would time (scripts/lib/datapath-loop.js),
// per packet and function, so set-up and warm-up stay out. Functions the JIT inlined count in their caller, as in a CPU
// profile; `Builtins_*` and C++ functions keep their own names.
// Usage: npm run build && node scripts/datapath-profile.js [new|established] [conns=10000] [lo=8] [hi=16] [top=40] [--v8-defaults] [--fresh]
// node runs with the flags datapath-instructions.js uses for repeatable counts,
// and with the engine's V8 flags unless --v8-defaults.
// Takes a few minutes (valgrind runs node ~50x slower).
import { eachInstructionCost, floorIndex } from './lib/callgrind.js';
import { callgrindWindow, positionalArgs, totals } from './lib/datapath-loop.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode = 'new', conns = '10000', lo = '8', hi = '16', top = '40'] = positionalArgs();
const dir = mkdtempSync(join(tmpdir(), 'dp-profile-'));

/** The perf map V8 wrote for `pid`: sorted [start, end, name]. */
function perfMap(pid) {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) throw new Error(`no ${file}: did node write its perf map?`);
  const ranges = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [start, size, ...name] = line.split(' ');
      const s = parseInt(start, 16);
      return [s, s + parseInt(size, 16), name.join(' ')];
    })
    .sort((a, b) => a[0] - b[0]);
  rmSync(file);
  return ranges;
}

function nameAt(ranges, addr) {
  const r = ranges[floorIndex(ranges.length, (i) => ranges[i][0], addr)];
  return r && addr < r[1] ? r[2] : undefined;
}

/**
 * Ir per function name in the timed passes, attributed by instruction address (the
 * run records costs per instruction with --dump-instr), so JIT code is named
 * by the perf map range it lies in and native code by callgrind's function.
 */
function profile() {
  const { texts } = callgrindWindow(join(dir, `${mode}.out`), mode, conns, lo, hi, ['--dump-instr=yes'], ['--perf-basic-prof']);
  const ranges = perfMap(/^pid: (\d+)$/m.exec(texts[0].slice(0, 4000))?.[1]);
  const byName = new Map();
  for (const text of texts) {
    eachInstructionCost(text, (addr, ir, fn) => {
      const name = nameAt(ranges, addr) ?? fn;
      byName.set(name, (byName.get(name) ?? 0) + ir);
    });
  }
  return { byName, total: totals(texts).Ir };
}

/** A readable name: optimised and unoptimised code of one function count together, files by their last two parts. */
function tidy(name) {
  return name.replace(/^JS:[*~^+]?/, '').replace(/file:\/\/\S*\/(\w+\/[\w.-]+:\d+):\d+/, '$1');
}

try {
  const { byName, total: ir } = profile();
  const packets = (Number(hi) - Number(lo)) * Number(conns);
  const merged = new Map();
  for (const [name, n] of byName) merged.set(tidy(name), (merged.get(tidy(name)) ?? 0) + n);
  const total = ir / packets;
  const rows = [...merged].map(([name, n]) => [name, n / packets]).filter(([, per]) => per > 0.5);
  rows.sort((x, y) => y[1] - x[1]);
  console.log(`${mode}: ${total.toFixed(0)} instructions/packet, by the function whose code ran them (inlined callees count in their caller)`);
  for (const [name, per] of rows.slice(0, Number(top))) console.log(`${per.toFixed(0).padStart(7)}  ${((100 * per) / total).toFixed(1).padStart(5)}%  ${name}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
