// The datapath bench's loops without timers, for instruction counts under
// callgrind. Runs `lo` rounds, then marks each of rounds lo..hi by calling
// os.loadavg() (libuv's uv_loadavg, which nothing else in node calls) right
// before and after the pass the bench times (not the untimed CT clearing
// between passes): the scripts run valgrind with --dump-before=uv_loadavg, so
// callgrind writes each timed pass as a part of its own (<out>.2, .4, …), and
// set-up, JIT warm-up, the clearing and exit stay out. One run counts
// exactly; subtracting two runs of different lengths (as this loop was used
// before) also subtracted their differing garbage collection, which the
// module loading's timing decides.
// Usage: node --expose-gc dist/bench/datapath-loop.js new|established|pairs <conns> <lo> <hi> [--fresh]
//   new:         hi × conns SYNs of new cross-node flows, CT cleared before each round
//   established: hi × conns ACKs of one established cross-node flow
//   pairs:       as new, but between 64 clients and 64 servers, another pair every packet
// First comes the bench's own warm-up (warmUp(): a round in a world of each
// figure's), so the count is of the code the bench times. --fresh leaves it
// out: the loop's world is then the only one the JIT has seen, and its objects
// are folded into the code as constants (fewer instructions than the bench runs).

import { loadavg } from 'node:os';
import { clearCt, sendEstablished, sendFrames, setup, setupPairs, warmUp } from './datapath-setup.js';

const [mode = 'new', connsArg = '10000', loArg = '8', hiArg = '16'] = process.argv.slice(2).filter((a) => a !== '--fresh');
const conns = Number(connsArg);
const lo = Number(loArg);
const hi = Number(hiArg);
if (mode !== 'new' && mode !== 'established' && mode !== 'pairs') throw new Error(`mode must be new, established or pairs, not ${mode}`);
if (!(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo < hi)) throw new Error(`rounds must be 0 <= lo < hi, not ${loArg} and ${hiArg}`);

/** Pods on each side in `pairs` mode (as datapath.bench.ts's figure (d)). */
const PAIR_PODS = 64;

/** With --expose-gc, a full collection, so none that set-up started is still marking in the counted passes. */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** `hi` rounds of an untimed `before` and a timed `pass`; from round lo on, each pass between two marks. */
function rounds(before: () => void, pass: () => void): void {
  for (let r = 0; r < lo; r++) {
    // The full collection two rounds before the counted ones: in the two
    // passes after it V8 compiles the established loop (on-stack, then
    // again), which counted 13,050 instructions a packet of compile there.
    if (r === lo - 2) gc();
    before();
    pass();
  }
  if (lo < 2) gc();
  for (let r = lo; r < hi; r++) {
    before();
    loadavg();
    pass();
    loadavg();
  }
}

if (!process.argv.includes('--fresh')) warmUp(conns, PAIR_PODS);

if (mode === 'established') {
  const s = setup(false, 0);
  s.w.nodes[0]!.kernel.runIngress(s.client.ep.ifindex, s.syn);
  rounds(
    () => {},
    () => sendEstablished(s, conns),
  );
  const lost = s.w.nodes.reduce((n, x) => n + x.dp.events.lost, 0);
  if (lost) throw new Error(`${lost} events lost`);
} else {
  const s = mode === 'pairs' ? setupPairs(PAIR_PODS, conns) : setup(false, conns);
  rounds(
    () => clearCt(s.w),
    () => sendFrames(s.w, s.frames, s.ifindexes),
  );
  const lost = s.w.nodes.reduce((n, x) => n + x.dp.events.lost, 0);
  if (lost) throw new Error(`${lost} events lost`);
  if (s.delivered() !== hi * conns) throw new Error(`delivered ${s.delivered()} of ${hi * conns}`);
}
