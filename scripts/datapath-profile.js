#!/usr/bin/env node
// Instructions per packet of the datapath bench's loops, by function: the
// repeatable counterpart of a CPU profile. Runs dist/bench/datapath-loop.js
// under callgrind twice (`lo` and `hi` rounds) with V8 writing its perf map
// (--perf-basic-prof), names each JIT-compiled code range from that map, and
// prints (Ir(hi) - Ir(lo)) / packets per function, so set-up and warm-up
// cancel out. Functions the JIT inlined count in their caller, as in a CPU
// profile; `Builtins_*` and C++ functions keep their own names.
// Usage: npm run build && node scripts/datapath-profile.js [new|established] [conns=10000] [lo=8] [hi=16] [top=40]
// Takes a few minutes (valgrind runs node ~50x slower).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode = 'new', conns = '10000', lo = '8', hi = '16', top = '40'] = process.argv.slice(2);
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
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][0] <= addr) lo = mid + 1;
    else hi = mid - 1;
  }
  const r = ranges[hi];
  return r && addr < r[1] ? r[2] : `unknown code 0x${addr.toString(16)}`;
}

/** Exclusive Ir per function name for one run. */
function profile(rounds) {
  const out = join(dir, `${mode}.${rounds}.out`);
  const args = ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--perf-basic-prof', 'dist/bench/datapath-loop.js', mode, conns, rounds];
  const r = spawnSync('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`valgrind ${mode} ${rounds}: exit ${r.status}\n${r.stderr}`);
  const pid = /^pid: (\d+)$/m.exec(readFileSync(out, 'utf8').slice(0, 4000))?.[1];
  const ranges = perfMap(pid);
  const a = spawnSync('callgrind_annotate', ['--threshold=100', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const byName = new Map();
  for (const line of a.stdout.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (!m || m[2].startsWith('PROGRAM TOTALS')) continue;
    const ir = Number(m[1].replaceAll(',', ''));
    const fn = m[2];
    const jit = /^\?\?\?:0x([0-9a-f]+) \[\?\?\?\]/.exec(fn);
    let name = jit ? nameAt(ranges, parseInt(jit[1], 16)) : fn.replace(/^.*?:/, '').replace(/ \[.*\]$/, '');
    // Optimised and unoptimised code of one function count together; keep the file's last two parts.
    name = name.replace(/^JS:[*~^+]?/, '').replace(/file:\/\/\S*\/(\w+\/[\w.-]+:\d+):\d+/, '$1');
    byName.set(name, (byName.get(name) ?? 0) + ir);
  }
  return byName;
}

try {
  const a = profile(lo);
  const b = profile(hi);
  const packets = (Number(hi) - Number(lo)) * Number(conns);
  const rows = [...b].map(([name, ir]) => [name, (ir - (a.get(name) ?? 0)) / packets]).filter(([, per]) => per > 0.5);
  rows.sort((x, y) => y[1] - x[1]);
  const total = rows.reduce((s, [, per]) => s + per, 0);
  console.log(`${mode}: ${total.toFixed(0)} instructions/packet, by function (exclusive; inlined callees count in their caller)`);
  for (const [name, per] of rows.slice(0, Number(top))) console.log(`${per.toFixed(0).padStart(7)}  ${((100 * per) / total).toFixed(1).padStart(5)}%  ${name}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
