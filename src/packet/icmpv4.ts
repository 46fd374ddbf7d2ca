// ICMPv4 (RFC 792): echo, destination unreachable, time exceeded.
import { ParseErrorCode, parseFailure, type ParseFailure, isParseFailure } from './error.js';
import { internetChecksum, readU16, writeU16 } from './checksum.js';
import { emitIpv4, ipv4HeaderLen, parseIpv4HeaderOnly, type Ipv4Repr } from './ipv4.js';

export const enum ICMP {
  TYPE = 0,
  CODE = 1,
  CHECKSUM = 2,
  /** Echo identifier. */
  IDENT = 4,
  /** Echo sequence number. */
  SEQ = 6,
  /** Destination unreachable / fragmentation needed: next-hop MTU. */
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values -- bytes 4-7 are a union (echo id/seq, or unused/next-hop MTU)
  NEXT_HOP_MTU = 6,
  HEADER_LEN = 8,
}

export const enum Icmpv4Type { EchoReply = 0, DestinationUnreachable = 3, EchoRequest = 8, TimeExceeded = 11 }

export const enum Icmpv4DstUnreachCode {
  NetUnreachable = 0,
  HostUnreachable = 1,
  ProtocolUnreachable = 2,
  PortUnreachable = 3,
  FragmentationNeeded = 4,
}

export const enum Icmpv4TimeExceededCode { TtlExceeded = 0, FragmentReassembly = 1 }

/** How many bytes of the original datagram's payload an error quotes (RFC 792). */
export const ICMP_ERROR_QUOTE_LEN = 8;

export interface IcmpEchoRepr {
  kind: 'echoRequest' | 'echoReply';
  ident: number;
  seq: number;
  data: Uint8Array;
}

export interface IcmpDstUnreachableRepr {
  kind: 'dstUnreachable';
  code: number;
  /** Only meaningful for FragmentationNeeded (RFC 1191). */
  nextHopMtu?: number;
  /** The original datagram's IPv4 header. */
  header: Ipv4Repr;
  /** Leading bytes of the original payload (normally 8: the L4 ports). */
  data: Uint8Array;
}

export interface IcmpTimeExceededRepr {
  kind: 'timeExceeded';
  code: number;
  header: Ipv4Repr;
  data: Uint8Array;
}

export type Icmpv4Repr = IcmpEchoRepr | IcmpDstUnreachableRepr | IcmpTimeExceededRepr;

/** Zero-copy view over an ICMPv4 message. */
export class Icmpv4Packet {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get type(): number {
    return this.buf[this.off + ICMP.TYPE];
  }
  set type(v: number) {
    this.buf[this.off + ICMP.TYPE] = v & 0xff;
  }
  get code(): number {
    return this.buf[this.off + ICMP.CODE];
  }
  set code(v: number) {
    this.buf[this.off + ICMP.CODE] = v & 0xff;
  }
  get checksum(): number {
    return readU16(this.buf, this.off + ICMP.CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.buf, this.off + ICMP.CHECKSUM, v);
  }
  get echoIdent(): number {
    return readU16(this.buf, this.off + ICMP.IDENT);
  }
  set echoIdent(v: number) {
    writeU16(this.buf, this.off + ICMP.IDENT, v);
  }
  get echoSeq(): number {
    return readU16(this.buf, this.off + ICMP.SEQ);
  }
  set echoSeq(v: number) {
    writeU16(this.buf, this.off + ICMP.SEQ, v);
  }
  get nextHopMtu(): number {
    return readU16(this.buf, this.off + ICMP.NEXT_HOP_MTU);
  }
  get isError(): boolean {
    return this.type === Icmpv4Type.DestinationUnreachable || this.type === Icmpv4Type.TimeExceeded;
  }
  get dataOffset(): number {
    return this.off + ICMP.HEADER_LEN;
  }
  data(): Uint8Array {
    return this.buf.subarray(this.dataOffset, this.off + this.len);
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.len);
  }
  verifyChecksum(): boolean {
    return internetChecksum(this.buf, this.off, this.len) === 0;
  }
}

/** Hot path: length and checksum; 0 when valid. */
export function checkIcmpv4(buf: Uint8Array, off: number, len: number): number {
  if (len < ICMP.HEADER_LEN) return ParseErrorCode.Truncated;
  if (internetChecksum(buf, off, len) !== 0) return ParseErrorCode.BadChecksum;
  return 0;
}

export interface Icmpv4ParseOptions {
  verifyChecksum?: boolean;
}

/** Parses the message in buf[off..off+len) (len = IPv4 payload length). */
export function parseIcmpv4(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: Icmpv4ParseOptions = {},
): Icmpv4Repr | ParseFailure {
  if (len < ICMP.HEADER_LEN) return parseFailure(ParseErrorCode.Truncated, 'icmpv4', `${len} bytes, header needs 8`);
  if ((opts.verifyChecksum ?? true) && internetChecksum(buf, off, len) !== 0) {
    return parseFailure(ParseErrorCode.BadChecksum, 'icmpv4', `checksum 0x${readU16(buf, off + ICMP.CHECKSUM).toString(16)} is wrong`);
  }
  const type = buf[off + ICMP.TYPE];
  const code = buf[off + ICMP.CODE];
  switch (type) {
    case Icmpv4Type.EchoRequest:
    case Icmpv4Type.EchoReply:
      if (code !== 0) return parseFailure(ParseErrorCode.Malformed, 'icmpv4', `echo with code ${code}`);
      return {
        kind: type === Icmpv4Type.EchoRequest ? 'echoRequest' : 'echoReply',
        ident: readU16(buf, off + ICMP.IDENT),
        seq: readU16(buf, off + ICMP.SEQ),
        data: buf.subarray(off + ICMP.HEADER_LEN, off + len),
      };
    case Icmpv4Type.DestinationUnreachable:
    case Icmpv4Type.TimeExceeded: {
      const inner = parseIpv4HeaderOnly(buf, off + ICMP.HEADER_LEN, len - ICMP.HEADER_LEN);
      if (isParseFailure(inner)) {
        return parseFailure(inner.error, 'icmpv4', `quoted IPv4 header: ${inner.detail}`);
      }
      const dataStart = off + ICMP.HEADER_LEN + ipv4HeaderLen(inner);
      const data = buf.subarray(dataStart, off + len);
      if (type === Icmpv4Type.TimeExceeded) return { kind: 'timeExceeded', code, header: inner, data };
      const repr: IcmpDstUnreachableRepr = { kind: 'dstUnreachable', code, header: inner, data };
      if (code === Icmpv4DstUnreachCode.FragmentationNeeded) repr.nextHopMtu = readU16(buf, off + ICMP.NEXT_HOP_MTU);
      return repr;
    }
    default:
      return parseFailure(ParseErrorCode.Unsupported, 'icmpv4', `type ${type} code ${code} not supported`);
  }
}

export function icmpv4Len(repr: Icmpv4Repr): number {
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      return ICMP.HEADER_LEN + repr.data.length;
    case 'dstUnreachable':
    case 'timeExceeded':
      return ICMP.HEADER_LEN + ipv4HeaderLen(repr.header) + repr.data.length;
  }
}

/** Writes the message with checksum; returns bytes written. */
export function emitIcmpv4(repr: Icmpv4Repr, buf: Uint8Array, off = 0): number {
  let len: number;
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      buf[off + ICMP.TYPE] = repr.kind === 'echoRequest' ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply;
      buf[off + ICMP.CODE] = 0;
      writeU16(buf, off + ICMP.IDENT, repr.ident);
      writeU16(buf, off + ICMP.SEQ, repr.seq);
      buf.set(repr.data, off + ICMP.HEADER_LEN);
      len = ICMP.HEADER_LEN + repr.data.length;
      break;
    case 'dstUnreachable':
    case 'timeExceeded': {
      buf[off + ICMP.TYPE] = repr.kind === 'dstUnreachable' ? Icmpv4Type.DestinationUnreachable : Icmpv4Type.TimeExceeded;
      buf[off + ICMP.CODE] = repr.code & 0xff;
      writeU16(buf, off + 4, 0);
      const mtu = repr.kind === 'dstUnreachable' ? (repr.nextHopMtu ?? 0) : 0;
      writeU16(buf, off + ICMP.NEXT_HOP_MTU, mtu);
      const hl = emitIpv4(repr.header, buf, off + ICMP.HEADER_LEN);
      buf.set(repr.data, off + ICMP.HEADER_LEN + hl);
      len = ICMP.HEADER_LEN + hl + repr.data.length;
      break;
    }
  }
  writeU16(buf, off + ICMP.CHECKSUM, 0);
  writeU16(buf, off + ICMP.CHECKSUM, internetChecksum(buf, off, len));
  return len;
}

/**
 * Builds the body of an ICMP error quoting an offending packet: its IPv4
 * header as received plus the first 8 payload bytes. Copies bytes verbatim
 * rather than re-emitting, so the quoted checksum is the original one.
 */
export function quoteForIcmpError(ipBuf: Uint8Array, ipOff: number, ipLen: number): Uint8Array {
  const headerLen = (ipBuf[ipOff] & 0x0f) * 4;
  const end = Math.min(ipLen, headerLen + ICMP_ERROR_QUOTE_LEN);
  return ipBuf.slice(ipOff, ipOff + end);
}

/** gopacket-style type/code name, as Cilium and Hubble print it: "EchoRequest", "DestinationUnreachable(Port)". */
export function icmpv4TypeCodeName(type: number, code: number): string {
  switch (type) {
    case Icmpv4Type.EchoReply:
      return code === 0 ? 'EchoReply' : `EchoReply(Code: ${code})`;
    case Icmpv4Type.EchoRequest:
      return code === 0 ? 'EchoRequest' : `EchoRequest(Code: ${code})`;
    case Icmpv4Type.DestinationUnreachable: {
      const names = ['Net', 'Host', 'Protocol', 'Port', 'FragmentationNeeded', 'SourceRoutingFailed', 'NetUnknown', 'HostUnknown', 'SourceIsolated', 'NetAdminProhibited', 'HostAdminProhibited', 'NetTOS', 'HostTOS', 'CommAdminProhibited', 'HostPrecedence', 'PrecedenceCutoff'];
      return `DestinationUnreachable(${names[code] ?? `Code: ${code}`})`;
    }
    case Icmpv4Type.TimeExceeded:
      return `TimeExceeded(${code === 0 ? 'TTLExceeded' : code === 1 ? 'FragmentReassemblyTimeExceeded' : `Code: ${code}`})`;
    case 4:
      return 'SourceQuench';
    case 5:
      return 'Redirect';
    case 12:
      return 'ParameterProblem';
    case 13:
      return 'TimestampRequest';
    case 14:
      return 'TimestampReply';
    default:
      return `${type}(${code})`;
  }
}
