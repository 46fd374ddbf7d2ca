// Ethernet II frames (no FCS: like a tap or AF_PACKET, frames end at payload).
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import { readMac, writeMac } from './mac.js';
import { readU16, writeU16 } from './checksum.js';

export const enum ETH { DST = 0, SRC = 6, ETHERTYPE = 12, HEADER_LEN = 14 }

export const enum EtherType { IPv4 = 0x0800, ARP = 0x0806, IPv6 = 0x86dd, VLAN = 0x8100 }

export interface EthernetRepr {
  src: number;
  dst: number;
  ethertype: number;
}

/** Zero-copy view over an Ethernet frame at buf[off..off+len). */
export class EthernetFrame {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  get dst(): number {
    return readMac(this.buf, this.off + ETH.DST);
  }
  set dst(mac: number) {
    writeMac(this.buf, this.off + ETH.DST, mac);
  }
  get src(): number {
    return readMac(this.buf, this.off + ETH.SRC);
  }
  set src(mac: number) {
    writeMac(this.buf, this.off + ETH.SRC, mac);
  }
  get ethertype(): number {
    return readU16(this.buf, this.off + ETH.ETHERTYPE);
  }
  set ethertype(v: number) {
    writeU16(this.buf, this.off + ETH.ETHERTYPE, v);
  }
  get payloadOffset(): number {
    return this.off + ETH.HEADER_LEN;
  }
  get payloadLen(): number {
    return this.len - ETH.HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.len);
  }
}

/** Hot path: 0 when an Ethernet header fits, else a ParseErrorCode. */
export function checkEthernet(_buf: Uint8Array, _off: number, len: number): number {
  return len < ETH.HEADER_LEN ? ParseErrorCode.Truncated : 0;
}

export function parseEthernet(buf: Uint8Array, off = 0, len = buf.length - off): EthernetRepr | ParseFailure {
  if (len < ETH.HEADER_LEN) {
    return parseFailure(ParseErrorCode.Truncated, 'ethernet', `frame of ${len} bytes is shorter than the 14-byte header`);
  }
  return {
    dst: readMac(buf, off + ETH.DST),
    src: readMac(buf, off + ETH.SRC),
    ethertype: readU16(buf, off + ETH.ETHERTYPE),
  };
}

/** Writes the 14-byte header; returns the header length. */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off = 0): number {
  writeMac(buf, off + ETH.DST, repr.dst);
  writeMac(buf, off + ETH.SRC, repr.src);
  writeU16(buf, off + ETH.ETHERTYPE, repr.ethertype);
  return ETH.HEADER_LEN;
}

export function etherTypeName(t: number): string {
  switch (t) {
    case EtherType.IPv4:
      return 'IPv4';
    case EtherType.ARP:
      return 'ARP';
    case EtherType.IPv6:
      return 'IPv6';
    case EtherType.VLAN:
      return 'VLAN';
    default:
      return `0x${t.toString(16).padStart(4, '0')}`;
  }
}
