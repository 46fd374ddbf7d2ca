// Builders of complete Ethernet frames with correct checksums, for tests and
// tools (ping, curl's first SYN in a trace, synthetic packets for what-if).
import { ETH, EtherType, emitEthernet } from './ethernet.js';
import { IPV4, IpProto, emitIpv4 } from './ipv4.js';
import { emitTcp, tcpSegmentLen, type TcpOptions, type TcpRepr } from './tcp.js';
import { UDP, emitUdp } from './udp.js';
import { ICMP, emitIcmpv4 } from './icmpv4.js';
import { ARP, ArpOp, emitArp } from './arp.js';
import { MAC_BROADCAST } from './mac.js';

/** Headroom the datapath keeps in front of a frame so VXLAN encap (50 bytes) can prepend in place. */
export const DEFAULT_HEADROOM = 64;

export interface L3FrameOptions {
  srcMac: number;
  dstMac: number;
  srcIp: number;
  dstIp: number;
  /** Default 64, Linux's default TTL. */
  ttl?: number;
  ident?: number;
  /** Default true: Linux sets DF by default (path MTU discovery). */
  dontFragment?: boolean;
  dscp?: number;
}

export interface TcpFrameOptions extends L3FrameOptions {
  srcPort: number;
  dstPort: number;
  flags: number;
  seq?: number;
  ack?: number;
  /** Default 64240, Linux's initial SYN window. */
  window?: number;
  urgent?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
}

export interface UdpFrameOptions extends L3FrameOptions {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** Send checksum 0 (absent). */
  zeroChecksum?: boolean;
}

export interface IcmpEchoFrameOptions extends L3FrameOptions {
  /** Echo reply instead of request. */
  reply?: boolean;
  echoIdent?: number;
  seq?: number;
  data?: Uint8Array;
}

export interface ArpFrameOptions {
  op: number;
  srcMac: number;
  /** Ethernet destination; defaults to broadcast for requests and tha for replies. */
  dstMac?: number;
  /** Sender hardware address; defaults to srcMac. */
  sha?: number;
  spa: number;
  tha?: number;
  tpa: number;
}

const EMPTY = new Uint8Array(0);
const L3_OFF = ETH.HEADER_LEN;

function writeL2L3(o: L3FrameOptions, protocol: number, payloadLen: number, buf: Uint8Array): number {
  emitEthernet({ src: o.srcMac, dst: o.dstMac, ethertype: EtherType.IPv4 }, buf, 0);
  return emitIpv4(
    {
      src: o.srcIp,
      dst: o.dstIp,
      protocol,
      ttl: o.ttl ?? 64,
      payloadLen,
      ident: o.ident ?? 0,
      dontFragment: o.dontFragment ?? true,
      dscp: o.dscp ?? 0,
    },
    buf,
    L3_OFF,
  );
}

export function buildTcpFrame(o: TcpFrameOptions): Uint8Array {
  const repr: TcpRepr = {
    srcPort: o.srcPort,
    dstPort: o.dstPort,
    seq: o.seq ?? 0,
    ack: o.ack ?? 0,
    flags: o.flags,
    window: o.window ?? 64240,
    urgent: o.urgent ?? 0,
    options: o.options ?? {},
    payload: o.payload ?? EMPTY,
  };
  const l4len = tcpSegmentLen(repr);
  const buf = new Uint8Array(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + l4len);
  const hl = writeL2L3(o, IpProto.TCP, l4len, buf);
  emitTcp(repr, buf, L3_OFF + hl, o.srcIp, o.dstIp);
  return buf;
}

export function buildUdpFrame(o: UdpFrameOptions): Uint8Array {
  const payload = o.payload ?? EMPTY;
  const l4len = UDP.HEADER_LEN + payload.length;
  const buf = new Uint8Array(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + l4len);
  const hl = writeL2L3(o, IpProto.UDP, l4len, buf);
  emitUdp({ srcPort: o.srcPort, dstPort: o.dstPort, payload }, buf, L3_OFF + hl, o.srcIp, o.dstIp, {
    zeroChecksum: o.zeroChecksum ?? false,
  });
  return buf;
}

export function buildIcmpEchoFrame(o: IcmpEchoFrameOptions): Uint8Array {
  const data = o.data ?? EMPTY;
  const l4len = ICMP.HEADER_LEN + data.length;
  const buf = new Uint8Array(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + l4len);
  const hl = writeL2L3(o, IpProto.ICMP, l4len, buf);
  emitIcmpv4(
    { kind: o.reply ? 'echoReply' : 'echoRequest', ident: o.echoIdent ?? 0, seq: o.seq ?? 0, data },
    buf,
    L3_OFF + hl,
  );
  return buf;
}

export function buildArpFrame(o: ArpFrameOptions): Uint8Array {
  const tha = o.tha ?? 0;
  const dst = o.dstMac ?? (o.op === ArpOp.Request ? MAC_BROADCAST : tha);
  const buf = new Uint8Array(ETH.HEADER_LEN + ARP.LEN);
  emitEthernet({ src: o.srcMac, dst, ethertype: EtherType.ARP }, buf, 0);
  emitArp({ op: o.op, sha: o.sha ?? o.srcMac, spa: o.spa, tha, tpa: o.tpa }, buf, ETH.HEADER_LEN);
  return buf;
}

/** Copies a frame behind `headroom` free bytes, like an skb with headroom reserved for encapsulation. */
export function buildFrameWithHeadroom(
  frame: Uint8Array,
  headroom = DEFAULT_HEADROOM,
): { buf: Uint8Array; off: number; len: number } {
  const buf = new Uint8Array(headroom + frame.length);
  buf.set(frame, headroom);
  return { buf, off: headroom, len: frame.length };
}
