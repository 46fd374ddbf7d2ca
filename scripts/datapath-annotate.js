#!/usr/bin/env node
// Instructions per packet of the datapath bench's loops by source line: where
// datapath-profile.js stops at the few big functions TurboFan compiles the
// path into (with the engine flags it inlines nearly everything), this names
// the source line each machine instruction came from, inlined callees
// included. Runs dist/bench/datapath-loop.js under callgrind with V8
// printing its optimised code (addresses and sizes) and counts the passes of
// rounds lo..hi the bench would time (scripts/lib/datapath-loop.js), then runs it once
// more outside valgrind with --trace-turbo for each hot function (TurboFan's
// JSON: instruction → node → source position → inlined function's script),
// and prints count / packets per line and per inlined function. Lines are approximate at the edges: instructions
// without a position of their own (map checks, moves) are listed apart, and
// some nodes carry the position of the statement around them.
// Usage: npm run build && node scripts/datapath-annotate.js [new|established|pairs] [conns=10000] [lo=8] [hi=16] [top=50] [--v8-defaults] [--fresh] [--icache]
// --icache counts L1 instruction-cache misses instead of instructions
// (callgrind's cache model with a 32 KiB L1, as this machine's CPU has): the
// path's code does not fit it, so where the misses fall says which code a
// packet fetches again.
// node runs with --predictable and fixed seeds (as datapath-instructions.js),
// so the two runs compile the same code; a function is matched across them
// by its name and code size. Takes a few minutes; the trace files (~50 MB per
// function) go to a temporary directory that is removed at the end.
import { spawnSync } from 'node:child_process';
import { eachInstructionCost, floorIndex } from './lib/callgrind.js';
import { CACHE_SIM, callgrindWindow, loopCommand, positionalArgs } from './lib/datapath-loop.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [mode = 'new', conns = '10000', lo = '8', hi = '16', top = '50'] = positionalArgs();
const ICACHE = process.argv.includes('--icache');
/** With --icache (CACHE_SIM), the index of callgrind's I1mr event (after Ir Dr Dw). */
const I1MR = 3;
/** Functions whose optimised code runs at least this share of the instructions get annotated. */
const HOT_SHARE = 0.03;
const dir = mkdtempSync(join(tmpdir(), 'dp-annotate-'));

/** Callgrind's self cost per instruction address in parts' texts (recorded per instruction with --dump-instr). */
function costsByAddress(texts) {
  const counts = new Map();
  for (const text of texts) eachInstructionCost(text, (addr, n) => counts.set(addr, (counts.get(addr) ?? 0) + n), ICACHE ? I1MR : 0);
  return counts;
}

/** The optimised code objects V8 printed (--print-opt-code): name, size and each instruction's address and offset. */
function codeObjects(text) {
  const codes = [];
  let cur = null;
  let inInstructions = false;
  for (const l of text.split('\n')) {
    if (l.startsWith('--- Optimized code ---')) {
      cur = { name: '', size: 0, instrs: [] };
      codes.push(cur);
      inInstructions = false;
    } else if (!cur) continue;
    else if (l.startsWith('name = ')) cur.name = l.slice(7);
    else if (l.startsWith('Instructions (size = ')) {
      cur.size = Number(/size = (\d+)/.exec(l)[1]);
      inInstructions = true;
    } else if (/^(Source positions|Inlined functions|Deoptimization|Safepoints|RelocInfo|--- End code)/.test(l)) inInstructions = false;
    else if (inInstructions) {
      const m = /^(0x[0-9a-f]+)\s+([0-9a-f]+)\s/.exec(l);
      if (m) cur.instrs.push([parseInt(m[1], 16), parseInt(m[2], 16)]);
    }
  }
  return codes;
}

/** The timed passes' count per (function name, code size, pc offset). */
function run() {
  const { texts, stdout } = callgrindWindow(join(dir, 'cg.out'), mode, conns, lo, hi, ['--dump-instr=yes', ...(ICACHE ? CACHE_SIM : [])], ['--print-opt-code']);
  const counts = costsByAddress(texts);
  const byPc = new Map();
  for (const code of codeObjects(stdout)) {
    for (const [addr, off] of code.instrs) {
      const n = counts.get(addr);
      if (n) byPc.set(`${code.name}\0${code.size}\0${off}`, (byPc.get(`${code.name}\0${code.size}\0${off}`) ?? 0) + n);
    }
  }
  return byPc;
}

const sources = new Map();
/** sourceLine()'s answers: many instructions share a position, and counting lines scans the file. */
const lineMemo = new Map();
/** "file:line: text" of a script offset. */
function sourceLine(url, offset) {
  const key = `${url}\0${offset}`;
  let line = lineMemo.get(key);
  if (line === undefined) {
    line = describeLine(url, offset);
    lineMemo.set(key, line);
  }
  return line;
}

function describeLine(url, offset) {
  if (!sources.has(url)) {
    try {
      sources.set(url, readFileSync(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8'));
    } catch {
      sources.set(url, null);
    }
  }
  const src = sources.get(url);
  const file = url.replace(/^.*\/dist\//, '');
  if (!src) return `${file}@${offset}`;
  const start = src.lastIndexOf('\n', offset - 1) + 1;
  const end = src.indexOf('\n', start);
  const line = src.slice(0, offset).split('\n').length;
  return `${file}:${line}: ${src.slice(start, end < 0 ? undefined : end).trim().slice(0, 100)}`;
}

/** For one traced function: pc offset → [inlined function, source line] (TurboFan's JSON of the same compilation). */
function positions(json) {
  const d = JSON.parse(readFileSync(json, 'utf8'));
  const phase = Object.fromEntries(d.phases.map((p) => [p.name, p]));
  const size = Number(/size = (\d+)/.exec(phase.disassembly.data)[1]);
  // By pc: instruction indices follow the blocks' order in the graph, while
  // code is emitted in assembly order (loop rotation moves blocks), so a pc's
  // instruction is the last one starting at or before it in pc order.
  const starts = Object.entries(phase['code generation'].instructionOffsetToPCOffset)
    .map(([i, v]) => [Number(i), v.gap])
    .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const nodeOf = new Map();
  for (const [node, [s, e]] of Object.entries(phase['V8.TFSelectInstructions'].nodeIdToInstructionRange)) {
    for (let i = Math.min(s, e); i < Math.max(s, e); i++) if (!nodeOf.has(i)) nodeOf.set(i, Number(node));
  }
  const outer = d.sources['-1'] ?? Object.values(d.sources).find((s) => s.sourceId === -1);
  return {
    size,
    at(pc) {
      const b = floorIndex(starts.length, (i) => starts[i][1], pc);
      const node = b >= 0 ? nodeOf.get(starts[b][0]) : undefined;
      const p = node === undefined ? undefined : d.nodePositions[node];
      if (!p) return ['(no position: checks, moves)', ''];
      const s = p.inliningId >= 0 ? d.sources[d.inlinings[p.inliningId].sourceId] : outer;
      if (!s) return ['?', `@${p.scriptOffset}`];
      return [s.functionName || '(anonymous)', sourceLine(s.sourceName, p.scriptOffset)];
    },
  };
}

try {
  const counted = run();
  const packets = (Number(hi) - Number(lo)) * Number(conns);
  const perCode = new Map();
  let total = 0;
  for (const [key, d] of counted) {
    total += d;
    const code = key.slice(0, key.lastIndexOf('\0'));
    perCode.set(code, (perCode.get(code) ?? 0) + d);
  }
  const hot = [...perCode].filter(([, n]) => n >= HOT_SHARE * total).sort((x, y) => y[1] - x[1]);
  const unit = ICACHE ? 'L1 instruction-cache misses' : 'instructions';
  console.log(`${mode}: optimised JavaScript code, ${(total / packets).toFixed(0)} ${unit}/packet; annotated:`);
  for (const [code, n] of hot) console.log(`${(n / packets).toFixed(0).padStart(7)}  ${code.split('\0')[0]} (code size ${code.split('\0')[1]})`);
  const byLine = new Map();
  const byFunction = new Map();
  for (const name of new Set(hot.map(([code]) => code.split('\0')[0]))) {
    const traceDir = join(dir, `trace-${name}`);
    mkdirSync(traceDir);
    const [node, ...args] = loopCommand(mode, conns, lo, hi, ['--trace-turbo', `--trace-turbo-path=${traceDir}`, `--trace-turbo-filter=${name}`]);
    const r = spawnSync(node, args, { cwd: traceDir, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`trace of ${name}: exit ${r.status}`);
    for (const f of readdirSync(traceDir).filter((f) => f.endsWith('.json'))) {
      const pos = positions(join(traceDir, f));
      const prefix = `${name}\0${pos.size}\0`;
      for (const [key, n] of counted) {
        if (!key.startsWith(prefix)) continue;
        const [fn, line] = pos.at(Number(key.slice(prefix.length)));
        byLine.set(`${fn}  ${line}`, (byLine.get(`${fn}  ${line}`) ?? 0) + n);
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + n);
      }
    }
    rmSync(traceDir, { recursive: true, force: true });
  }
  const print = (title, m, count) => {
    console.log(title);
    for (const [k, n] of [...m].sort((x, y) => y[1] - x[1]).slice(0, count)) console.log(`${(n / packets).toFixed(1).padStart(8)}  ${k}`);
  };
  print(`\nby inlined function (${unit}/packet):`, byFunction, Number(top));
  print('\nby source line:', byLine, Number(top));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
