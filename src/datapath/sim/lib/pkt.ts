// What the programs read from a packet's headers, loaded once per program run
// into a reused struct (revalidate_data + the CT tuple extraction in Cilium).

import { readU16BE, readU32BE } from '../../../bpf/bytes.js';
import { ETH, EtherType } from '../../../packet/ethernet.js';
import { checkIpv4Structure, IPV4, IPV4_FLAG_MF, IpProto } from '../../../packet/ipv4.js';
import { TCP } from '../../../packet/tcp.js';
import { ICMP, Icmpv4Type } from '../../../packet/icmpv4.js';
import { DropReason } from '../../drop.js';
import type { SkBuff } from '../../skb.js';

export class Ip4Info {
  /** Offset of the IPv4 header in ctx.buf. */
  l3 = 0;
  /** Offset of the L4 header in ctx.buf. */
  l4 = 0;
  /** Bytes from l4 to the end of the IP datagram. */
  l4len = 0;
  src = 0;
  dst = 0;
  proto = 0;
  ttl = 0;
  totalLen = 0;
  /** Ports in host order; for ICMP echo the identifier stands in as a port. */
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  icmpType = -1;
  icmpCode = -1;
  /** ICMP error: the quoted packet's tuple (as the original sender sent it). */
  innerValid = false;
  innerSrc = 0;
  innerDst = 0;
  innerProto = 0;
  innerSport = 0;
  innerDport = 0;
}

/** Ethertype of the frame, or -1 when there is no full Ethernet header. */
export function ethProto(ctx: SkBuff): number {
  if (ctx.len < ETH.HEADER_LEN) return -1;
  return ctx.view.getUint16(ctx.off + ETH.ETHERTYPE);
}

export function isIpv4Frame(ctx: SkBuff): boolean {
  return ethProto(ctx) === EtherType.IPv4;
}

/** Version 4, 20-byte header: the only header without options to walk. */
const VER_IHL_PLAIN = 0x45;

/** MF and the fragment offset: any of them set makes the packet a fragment (a module-local const, which TurboFan folds; an imported one is loaded and checked at every use). */
const FRAGMENT_BITS = IPV4_FLAG_MF | 0x1fff;

/**
 * Validate the IPv4 header and load addresses, ports and flags. Returns 0 or
 * a drop reason: 134 invalid packet, 157 fragment, 135 truncated L4 header.
 * Multi-byte fields are read through the skb's DataView (one load each).
 */
export function loadIp4(ctx: SkBuff, info: Ip4Info): number {
  const v = ctx.view;
  const l3 = ctx.off + ETH.HEADER_LEN;
  const avail = ctx.len - ETH.HEADER_LEN;
  if (avail < IPV4.MIN_HEADER_LEN) return DropReason.INVALID;
  // Whole words where fields sit side by side: version/IHL, TOS and total
  // length; TTL and protocol; the TCP/UDP ports.
  const head = v.getUint32(l3 + IPV4.VER_IHL);
  const verIhl = head >>> 24;
  const totalLen = head & 0xffff;
  if (verIhl === VER_IHL_PLAIN) {
    // checkIpv4Structure() for the common header, inline.
    if (totalLen < IPV4.MIN_HEADER_LEN || totalLen > avail) return DropReason.INVALID;
  } else if (checkIpv4Structure(ctx.buf, l3, avail) !== 0) return DropReason.INVALID;
  const ihl = (verIhl & 0x0f) * 4;
  const l4 = l3 + ihl;
  const l4len = totalLen - ihl;
  const ttlProto = v.getUint16(l3 + IPV4.TTL);
  const proto = ttlProto & 0xff;
  info.l3 = l3;
  info.l4 = l4;
  info.l4len = l4len;
  info.totalLen = totalLen;
  info.src = v.getUint32(l3 + IPV4.SRC);
  info.dst = v.getUint32(l3 + IPV4.DST);
  info.proto = proto;
  info.ttl = ttlProto >>> 8;
  info.icmpType = -1;
  info.icmpCode = -1;
  info.innerValid = false;
  if (v.getUint16(l3 + IPV4.FLAGS_FRAG) & FRAGMENT_BITS) return fragment(info);
  if (proto === IpProto.TCP) {
    if (l4len < TCP.MIN_HEADER_LEN) return noPorts(info, DropReason.CT_INVALID_HDR);
    const ports = v.getUint32(l4);
    info.sport = ports >>> 16;
    info.dport = ports & 0xffff;
    info.tcpFlags = ctx.buf[l4 + TCP.FLAGS];
    return 0;
  }
  if (proto === IpProto.UDP || proto === IpProto.SCTP) {
    if (l4len < 8) return noPorts(info, DropReason.CT_INVALID_HDR);
    const ports = v.getUint32(l4);
    info.sport = ports >>> 16;
    info.dport = ports & 0xffff;
    info.tcpFlags = 0;
    return 0;
  }
  noPorts(info, 0);
  return proto === IpProto.ICMP ? loadIcmp(ctx.buf, l4, info) : 0;
}

/** A fragment: FRAG_NOSUPPORT, with no ports read. */
function fragment(info: Ip4Info): number {
  return noPorts(info, DropReason.FRAG_NOSUPPORT);
}

/** Zero the L4 fields for a packet whose ports are not read; returns `ret`. */
function noPorts(info: Ip4Info, ret: number): number {
  info.sport = 0;
  info.dport = 0;
  info.tcpFlags = 0;
  return ret;
}

function loadIcmp(b: Uint8Array, l4: number, info: Ip4Info): number {
  if (info.l4len < 8) return DropReason.CT_INVALID_HDR;
  const type = b[l4 + ICMP.TYPE];
  info.icmpType = type;
  info.icmpCode = b[l4 + ICMP.CODE];
  if (type === Icmpv4Type.EchoRequest) {
    info.sport = readU16BE(b, l4 + 4);
  } else if (type === Icmpv4Type.EchoReply) {
    info.dport = readU16BE(b, l4 + 4);
  } else if (type === Icmpv4Type.DestinationUnreachable || type === Icmpv4Type.TimeExceeded) {
    // The quoted header: the original packet, sent by the other side of the connection.
    const in3 = l4 + 8;
    if (info.l4len < 8 + IPV4.MIN_HEADER_LEN + 8) return DropReason.CT_INVALID_HDR;
    const inIhl = (b[in3] & 0x0f) * 4;
    if (inIhl < IPV4.MIN_HEADER_LEN || info.l4len < 8 + inIhl + 8) return DropReason.CT_INVALID_HDR;
    info.innerValid = true;
    info.innerSrc = readU32BE(b, in3 + IPV4.SRC);
    info.innerDst = readU32BE(b, in3 + IPV4.DST);
    info.innerProto = b[in3 + IPV4.PROTOCOL];
    const in4 = in3 + inIhl;
    if (info.innerProto === IpProto.ICMP) {
      info.innerSport = readU16BE(b, in4 + 4);
      info.innerDport = 0;
    } else {
      info.innerSport = readU16BE(b, in4);
      info.innerDport = readU16BE(b, in4 + 2);
    }
  } else {
    return DropReason.UNKNOWN_ICMP4_TYPE;
  }
  return 0;
}

/** A symmetric flow hash (the kernel's skb hash is symmetric, so both directions print the same `flow 0x…`), as int32 bits (see SkBuff.hash). */
export function flowHash(info: Ip4Info): number {
  let h = (info.src ^ info.dst) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h ^= (info.sport ^ info.dport) | (info.proto << 16);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= h >>> 13;
  return h | 0 || 1;
}
