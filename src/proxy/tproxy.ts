// Transparent sockets for the proxy, built on the pod network stack. Linux
// gives Cilium's proxies TPROXY (accept a connection addressed to any IP:port)
// and IP_TRANSPARENT (connect upstream from the original client's address).
// Here the proxy's namespace keeps one NetStack per address it answers or
// speaks for: a frame handed over by the datapath goes to the stack of its
// destination address, and every frame a stack sends goes back into the
// node's datapath with the skb mark registered for its 4-tuple (whom the
// proxy speaks for), or the fallback mark.

import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { readU16, readU32 } from '../packet/checksum.js';
import { ETH } from '../packet/ethernet.js';
import { IPV4, IpProto } from '../packet/ipv4.js';
import { writeMac } from '../packet/mac.js';
import { CookieSource, DEFAULT_POD_MTU, EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN, NetStack, type TcpConfig, type TcpSocket, type UdpSocket } from '../net/stack/index.js';

/** A connection's addresses as the wire shows them. */
export interface Tuple {
  proto: number;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
}

export function tupleKey(t: Tuple): string {
  return `${t.proto}/${t.srcIp}:${t.srcPort}>${t.dstIp}:${t.dstPort}`;
}

export function reverseTuple(t: Tuple): Tuple {
  return { proto: t.proto, srcIp: t.dstIp, srcPort: t.dstPort, dstIp: t.srcIp, dstPort: t.srcPort };
}

const TCP_FLAGS_OFF = 13;
const SYN = 0x02;
const ACK = 0x10;

/** The IPv4 4-tuple of a frame (ports 0 for other protocols), and whether it is a TCP SYN; null if not IPv4. */
export function frameTuple(frame: Uint8Array): { t: Tuple; syn: boolean } | null {
  if (frame.length < ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN || readU16(frame, ETH.ETHERTYPE) !== 0x0800) return null;
  const ip = ETH.HEADER_LEN;
  const proto = frame[ip + IPV4.PROTOCOL]!;
  const l4 = ip + (frame[ip]! & 0x0f) * 4;
  const t: Tuple = { proto, srcIp: readU32(frame, ip + IPV4.SRC), srcPort: 0, dstIp: readU32(frame, ip + IPV4.DST), dstPort: 0 };
  let syn = false;
  if ((proto === IpProto.TCP || proto === IpProto.UDP) && frame.length >= l4 + 4) {
    t.srcPort = readU16(frame, l4);
    t.dstPort = readU16(frame, l4 + 2);
    if (proto === IpProto.TCP && frame.length > l4 + TCP_FLAGS_OFF) syn = (frame[l4 + TCP_FLAGS_OFF]! & (SYN | ACK)) === SYN;
  }
  return { t, syn };
}

export interface TransparentNetnsOptions {
  clock: Clock;
  rng: Rng;
  /** The MAC the proxy's sockets use, and cilium_host's (their gateway). */
  mac: number;
  gatewayMac: number;
  gatewayIp: number;
  mtu?: number;
  tcp?: Partial<TcpConfig>;
  cookies?: CookieSource;
  /** Into the node's datapath (cilium_host) with this skb mark. */
  transmit: (frame: Uint8Array, mark: number) => void;
  /** The mark for a frame whose tuple has none registered (a reset for a connection nobody knows). */
  fallbackMark: (srcIp: number) => number;
}

export class TransparentNetns {
  private readonly stacks = new Map<number, NetStack>();
  private readonly marks = new Map<string, number>();
  private readonly cookies: CookieSource;
  /** Frames received and sent, for tests and `cilium status`-like counters. */
  readonly stats = { rx: 0, tx: 0, unmarkedTx: 0 };

  constructor(private readonly opts: TransparentNetnsOptions) {
    this.cookies = opts.cookies ?? new CookieSource(1 << 20);
  }

  /** The stack answering for (and speaking from) an address, created on first use. */
  stack(ip: number): NetStack {
    let s = this.stacks.get(ip);
    if (s) return s;
    const o = this.opts;
    s = new NetStack({
      name: `proxy@${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`,
      ip,
      mac: o.mac,
      gatewayIp: o.gatewayIp,
      gatewayMac: o.gatewayMac,
      mtu: o.mtu ?? DEFAULT_POD_MTU,
      clock: o.clock,
      rng: o.rng.fork(),
      transmit: (f) => this.send(f),
      ...(o.tcp ? { tcp: o.tcp } : {}),
      cookies: this.cookies,
    });
    this.stacks.set(ip, s);
    return s;
  }

  get addresses(): number[] {
    return [...this.stacks.keys()];
  }

  /** A frame the datapath handed over (TPROXY): to the stack of its destination address. */
  receive(frame: Uint8Array): void {
    if (frame.length < ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN) return;
    this.stats.rx++;
    writeMac(frame, ETH.DST, this.opts.mac);
    this.stack(readU32(frame, ETH.HEADER_LEN + IPV4.DST)).receive(frame);
  }

  /** Frames with this 4-tuple leave with this skb mark. */
  setMark(t: Tuple, mark: number): void {
    this.marks.set(tupleKey(t), mark);
  }

  clearMark(t: Tuple): void {
    this.marks.delete(tupleKey(t));
  }

  markOf(t: Tuple): number | undefined {
    return this.marks.get(tupleKey(t));
  }

  get markedTuples(): number {
    return this.marks.size;
  }

  private send(frame: Uint8Array): void {
    this.stats.tx++;
    const ft = frameTuple(frame);
    let mark = ft ? this.marks.get(tupleKey(ft.t)) : undefined;
    if (mark === undefined) {
      this.stats.unmarkedTx++;
      mark = this.opts.fallbackMark(ft ? ft.t.srcIp : 0);
    }
    this.opts.transmit(frame, mark);
  }

  /** TPROXY listener: the proxy's socket for connections to ip:port (idempotent). */
  listen(ip: number, port: number, onAccept: (sock: TcpSocket) => void): void {
    const s = this.stack(ip);
    if (!s.listeningPorts().includes(port)) s.tcpListen(port, onAccept);
  }

  private readonly udpBound = new Map<string, UdpSocket>();

  /** A UDP socket bound to ip:port (the DNS proxy's transparent listener), created once. */
  udpSocket(ip: number, port: number): UdpSocket {
    const key = `${ip}:${port}`;
    let u = this.udpBound.get(key);
    if (u && !u.closed) return u;
    u = this.stack(ip).udpBind(port);
    this.udpBound.set(key, u);
    return u;
  }

  /**
   * IP_TRANSPARENT connect(): from srcIp (the client's address) with a port
   * the kernel picks, to dst; its frames leave with `mark`. The socket's
   * onClose forgets the mark.
   */
  connect(srcIp: number, dstIp: number, dstPort: number, mark: number): TcpSocket {
    const s = this.stack(srcIp);
    const srcPort = this.freePort(s, dstIp, dstPort);
    const t: Tuple = { proto: IpProto.TCP, srcIp, srcPort, dstIp, dstPort };
    this.setMark(t, mark);
    return s.tcpConnect(dstIp, dstPort, { srcPort });
  }

  /** An unconnected UDP socket on srcIp (ephemeral port) whose datagrams to dst carry `mark`. */
  udpFrom(srcIp: number, dstIp: number, dstPort: number, mark: number): UdpSocket {
    const u = this.stack(srcIp).udpBind();
    this.setMark({ proto: IpProto.UDP, srcIp, srcPort: u.localPort, dstIp, dstPort }, mark);
    return u;
  }

  private freePort(s: NetStack, dstIp: number, dstPort: number): number {
    const span = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    const listening = new Set(s.listeningPorts());
    const used = new Set<number>();
    for (const c of s.tcpSockets()) if (c.remoteIp === dstIp && c.remotePort === dstPort) used.add(c.localPort);
    const start = this.opts.rng.below(span);
    for (let i = 0; i < span; i++) {
      const p = EPHEMERAL_PORT_MIN + ((start + i) % span);
      if (!listening.has(p) && !used.has(p)) return p;
    }
    return 0;
  }

  /** The namespace goes away: every socket reset. */
  shutdown(): void {
    for (const s of this.stacks.values()) s.shutdown();
    this.stacks.clear();
    this.marks.clear();
    this.udpBound.clear();
  }
}
