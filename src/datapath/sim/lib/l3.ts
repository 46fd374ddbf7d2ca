// Packet rewrites the programs do in place, with incremental checksum fixes
// (bpf/lib/l3.h, l4.h, lb.h's NAT helpers, icmp replies).

import { readU16BE, writeU16BE, writeU32BE } from '../../../bpf/bytes.js';
import { checksumUpdate16 as importedChecksumUpdate16, checksumUpdate32, internetChecksum } from '../../../packet/checksum.js';
import { ETH, EtherType } from '../../../packet/ethernet.js';
import { IPV4, IpProto } from '../../../packet/ipv4.js';
import { TCP } from '../../../packet/tcp.js';
import { UDP } from '../../../packet/udp.js';
import { writeMac } from '../../../packet/mac.js';
import type { SkBuff } from '../../skb.js';
import type { Ip4Info } from './pkt.js';

// Module-local bindings of small helpers called per packet: TurboFan folds a
// module's own const, where a call through an import loads the binding and
// checks, on every call, that it is initialised and still the function it inlined.
const checksumUpdate16 = importedChecksumUpdate16;

/** ipv4_dec_ttl(): false when the TTL would reach zero. */
export function decTtl(ctx: SkBuff, info: Ip4Info): boolean {
  const v = ctx.view;
  const l3 = info.l3;
  // TTL is the high byte of the (ttl, protocol) word the checksum covers.
  const oldWord = v.getUint16(l3 + IPV4.TTL);
  const ttl = oldWord >>> 8;
  if (ttl <= 1) return false;
  const newWord = oldWord - 0x100;
  v.setUint16(l3 + IPV4.TTL, newWord);
  v.setUint16(l3 + IPV4.CHECKSUM, checksumUpdate16(v.getUint16(l3 + IPV4.CHECKSUM), oldWord, newWord));
  info.ttl = ttl - 1;
  return true;
}

/** Offset of the L4 checksum that covers addresses/ports, or -1 (no checksum to fix). */
function l4CsumOff(ctx: SkBuff, info: Ip4Info): number {
  if (info.proto === IpProto.TCP) return info.l4 + TCP.CHECKSUM;
  if (info.proto === IpProto.UDP) return readU16BE(ctx.buf, info.l4 + UDP.CHECKSUM) === 0 ? -1 : info.l4 + UDP.CHECKSUM;
  return -1;
}

/** Rewrite the destination (DNAT to a backend) or, with `source`, the source (reverse NAT). */
export function rewriteAddrPort(ctx: SkBuff, info: Ip4Info, source: boolean, newAddr: number, newPort: number): void {
  const b = ctx.buf;
  const addrOff = info.l3 + (source ? IPV4.SRC : IPV4.DST);
  const oldAddr = source ? info.src : info.dst;
  const oldPort = source ? info.sport : info.dport;
  writeU32BE(b, addrOff, newAddr);
  writeU16BE(b, info.l3 + IPV4.CHECKSUM, checksumUpdate32(readU16BE(b, info.l3 + IPV4.CHECKSUM), oldAddr, newAddr));
  const csumOff = l4CsumOff(ctx, info);
  const hasPorts = info.proto === IpProto.TCP || info.proto === IpProto.UDP || info.proto === IpProto.SCTP;
  if (hasPorts) writeU16BE(b, info.l4 + (source ? 0 : 2), newPort);
  if (csumOff >= 0) {
    let c = checksumUpdate32(readU16BE(b, csumOff), oldAddr, newAddr);
    c = checksumUpdate16(c, oldPort, newPort);
    if (info.proto === IpProto.UDP && c === 0) c = 0xffff;
    writeU16BE(b, csumOff, c);
  }
  if (source) {
    info.src = newAddr;
    if (hasPorts) info.sport = newPort;
  } else {
    info.dst = newAddr;
    if (hasPorts) info.dport = newPort;
  }
}

const quote = new Uint8Array(60 + 8);

/**
 * Turn the packet into an ICMP Destination Unreachable (code) sent from
 * `fromIp` back to the packet's source, in place (tail_no_service_ipv4).
 */
export function makeIcmpUnreachable(ctx: SkBuff, info: Ip4Info, fromIp: number, code: number, srcMac: number, dstMac: number): void {
  const b = ctx.buf;
  const ihl = info.l4 - info.l3;
  const qlen = Math.min(ihl + 8, info.totalLen);
  quote.set(b.subarray(info.l3, info.l3 + qlen));
  const client = info.src;
  const o = ctx.off;
  writeMac(b, o + ETH.DST, dstMac);
  writeMac(b, o + ETH.SRC, srcMac);
  writeU16BE(b, o + ETH.ETHERTYPE, EtherType.IPv4);
  const l3 = o + ETH.HEADER_LEN;
  const total = IPV4.MIN_HEADER_LEN + 8 + qlen;
  b[l3] = 0x45;
  b[l3 + 1] = 0xc0;
  writeU16BE(b, l3 + IPV4.TOTAL_LEN, total);
  writeU16BE(b, l3 + IPV4.IDENT, 0);
  writeU16BE(b, l3 + IPV4.FLAGS_FRAG, 0);
  b[l3 + IPV4.TTL] = 64;
  b[l3 + IPV4.PROTOCOL] = IpProto.ICMP;
  writeU16BE(b, l3 + IPV4.CHECKSUM, 0);
  writeU32BE(b, l3 + IPV4.SRC, fromIp);
  writeU32BE(b, l3 + IPV4.DST, client);
  writeU16BE(b, l3 + IPV4.CHECKSUM, internetChecksum(b, l3, IPV4.MIN_HEADER_LEN));
  const l4 = l3 + IPV4.MIN_HEADER_LEN;
  b[l4] = 3;
  b[l4 + 1] = code;
  writeU16BE(b, l4 + 2, 0);
  writeU32BE(b, l4 + 4, 0);
  b.set(quote.subarray(0, qlen), l4 + 8);
  writeU16BE(b, l4 + 2, internetChecksum(b, l4, 8 + qlen));
  ctx.len = ETH.HEADER_LEN + total;
}
