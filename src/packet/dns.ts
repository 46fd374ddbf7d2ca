// DNS messages (RFC 1035) with name compression, for CoreDNS, dig and nslookup.
import { ParseErrorCode, parseFailure, type ParseFailure } from './error.js';
import { readU16, readU32, writeU16, writeU32 } from './checksum.js';

export const enum DNS { ID = 0, FLAGS = 2, QDCOUNT = 4, ANCOUNT = 6, NSCOUNT = 8, ARCOUNT = 10, HEADER_LEN = 12 }

export const DNS_PORT = 53;
/** Classic UDP payload limit without EDNS0. */
export const DNS_UDP_MAX = 512;
const MAX_NAME_LEN = 255;
const MAX_LABEL_LEN = 63;
const POINTER_MASK = 0xc0;
const MAX_POINTER_TARGET = 0x3fff;

export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

export const enum DnsClass { IN = 1, ANY = 255 }

export const enum DnsOpcode { QUERY = 0, IQUERY = 1, STATUS = 2, NOTIFY = 4, UPDATE = 5 }

export const DnsRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsQuestion {
  /** Without the trailing dot; the root is "". */
  name: string;
  type: number;
  class: number;
}

export interface DnsSrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsMxData {
  preference: number;
  exchange: string;
}

export interface DnsSoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/**
 * Record data by type: A → IPv4 as u32; AAAA → 16 bytes; CNAME, PTR, NS → a
 * name; TXT → strings; SRV, MX, SOA → objects; anything else (OPT…) → raw bytes.
 */
export type DnsRecordData = number | string | string[] | Uint8Array | DnsSrvData | DnsMxData | DnsSoaData;

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: DnsRecordData;
}

export interface DnsMessage {
  id: number;
  /** true for a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** DNSSEC bits (RFC 4035); parse fills them, emit defaults them to false. */
  ad?: boolean;
  cd?: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
}

export function dnsTypeName(type: number): string {
  for (const [k, v] of Object.entries(DnsType)) if (v === type) return k;
  return `TYPE${type}`;
}

/** NOERROR, NXDOMAIN… as dig prints them. */
export function dnsRcodeName(rcode: number): string {
  for (const [k, v] of Object.entries(DnsRcode)) if (v === rcode) return k;
  return `RCODE${rcode}`;
}

/** The wording Hubble shows in "DNS Answer RCode: …" (gopacket's names). */
export function dnsRcodeText(rcode: number): string {
  const names = ['No Error', 'Format Error', 'Server Failure', 'Non-Existent Domain', 'Not Implemented', 'Query Refused'];
  return names[rcode] ?? `Unknown(${rcode})`;
}

// ---------------------------------------------------------------- parsing

class DnsParseError {
  constructor(
    readonly code: number,
    readonly detail: string,
  ) {}
}

/** Reader with bounds checks; a failed check throws a private error that parseDns turns into a value. */
class Reader {
  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}

  need(at: number, n: number, what: string): void {
    if (at + n > this.end) throw new DnsParseError(ParseErrorCode.Truncated, `${what} runs past the end of the message`);
  }

  /** Reads a possibly compressed name at absolute offset `at`; returns the name and the offset after it. */
  name(at: number): [string, number] {
    const labels: string[] = [];
    let pos = at;
    let after = -1; // where reading resumes once the first pointer has been followed
    let nameLen = 0;
    // Pointers must go strictly backwards (to a "prior occurrence", RFC 1035
    // 4.1.4), so every jump lowers `limit` and a loop is impossible.
    let limit = pos;
    for (;;) {
      this.need(pos, 1, 'name');
      const len = this.buf[pos];
      if ((len & POINTER_MASK) === POINTER_MASK) {
        this.need(pos, 2, 'compression pointer');
        const target = this.start + (readU16(this.buf, pos) & MAX_POINTER_TARGET);
        if (after < 0) after = pos + 2;
        if (target >= limit) throw new DnsParseError(ParseErrorCode.Malformed, `compression pointer at ${pos - this.start} does not point backwards (loop)`);
        limit = target;
        pos = target;
        continue;
      }
      if ((len & POINTER_MASK) !== 0) throw new DnsParseError(ParseErrorCode.Malformed, `label type 0x${(len & POINTER_MASK).toString(16)} is not supported`);
      if (len === 0) {
        pos += 1;
        break;
      }
      this.need(pos + 1, len, 'label');
      nameLen += len + 1;
      if (nameLen > MAX_NAME_LEN) throw new DnsParseError(ParseErrorCode.Malformed, 'name longer than 255 bytes');
      let label = '';
      for (let i = 0; i < len; i++) label += String.fromCharCode(this.buf[pos + 1 + i]);
      labels.push(label);
      pos += 1 + len;
      if (after < 0) limit = pos;
    }
    return [labels.join('.'), after >= 0 ? after : pos];
  }
}

function readRecord(r: Reader, at: number): [DnsRecord, number] {
  const [name, p] = r.name(at);
  r.need(p, 10, 'record header');
  const type = readU16(r.buf, p);
  const klass = readU16(r.buf, p + 2);
  const ttl = readU32(r.buf, p + 4);
  const rdlen = readU16(r.buf, p + 8);
  const rd = p + 10;
  r.need(rd, rdlen, 'record data');
  const end = rd + rdlen;
  const sub = new Reader(r.buf, r.start, end); // names inside rdata must stay inside it
  const exact = (n: number): void => {
    if (rdlen !== n) throw new DnsParseError(ParseErrorCode.Malformed, `${dnsTypeName(type)} record with ${rdlen} bytes of data`);
  };
  const nameFilling = (from: number): [string, number] => {
    const [n, q] = sub.name(from);
    return [n, q];
  };
  let data: DnsRecordData;
  switch (type) {
    case DnsType.A:
      exact(4);
      data = readU32(r.buf, rd);
      break;
    case DnsType.AAAA:
      exact(16);
      data = r.buf.slice(rd, end);
      break;
    case DnsType.CNAME:
    case DnsType.PTR:
    case DnsType.NS: {
      const [n, q] = nameFilling(rd);
      if (q !== end) throw new DnsParseError(ParseErrorCode.Malformed, `${dnsTypeName(type)} data has trailing bytes`);
      data = n;
      break;
    }
    case DnsType.MX: {
      sub.need(rd, 2, 'MX preference');
      const [exchange, q] = nameFilling(rd + 2);
      if (q !== end) throw new DnsParseError(ParseErrorCode.Malformed, 'MX data has trailing bytes');
      data = { preference: readU16(r.buf, rd), exchange };
      break;
    }
    case DnsType.SRV: {
      sub.need(rd, 6, 'SRV fields');
      const [target, q] = nameFilling(rd + 6);
      if (q !== end) throw new DnsParseError(ParseErrorCode.Malformed, 'SRV data has trailing bytes');
      data = { priority: readU16(r.buf, rd), weight: readU16(r.buf, rd + 2), port: readU16(r.buf, rd + 4), target };
      break;
    }
    case DnsType.SOA: {
      const [mname, q1] = nameFilling(rd);
      const [rname, q2] = nameFilling(q1);
      sub.need(q2, 20, 'SOA fields');
      if (q2 + 20 !== end) throw new DnsParseError(ParseErrorCode.Malformed, 'SOA data has trailing bytes');
      data = {
        mname,
        rname,
        serial: readU32(r.buf, q2),
        refresh: readU32(r.buf, q2 + 4),
        retry: readU32(r.buf, q2 + 8),
        expire: readU32(r.buf, q2 + 12),
        minimum: readU32(r.buf, q2 + 16),
      };
      break;
    }
    case DnsType.TXT: {
      const strings: string[] = [];
      let q = rd;
      while (q < end) {
        const n = r.buf[q];
        sub.need(q + 1, n, 'TXT string');
        strings.push(new TextDecoder().decode(r.buf.subarray(q + 1, q + 1 + n)));
        q += 1 + n;
      }
      data = strings;
      break;
    }
    default:
      data = r.buf.slice(rd, end);
  }
  return [{ name, type, class: klass, ttl, data }, end];
}

/** Parses a DNS message in buf[off..off+len) (a UDP payload, or a TCP message without its length prefix). */
export function parseDns(buf: Uint8Array, off = 0, len = buf.length - off): DnsMessage | ParseFailure {
  if (len < DNS.HEADER_LEN) return parseFailure(ParseErrorCode.Truncated, 'dns', `${len} bytes, header needs 12`);
  const r = new Reader(buf, off, off + len);
  const flags = readU16(buf, off + DNS.FLAGS);
  const msg: DnsMessage = {
    id: readU16(buf, off + DNS.ID),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0x0f,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0x0f,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
  try {
    let p = off + DNS.HEADER_LEN;
    const qd = readU16(buf, off + DNS.QDCOUNT);
    for (let i = 0; i < qd; i++) {
      const [name, q] = r.name(p);
      r.need(q, 4, 'question');
      msg.questions.push({ name, type: readU16(buf, q), class: readU16(buf, q + 2) });
      p = q + 4;
    }
    const sections: [DnsRecord[], number][] = [
      [msg.answers, readU16(buf, off + DNS.ANCOUNT)],
      [msg.authority, readU16(buf, off + DNS.NSCOUNT)],
      [msg.additional, readU16(buf, off + DNS.ARCOUNT)],
    ];
    for (const [list, count] of sections) {
      for (let i = 0; i < count; i++) {
        const [rec, q] = readRecord(r, p);
        list.push(rec);
        p = q;
      }
    }
  } catch (e) {
    if (e instanceof DnsParseError) return parseFailure(e.code, 'dns', e.detail);
    throw e;
  }
  return msg;
}

// ---------------------------------------------------------------- emitting

class Writer {
  buf = new Uint8Array(512);
  len = 0;
  /** Name suffix → offset of its first occurrence, for compression. */
  private readonly suffixes = new Map<string, number>();

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number): void {
    this.grow(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.grow(2);
    writeU16(this.buf, this.len, v);
    this.len += 2;
  }
  u32(v: number): void {
    this.grow(4);
    writeU32(this.buf, this.len, v);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  name(name: string, compress: boolean): void {
    const labels = splitName(name);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const prior = compress ? this.suffixes.get(suffix) : undefined;
      if (prior !== undefined) {
        this.u16(0xc000 | prior);
        return;
      }
      if (this.len <= MAX_POINTER_TARGET && !this.suffixes.has(suffix)) this.suffixes.set(suffix, this.len);
      const label = labels[i];
      this.u8(label.length);
      for (let j = 0; j < label.length; j++) this.u8(label.charCodeAt(j));
    }
    this.u8(0);
  }
}

/** Splits and validates a name: labels of 1..63 bytes, 255 bytes in all. A trailing dot is allowed. */
function splitName(name: string): string[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  const labels = trimmed.split('.');
  let total = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > MAX_LABEL_LEN) throw new RangeError(`DNS name "${name}": label "${l}" must be 1..63 bytes`);
    for (let i = 0; i < l.length; i++) {
      if (l.charCodeAt(i) > 0xff) throw new RangeError(`DNS name "${name}": non-ASCII label`);
    }
    total += l.length + 1;
  }
  if (total > MAX_NAME_LEN) throw new RangeError(`DNS name "${name}" is longer than 255 bytes`);
  return labels;
}

function writeRecord(w: Writer, rec: DnsRecord): void {
  w.name(rec.name, true);
  w.u16(rec.type);
  w.u16(rec.class);
  w.u32(rec.ttl);
  const lenAt = w.len;
  w.u16(0);
  const d = rec.data;
  const bad = (): never => {
    throw new TypeError(`DNS ${dnsTypeName(rec.type)} record for "${rec.name}" has data of the wrong shape`);
  };
  switch (rec.type) {
    case DnsType.A:
      if (typeof d !== 'number') bad();
      w.u32(d as number);
      break;
    case DnsType.AAAA:
      if (!(d instanceof Uint8Array) || d.length !== 16) bad();
      w.bytes(d as Uint8Array);
      break;
    case DnsType.CNAME:
    case DnsType.PTR:
    case DnsType.NS:
      if (typeof d !== 'string') bad();
      w.name(d as string, true);
      break;
    case DnsType.MX: {
      const mx = d as DnsMxData;
      if (typeof mx !== 'object' || typeof mx.exchange !== 'string') bad();
      w.u16(mx.preference);
      w.name(mx.exchange, true);
      break;
    }
    case DnsType.SRV: {
      const srv = d as DnsSrvData;
      if (typeof srv !== 'object' || typeof srv.target !== 'string') bad();
      w.u16(srv.priority);
      w.u16(srv.weight);
      w.u16(srv.port);
      w.name(srv.target, false); // RFC 2782: the target is not compressed
      break;
    }
    case DnsType.SOA: {
      const soa = d as DnsSoaData;
      if (typeof soa !== 'object' || typeof soa.mname !== 'string') bad();
      w.name(soa.mname, true);
      w.name(soa.rname, true);
      w.u32(soa.serial);
      w.u32(soa.refresh);
      w.u32(soa.retry);
      w.u32(soa.expire);
      w.u32(soa.minimum);
      break;
    }
    case DnsType.TXT: {
      if (!Array.isArray(d)) bad();
      for (const s of d as string[]) {
        const b = new TextEncoder().encode(s);
        if (b.length > 255) throw new RangeError('TXT string longer than 255 bytes');
        w.u8(b.length);
        w.bytes(b);
      }
      break;
    }
    default:
      if (!(d instanceof Uint8Array)) bad();
      w.bytes(d as Uint8Array);
  }
  writeU16(w.buf, lenAt, w.len - lenAt - 2);
}

function flagsWord(m: DnsMessage): number {
  return (
    (m.qr ? 0x8000 : 0) |
    ((m.opcode & 0x0f) << 11) |
    (m.aa ? 0x0400 : 0) |
    (m.tc ? 0x0200 : 0) |
    (m.rd ? 0x0100 : 0) |
    (m.ra ? 0x0080 : 0) |
    (m.ad ? 0x0020 : 0) |
    (m.cd ? 0x0010 : 0) |
    (m.rcode & 0x0f)
  );
}

export interface DnsEmitOptions {
  /**
   * Size limit (e.g. 512 for UDP without EDNS0). A longer message is sent as
   * the header and questions only with TC set, telling the client to retry over TCP.
   */
  maxSize?: number;
}

/**
 * Serialises a message with name compression. Throws RangeError/TypeError for
 * a repr that cannot be encoded (a name label over 63 bytes, data of the wrong
 * shape): that is a programming error, not bad input from the wire.
 */
export function emitDns(msg: DnsMessage, opts: DnsEmitOptions = {}): Uint8Array {
  const full = encode(msg);
  if (opts.maxSize === undefined || full.length <= opts.maxSize) return full;
  return encode({ ...msg, tc: true, answers: [], authority: [], additional: [] });
}

function encode(msg: DnsMessage): Uint8Array {
  const w = new Writer();
  w.u16(msg.id);
  w.u16(flagsWord(msg));
  w.u16(msg.questions.length);
  w.u16(msg.answers.length);
  w.u16(msg.authority.length);
  w.u16(msg.additional.length);
  for (const q of msg.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const list of [msg.answers, msg.authority, msg.additional]) {
    for (const rec of list) writeRecord(w, rec);
  }
  return w.buf.slice(0, w.len);
}

/** A standard recursive query, as dig/nslookup send it. */
export function dnsQuery(id: number, name: string, type: number = DnsType.A): DnsMessage {
  return {
    id,
    qr: false,
    opcode: DnsOpcode.QUERY,
    aa: false,
    tc: false,
    rd: true,
    ra: false,
    rcode: DnsRcode.NOERROR,
    questions: [{ name, type, class: DnsClass.IN }],
    answers: [],
    authority: [],
    additional: [],
  };
}

/** A response skeleton for a query: same id, questions and RD; RA set as CoreDNS does. */
export function dnsResponseFor(query: DnsMessage, rcode: number, answers: DnsRecord[] = [], authoritative = true): DnsMessage {
  return {
    id: query.id,
    qr: true,
    opcode: query.opcode,
    aa: authoritative,
    tc: false,
    rd: query.rd,
    ra: true,
    rcode,
    questions: query.questions.map((q) => ({ ...q })),
    answers,
    authority: [],
    additional: [],
  };
}
