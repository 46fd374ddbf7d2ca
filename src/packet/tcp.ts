// TCP segment header (RFC 9293) with the options Linux puts on a SYN.
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import {
  finishChecksum,
  onesComplementSum,
  pseudoHeaderSumV4,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './checksum.js';
import { IpProto } from './ipv4.js';

export const enum TCP {
  SRC_PORT = 0,
  DST_PORT = 2,
  SEQ = 4,
  ACK = 8,
  DATA_OFF = 12,
  FLAGS = 13,
  WINDOW = 14,
  CHECKSUM = 16,
  URGENT = 18,
  MIN_HEADER_LEN = 20,
}

export const TCP_MAX_HEADER_LEN = 60;

export const enum TcpFlags {
  FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  PSH = 0x08,
  ACK = 0x10,
  URG = 0x20,
  ECE = 0x40,
  CWR = 0x80,
}

export const enum TcpOptionKind {
  End = 0,
  Nop = 1,
  Mss = 2,
  WindowScale = 3,
  SackPermitted = 4,
  Sack = 5,
  Timestamp = 8,
}

export interface TcpOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  /** SACK blocks (RFC 2018): [left, right) sequence ranges. */
  sackBlocks?: { left: number; right: number }[];
  timestamp?: { value: number; echo: number };
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The 8 flag bits of byte 13 (see TcpFlags). */
  flags: number;
  window: number;
  /** Urgent pointer; parse leaves it out when zero. */
  urgent?: number;
  options: TcpOptions;
  payload: Uint8Array;
}

/** Zero-copy view over a TCP segment at buf[off..off+len). Accessors do not validate: call checkTcp first. */
export class TcpSegment {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get srcPort(): number {
    return readU16(this.buf, this.off + TCP.SRC_PORT);
  }
  set srcPort(v: number) {
    writeU16(this.buf, this.off + TCP.SRC_PORT, v);
  }
  get dstPort(): number {
    return readU16(this.buf, this.off + TCP.DST_PORT);
  }
  set dstPort(v: number) {
    writeU16(this.buf, this.off + TCP.DST_PORT, v);
  }
  get seq(): number {
    return readU32(this.buf, this.off + TCP.SEQ);
  }
  set seq(v: number) {
    writeU32(this.buf, this.off + TCP.SEQ, v);
  }
  get ack(): number {
    return readU32(this.buf, this.off + TCP.ACK);
  }
  set ack(v: number) {
    writeU32(this.buf, this.off + TCP.ACK, v);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLen(): number {
    return (this.buf[this.off + TCP.DATA_OFF] >>> 4) * 4;
  }
  set headerLen(bytes: number) {
    const i = this.off + TCP.DATA_OFF;
    this.buf[i] = (((bytes >>> 2) & 0x0f) << 4) | (this.buf[i] & 0x0f);
  }
  get flags(): number {
    return this.buf[this.off + TCP.FLAGS];
  }
  set flags(v: number) {
    this.buf[this.off + TCP.FLAGS] = v & 0xff;
  }
  get fin(): boolean {
    return (this.flags & TcpFlags.FIN) !== 0;
  }
  get syn(): boolean {
    return (this.flags & TcpFlags.SYN) !== 0;
  }
  get rst(): boolean {
    return (this.flags & TcpFlags.RST) !== 0;
  }
  get psh(): boolean {
    return (this.flags & TcpFlags.PSH) !== 0;
  }
  get ackFlag(): boolean {
    return (this.flags & TcpFlags.ACK) !== 0;
  }
  get window(): number {
    return readU16(this.buf, this.off + TCP.WINDOW);
  }
  set window(v: number) {
    writeU16(this.buf, this.off + TCP.WINDOW, v);
  }
  get checksum(): number {
    return readU16(this.buf, this.off + TCP.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + TCP.CHECKSUM, v);
  }
  get urgent(): number {
    return readU16(this.buf, this.off + TCP.URGENT);
  }
  set urgent(v: number) {
    writeU16(this.buf, this.off + TCP.URGENT, v);
  }
  options(): Uint8Array {
    return this.buf.subarray(this.off + TCP.MIN_HEADER_LEN, this.off + this.headerLen);
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.len);
  }
  fillChecksum(srcIp: number, dstIp: number): void {
    this.checksum = 0;
    this.checksum = tcpChecksum(this.buf, this.off, this.len, srcIp, dstIp);
  }
  verifyChecksum(srcIp: number, dstIp: number): boolean {
    return verifyTcpChecksum(this.buf, this.off, this.len, srcIp, dstIp) === 0;
  }
}

/** Checksum over pseudo header + segment (with the checksum field as stored). */
function tcpChecksum(buf: Uint8Array, off: number, len: number, srcIp: number, dstIp: number): number {
  return finishChecksum(onesComplementSum(buf, off, len, pseudoHeaderSumV4(srcIp, dstIp, IpProto.TCP, len)));
}

/** Hot path: 0 when the stored checksum is right, else ParseErrorCode.BadChecksum. */
export function verifyTcpChecksum(buf: Uint8Array, off: number, len: number, srcIp: number, dstIp: number): number {
  return tcpChecksum(buf, off, len, srcIp, dstIp) === 0 ? 0 : ParseErrorCode.BadChecksum;
}

/** Walks the option list without allocating; 0 or Malformed. */
function checkOptions(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const kind = buf[i];
    if (kind === TcpOptionKind.End) return 0;
    if (kind === TcpOptionKind.Nop) {
      i++;
      continue;
    }
    if (i + 1 >= end) return ParseErrorCode.Malformed;
    const optLen = buf[i + 1];
    if (optLen < 2 || i + optLen > end) return ParseErrorCode.Malformed;
    switch (kind) {
      case TcpOptionKind.Mss:
        if (optLen !== 4) return ParseErrorCode.Malformed;
        break;
      case TcpOptionKind.WindowScale:
        if (optLen !== 3) return ParseErrorCode.Malformed;
        break;
      case TcpOptionKind.SackPermitted:
        if (optLen !== 2) return ParseErrorCode.Malformed;
        break;
      case TcpOptionKind.Sack:
        if ((optLen - 2) % 8 !== 0 || optLen === 2) return ParseErrorCode.Malformed;
        break;
      case TcpOptionKind.Timestamp:
        if (optLen !== 10) return ParseErrorCode.Malformed;
        break;
      default:
        break; // Unknown options are skipped by length, as RFC 9293 asks.
    }
    i += optLen;
  }
  return 0;
}

/** Hot path, allocation free: header length and option list sanity (no checksum). */
export function checkTcp(buf: Uint8Array, off: number, len: number): number {
  if (len < TCP.MIN_HEADER_LEN) return ParseErrorCode.Truncated;
  const headerLen = (buf[off + TCP.DATA_OFF] >>> 4) * 4;
  if (headerLen < TCP.MIN_HEADER_LEN) return ParseErrorCode.Malformed;
  if (headerLen > len) return ParseErrorCode.Truncated;
  return checkOptions(buf, off + TCP.MIN_HEADER_LEN, off + headerLen);
}

function readOptions(buf: Uint8Array, start: number, end: number): TcpOptions {
  const opts: TcpOptions = {};
  let i = start;
  while (i < end) {
    const kind = buf[i];
    if (kind === TcpOptionKind.End) break;
    if (kind === TcpOptionKind.Nop) {
      i++;
      continue;
    }
    const optLen = buf[i + 1];
    switch (kind) {
      case TcpOptionKind.Mss:
        opts.mss = readU16(buf, i + 2);
        break;
      case TcpOptionKind.WindowScale:
        opts.windowScale = buf[i + 2];
        break;
      case TcpOptionKind.SackPermitted:
        opts.sackPermitted = true;
        break;
      case TcpOptionKind.Sack: {
        const blocks: { left: number; right: number }[] = [];
        for (let j = i + 2; j + 8 <= i + optLen; j += 8) {
          blocks.push({ left: readU32(buf, j), right: readU32(buf, j + 4) });
        }
        opts.sackBlocks = blocks;
        break;
      }
      case TcpOptionKind.Timestamp:
        opts.timestamp = { value: readU32(buf, i + 2), echo: readU32(buf, i + 6) };
        break;
      default:
        break;
    }
    i += optLen;
  }
  return opts;
}

export interface TcpParseOptions {
  verifyChecksum?: boolean;
}

function describeTcp(buf: Uint8Array, off: number, len: number, code: number): string {
  if (len < TCP.MIN_HEADER_LEN) return `${len} bytes, header needs 20`;
  const headerLen = (buf[off + TCP.DATA_OFF] >>> 4) * 4;
  if (headerLen < TCP.MIN_HEADER_LEN) return `data offset ${headerLen} bytes < 20`;
  if (headerLen > len) return `data offset ${headerLen} bytes > ${len} bytes of segment`;
  if (code === ParseErrorCode.Malformed) return 'option list is malformed (bad length or runs past the header)';
  return 'invalid';
}

/** Parses a segment of exactly len bytes (the IPv4 payload length). The payload is a view into buf. */
export function parseTcp(
  buf: Uint8Array,
  off: number,
  len: number,
  srcIp: number,
  dstIp: number,
  opts: TcpParseOptions = {},
): TcpRepr | ParseFailure {
  const code = checkTcp(buf, off, len);
  if (code !== 0) return parseFailure(code, 'tcp', describeTcp(buf, off, len, code));
  if ((opts.verifyChecksum ?? true) && verifyTcpChecksum(buf, off, len, srcIp, dstIp) !== 0) {
    return parseFailure(ParseErrorCode.BadChecksum, 'tcp', `checksum 0x${readU16(buf, off + TCP.CHECKSUM).toString(16)} is wrong`);
  }
  const headerLen = (buf[off + TCP.DATA_OFF] >>> 4) * 4;
  const repr: TcpRepr = {
    srcPort: readU16(buf, off + TCP.SRC_PORT),
    dstPort: readU16(buf, off + TCP.DST_PORT),
    seq: readU32(buf, off + TCP.SEQ),
    ack: readU32(buf, off + TCP.ACK),
    flags: buf[off + TCP.FLAGS],
    window: readU16(buf, off + TCP.WINDOW),
    options: readOptions(buf, off + TCP.MIN_HEADER_LEN, off + headerLen),
    payload: buf.subarray(off + headerLen, off + len),
  };
  const urgent = readU16(buf, off + TCP.URGENT);
  if (urgent !== 0) repr.urgent = urgent;
  return repr;
}

/** Option bytes, padded to 4, in the order Linux uses on a SYN: MSS, SACK-permitted, timestamp, window scale. */
export function tcpOptionsLen(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.timestamp) n += 12; // NOP NOP TS, or SACK_PERM TS
  else if (o.sackPermitted) n += 4; // NOP NOP SACK_PERM
  if (o.windowScale !== undefined) n += 4; // NOP WS
  if (o.sackBlocks && o.sackBlocks.length > 0) n += 4 + 8 * o.sackBlocks.length; // NOP NOP SACK
  return n;
}

function writeOptions(o: TcpOptions, buf: Uint8Array, off: number): number {
  let i = off;
  if (o.mss !== undefined) {
    buf[i++] = TcpOptionKind.Mss;
    buf[i++] = 4;
    writeU16(buf, i, o.mss);
    i += 2;
  }
  if (o.timestamp) {
    if (o.sackPermitted) {
      buf[i++] = TcpOptionKind.SackPermitted;
      buf[i++] = 2;
    } else {
      buf[i++] = TcpOptionKind.Nop;
      buf[i++] = TcpOptionKind.Nop;
    }
    buf[i++] = TcpOptionKind.Timestamp;
    buf[i++] = 10;
    writeU32(buf, i, o.timestamp.value);
    writeU32(buf, i + 4, o.timestamp.echo);
    i += 8;
  } else if (o.sackPermitted) {
    buf[i++] = TcpOptionKind.Nop;
    buf[i++] = TcpOptionKind.Nop;
    buf[i++] = TcpOptionKind.SackPermitted;
    buf[i++] = 2;
  }
  if (o.windowScale !== undefined) {
    buf[i++] = TcpOptionKind.Nop;
    buf[i++] = TcpOptionKind.WindowScale;
    buf[i++] = 3;
    buf[i++] = o.windowScale & 0xff;
  }
  if (o.sackBlocks && o.sackBlocks.length > 0) {
    buf[i++] = TcpOptionKind.Nop;
    buf[i++] = TcpOptionKind.Nop;
    buf[i++] = TcpOptionKind.Sack;
    buf[i++] = 2 + 8 * o.sackBlocks.length;
    for (const b of o.sackBlocks) {
      writeU32(buf, i, b.left);
      writeU32(buf, i + 4, b.right);
      i += 8;
    }
  }
  return i - off;
}

export function tcpHeaderLen(repr: TcpRepr): number {
  return TCP.MIN_HEADER_LEN + tcpOptionsLen(repr.options);
}

/** Bytes emitTcp will write: header + options + payload. */
export function tcpSegmentLen(repr: TcpRepr): number {
  return tcpHeaderLen(repr) + repr.payload.length;
}

/** Writes header, options and payload with the checksum over the pseudo header. Returns bytes written. */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, off: number, srcIp: number, dstIp: number): number {
  const headerLen = tcpHeaderLen(repr);
  if (headerLen > TCP_MAX_HEADER_LEN) throw new RangeError(`TCP options too long: header would be ${headerLen} bytes`);
  writeU16(buf, off + TCP.SRC_PORT, repr.srcPort);
  writeU16(buf, off + TCP.DST_PORT, repr.dstPort);
  writeU32(buf, off + TCP.SEQ, repr.seq);
  writeU32(buf, off + TCP.ACK, repr.ack);
  buf[off + TCP.DATA_OFF] = (headerLen >>> 2) << 4;
  buf[off + TCP.FLAGS] = repr.flags & 0xff;
  writeU16(buf, off + TCP.WINDOW, repr.window);
  writeU16(buf, off + TCP.CHECKSUM, 0);
  writeU16(buf, off + TCP.URGENT, repr.urgent ?? 0);
  writeOptions(repr.options, buf, off + TCP.MIN_HEADER_LEN);
  buf.set(repr.payload, off + headerLen);
  const total = headerLen + repr.payload.length;
  writeU16(buf, off + TCP.CHECKSUM, tcpChecksum(buf, off, total, srcIp, dstIp));
  return total;
}

/**
 * Flags as `cilium monitor` prints them (GetConnectionSummary): only SYN, ACK,
 * RST and FIN, in that order, joined by ", ". E.g. "SYN, ACK".
 */
export function tcpFlagsToString(flags: number): string {
  const out: string[] = [];
  if (flags & TcpFlags.SYN) out.push('SYN');
  if (flags & TcpFlags.ACK) out.push('ACK');
  if (flags & TcpFlags.RST) out.push('RST');
  if (flags & TcpFlags.FIN) out.push('FIN');
  return out.join(', ');
}

/**
 * Flags as Hubble's flow Summary prints them ("TCP Flags: " + this): every set
 * flag in the order SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS. `ns` is the
 * low bit of byte 12, which is not part of the 8-bit flags value.
 */
export function tcpFlagsHubbleString(flags: number, ns = false): string {
  const out: string[] = [];
  if (flags & TcpFlags.SYN) out.push('SYN');
  if (flags & TcpFlags.ACK) out.push('ACK');
  if (flags & TcpFlags.RST) out.push('RST');
  if (flags & TcpFlags.FIN) out.push('FIN');
  if (flags & TcpFlags.PSH) out.push('PSH');
  if (flags & TcpFlags.URG) out.push('URG');
  if (flags & TcpFlags.ECE) out.push('ECE');
  if (flags & TcpFlags.CWR) out.push('CWR');
  if (ns) out.push('NS');
  return out.join(', ');
}
