// UDP datagram header (RFC 768).
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import { finishChecksum, onesComplementSum, pseudoHeaderSumV4, readU16, writeU16 } from './checksum.js';
import { IpProto } from './ipv4.js';

export const enum UDP { SRC_PORT = 0, DST_PORT = 2, LENGTH = 4, CHECKSUM = 6, HEADER_LEN = 8 }

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Zero-copy view over a UDP datagram at buf[off..off+len). */
export class UdpDatagram {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get srcPort(): number {
    return readU16(this.buf, this.off + UDP.SRC_PORT);
  }
  set srcPort(v: number) {
    writeU16(this.buf, this.off + UDP.SRC_PORT, v);
  }
  get dstPort(): number {
    return readU16(this.buf, this.off + UDP.DST_PORT);
  }
  set dstPort(v: number) {
    writeU16(this.buf, this.off + UDP.DST_PORT, v);
  }
  /** The length field: header + payload. */
  get length(): number {
    return readU16(this.buf, this.off + UDP.LENGTH);
  }
  set length(v: number) {
    writeU16(this.buf, this.off + UDP.LENGTH, v);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + UDP.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + UDP.CHECKSUM, v);
  }
  get payloadOffset(): number {
    return this.off + UDP.HEADER_LEN;
  }
  get payloadLen(): number {
    return this.length - UDP.HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.length);
  }
  fillChecksum(srcIp: number, dstIp: number): void {
    this.checksum = 0;
    this.checksum = udpChecksum(this.buf, this.off, this.length, srcIp, dstIp);
  }
  /** True when the checksum is absent (0) or right. */
  verifyChecksum(srcIp: number, dstIp: number): boolean {
    return verifyUdpChecksum(this.buf, this.off, this.length, srcIp, dstIp) === 0;
  }
}

/** The value to store: a computed 0 is sent as 0xffff because 0 means "no checksum". */
function udpChecksum(buf: Uint8Array, off: number, len: number, srcIp: number, dstIp: number): number {
  const c = finishChecksum(onesComplementSum(buf, off, len, pseudoHeaderSumV4(srcIp, dstIp, IpProto.UDP, len)));
  return c === 0 ? 0xffff : c;
}

/** Hot path: 0 when the checksum is absent or right, else BadChecksum. len is the UDP length field. */
export function verifyUdpChecksum(buf: Uint8Array, off: number, len: number, srcIp: number, dstIp: number): number {
  if (readU16(buf, off + UDP.CHECKSUM) === 0) return 0;
  const sum = finishChecksum(onesComplementSum(buf, off, len, pseudoHeaderSumV4(srcIp, dstIp, IpProto.UDP, len)));
  return sum === 0 ? 0 : ParseErrorCode.BadChecksum;
}

/** Hot path, allocation free: the length field must be ≥ 8 and fit in len. */
export function checkUdp(buf: Uint8Array, off: number, len: number): number {
  if (len < UDP.HEADER_LEN) return ParseErrorCode.Truncated;
  const length = readU16(buf, off + UDP.LENGTH);
  if (length < UDP.HEADER_LEN) return ParseErrorCode.Malformed;
  if (length > len) return ParseErrorCode.Truncated;
  return 0;
}

export interface UdpParseOptions {
  verifyChecksum?: boolean;
}

export function parseUdp(
  buf: Uint8Array,
  off: number,
  len: number,
  srcIp: number,
  dstIp: number,
  opts: UdpParseOptions = {},
): UdpRepr | ParseFailure {
  const code = checkUdp(buf, off, len);
  if (code !== 0) {
    const detail =
      len < UDP.HEADER_LEN
        ? `${len} bytes, header needs 8`
        : `length field ${readU16(buf, off + UDP.LENGTH)} does not fit ${len} bytes`;
    return parseFailure(code, 'udp', detail);
  }
  const length = readU16(buf, off + UDP.LENGTH);
  if ((opts.verifyChecksum ?? true) && verifyUdpChecksum(buf, off, length, srcIp, dstIp) !== 0) {
    return parseFailure(ParseErrorCode.BadChecksum, 'udp', `checksum 0x${readU16(buf, off + UDP.CHECKSUM).toString(16)} is wrong`);
  }
  return {
    srcPort: readU16(buf, off + UDP.SRC_PORT),
    dstPort: readU16(buf, off + UDP.DST_PORT),
    payload: buf.subarray(off + UDP.HEADER_LEN, off + length),
  };
}

export interface UdpEmitOptions {
  /** Leave the checksum 0 (not computed), as Linux VXLAN does on the outer header. */
  zeroChecksum?: boolean;
}

/** Writes header + payload; returns bytes written. */
export function emitUdp(
  repr: UdpRepr,
  buf: Uint8Array,
  off: number,
  srcIp: number,
  dstIp: number,
  opts: UdpEmitOptions = {},
): number {
  const length = UDP.HEADER_LEN + repr.payload.length;
  writeU16(buf, off + UDP.SRC_PORT, repr.srcPort);
  writeU16(buf, off + UDP.DST_PORT, repr.dstPort);
  writeU16(buf, off + UDP.LENGTH, length);
  writeU16(buf, off + UDP.CHECKSUM, 0);
  buf.set(repr.payload, off + UDP.HEADER_LEN);
  if (!opts.zeroChecksum) writeU16(buf, off + UDP.CHECKSUM, udpChecksum(buf, off, length, srcIp, dstIp));
  return length;
}
