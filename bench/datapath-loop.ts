// The datapath bench's loops without timers, for instruction counts under
// callgrind (scripts/datapath-instructions.js runs this twice with different
// round counts and divides the difference by the extra packets, so set-up and
// JIT warm-up cancel out).
// Usage: node dist/bench/datapath-loop.js new|established|pairs <conns> <rounds> [--fresh]
//   new:         rounds × conns SYNs of new cross-node flows, CT cleared before each round
//   established: rounds × conns ACKs of one established cross-node flow
//   pairs:       as new, but between 64 clients and 64 servers, another pair every packet
// First comes the bench's own warm-up (warmUp(): a round in a world of each
// figure's), so the count is of the code the bench times. --fresh leaves it
// out: the loop's world is then the only one the JIT has seen, and its objects
// are folded into the code as constants (fewer instructions than the bench runs).

import { clearCt, sendEstablished, sendFrames, setup, setupPairs, warmUp } from './datapath-setup.js';

const [mode = 'new', connsArg = '10000', roundsArg = '2'] = process.argv.slice(2).filter((a) => a !== '--fresh');
const conns = Number(connsArg);
const rounds = Number(roundsArg);
if (mode !== 'new' && mode !== 'established' && mode !== 'pairs') throw new Error(`mode must be new, established or pairs, not ${mode}`);

/** Pods on each side in `pairs` mode (as datapath.bench.ts's figure (d)). */
const PAIR_PODS = 64;

if (!process.argv.includes('--fresh')) warmUp(conns, PAIR_PODS);

if (mode === 'established') {
  const s = setup(false, 0);
  s.w.nodes[0]!.kernel.runIngress(s.client.ep.ifindex, s.syn);
  for (let r = 0; r < rounds; r++) sendEstablished(s, conns);
  const lost = s.w.nodes.reduce((n, x) => n + x.dp.events.lost, 0);
  if (lost) throw new Error(`${lost} events lost`);
} else {
  const s = mode === 'pairs' ? setupPairs(PAIR_PODS, conns) : setup(false, conns);
  for (let r = 0; r < rounds; r++) {
    clearCt(s.w);
    sendFrames(s.w, s.frames, s.ifindexes);
  }
  const lost = s.w.nodes.reduce((n, x) => n + x.dp.events.lost, 0);
  if (lost) throw new Error(`${lost} events lost`);
  if (s.delivered() !== rounds * conns) throw new Error(`delivered ${s.delivered()} of ${rounds * conns}`);
}
