// Classic libpcap files (nanosecond variant, magic 0xa1b23c4d), Ethernet link type.
import { writeFileSync } from 'node:fs';
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const PCAP_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** A timestamp: bigint nanoseconds, or a number of milliseconds (may be fractional). */
export type PcapTimestamp = bigint | number;

export interface PcapPacketInput {
  ts: PcapTimestamp;
  data: Uint8Array;
  /** Length on the wire when data was cut short; defaults to data.length. */
  origLen?: number;
}

function toNanos(ts: PcapTimestamp): bigint {
  if (typeof ts === 'bigint') return ts;
  return BigInt(Math.round(ts * 1e6));
}

function globalHeader(snaplen: number, linktype: number): Uint8Array {
  const h = new Uint8Array(PCAP_GLOBAL_HEADER_LEN);
  const dv = new DataView(h.buffer);
  // Little endian on disk; readers detect byte order from the magic.
  dv.setUint32(0, PCAP_MAGIC_NANOS, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true); // thiszone
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, linktype, true);
  return h;
}

export class PcapWriter {
  private readonly snaplen: number;

  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    opts: { snaplen?: number; linktype?: number } = {},
  ) {
    this.snaplen = opts.snaplen ?? PCAP_SNAPLEN;
    sink(globalHeader(this.snaplen, opts.linktype ?? LINKTYPE_ETHERNET));
  }

  /** Appends one record; bytes beyond the snaplen are cut and origLen keeps the real length. */
  writePacket(ts: PcapTimestamp, buf: Uint8Array, off = 0, len = buf.length - off, origLen = len): void {
    const ns = toNanos(ts);
    const capLen = Math.min(len, this.snaplen);
    const rec = new Uint8Array(PCAP_RECORD_HEADER_LEN + capLen);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, Number(ns / 1_000_000_000n), true);
    dv.setUint32(4, Number(ns % 1_000_000_000n), true);
    dv.setUint32(8, capLen, true);
    dv.setUint32(12, Math.max(origLen, capLen), true);
    rec.set(buf.subarray(off, off + capLen), PCAP_RECORD_HEADER_LEN);
    this.sink(rec);
  }
}

export function pcapToBuffer(packets: Iterable<PcapPacketInput>): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((c) => chunks.push(c));
  for (const p of packets) w.writePacket(p.ts, p.data, 0, p.data.length, p.origLen ?? p.data.length);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function writePcapFile(path: string, packets: Iterable<PcapPacketInput>): void {
  writeFileSync(path, pcapToBuffer(packets));
}

export interface PcapRecord {
  tsNs: bigint;
  data: Uint8Array;
  origLen: number;
}

export interface PcapFile {
  nanosecond: boolean;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
  packets: PcapRecord[];
}

/** Reads classic pcap in either byte order and either time resolution. */
export function readPcap(bytes: Uint8Array): PcapFile | ParseFailure {
  if (bytes.length < PCAP_GLOBAL_HEADER_LEN) return parseFailure(ParseErrorCode.Truncated, 'pcap', 'file shorter than the global header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let littleEndian: boolean;
  let nanosecond: boolean;
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (le === PCAP_MAGIC_NANOS || le === PCAP_MAGIC_MICROS) {
    littleEndian = true;
    nanosecond = le === PCAP_MAGIC_NANOS;
  } else if (be === PCAP_MAGIC_NANOS || be === PCAP_MAGIC_MICROS) {
    littleEndian = false;
    nanosecond = be === PCAP_MAGIC_NANOS;
  } else {
    return parseFailure(ParseErrorCode.Unsupported, 'pcap', `magic 0x${be.toString(16)} is not classic pcap`);
  }
  const file: PcapFile = {
    nanosecond,
    littleEndian,
    versionMajor: dv.getUint16(4, littleEndian),
    versionMinor: dv.getUint16(6, littleEndian),
    snaplen: dv.getUint32(16, littleEndian),
    linktype: dv.getUint32(20, littleEndian),
    packets: [],
  };
  let at = PCAP_GLOBAL_HEADER_LEN;
  while (at < bytes.length) {
    if (at + PCAP_RECORD_HEADER_LEN > bytes.length) return parseFailure(ParseErrorCode.Truncated, 'pcap', `record header at ${at} cut short`);
    const sec = dv.getUint32(at, littleEndian);
    const frac = dv.getUint32(at + 4, littleEndian);
    const capLen = dv.getUint32(at + 8, littleEndian);
    const origLen = dv.getUint32(at + 12, littleEndian);
    if (at + PCAP_RECORD_HEADER_LEN + capLen > bytes.length) return parseFailure(ParseErrorCode.Truncated, 'pcap', `record at ${at} cut short`);
    const tsNs = BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nanosecond ? 1n : 1000n);
    const start = at + PCAP_RECORD_HEADER_LEN;
    file.packets.push({ tsNs, data: bytes.slice(start, start + capLen), origLen });
    at = start + capLen;
  }
  return file;
}
