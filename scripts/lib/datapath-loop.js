// How the callgrind scripts (datapath-instructions, -profile, -annotate) run
// the bench's loop, dist/bench/datapath-loop.js, and read their arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENGINE_V8_FLAGS } from '../../dist/src/util/engine-flags.js';

/**
 * V8 flags that make two runs of one build execute the same instructions:
 * compiling on the main thread in one order (--predictable), fixed seeds, and
 * gc() for the loop's collection before its counted passes.
 */
const PREDICTABLE = ['--predictable', '--predictable-gc-schedule', '--expose-gc', '--hash-seed=1', '--random-seed=1'];
const LOOP = resolve('dist/bench/datapath-loop.js');

/** Callgrind's cache model: 32 KiB L1s, as this machine's CPU has, and a 4 MiB last level. */
export const CACHE_SIM = ['--cache-sim=yes', '--I1=32768,8,64', '--D1=32768,8,64', '--LL=4194304,16,64'];

/** The script's positional arguments (options start with --). */
export function positionalArgs() {
  return process.argv.slice(2).filter((a) => !a.startsWith('--'));
}

/**
 * node's command line for the loop's rounds 0..hi, counted lo..hi: repeatable
 * (--predictable, fixed seeds), with the engine's V8 flags as the daemon and
 * `npm run bench` run unless the script was given --v8-defaults, then
 * `nodeFlags`; the script's --fresh goes on to the loop (which otherwise runs
 * the bench's warm-up first).
 */
export function loopCommand(mode, conns, lo, hi, nodeFlags = []) {
  const v8 = process.argv.includes('--v8-defaults') ? [] : ENGINE_V8_FLAGS;
  const loopFlags = process.argv.includes('--fresh') ? ['--fresh'] : [];
  return [process.execPath, ...PREDICTABLE, ...v8, ...nodeFlags, LOOP, String(mode), String(conns), String(lo), String(hi), ...loopFlags];
}

/**
 * Run the loop under callgrind (`valgrindFlags` added, node given
 * `nodeFlags`) and return the texts of its timed passes of rounds lo..hi
 * (the loop marks each with uv_loadavg, where callgrind dumps: parts .2, .4,
 * …, while .1, .3, … are set-up and the untimed work between passes), with
 * node's stdout.
 */
export function callgrindWindow(out, mode, conns, lo, hi, valgrindFlags = [], nodeFlags = []) {
  const args = ['--tool=callgrind', '--dump-before=uv_loadavg', ...valgrindFlags, `--callgrind-out-file=${out}`, ...loopCommand(mode, conns, lo, hi, nodeFlags)];
  const r = spawnSync('valgrind', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`valgrind ${mode} ${lo}..${hi}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
  const passes = Number(hi) - Number(lo);
  if (!existsSync(`${out}.${2 * passes}`) || existsSync(`${out}.${2 * passes + 1}`)) throw new Error(`valgrind ${mode}: expected callgrind parts ${out}.1 to .${2 * passes} (did something else call uv_loadavg?)`);
  const texts = Array.from({ length: passes }, (_, i) => readFileSync(`${out}.${2 * i + 2}`, 'utf8'));
  return { texts, stdout: r.stdout };
}

/** Callgrind parts' summed totals by event name (Ir, and with the cache model Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw). */
export function totals(texts) {
  const sum = {};
  for (const text of texts) {
    const events = /^events: (.*)$/m.exec(text)?.[1].trim().split(/\s+/) ?? [];
    const m = /^(?:summary|totals): ([\d ]+)$/m.exec(text);
    if (!m) throw new Error('no totals in callgrind output');
    const values = m[1].trim().split(/\s+/).map(Number);
    events.forEach((e, i) => (sum[e] = (sum[e] ?? 0) + (values[i] ?? 0)));
  }
  return sum;
}
