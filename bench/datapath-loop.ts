// The datapath bench's loops without timers, for instruction counts under
// callgrind (scripts/datapath-instructions.js runs this twice with different
// round counts and divides the difference by the extra packets, so set-up and
// JIT warm-up cancel out).
// Usage: node dist/bench/datapath-loop.js new|established|pairs <conns> <rounds>
//   new:         rounds × conns SYNs of new cross-node flows, CT cleared before each round
//   established: rounds × conns ACKs of one established cross-node flow
//   pairs:       as new, but between 64 clients and 64 servers, another pair every packet

import { clearCt, drain, sendFrames, setup, setupPairs } from './datapath-setup.js';

const mode = process.argv[2] ?? 'new';
const conns = Number(process.argv[3] ?? 10_000);
const rounds = Number(process.argv[4] ?? 2);
if (mode !== 'new' && mode !== 'established' && mode !== 'pairs') throw new Error(`mode must be new, established or pairs, not ${mode}`);

/** Pods on each side in `pairs` mode (as datapath.bench.ts's figure (d)). */
const PAIR_PODS = 64;

if (mode === 'established') {
  const s = setup(false, 0);
  const k = s.w.nodes[0]!.kernel;
  const ifindex = s.client.ep.ifindex;
  k.runIngress(ifindex, s.syn);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < conns; i++) {
      k.runIngress(ifindex, s.ack);
      if ((i & 127) === 127) drain(s.w);
    }
    drain(s.w);
  }
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
