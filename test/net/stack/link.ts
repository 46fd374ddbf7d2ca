// A tiny test network: NetStacks hang off one router (the "gateway", as
// cilium_host is for a pod). The router answers ARP for its IP and forwards
// IPv4 by destination address with TTL - 1. Frames travel on the virtual
// clock with a fixed latency and can be recorded, dropped or rewritten.

import type { VirtualClock } from '../../../src/util/clock.js';
import { Rng } from '../../../src/util/rng.js';
import { NetStack, type NetStackOptions } from '../../../src/net/stack/index.js';
import { isParseFailure } from '../../../src/packet/error.js';
import { ETH, EtherType, parseEthernet, type EthernetRepr } from '../../../src/packet/ethernet.js';
import { ArpOp, parseArp, buildArpFrame, type ArpRepr } from '../../../src/packet/index.js';
import { IpProto, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../../../src/packet/ipv4.js';
import { parseTcp, type TcpRepr } from '../../../src/packet/tcp.js';
import { parseUdp, type UdpRepr } from '../../../src/packet/udp.js';
import { parseIcmpv4, type Icmpv4Repr } from '../../../src/packet/icmpv4.js';
import { parseIpv4Addr } from '../../../src/packet/ip.js';
import { MAC_BROADCAST, readMac, writeMac } from '../../../src/packet/mac.js';

export const GW_IP = ip('10.0.0.1');
export const GW_MAC = 0x02_00_00_00_00_01;

export function ip(s: string): number {
  const a = parseIpv4Addr(s);
  if (a === null) throw new Error(`bad address ${s}`);
  return a;
}

/** Everything a test wants to assert about a frame, parsed with the packet layer. */
export interface Decoded {
  eth: EthernetRepr;
  arp?: ArpRepr;
  ip?: Ipv4Repr;
  tcp?: TcpRepr;
  udp?: UdpRepr;
  icmp?: Icmpv4Repr;
  /** Every checksum on the frame verified. */
  checksumsOk: boolean;
}

export function decode(frame: Uint8Array): Decoded {
  const eth = parseEthernet(frame);
  if (isParseFailure(eth)) throw new Error(`not ethernet: ${eth.detail}`);
  const out: Decoded = { eth, checksumsOk: true };
  const off = ETH.HEADER_LEN;
  if (eth.ethertype === EtherType.ARP) {
    const arp = parseArp(frame, off);
    if (isParseFailure(arp)) throw new Error(arp.detail);
    out.arp = arp;
    return out;
  }
  const ipr = parseIpv4(frame, off);
  if (isParseFailure(ipr)) {
    out.checksumsOk = false;
    return out;
  }
  out.ip = ipr;
  const l4 = off + (frame[off]! & 0x0f) * 4;
  if (ipr.protocol === IpProto.TCP) {
    const t = parseTcp(frame, l4, ipr.payloadLen, ipr.src, ipr.dst);
    if (isParseFailure(t)) out.checksumsOk = false;
    else out.tcp = t;
  } else if (ipr.protocol === IpProto.UDP) {
    const u = parseUdp(frame, l4, ipr.payloadLen, ipr.src, ipr.dst);
    if (isParseFailure(u)) out.checksumsOk = false;
    else out.udp = u;
  } else if (ipr.protocol === IpProto.ICMP) {
    const m = parseIcmpv4(frame, l4, ipr.payloadLen);
    if (isParseFailure(m)) out.checksumsOk = false;
    else out.icmp = m;
  }
  return out;
}

export interface SentFrame {
  /** Virtual time the stack transmitted it. */
  at: number;
  from: string;
  frame: Uint8Array;
  d: Decoded;
}

export interface HostOptions extends Partial<Omit<NetStackOptions, 'transmit' | 'clock'>> {
  /** Leave gatewayMac out so the stack has to ARP for it. */
  arp?: boolean;
}

export class TestNet {
  readonly sent: SentFrame[] = [];
  /** Drop a frame a stack transmitted (before it reaches the router). */
  drop: (f: SentFrame) => boolean = () => false;
  /** Rewrite (or replace) a frame on its way; runs after drop. */
  mangle: ((f: SentFrame) => Uint8Array) | null = null;
  private readonly byIp = new Map<number, NetStack>();
  private readonly byMac = new Map<number, NetStack>();
  private nextMac = 0x02_00_00_00_01_00;
  private readonly rng: Rng;

  constructor(
    readonly clock: VirtualClock,
    readonly latencyMs = 1,
    seed = 42,
  ) {
    this.rng = new Rng(seed);
  }

  host(name: string, addr: string, opts: HostOptions = {}): NetStack {
    const mac = opts.mac ?? this.nextMac++;
    const { arp, ...rest } = opts;
    let stack: NetStack | undefined = undefined;
    stack = new NetStack({
      name,
      ip: ip(addr),
      mac,
      gatewayIp: GW_IP,
      ...(arp ? {} : { gatewayMac: GW_MAC }),
      rng: this.rng.fork(),
      ...rest,
      clock: this.clock,
      transmit: (frame) => this.fromHost(name, frame),
    });
    this.byIp.set(stack.ip, stack);
    this.byMac.set(mac, stack);
    return stack;
  }

  /** Frames a given host sent, optionally filtered. */
  framesFrom(name: string, pred: (d: Decoded) => boolean = () => true): SentFrame[] {
    return this.sent.filter((f) => f.from === name && pred(f.d));
  }

  /** Inject a raw frame into a stack after the link latency. */
  inject(to: NetStack, frame: Uint8Array): void {
    this.clock.setTimer(this.latencyMs, () => to.receive(frame));
  }

  private fromHost(name: string, frame: Uint8Array): void {
    const f: SentFrame = { at: this.clock.now(), from: name, frame, d: decode(frame) };
    this.sent.push(f);
    if (this.drop(f)) return;
    const out = this.mangle ? this.mangle(f) : frame;
    this.clock.setTimer(this.latencyMs, () => this.router(out));
  }

  /** The gateway: answers ARP for itself, forwards IPv4 by destination, TTL - 1. */
  private router(frame: Uint8Array): void {
    const dstMac = readMac(frame, ETH.DST);
    const ethertype = (frame[12]! << 8) | frame[13]!;
    if (ethertype === EtherType.ARP) {
      const arp = parseArp(frame, ETH.HEADER_LEN);
      if (isParseFailure(arp)) return;
      if (arp.op === ArpOp.Request && arp.tpa === GW_IP) {
        const target = this.byMac.get(arp.sha);
        const reply = buildArpFrame({ op: ArpOp.Reply, srcMac: GW_MAC, spa: GW_IP, tha: arp.sha, tpa: arp.spa });
        if (target) this.clock.setTimer(this.latencyMs, () => target.receive(reply));
      } else if (dstMac === MAC_BROADCAST || this.byMac.has(dstMac)) {
        // Requests for other hosts are flooded, replies unicast.
        for (const s of this.byMac.values()) {
          if (s.mac === readMac(frame, ETH.SRC)) continue;
          if (dstMac === MAC_BROADCAST || s.mac === dstMac) s.receive(frame);
        }
      }
      return;
    }
    if (dstMac !== GW_MAC || ethertype !== EtherType.IPv4 || frame.length < 34) return;
    const pkt = new Ipv4Packet(frame, ETH.HEADER_LEN);
    const target = this.byIp.get(pkt.dst);
    if (!target || pkt.ttl <= 1) return;
    pkt.decrementTtl();
    writeMac(frame, ETH.SRC, GW_MAC);
    writeMac(frame, ETH.DST, target.mac);
    target.receive(frame);
  }
}

/** Bytes 0..n-1 of a recognisable pattern. */
export function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const len = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
