// ARP for Ethernet + IPv4 (RFC 826): the only hardware/protocol pair we carry.
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import { readU16, readU32, writeU16, writeU32 } from './checksum.js';
import { readMac, writeMac } from './mac.js';
import { EtherType } from './ethernet.js';

export const enum ARP {
  HTYPE = 0,
  PTYPE = 2,
  HLEN = 4,
  PLEN = 5,
  OPER = 6,
  SHA = 8,
  SPA = 14,
  THA = 18,
  TPA = 24,
  LEN = 28,
}

export const ARP_HTYPE_ETHERNET = 1;

export const enum ArpOp { Request = 1, Reply = 2 }

export interface ArpRepr {
  op: number;
  /** Sender hardware (MAC) and protocol (IPv4) address. */
  sha: number;
  spa: number;
  /** Target hardware and protocol address (tha is 0 in a request). */
  tha: number;
  tpa: number;
}

export class ArpPacket {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get htype(): number {
    return readU16(this.buf, this.off + ARP.HTYPE);
  }
  get ptype(): number {
    return readU16(this.buf, this.off + ARP.PTYPE);
  }
  get hlen(): number {
    return this.buf[this.off + ARP.HLEN];
  }
  get plen(): number {
    return this.buf[this.off + ARP.PLEN];
  }
  get op(): number {
    return readU16(this.buf, this.off + ARP.OPER);
  }
  set op(v: number) {
    writeU16(this.buf, this.off + ARP.OPER, v);
  }
  get sha(): number {
    return readMac(this.buf, this.off + ARP.SHA);
  }
  set sha(v: number) {
    writeMac(this.buf, this.off + ARP.SHA, v);
  }
  get spa(): number {
    return readU32(this.buf, this.off + ARP.SPA);
  }
  set spa(v: number) {
    writeU32(this.buf, this.off + ARP.SPA, v);
  }
  get tha(): number {
    return readMac(this.buf, this.off + ARP.THA);
  }
  set tha(v: number) {
    writeMac(this.buf, this.off + ARP.THA, v);
  }
  get tpa(): number {
    return readU32(this.buf, this.off + ARP.TPA);
  }
  set tpa(v: number) {
    writeU32(this.buf, this.off + ARP.TPA, v);
  }
}

/** Hot path: 0 for a well-formed Ethernet/IPv4 request or reply. */
export function checkArp(buf: Uint8Array, off: number, len: number): number {
  if (len < ARP.LEN) return ParseErrorCode.Truncated;
  if (
    readU16(buf, off + ARP.HTYPE) !== ARP_HTYPE_ETHERNET ||
    readU16(buf, off + ARP.PTYPE) !== EtherType.IPv4 ||
    buf[off + ARP.HLEN] !== 6 ||
    buf[off + ARP.PLEN] !== 4
  ) {
    return ParseErrorCode.Unsupported;
  }
  const op = readU16(buf, off + ARP.OPER);
  if (op !== ArpOp.Request && op !== ArpOp.Reply) return ParseErrorCode.Malformed;
  return 0;
}

export function parseArp(buf: Uint8Array, off = 0, len = buf.length - off): ArpRepr | ParseFailure {
  const code = checkArp(buf, off, len);
  if (code === ParseErrorCode.Truncated) return parseFailure(code, 'arp', `${len} bytes, ARP needs 28`);
  if (code === ParseErrorCode.Unsupported) {
    return parseFailure(code, 'arp', `htype ${readU16(buf, off)} ptype 0x${readU16(buf, off + 2).toString(16)} is not Ethernet/IPv4`);
  }
  if (code !== 0) return parseFailure(code, 'arp', `operation ${readU16(buf, off + ARP.OPER)} is neither request nor reply`);
  return {
    op: readU16(buf, off + ARP.OPER),
    sha: readMac(buf, off + ARP.SHA),
    spa: readU32(buf, off + ARP.SPA),
    tha: readMac(buf, off + ARP.THA),
    tpa: readU32(buf, off + ARP.TPA),
  };
}

/** Writes the 28-byte ARP body; returns its length. */
export function emitArp(repr: ArpRepr, buf: Uint8Array, off = 0): number {
  writeU16(buf, off + ARP.HTYPE, ARP_HTYPE_ETHERNET);
  writeU16(buf, off + ARP.PTYPE, EtherType.IPv4);
  buf[off + ARP.HLEN] = 6;
  buf[off + ARP.PLEN] = 4;
  writeU16(buf, off + ARP.OPER, repr.op);
  writeMac(buf, off + ARP.SHA, repr.sha);
  writeU32(buf, off + ARP.SPA, repr.spa);
  writeMac(buf, off + ARP.THA, repr.tha);
  writeU32(buf, off + ARP.TPA, repr.tpa);
  return ARP.LEN;
}
