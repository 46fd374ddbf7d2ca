// Shared bench for the BPF-style datapath tests: one node's datapath with the
// lab scenario of the reference (node1 192.168.1.11 / 10.0.1.0/24, node2
// 192.168.1.12 / 10.0.2.0/24), endpoints seeded through map-writer, and
// helpers to run one program on one packet and read back maps and events.
// Expected values in the tests come from the reference, not from here.

import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/clock.js';
import { parseIpv4Addr } from '../../src/packet/ip.js';
import { ETH, EtherType, emitEthernet } from '../../src/packet/ethernet.js';
import { IPV4, IpProto, emitIpv4 } from '../../src/packet/ipv4.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import { verifyTcpChecksum } from '../../src/packet/tcp.js';
import { verifyUdpChecksum } from '../../src/packet/udp.js';
import { buildTcpFrame, buildUdpFrame, buildIcmpEchoFrame } from '../../src/packet/build.js';
import type { KeyValueMap } from '../../src/bpf/types.js';
import type { LpmTrieMap } from '../../src/bpf/lpm.js';
import { Underlay } from '../../src/net/underlay.js';
import { NodeKernel } from '../../src/net/node-kernel.js';
import { NodeDatapath, defaultNodeConfig, type NodeDatapathConfig, type Prog } from '../../src/datapath/sim/node-datapath.js';
import type { EndpointConfig, LxcProgram } from '../../src/datapath/sim/bpf_lxc.js';
import { policyMapSpec, METRICS_KEY } from '../../src/datapath/maps.js';
import { CT_ENTRY, CT_TUPLE } from '../../src/datapath/ct.js';
import { upsertEndpoint, upsertIpcache, upsertTunnel, allowAllPolicy } from '../../src/datapath/map-writer.js';
import { ReservedIdentity } from '../../src/datapath/identity.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { SkBuff, CB } from '../../src/datapath/skb.js';
import { drainEvents, formatMonitorLine, type DatapathEvent, type DropEvent, type PolicyVerdictEvent, type TraceEvent } from '../../src/datapath/monitor.js';

export const ip = (s: string): number => {
  const v = parseIpv4Addr(s);
  if (v === null) throw new Error(`bad IP ${s}`);
  return v;
};

/** Virtual clock start: node "uptime" 9870 s, as in the reference's CT examples. */
export const START_MS = 9_870_000;
export const NOW0 = 9870;

export const NODE1 = { ip: ip('192.168.1.11'), cidr: ip('10.0.1.0'), router: ip('10.0.1.157') };
export const NODE2 = { ip: ip('192.168.1.12'), cidr: ip('10.0.2.0'), router: ip('10.0.2.49') };

/** Lab scenario addresses and identities (reference, top table). */
export const CLIENT = { ip: ip('10.0.1.50'), id: 1234, identity: 12345 };
export const SERVER = { ip: ip('10.0.2.100'), id: 2345, identity: 23456 };
export const VIP = ip('10.96.100.10');

/** cilium_vxlan's ifindex in defaultNodeConfig. */
export const VXLAN_IFINDEX = 5;

export interface TestEndpoint {
  cfg: EndpointConfig;
  prog: LxcProgram;
  policy: LpmTrieMap;
  ifName: string;
}

export interface RunResult {
  rc: number;
  ctx: SkBuff;
  /** The frame as the program left it. */
  out: Uint8Array;
  events: DatapathEvent[];
}

export class Bench {
  readonly clock: VirtualClock;
  readonly dp: NodeDatapath;
  readonly kernel: NodeKernel;
  readonly eps = new Map<number, TestEndpoint>();
  private nextIfindex = 14;

  /** node 1 or 2 of the lab; cfg overrides node_config. */
  constructor(node: 1 | 2 = 1, cfg: Partial<NodeDatapathConfig> = {}, clock?: VirtualClock) {
    this.clock = clock ?? new VirtualClock(START_MS);
    const n = node === 1 ? NODE1 : NODE2;
    const other = node === 1 ? NODE2 : NODE1;
    this.dp = new NodeDatapath(
      defaultNodeConfig({
        nodeName: node === 1 ? 'kind-worker' : 'kind-worker2',
        nodeIp: n.ip,
        podCidr: { addr: n.cidr, prefixLen: 24 },
        routerIp: n.router,
        ...cfg,
      }),
      this.clock,
    );
    // An underlay with only this node on it: nothing sent to the wire comes back.
    this.kernel = new NodeKernel(this.dp, new Underlay(this.clock, 0, true), true);
    upsertIpcache(this.dp, { addr: 0, prefixLen: 0, identity: ReservedIdentity.WORLD, tunnelEndpoint: 0 });
    upsertIpcache(this.dp, { addr: n.ip, prefixLen: 32, identity: ReservedIdentity.HOST, tunnelEndpoint: 0 });
    upsertIpcache(this.dp, { addr: n.router, prefixLen: 32, identity: ReservedIdentity.HOST, tunnelEndpoint: 0 });
    upsertIpcache(this.dp, { addr: other.ip, prefixLen: 32, identity: ReservedIdentity.REMOTE_NODE, tunnelEndpoint: other.ip });
    upsertTunnel(this.dp, other.cidr, other.ip);
  }

  /**
   * A local pod: cilium_lxc + ipcache entries, its policy map, bpf_lxc loaded
   * and handle_policy in cilium_call_policy. `enforce` = PolicyDir bits with
   * enforcement; directions without it get the allow-all entry.
   */
  addEndpoint(o: { id: number; ip: number; identity: number; enforce?: number; ifindex?: number }): TestEndpoint {
    const cfg: EndpointConfig = {
      id: o.id,
      ipv4: o.ip,
      mac: 0x0e_00_00_00_00_00 + (o.ip & 0xffff),
      hostMac: 0x0a_00_00_00_00_00 + o.id,
      ifindex: o.ifindex ?? this.nextIfindex++,
      identity: o.identity,
      policyVerdictLogFilter: o.enforce ?? 0,
    };
    const policy = this.dp.createPolicyMap(policyMapSpec(o.id));
    if (!(cfg.policyVerdictLogFilter & PolicyDir.INGRESS)) allowAllPolicy(policy, false);
    if (!(cfg.policyVerdictLogFilter & PolicyDir.EGRESS)) allowAllPolicy(policy, true);
    const dev = this.kernel.attachEndpoint(cfg, policy, () => {});
    upsertEndpoint(this.dp, { ip: o.ip, ifindex: cfg.ifindex, lxcId: o.id, mac: cfg.mac, nodeMac: cfg.hostMac, identity: o.identity });
    upsertIpcache(this.dp, { addr: o.ip, prefixLen: 32, identity: o.identity, tunnelEndpoint: 0 });
    const ep: TestEndpoint = { cfg, prog: this.kernel.endpoints.get(o.id)!.prog, policy, ifName: dev.name };
    this.eps.set(o.id, ep);
    return ep;
  }

  /** A pod on another node, known through the ipcache. */
  addRemote(addr: number, identity: number, nodeIp: number): void {
    upsertIpcache(this.dp, { addr, prefixLen: 32, identity, tunnelEndpoint: nodeIp });
  }

  /** Run one program on one frame (a fresh skb), return verdict, rewritten bytes and the events it emitted. */
  run(prog: Prog, frame: Uint8Array, init: (ctx: SkBuff) => void = () => {}): RunResult {
    drainEvents(this.dp.events);
    const ctx = new SkBuff().load(frame);
    init(ctx);
    const rc = prog(ctx);
    return { rc, ctx, out: ctx.frame(), events: drainEvents(this.dp.events) };
  }

  /** cil_from_container of an endpoint: the packet arrives on its lxc device. */
  fromContainer(ep: TestEndpoint, frame: Uint8Array): RunResult {
    return this.run(ep.prog.cil_from_container, frame, (ctx) => {
      ctx.ifindex = ep.cfg.ifindex;
    });
  }

  /**
   * handle_policy of an endpoint as ipv4_local_delivery() from the overlay
   * calls it: source identity and from_tunnel in cb, on cilium_vxlan.
   */
  toEndpoint(ep: TestEndpoint, frame: Uint8Array, srcIdentity: number, fromTunnel = true): RunResult {
    return this.run(ep.prog.handle_policy, frame, (ctx) => {
      ctx.ifindex = VXLAN_IFINDEX;
      ctx.cb[CB.SRC_LABEL] = srcIdentity;
      ctx.cb[CB.FROM_TUNNEL] = fromTunnel ? 1 : 0;
    });
  }

  /** cil_from_overlay with the tunnel key the VXLAN driver sets (or none). */
  fromOverlay(frame: Uint8Array, vni: number | null, remote = NODE2.ip): RunResult {
    return this.run(this.kernel.overlay.cil_from_overlay, frame, (ctx) => {
      ctx.ifindex = VXLAN_IFINDEX;
      if (vni !== null) {
        ctx.tunnelValid = true;
        ctx.tunnelId = vni;
        ctx.tunnelRemoteIpv4 = remote | 0;
      }
    });
  }

  advance(seconds: number): void {
    this.clock.advance(seconds * 1000);
  }

  now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  line(ev: DatapathEvent): string {
    return formatMonitorLine(ev, { ifName: (i) => this.kernel.deviceName(i) });
  }

  /** cilium_metrics: packets counted under a reason (optionally one direction/line/file), summed over CPUs. */
  metric(reason: number, filter: { dir?: number; line?: number; file?: number } = {}): number {
    return metricCount(this.dp.metrics, reason, filter);
  }
}

export function metricCount(m: KeyValueMap, reason: number, filter: { dir?: number; line?: number; file?: number } = {}): number {
  const pc = m as KeyValueMap & { nCpus?: number; valueOffsetForCpu?: (off: number, cpu: number) => number };
  let total = 0;
  m.forEach((keys, k, v) => {
    if (keys[k + METRICS_KEY.REASON] !== reason) return;
    if (filter.dir !== undefined && (keys[k + METRICS_KEY.DIR] & 3) !== filter.dir) return;
    if (filter.line !== undefined && keys[k + METRICS_KEY.LINE] + (keys[k + METRICS_KEY.LINE + 1] << 8) !== filter.line) return;
    if (filter.file !== undefined && keys[k + METRICS_KEY.FILE] !== filter.file) return;
    const cpus = pc.nCpus ?? 1;
    for (let c = 0; c < cpus; c++) {
      const off = pc.valueOffsetForCpu ? pc.valueOffsetForCpu(v, c) : v;
      total += m.view.getUint32(off, true) + m.view.getUint32(off + 4, true) * 2 ** 32;
    }
  });
  return total;
}

// ---- conntrack ------------------------------------------------------------

export const TUPLE_OUT = 0;
export const TUPLE_IN = 1;
export const TUPLE_RELATED = 2;
export const TUPLE_SERVICE = 4;

/** `struct ipv4_ct_tuple` per the reference: daddr, saddr (be32), dport, sport (be16), nexthdr, flags. */
export function ctKey(saddr: number, daddr: number, sport: number, dport: number, nexthdr: number, flags: number): Uint8Array {
  const k = new Uint8Array(CT_TUPLE.SIZE);
  const v = new DataView(k.buffer);
  v.setUint32(0, daddr, false);
  v.setUint32(4, saddr, false);
  v.setUint16(8, dport, false);
  v.setUint16(10, sport, false);
  k[12] = nexthdr;
  k[13] = flags;
  return k;
}

export interface CtEntryView {
  lifetime: number;
  flags: number;
  revNat: number;
  txFlagsSeen: number;
  rxFlagsSeen: number;
  srcSecId: number;
  lastTxReport: number;
  lastRxReport: number;
  backendId: number;
}

/** Decode the `struct ct_entry` stored under a key, or undefined. */
export function readCt(map: KeyValueMap, key: Uint8Array): CtEntryView | undefined {
  const off = map.lookup(key);
  if (off < 0) return undefined;
  const v = map.view;
  return {
    lifetime: v.getUint32(off + CT_ENTRY.LIFETIME, true),
    flags: v.getUint16(off + CT_ENTRY.FLAGS, true),
    revNat: v.getUint16(off + CT_ENTRY.REV_NAT_INDEX, false),
    txFlagsSeen: map.values[off + CT_ENTRY.TX_FLAGS_SEEN],
    rxFlagsSeen: map.values[off + CT_ENTRY.RX_FLAGS_SEEN],
    srcSecId: v.getUint32(off + CT_ENTRY.SRC_SEC_ID, true),
    lastTxReport: v.getUint32(off + CT_ENTRY.LAST_TX_REPORT, true),
    lastRxReport: v.getUint32(off + CT_ENTRY.LAST_RX_REPORT, true),
    backendId: v.getUint32(off + CT_ENTRY.BACKEND_ID, true),
  };
}

// ---- frames ----------------------------------------------------------------

export interface Flow {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  srcMac?: number;
  dstMac?: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function tcp(f: Flow, flags: number, opts: { ttl?: number; payload?: Uint8Array } = {}): Uint8Array {
  return buildTcpFrame({
    srcMac: f.srcMac ?? 0x0e_00_00_00_00_01,
    dstMac: f.dstMac ?? 0x0a_00_00_00_00_01,
    srcIp: f.src,
    dstIp: f.dst,
    srcPort: f.sport,
    dstPort: f.dport,
    flags,
    seq: 1000,
    ack: flags & TCP_ACK ? 2000 : 0,
    ttl: opts.ttl,
    payload: opts.payload,
  });
}

export function udp(f: Flow, payload = new Uint8Array(4)): Uint8Array {
  return buildUdpFrame({ srcMac: f.srcMac ?? 0x0e_00_00_00_00_01, dstMac: f.dstMac ?? 0x0a_00_00_00_00_01, srcIp: f.src, dstIp: f.dst, srcPort: f.sport, dstPort: f.dport, payload });
}

export function icmpEcho(src: number, dst: number, ident: number, reply = false): Uint8Array {
  return buildIcmpEchoFrame({ srcMac: 0x0e_00_00_00_00_01, dstMac: 0x0a_00_00_00_00_01, srcIp: src, dstIp: dst, echoIdent: ident, seq: 1, reply });
}

/** The reverse direction of a flow. */
export function rev(f: Flow): Flow {
  return { src: f.dst, dst: f.src, sport: f.dport, dport: f.sport };
}

/**
 * An ICMP error (type/code) from `from` to `to` quoting the IPv4 header and
 * first 8 payload bytes of `orig` (an Ethernet frame), checksums valid.
 */
export function icmpError(from: number, to: number, type: number, code: number, orig: Uint8Array): Uint8Array {
  const ihl = (orig[ETH.HEADER_LEN] & 0x0f) * 4;
  const quote = orig.subarray(ETH.HEADER_LEN, ETH.HEADER_LEN + ihl + 8);
  const l4len = 8 + quote.length;
  const buf = new Uint8Array(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + l4len);
  emitEthernet({ src: 0x0a_00_00_00_00_02, dst: 0x0e_00_00_00_00_02, ethertype: EtherType.IPv4 }, buf, 0);
  const hl = emitIpv4({ src: from, dst: to, protocol: IpProto.ICMP, ttl: 64, payloadLen: l4len }, buf, ETH.HEADER_LEN);
  const o = ETH.HEADER_LEN + hl;
  buf[o] = type;
  buf[o + 1] = code;
  buf.set(quote, o + 8);
  const c = internetChecksum(buf, o, l4len);
  buf[o + 2] = c >>> 8;
  buf[o + 3] = c & 0xff;
  return buf;
}

/** Recompute the IPv4 header checksum of a frame in place (after editing header fields). */
export function fixIpChecksum(frame: Uint8Array): void {
  const l3 = ETH.HEADER_LEN;
  const ihl = (frame[l3] & 0x0f) * 4;
  if (frame.length < l3 + ihl || ihl < 20) return;
  frame[l3 + IPV4.CHECKSUM] = 0;
  frame[l3 + IPV4.CHECKSUM + 1] = 0;
  const c = internetChecksum(frame, l3, ihl);
  frame[l3 + IPV4.CHECKSUM] = c >>> 8;
  frame[l3 + IPV4.CHECKSUM + 1] = c & 0xff;
}

// ---- frame assertions ------------------------------------------------------

export function ipv4ChecksumOk(frame: Uint8Array): boolean {
  const ihl = (frame[ETH.HEADER_LEN] & 0x0f) * 4;
  return internetChecksum(frame, ETH.HEADER_LEN, ihl) === 0;
}

export function l4ChecksumOk(frame: Uint8Array): boolean {
  const l3 = ETH.HEADER_LEN;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ihl = (frame[l3] & 0x0f) * 4;
  const total = dv.getUint16(l3 + 2, false);
  const src = dv.getUint32(l3 + 12, false);
  const dst = dv.getUint32(l3 + 16, false);
  const proto = frame[l3 + 9];
  if (proto === IpProto.TCP) return verifyTcpChecksum(frame, l3 + ihl, total - ihl, src, dst) === 0;
  if (proto === IpProto.UDP) return verifyUdpChecksum(frame, l3 + ihl, total - ihl, src, dst) === 0;
  return internetChecksum(frame, l3 + ihl, total - ihl) === 0;
}

export const u32 = (frame: Uint8Array, off: number): number => new DataView(frame.buffer, frame.byteOffset).getUint32(off, false);
export const u16 = (frame: Uint8Array, off: number): number => (frame[off] << 8) | frame[off + 1];
export const mac = (frame: Uint8Array, off: number): number => frame.slice(off, off + 6).reduce((a, b) => a * 256 + b, 0);

// ---- event assertions --------------------------------------------------------

export function traces(evs: DatapathEvent[]): TraceEvent[] {
  return evs.filter((e): e is TraceEvent => e.type === 'trace');
}
export function drops(evs: DatapathEvent[]): DropEvent[] {
  return evs.filter((e): e is DropEvent => e.type === 'drop');
}
export function verdicts(evs: DatapathEvent[]): PolicyVerdictEvent[] {
  return evs.filter((e): e is PolicyVerdictEvent => e.type === 'policy-verdict');
}

/** Exactly one event of each listed kind, in this order, and nothing else. */
export function assertKinds(evs: DatapathEvent[], kinds: DatapathEvent['type'][], msg = ''): void {
  assert.deepEqual(
    evs.map((e) => e.type),
    kinds,
    msg,
  );
}

export const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
