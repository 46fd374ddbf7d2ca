// IPv4 header (RFC 791): view, repr, parse/emit and an allocation-free check.
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import {
  checksumUpdate16,
  internetChecksum,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from './checksum.js';

export const enum IPV4 {
  VER_IHL = 0,
  DSCP_ECN = 1,
  TOTAL_LEN = 2,
  IDENT = 4,
  FLAGS_FRAG = 6,
  TTL = 8,
  PROTOCOL = 9,
  CHECKSUM = 10,
  SRC = 12,
  DST = 16,
  MIN_HEADER_LEN = 20,
}

export const IPV4_MAX_HEADER_LEN = 60;

export const enum IpProto { ICMP = 1, TCP = 6, UDP = 17, SCTP = 132 }

export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** Bytes after the header, as announced by total length. */
  payloadLen: number;
  ident?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8), not in 8-byte units. */
  fragOffset?: number;
  dscp?: number;
  ecn?: number;
  /** Raw option bytes, a multiple of 4 long (emit pads with End-of-Options). */
  options?: Uint8Array;
  /** Set by parse: MF set or non-zero offset. Ignored by emit. */
  isFragment?: boolean;
}

export function ipProtoName(proto: number): string {
  switch (proto) {
    case IpProto.ICMP:
      return 'ICMP';
    case IpProto.TCP:
      return 'TCP';
    case IpProto.UDP:
      return 'UDP';
    case IpProto.SCTP:
      return 'SCTP';
    default:
      return `proto-${proto}`;
  }
}

/** Zero-copy view over an IPv4 packet at buf[off..off+len). Accessors do not validate: call checkIpv4 first. */
export class Ipv4Packet {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get version(): number {
    return this.buf[this.off + IPV4.VER_IHL] >>> 4;
  }
  /** Header length in bytes (IHL * 4). */
  get headerLen(): number {
    return (this.buf[this.off + IPV4.VER_IHL] & 0x0f) * 4;
  }
  set headerLen(bytes: number) {
    this.buf[this.off + IPV4.VER_IHL] = 0x40 | ((bytes >>> 2) & 0x0f);
  }
  get dscp(): number {
    return this.buf[this.off + IPV4.DSCP_ECN] >>> 2;
  }
  set dscp(v: number) {
    const i = this.off + IPV4.DSCP_ECN;
    this.buf[i] = ((v & 0x3f) << 2) | (this.buf[i] & 0x03);
  }
  get ecn(): number {
    return this.buf[this.off + IPV4.DSCP_ECN] & 0x03;
  }
  set ecn(v: number) {
    const i = this.off + IPV4.DSCP_ECN;
    this.buf[i] = (this.buf[i] & 0xfc) | (v & 0x03);
  }
  get totalLen(): number {
    return readU16(this.buf, this.off + IPV4.TOTAL_LEN);
  }
  set totalLen(v: number) {
    writeU16(this.buf, this.off + IPV4.TOTAL_LEN, v);
  }
  get ident(): number {
    return readU16(this.buf, this.off + IPV4.IDENT);
  }
  set ident(v: number) {
    writeU16(this.buf, this.off + IPV4.IDENT, v);
  }
  private get flagsFrag(): number {
    return readU16(this.buf, this.off + IPV4.FLAGS_FRAG);
  }
  private set flagsFrag(v: number) {
    writeU16(this.buf, this.off + IPV4.FLAGS_FRAG, v);
  }
  get dontFragment(): boolean {
    return (this.flagsFrag & IPV4_FLAG_DF) !== 0;
  }
  set dontFragment(on: boolean) {
    this.flagsFrag = on ? this.flagsFrag | IPV4_FLAG_DF : this.flagsFrag & ~IPV4_FLAG_DF;
  }
  get moreFragments(): boolean {
    return (this.flagsFrag & IPV4_FLAG_MF) !== 0;
  }
  set moreFragments(on: boolean) {
    this.flagsFrag = on ? this.flagsFrag | IPV4_FLAG_MF : this.flagsFrag & ~IPV4_FLAG_MF;
  }
  /** Fragment offset in bytes. */
  get fragOffset(): number {
    return (this.flagsFrag & FRAG_OFFSET_MASK) * 8;
  }
  set fragOffset(bytes: number) {
    this.flagsFrag = (this.flagsFrag & ~FRAG_OFFSET_MASK) | ((bytes >>> 3) & FRAG_OFFSET_MASK);
  }
  get isFragment(): boolean {
    return (this.flagsFrag & (IPV4_FLAG_MF | FRAG_OFFSET_MASK)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + IPV4.TTL];
  }
  set ttl(v: number) {
    this.buf[this.off + IPV4.TTL] = v & 0xff;
  }
  get protocol(): number {
    return this.buf[this.off + IPV4.PROTOCOL];
  }
  set protocol(v: number) {
    this.buf[this.off + IPV4.PROTOCOL] = v & 0xff;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + IPV4.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + IPV4.CHECKSUM, v);
  }
  get src(): number {
    return readU32(this.buf, this.off + IPV4.SRC);
  }
  set src(v: number) {
    writeU32(this.buf, this.off + IPV4.SRC, v);
  }
  get dst(): number {
    return readU32(this.buf, this.off + IPV4.DST);
  }
  set dst(v: number) {
    writeU32(this.buf, this.off + IPV4.DST, v);
  }
  /** Option bytes (a view, not a copy). */
  options(): Uint8Array {
    return this.buf.subarray(this.off + IPV4.MIN_HEADER_LEN, this.off + this.headerLen);
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.totalLen);
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.headerLen);
  }
  verifyChecksum(): boolean {
    return internetChecksum(this.buf, this.off, this.headerLen) === 0;
  }
  /** Forwarding step: TTL - 1 with an RFC 1624 checksum update. Returns the new TTL. */
  decrementTtl(): number {
    const i = this.off + IPV4.TTL;
    const oldWord = readU16(this.buf, i);
    this.buf[i] = (this.buf[i] - 1) & 0xff;
    this.checksum = checksumUpdate16(this.checksum, oldWord, readU16(this.buf, i));
    return this.buf[i];
  }
  /** NAT: rewrite an address keeping the header checksum valid. L4 checksums are the caller's. */
  rewriteSrc(addr: number): void {
    this.checksum = updateForU32(this.checksum, this.src, addr);
    this.src = addr;
  }
  rewriteDst(addr: number): void {
    this.checksum = updateForU32(this.checksum, this.dst, addr);
    this.dst = addr;
  }
}

function updateForU32(csum: number, oldU32: number, newU32: number): number {
  return checksumUpdate16(checksumUpdate16(csum, oldU32 >>> 16, newU32 >>> 16), oldU32 & 0xffff, newU32 & 0xffff);
}

/** Validates the option list: each option must fit inside the header. */
function checkOptions(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const kind = buf[i];
    if (kind === 0) return 0; // End of Option List; the rest is padding.
    if (kind === 1) {
      i += 1;
      continue;
    }
    if (i + 1 >= end) return ParseErrorCode.Malformed;
    const optLen = buf[i + 1];
    if (optLen < 2 || i + optLen > end) return ParseErrorCode.Malformed;
    i += optLen;
  }
  return 0;
}

/**
 * Hot path, allocation free. 0 when buf[off..off+len) starts with a valid IPv4
 * packet whose total length fits in len, else a ParseErrorCode.
 */
export function checkIpv4(buf: Uint8Array, off: number, len: number): number {
  return checkIpv4Impl(buf, off, len, true, true);
}

/**
 * Structure only (version, header and total length, options), no checksum:
 * what a tc program's revalidate_data() checks. The kernel verifies the
 * checksum later, in ip_rcv, which redirected packets never reach.
 */
export function checkIpv4Structure(buf: Uint8Array, off: number, len: number): number {
  return checkIpv4Impl(buf, off, len, false, true);
}

function checkIpv4Impl(buf: Uint8Array, off: number, len: number, verifySum: boolean, checkTotalLen: boolean): number {
  if (len < IPV4.MIN_HEADER_LEN) return ParseErrorCode.Truncated;
  const verIhl = buf[off + IPV4.VER_IHL];
  if (verIhl >>> 4 !== 4) return ParseErrorCode.Malformed;
  const headerLen = (verIhl & 0x0f) * 4;
  if (headerLen < IPV4.MIN_HEADER_LEN) return ParseErrorCode.Malformed;
  if (headerLen > len) return ParseErrorCode.Truncated;
  if (checkTotalLen) {
    const totalLen = readU16(buf, off + IPV4.TOTAL_LEN);
    if (totalLen < headerLen) return ParseErrorCode.Malformed;
    if (totalLen > len) return ParseErrorCode.Truncated;
  }
  if (verifySum && internetChecksum(buf, off, headerLen) !== 0) return ParseErrorCode.BadChecksum;
  return checkOptions(buf, off + IPV4.MIN_HEADER_LEN, off + headerLen);
}

const CHECK_DETAIL: Record<number, string> = {
  [ParseErrorCode.Truncated]: 'packet shorter than its header or total length',
  [ParseErrorCode.Malformed]: 'bad version, header length, total length or options',
  [ParseErrorCode.BadChecksum]: 'header checksum mismatch',
};

function describe(buf: Uint8Array, off: number, len: number, code: number): string {
  if (len < IPV4.MIN_HEADER_LEN) return `${len} bytes, header needs 20`;
  const version = buf[off] >>> 4;
  const headerLen = (buf[off] & 0x0f) * 4;
  const totalLen = readU16(buf, off + IPV4.TOTAL_LEN);
  if (code === ParseErrorCode.Malformed) {
    if (version !== 4) return `version ${version}, expected 4`;
    if (headerLen < IPV4.MIN_HEADER_LEN) return `header length ${headerLen} < 20`;
    if (totalLen < headerLen) return `total length ${totalLen} < header length ${headerLen}`;
    return 'options overrun the header';
  }
  if (code === ParseErrorCode.Truncated) {
    if (headerLen > len) return `header length ${headerLen} > ${len} bytes available`;
    return `total length ${totalLen} > ${len} bytes available`;
  }
  return CHECK_DETAIL[code] ?? 'invalid';
}

export interface Ipv4ParseOptions {
  verifyChecksum?: boolean;
}

function readRepr(buf: Uint8Array, off: number): Ipv4Repr {
  const headerLen = (buf[off] & 0x0f) * 4;
  const flagsFrag = readU16(buf, off + IPV4.FLAGS_FRAG);
  const repr: Ipv4Repr = {
    src: readU32(buf, off + IPV4.SRC),
    dst: readU32(buf, off + IPV4.DST),
    protocol: buf[off + IPV4.PROTOCOL],
    ttl: buf[off + IPV4.TTL],
    payloadLen: readU16(buf, off + IPV4.TOTAL_LEN) - headerLen,
    ident: readU16(buf, off + IPV4.IDENT),
    dontFragment: (flagsFrag & IPV4_FLAG_DF) !== 0,
    moreFragments: (flagsFrag & IPV4_FLAG_MF) !== 0,
    fragOffset: (flagsFrag & FRAG_OFFSET_MASK) * 8,
    dscp: buf[off + IPV4.DSCP_ECN] >>> 2,
    ecn: buf[off + IPV4.DSCP_ECN] & 0x03,
    isFragment: (flagsFrag & (IPV4_FLAG_MF | FRAG_OFFSET_MASK)) !== 0,
  };
  if (headerLen > IPV4.MIN_HEADER_LEN) {
    repr.options = buf.slice(off + IPV4.MIN_HEADER_LEN, off + headerLen);
  }
  return repr;
}

/**
 * Parses an IPv4 header. Rejects version ≠ 4, IHL < 5, total length beyond
 * the available bytes or below the header, a bad checksum (unless disabled) and
 * options that overrun the header. Trailing bytes past total length (Ethernet
 * padding) are allowed.
 */
export function parseIpv4(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
  opts: Ipv4ParseOptions = {},
): Ipv4Repr | ParseFailure {
  const code = checkIpv4Impl(buf, off, len, opts.verifyChecksum ?? true, true);
  if (code !== 0) return parseFailure(code, 'ipv4', describe(buf, off, len, code));
  return readRepr(buf, off);
}

/**
 * Parses only the header, without comparing total length to the bytes
 * available and without the checksum: for the copy of the original header
 * inside ICMP errors.
 */
export function parseIpv4HeaderOnly(buf: Uint8Array, off = 0, len = buf.length - off): Ipv4Repr | ParseFailure {
  const code = checkIpv4Impl(buf, off, len, false, false);
  if (code !== 0) return parseFailure(code, 'ipv4', describe(buf, off, len, code));
  return readRepr(buf, off);
}

export function ipv4HeaderLen(repr: Ipv4Repr): number {
  const optLen = repr.options ? (repr.options.length + 3) & ~3 : 0;
  return IPV4.MIN_HEADER_LEN + optLen;
}

/** Writes the header (with checksum) at buf[off]; returns the header length. */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, off = 0): number {
  const headerLen = ipv4HeaderLen(repr);
  if (headerLen > IPV4_MAX_HEADER_LEN) throw new RangeError(`IPv4 options too long: header would be ${headerLen} bytes`);
  buf[off + IPV4.VER_IHL] = 0x40 | (headerLen >>> 2);
  buf[off + IPV4.DSCP_ECN] = (((repr.dscp ?? 0) & 0x3f) << 2) | ((repr.ecn ?? 0) & 0x03);
  writeU16(buf, off + IPV4.TOTAL_LEN, headerLen + repr.payloadLen);
  writeU16(buf, off + IPV4.IDENT, repr.ident ?? 0);
  let flagsFrag = ((repr.fragOffset ?? 0) >>> 3) & FRAG_OFFSET_MASK;
  if (repr.dontFragment) flagsFrag |= IPV4_FLAG_DF;
  if (repr.moreFragments) flagsFrag |= IPV4_FLAG_MF;
  writeU16(buf, off + IPV4.FLAGS_FRAG, flagsFrag);
  buf[off + IPV4.TTL] = repr.ttl & 0xff;
  buf[off + IPV4.PROTOCOL] = repr.protocol & 0xff;
  writeU16(buf, off + IPV4.CHECKSUM, 0);
  writeU32(buf, off + IPV4.SRC, repr.src);
  writeU32(buf, off + IPV4.DST, repr.dst);
  if (repr.options) {
    buf.set(repr.options, off + IPV4.MIN_HEADER_LEN);
    buf.fill(0, off + IPV4.MIN_HEADER_LEN + repr.options.length, off + headerLen);
  }
  writeU16(buf, off + IPV4.CHECKSUM, internetChecksum(buf, off, headerLen));
  return headerLen;
}
