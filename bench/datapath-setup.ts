// The datapath bench's two-node world: a client pod on node 0, a server pod
// (ingress policy enforced, the client allowed on 8080/TCP) on node 1 or on
// node 0, and `conns` SYN frames of distinct new flows client → server.
// setupPairs() builds the same with many pods on each side, every packet
// between another pair. Shared by datapath.bench.ts and datapath-loop.ts (the
// callgrind loop).

import { World } from '../src/cluster/testbed.js';
import { buildTcpFrame } from '../src/packet/build.js';
import { TcpFlags } from '../src/packet/tcp.js';
import { IpProto } from '../src/packet/ipv4.js';
import { PolicyDir } from '../src/datapath/events.js';
import { putPolicyEntry } from '../src/datapath/map-writer.js';
import { SkBuff } from '../src/datapath/skb.js';
import { Ip4Info, loadIp4 } from '../src/datapath/sim/lib/pkt.js';

export function setup(sameNode: boolean, conns: number) {
  let delivered = 0;
  const w = new World({ immediate: true, podReceive: () => delivered++ });
  const client = w.addPod('frontend', 0, '10.0.1.50', 12345);
  // The server enforces ingress policy (allow the client on 8080/TCP), so verdict events are emitted too.
  const server = w.addPod('backend', sameNode ? 0 : 1, sameNode ? '10.0.1.100' : '10.0.2.100', 23456, { enforce: PolicyDir.INGRESS });
  putPolicyEntry(server.policyMap, { identity: 12345, egress: false, proto: IpProto.TCP, port: 8080, cookie: 1 });
  const frames = RxFrames.of(Array.from({ length: conns }, (_, i) => synFrame(client, server, 10000 + i, 1000 + i)));
  const ack = buildTcpFrame({ srcMac: client.ep.mac, dstMac: client.ep.hostMac, srcIp: client.ip, dstIp: server.ip, srcPort: 9999, dstPort: 8080, seq: 5, ack: 7, flags: TcpFlags.ACK, payload: new Uint8Array(64) });
  const syn = buildTcpFrame({ srcMac: client.ep.mac, dstMac: client.ep.hostMac, srcIp: client.ip, dstIp: server.ip, srcPort: 9999, dstPort: 8080, seq: 4, flags: TcpFlags.SYN });
  // Every frame enters at the client's veth (as setupPairs gives each frame its client's).
  const ifindexes = new Int32Array(conns).fill(client.ep.ifindex);
  return { w, client, server, frames, ifindexes, ack, syn, delivered: () => delivered };
}

/**
 * The bench's input frames back to back in one buffer, each given as an
 * offset and a length into it: what a NIC's RX descriptors hand the driver
 * (a buffer area the frames were received into), rather than one separately
 * allocated array per frame. The datapath copies each frame into its skb
 * either way (NodeKernel.runIngress(ifindex, area, offset, length)).
 */
export class RxFrames {
  constructor(
    readonly area: Uint8Array,
    readonly offsets: Int32Array,
    readonly lengths: Int32Array,
  ) {}

  get count(): number {
    return this.offsets.length;
  }

  /** Pack `frames`, each starting 8-byte aligned, as DMA buffers do. */
  static of(frames: Uint8Array[]): RxFrames {
    const offsets = new Int32Array(frames.length);
    const lengths = new Int32Array(frames.length);
    let end = 0;
    frames.forEach((f, i) => {
      offsets[i] = end;
      lengths[i] = f.length;
      end += (f.length + 7) & ~7;
    });
    const area = new Uint8Array(end);
    frames.forEach((f, i) => area.set(f, offsets[i]));
    return new RxFrames(area, offsets, lengths);
  }
}

/** A SYN of a new flow client → server on 8080/TCP. */
function synFrame(client: ReturnType<World['addPod']>, server: ReturnType<World['addPod']>, srcPort: number, seq: number): Uint8Array {
  return buildTcpFrame({
    srcMac: client.ep.mac,
    dstMac: client.ep.hostMac,
    srcIp: client.ip,
    dstIp: server.ip,
    srcPort,
    dstPort: 8080,
    seq,
    flags: TcpFlags.SYN,
    options: { mss: 1410, sackPermitted: true, windowScale: 7 },
  });
}

/**
 * `pods` clients on node 0 and `pods` servers on node 1, each server
 * enforcing ingress policy that allows every client on 8080/TCP, and `conns`
 * SYNs of new flows where consecutive packets come from another client and go
 * to another server: the lookups of one packet (ipcache, policy, endpoint,
 * tunnel, metrics, the related CT entry) are not those of the packet before,
 * so what the maps remember of their last answer rarely helps. frames[i]
 * enters at ifindexes[i], its client's veth.
 */
export function setupPairs(pods: number, conns: number) {
  let delivered = 0;
  const w = new World({ immediate: true, podReceive: () => delivered++ });
  const clients = Array.from({ length: pods }, (_, i) => w.addPod(`frontend-${i}`, 0, `10.0.1.${10 + i}`, 20000 + i));
  const servers = Array.from({ length: pods }, (_, i) => w.addPod(`backend-${i}`, 1, `10.0.2.${10 + i}`, 30000 + i, { enforce: PolicyDir.INGRESS }));
  for (const server of servers) {
    for (const client of clients) putPolicyEntry(server.policyMap, { identity: client.identity, egress: false, proto: IpProto.TCP, port: 8080, cookie: 1 });
  }
  const list: Uint8Array[] = [];
  const ifindexes = new Int32Array(conns);
  for (let i = 0; i < conns; i++) {
    // Client i mod pods, server (i + i / pods) mod pods: neither repeats from one packet to the next.
    const client = clients[i % pods]!;
    const server = servers[(i + Math.floor(i / pods)) % pods]!;
    list.push(synFrame(client, server, 10000 + (i % 50000), 1000 + i));
    ifindexes[i] = client.ep.ifindex;
  }
  const frames = RxFrames.of(list);
  return { w, frames, ifindexes, delivered: () => delivered };
}

/**
 * One pass of the frames: frames[i] into tc ingress of ifindexes[i] on node 0,
 * the event rings drained every 128 packets as a consumer reading them would.
 */
export function sendFrames(w: World, frames: RxFrames, ifindexes: Int32Array): void {
  const k = w.nodes[0]!.kernel;
  const { area, offsets, lengths, count } = frames;
  for (let i = 0; i < count; i++) {
    k.runIngress(ifindexes[i]!, area, offsets[i]!, lengths[i]!);
    // The last drain at the same call site as the others (see sendEstablished).
    if ((i & 127) === 127 || i === count - 1) drainRings(w);
  }
}

/** `count` ACKs of one established flow client → server (the SYN sent first), events drained as in sendFrames. */
export function sendEstablished(s: ReturnType<typeof setup>, count: number): void {
  const k = s.w.nodes[0]!.kernel;
  const ifindex = s.client.ep.ifindex;
  for (let i = 0; i < count; i++) {
    k.runIngress(ifindex, s.ack);
    // The last drain inside the loop: a call after it had no feedback when the
    // loop's code was compiled on-stack mid-pass, and V8 left that code there
    // at the end of a pass (one of the deopts that keep TurboFan compiling
    // in the established count: 3,129 -> 2,750 instructions a packet).
    if ((i & 127) === 127 || i === count - 1) drainRings(s.w);
  }
}

/** Parse each frame into an skb and its IPv4 fields, nothing more: the bench's baseline. */
export function parseFrames(frames: RxFrames, skb: SkBuff, info: Ip4Info): number {
  const { area, offsets, lengths, count } = frames;
  let sink = 0;
  for (let i = 0; i < count; i++) {
    skb.load(area, offsets[i]!, lengths[i]!);
    sink += loadIp4(skb, info) + info.sport;
  }
  return sink;
}

/**
 * The bench's warm-up before it times anything: one round in a world of each
 * figure's own ((a), (c), (b), (d), then the parse-only loop), so the JIT has
 * seen every path. Each world's programs are closures of their own; after this
 * the engine's code serves any of them, as it serves a cluster's many nodes and
 * endpoints, instead of one world's objects folded in as constants (the timed
 * world's packets run ~10% more instructions than in a fresh process; the
 * callgrind loop, datapath-loop.ts, runs this too, so it counts what the bench times).
 */
export function warmUp(conns: number, pairPods: number): void {
  for (const sameNode of [false, true]) {
    const s = setup(sameNode, conns);
    sendFrames(s.w, s.frames, s.ifindexes);
  }
  const est = setup(false, conns);
  est.w.nodes[0]!.kernel.runIngress(est.client.ep.ifindex, est.syn);
  sendEstablished(est, conns);
  const pairs = setupPairs(pairPods, conns);
  sendFrames(pairs.w, pairs.frames, pairs.ifindexes);
  const frames = setup(false, conns).frames;
  const skb = new SkBuff();
  const info = new Ip4Info();
  for (let r = 0; r < 2; r++) parseFrames(frames, skb, info);
}

export function drain(w: World): void {
  for (const n of w.nodes) n.dp.events.consume(() => {});
}

export function clearCt(w: World): void {
  for (const n of w.nodes) {
    n.dp.ct4.clear();
    n.dp.ctAny4.clear();
  }
}

// The loops call drain() through a const: an exported function is called
// through its export cell even in its own module (loaded and checked every time).
const drainRings = drain;
