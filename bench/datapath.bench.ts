// Packets per second through the simulated datapath, with events recorded:
//  (a) a new connection's SYN across nodes: cil_from_container → CT new →
//      egress policy → CT create → encap → cil_to_overlay/cil_to_netdev →
//      wire → cil_from_netdev → decap → cil_from_overlay → handle_policy
//      (ingress policy, CT create) → delivery into the pod;
//  (b) the established path (CT hit on both nodes);
//  (c) same-node delivery of new connections;
//  (d) as (a), between 64 client and 64 server pods, another pair every
//      packet: what the maps remember of their last answer rarely helps;
//  and a parse-only loop over the same frames as the baseline.
// Every figure is measured twice over the same loop: wall time, and the
// process's CPU time (user + system). On a shared machine the wall time also
// holds whatever other jobs took from this core; the CPU time is the
// engine's own work (it also counts V8's helper threads, so it errs high).
// Each figure is the median over its rounds (50,000 packets each), so one
// round disturbed by another job does not move it; the range is printed too.
// Usage: npm run bench -- datapath [--json] (scripts/run-benches.js starts it with
// the engine's V8 flags, src/util/engine-flags.ts, as the daemon runs)

import { cpus } from 'node:os';
import { SkBuff } from '../src/datapath/skb.js';
import { Ip4Info } from '../src/datapath/sim/lib/pkt.js';
import { RxFrames, clearCt, parseFrames, sendEstablished, sendFrames, setup as setupWorld, setupPairs, warmUp } from './datapath-setup.js';
import { ENGINE_V8_FLAGS, hasEngineFlags } from '../src/util/engine-flags.js';

const json = process.argv.includes('--json');
const CONNS = 50_000;
/** Pods on each side in (d). */
const PAIR_PODS = 64;
const setup = (sameNode: boolean) => setupWorld(sameNode, CONNS);

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'datapath', metric, value: Number(value.toFixed(2)), unit }));
  else if (human) console.log(human);
}

/** Wall and CPU time per packet of each timed round. */
class Timer {
  readonly wall: number[] = [];
  readonly cpu: number[] = [];
  private t0 = 0n;
  private c0: NodeJS.CpuUsage = { user: 0, system: 0 };
  start(): void {
    this.c0 = process.cpuUsage();
    this.t0 = process.hrtime.bigint();
  }
  stop(packets: number): void {
    this.wall.push(Number(process.hrtime.bigint() - this.t0) / packets);
    const c = process.cpuUsage(this.c0);
    this.cpu.push(((c.user + c.system) * 1000) / packets);
  }
}

interface Figure {
  /** Wall time per packet, median of the rounds. */
  ns: number;
  /** CPU time per packet, median of the rounds. */
  cpuNs: number;
  /** Fastest and slowest round, wall time. */
  minNs: number;
  maxNs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function figure(t: Timer): Figure {
  return { ns: median(t.wall), cpuNs: median(t.cpu), minNs: Math.min(...t.wall), maxNs: Math.max(...t.wall) };
}

/** ns per packet over `rounds` passes of the world's frames, CT cleared (untimed) between passes so every SYN is new. */
function timeNewFlows(s: ReturnType<typeof setupPairs>, rounds: number): Figure & { lost: number; delivered: number } {
  const t = new Timer();
  for (let r = 0; r < rounds; r++) {
    clearCt(s.w);
    t.start();
    sendFrames(s.w, s.frames, s.ifindexes);
    t.stop(s.frames.count);
  }
  const lost = s.w.nodes.reduce((n, x) => n + x.dp.events.lost, 0);
  return { ...figure(t), lost, delivered: s.delivered() };
}

/** (a) and (c): new flows between one client and one server. */
function runNew(sameNode: boolean, rounds: number): Figure & { lost: number; delivered: number } {
  return timeNewFlows(setup(sameNode), rounds);
}

/** (d): as runNew across nodes, between PAIR_PODS × PAIR_PODS pods, another pair every packet. */
function runPairs(rounds: number): Figure & { lost: number; delivered: number } {
  return timeNewFlows(setupPairs(PAIR_PODS, CONNS), rounds);
}

function runEstablished(rounds: number): Figure {
  const s = setup(false);
  s.w.nodes[0]!.kernel.runIngress(s.client.ep.ifindex, s.syn);
  const t = new Timer();
  for (let r = 0; r < rounds; r++) {
    t.start();
    sendEstablished(s, CONNS);
    t.stop(CONNS);
  }
  return figure(t);
}

function runParseOnly(frames: RxFrames, rounds: number): Figure {
  const skb = new SkBuff();
  const info = new Ip4Info();
  let sink = 0;
  const t = new Timer();
  for (let r = 0; r < rounds; r++) {
    t.start();
    sink += parseFrames(frames, skb, info);
    t.stop(frames.count);
  }
  if (sink === -1) console.log('');
  return figure(t);
}

// Warm up the JIT on every path first (a world of each figure's own).
warmUp(CONNS, PAIR_PODS);

const ROUNDS = 7;
const cross = runNew(false, ROUNDS);
const est = runEstablished(ROUNDS);
const same = runNew(true, ROUNDS);
const pairs = runPairs(ROUNDS);
const parse = runParseOnly(setup(false).frames, ROUNDS);

const v8Flags = hasEngineFlags() ? ENGINE_V8_FLAGS.join(' ') : 'V8 defaults, not the engine flags: run it through npm run bench';
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${v8Flags}`;
if (!json) console.log(`datapath benchmark (one core; ${machine}; median of ${ROUNDS} rounds): wall time [fastest-slowest round] | CPU time of this process`);
const mpps = (ns: number): string => (1e3 / ns).toFixed(2);
const line = (label: string, f: Figure): string =>
  `${label} ${f.ns.toFixed(0)} ns/packet ${mpps(f.ns)} Mpps [${f.minNs.toFixed(0)}-${f.maxNs.toFixed(0)}] | ${f.cpuNs.toFixed(0)} ns/packet ${mpps(f.cpuNs)} Mpps | ${(f.cpuNs / parse.cpuNs).toFixed(1)}x parse`;
report('cross_node_new', cross.ns, 'ns/packet', line('(a) cross-node, new connection (SYN):', cross));
report('cross_node_new_pps', 1e9 / cross.ns, 'packets/s', `    events lost: ${cross.lost}, delivered: ${cross.delivered}`);
report('cross_node_new_cpu', cross.cpuNs, 'ns/packet', '');
report('cross_node_new_cpu_pps', 1e9 / cross.cpuNs, 'packets/s', '');
report('established', est.ns, 'ns/packet', line('(b) cross-node, established (CT hit):  ', est));
report('established_cpu', est.cpuNs, 'ns/packet', '');
report('same_node_new', same.ns, 'ns/packet', line('(c) same-node, new connection (SYN):  ', same));
report('same_node_new_cpu', same.cpuNs, 'ns/packet', '');
report('pairs_new', pairs.ns, 'ns/packet', line(`(d) cross-node, new, ${PAIR_PODS}x${PAIR_PODS} pods:  `, pairs));
report('pairs_new_pps', 1e9 / pairs.ns, 'packets/s', `    events lost: ${pairs.lost}, delivered: ${pairs.delivered}`);
report('pairs_new_cpu', pairs.cpuNs, 'ns/packet', '');
report('parse_only', parse.ns, 'ns/packet', line('    parse-only baseline:              ', parse));
report('parse_only_cpu', parse.cpuNs, 'ns/packet', '');
report('cross_node_vs_parse', cross.cpuNs / parse.cpuNs, 'ratio', '');
report('events_lost', cross.lost, 'events', '');
