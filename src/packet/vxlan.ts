// VXLAN (RFC 7348) as Cilium uses it: UDP port 8472, VNI = source security identity.
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import { readU16, readU32, writeU32 } from './checksum.js';
import { macHigh16 } from './mac.js';
import { ETH, EtherType } from './ethernet.js';
import { IPV4, IpProto, checkIpv4 } from './ipv4.js';
import { UDP } from './udp.js';

/** Linux's historical VXLAN port, which Cilium uses by default (IANA's is 4789). */
export const VXLAN_PORT = 8472;

export const enum VXLAN { FLAGS = 0, VNI = 4, HEADER_LEN = 8 }

/** "VNI present" flag; the only flag a plain VXLAN header carries. */
export const VXLAN_FLAG_I = 0x08;

/** Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_ENCAP_OVERHEAD = ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + UDP.HEADER_LEN + VXLAN.HEADER_LEN;

export const VXLAN_MAX_VNI = 0xffffff;

// Module-local copies for writeVxlanEncapView, which runs per packet: an
// exported const is read through its export cell even in its own module, a
// module's own const is folded.
const PORT = VXLAN_PORT;
const FLAG_I = VXLAN_FLAG_I;
const MAX_VNI = VXLAN_MAX_VNI;

/** Linux's default ephemeral range, used for VXLAN source ports: [32768, 61000). */
export const VXLAN_SRC_PORT_MIN = 32768;
export const VXLAN_SRC_PORT_MAX = 61000;

export interface VxlanRepr {
  vni: number;
}

export class VxlanHeader {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get flags(): number {
    return this.buf[this.off + VXLAN.FLAGS];
  }
  set flags(v: number) {
    this.buf[this.off + VXLAN.FLAGS] = v & 0xff;
  }
  get vni(): number {
    return readU32(this.buf, this.off + VXLAN.VNI) >>> 8;
  }
  set vni(v: number) {
    const i = this.off + VXLAN.VNI;
    this.buf[i] = (v >>> 16) & 0xff;
    this.buf[i + 1] = (v >>> 8) & 0xff;
    this.buf[i + 2] = v & 0xff;
  }
  get payloadOffset(): number {
    return this.off + VXLAN.HEADER_LEN;
  }
  get payloadLen(): number {
    return this.len - VXLAN.HEADER_LEN;
  }
}

/** Hot path: 0 when an 8-byte header with the I flag is present. */
export function checkVxlan(buf: Uint8Array, off: number, len: number): number {
  if (len < VXLAN.HEADER_LEN) return ParseErrorCode.Truncated;
  if ((buf[off + VXLAN.FLAGS] & VXLAN_FLAG_I) === 0) return ParseErrorCode.Malformed;
  return 0;
}

export function parseVxlan(buf: Uint8Array, off = 0, len = buf.length - off): VxlanRepr | ParseFailure {
  const code = checkVxlan(buf, off, len);
  if (code === ParseErrorCode.Truncated) return parseFailure(code, 'vxlan', `${len} bytes, header needs 8`);
  if (code !== 0) return parseFailure(code, 'vxlan', `flags 0x${buf[off].toString(16)} lack the I (VNI valid) bit`);
  return { vni: readU32(buf, off + VXLAN.VNI) >>> 8 };
}

/** Writes the 8-byte header; returns 8. */
export function emitVxlan(repr: VxlanRepr, buf: Uint8Array, off = 0): number {
  writeU32(buf, off, VXLAN_FLAG_I << 24);
  writeU32(buf, off + VXLAN.VNI, (repr.vni & VXLAN_MAX_VNI) << 8);
  return VXLAN.HEADER_LEN;
}

/**
 * Linux udp_flow_src_port(): the flow hash is mixed (hash ^= hash << 16, so
 * the low bits matter) and scaled into [min, max).
 */
export function vxlanFlowSourcePort(hash32: number): number {
  const h = (hash32 ^ (hash32 << 16)) >>> 0;
  return Math.floor((h * (SrcPortRange.MAX - SrcPortRange.MIN)) / 0x1_0000_0000) + SrcPortRange.MIN;
}

/** VXLAN_SRC_PORT_MIN/MAX as literals for the per-packet computation (exported consts are loaded from module cells). */
const enum SrcPortRange { MIN = 32768, MAX = 61000 }

export interface VxlanOuter {
  srcMac: number;
  dstMac: number;
  /** Underlay (node) addresses. */
  srcIp: number;
  dstIp: number;
  /** Outer UDP source port, normally vxlanFlowSourcePort(flow hash). */
  srcPort: number;
  vni: number;
  ttl?: number;
  ident?: number;
}

/**
 * Writes the 50 outer bytes at buf[off..off+50) in front of the inner
 * Ethernet frame already at buf[off+50..off+50+innerLen). Outer IPv4
 * checksum is computed; outer UDP checksum is 0, as Linux VXLAN sends it.
 */
export function writeVxlanEncap(buf: Uint8Array, off: number, innerLen: number, outer: VxlanOuter): void {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  writeVxlanEncapView(v, off, innerLen, macHigh16(outer.srcMac), outer.srcMac | 0, macHigh16(outer.dstMac), outer.dstMac | 0, outer.srcIp | 0, outer.dstIp | 0, outer.srcPort, outer.vni, outer.ttl ?? 64, outer.ident ?? 0);
}

/**
 * Hot path of writeVxlanEncap (the kernel's VXLAN driver, on the skb's
 * DataView): each header goes in as whole big-endian words, thirteen stores
 * for the 50 bytes, and the outer IPv4 checksum is summed from the field
 * values being written instead of read back from the buffer. Every argument
 * is an int32 (addresses and the MACs' low 32 bits as `x | 0`, the MACs' high
 * 16 bits apart): a uint32 or 48-bit double would be boxed into a heap number
 * to be passed, one allocation per packet.
 */
export function writeVxlanEncapView(
  v: DataView,
  off: number,
  innerLen: number,
  srcMacHi: number,
  srcMacLo: number,
  dstMacHi: number,
  dstMacLo: number,
  srcIp: number,
  dstIp: number,
  srcPort: number,
  vni: number,
  ttl: number,
  ident: number,
): void {
  // Ethernet: dst (6), src (6), ethertype (2) as 2 + 4 + 4 + 4 bytes.
  v.setUint16(off + ETH.DST, dstMacHi);
  v.setInt32(off + ETH.DST + 2, dstMacLo);
  v.setInt32(off + ETH.SRC, (srcMacHi << 16) | (srcMacLo >>> 16));
  v.setInt32(off + ETH.SRC + 4, ((srcMacLo & 0xffff) << 16) | EtherType.IPv4);

  const ip = off + ETH.HEADER_LEN;
  const udpLen = UDP.HEADER_LEN + VXLAN.HEADER_LEN + innerLen;
  const totalLen = (IPV4.MIN_HEADER_LEN + udpLen) & 0xffff;
  const id = ident & 0xffff;
  const ttlProto = ((ttl & 0xff) << 8) | IpProto.UDP;
  // RFC 1071 over the ten 16-bit words: version/IHL+DSCP (0x4500), total length,
  // ident, flags/fragment (0, Linux vxlan's "df unset" default), TTL+protocol,
  // checksum (0 while summing), source and destination halves.
  let sum = 0x4500 + totalLen + id + ttlProto + (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  v.setInt32(ip + IPV4.VER_IHL, 0x4500_0000 | totalLen);
  v.setInt32(ip + IPV4.IDENT, id << 16);
  v.setInt32(ip + IPV4.TTL, (ttlProto << 16) | (~sum & 0xffff));
  v.setInt32(ip + IPV4.SRC, srcIp);
  v.setInt32(ip + IPV4.DST, dstIp);

  const udp = ip + IPV4.MIN_HEADER_LEN;
  // Source and destination port; length and checksum (0).
  v.setInt32(udp + UDP.SRC_PORT, ((srcPort & 0xffff) << 16) | PORT);
  v.setInt32(udp + UDP.LENGTH, (udpLen & 0xffff) << 16);

  const vx = udp + UDP.HEADER_LEN;
  v.setInt32(vx, FLAG_I << 24);
  v.setInt32(vx + VXLAN.VNI, (vni & MAX_VNI) << 8);
}

export interface VxlanDecap {
  vni: number;
  /** Where the inner Ethernet frame starts and how long it is. */
  innerOff: number;
  innerLen: number;
  /** Outer (underlay) addresses. */
  srcIp: number;
  dstIp: number;
}

/**
 * Decap check for a frame arriving on the underlay: Ethernet/IPv4/UDP to
 * 8472/VXLAN with the I flag. The outer UDP checksum is not verified (Linux
 * sends 0). Fragmented outer packets are Unsupported.
 */
export function parseVxlanOuter(buf: Uint8Array, off: number, len: number): VxlanDecap | ParseFailure {
  if (len < ETH.HEADER_LEN) return parseFailure(ParseErrorCode.Truncated, 'ethernet', `${len} bytes, header needs 14`);
  const ethertype = readU16(buf, off + ETH.ETHERTYPE);
  if (ethertype !== EtherType.IPv4) {
    return parseFailure(ParseErrorCode.Unsupported, 'ethernet', `ethertype 0x${ethertype.toString(16)} is not IPv4`);
  }
  const ip = off + ETH.HEADER_LEN;
  const ipCode = checkIpv4(buf, ip, len - ETH.HEADER_LEN);
  if (ipCode !== 0) return parseFailure(ipCode, 'ipv4', 'outer IPv4 header invalid');
  if (buf[ip + IPV4.PROTOCOL] !== IpProto.UDP) {
    return parseFailure(ParseErrorCode.Unsupported, 'ipv4', `outer protocol ${buf[ip + IPV4.PROTOCOL]} is not UDP`);
  }
  if ((readU16(buf, ip + IPV4.FLAGS_FRAG) & 0x3fff) !== 0) {
    return parseFailure(ParseErrorCode.Unsupported, 'ipv4', 'outer packet is a fragment');
  }
  const headerLen = (buf[ip] & 0x0f) * 4;
  const ipPayloadLen = readU16(buf, ip + IPV4.TOTAL_LEN) - headerLen;
  const udp = ip + headerLen;
  if (ipPayloadLen < UDP.HEADER_LEN) return parseFailure(ParseErrorCode.Truncated, 'udp', `${ipPayloadLen} bytes, header needs 8`);
  const udpLen = readU16(buf, udp + UDP.LENGTH);
  if (udpLen < UDP.HEADER_LEN || udpLen > ipPayloadLen) {
    return parseFailure(udpLen < UDP.HEADER_LEN ? ParseErrorCode.Malformed : ParseErrorCode.Truncated, 'udp', `length field ${udpLen} does not fit ${ipPayloadLen} bytes`);
  }
  const dstPort = readU16(buf, udp + UDP.DST_PORT);
  if (dstPort !== VXLAN_PORT) return parseFailure(ParseErrorCode.Unsupported, 'udp', `destination port ${dstPort} is not VXLAN (${VXLAN_PORT})`);
  const vx = udp + UDP.HEADER_LEN;
  const vxLen = udpLen - UDP.HEADER_LEN;
  const vxCode = checkVxlan(buf, vx, vxLen);
  if (vxCode !== 0) return parseFailure(vxCode, 'vxlan', vxCode === ParseErrorCode.Truncated ? `${vxLen} bytes, header needs 8` : 'I flag not set');
  return {
    vni: readU32(buf, vx + VXLAN.VNI) >>> 8,
    innerOff: vx + VXLAN.HEADER_LEN,
    innerLen: vxLen - VXLAN.HEADER_LEN,
    srcIp: readU32(buf, ip + IPV4.SRC),
    dstIp: readU32(buf, ip + IPV4.DST),
  };
}
