// VXLAN (RFC 7348) as Cilium uses it: UDP port 8472, VNI = source security identity.
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import { internetChecksum, readU16, readU32, writeU16, writeU32 } from './checksum.js';
import { writeMac } from './mac.js';
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
  return Math.floor((h * (VXLAN_SRC_PORT_MAX - VXLAN_SRC_PORT_MIN)) / 0x1_0000_0000) + VXLAN_SRC_PORT_MIN;
}

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
 * Hot path: writes the 50 outer bytes at buf[off..off+50) in front of the
 * inner Ethernet frame already at buf[off+50..off+50+innerLen). Outer IPv4
 * checksum is computed; outer UDP checksum is 0, as Linux VXLAN sends it.
 */
export function writeVxlanEncap(buf: Uint8Array, off: number, innerLen: number, outer: VxlanOuter): void {
  writeMac(buf, off + ETH.DST, outer.dstMac);
  writeMac(buf, off + ETH.SRC, outer.srcMac);
  writeU16(buf, off + ETH.ETHERTYPE, EtherType.IPv4);

  const ip = off + ETH.HEADER_LEN;
  const udpLen = UDP.HEADER_LEN + VXLAN.HEADER_LEN + innerLen;
  buf[ip + IPV4.VER_IHL] = 0x45;
  buf[ip + IPV4.DSCP_ECN] = 0;
  writeU16(buf, ip + IPV4.TOTAL_LEN, IPV4.MIN_HEADER_LEN + udpLen);
  writeU16(buf, ip + IPV4.IDENT, outer.ident ?? 0);
  writeU16(buf, ip + IPV4.FLAGS_FRAG, 0); // Linux vxlan "df unset" default.
  buf[ip + IPV4.TTL] = outer.ttl ?? 64;
  buf[ip + IPV4.PROTOCOL] = IpProto.UDP;
  writeU16(buf, ip + IPV4.CHECKSUM, 0);
  writeU32(buf, ip + IPV4.SRC, outer.srcIp);
  writeU32(buf, ip + IPV4.DST, outer.dstIp);
  writeU16(buf, ip + IPV4.CHECKSUM, internetChecksum(buf, ip, IPV4.MIN_HEADER_LEN));

  const udp = ip + IPV4.MIN_HEADER_LEN;
  writeU16(buf, udp + UDP.SRC_PORT, outer.srcPort);
  writeU16(buf, udp + UDP.DST_PORT, VXLAN_PORT);
  writeU16(buf, udp + UDP.LENGTH, udpLen);
  writeU16(buf, udp + UDP.CHECKSUM, 0);

  const vx = udp + UDP.HEADER_LEN;
  writeU32(buf, vx, VXLAN_FLAG_I << 24);
  writeU32(buf, vx + VXLAN.VNI, (outer.vni & VXLAN_MAX_VNI) << 8);
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
