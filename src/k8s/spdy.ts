// SPDY/3.1 framing (the spdy-protocol-draft3 and its 3.1 revision), as
// Kubernetes still speaks it for port-forward: kubectl and the kubelet use
// moby/spdystream, either on the raw connection after `Upgrade: SPDY/3.1` or
// tunnelled inside WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`).
//
// Frames are parsed from and emitted into byte arrays with the offsets below;
// a parse error is a value, never an exception, so a malformed frame from the
// network cannot unwind the connection. Header blocks are compressed with one
// zlib stream per direction, primed with the draft's dictionary.

import { constants as zlibConstants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { readU16, readU32, writeU16, writeU32 } from '../packet/checksum.js';
import { ParseErrorCode, parseFailure, type ParseFailure } from '../packet/error.js';

export const SPDY_VERSION = 3;

/** Offsets from a frame's first byte. Control frames: C(1) version(15) type(16) flags(8) length(24); data frames: C(1) stream-id(31) flags(8) length(24). */
export const SPDY = {
  WORD0: 0,
  VERSION: 0,
  TYPE: 2,
  STREAM_ID: 0,
  FLAGS: 4,
  LENGTH: 5,
  HEADER_LEN: 8,
  /** The payload of a control frame, or a data frame's data. */
  PAYLOAD: 8,
} as const;

/** Payload offsets (from the payload's first byte) of the control frames that carry more than a header block. */
export const SYN_STREAM = { STREAM_ID: 0, ASSOCIATED_TO: 4, PRIORITY: 8, SLOT: 9, HEADER_BLOCK: 10 } as const;
export const SYN_REPLY = { STREAM_ID: 0, HEADER_BLOCK: 4 } as const;
export const HEADERS = { STREAM_ID: 0, HEADER_BLOCK: 4 } as const;
export const RST_STREAM = { STREAM_ID: 0, STATUS: 4, LEN: 8 } as const;
export const SETTINGS = { COUNT: 0, ENTRIES: 4, ENTRY_LEN: 8 } as const;
export const PING = { ID: 0, LEN: 4 } as const;
export const GOAWAY = { LAST_GOOD_STREAM_ID: 0, STATUS: 4, LEN: 8 } as const;
export const WINDOW_UPDATE = { STREAM_ID: 0, DELTA: 4, LEN: 8 } as const;

export const ControlType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const SettingsId = {
  UPLOAD_BANDWIDTH: 1,
  DOWNLOAD_BANDWIDTH: 2,
  ROUND_TRIP_TIME: 3,
  MAX_CONCURRENT_STREAMS: 4,
  CURRENT_CWND: 5,
  DOWNLOAD_RETRANS_RATE: 6,
  INITIAL_WINDOW_SIZE: 7,
  CLIENT_CERTIFICATE_VECTOR_SIZE: 8,
} as const;

/** A stream's (and, in 3.1, the session's) window before any WINDOW_UPDATE or SETTINGS. */
export const DEFAULT_WINDOW = 64 * 1024;
export const MAX_STREAM_ID = 0x7fffffff;
export const MAX_FRAME_LENGTH = 0xffffff;

export interface SettingsEntry {
  flags: number;
  id: number;
  value: number;
}

export type SpdyFrame =
  | { type: 'data'; streamId: number; flags: number; data: Uint8Array }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; slot: number; flags: number; headerBlock: Uint8Array }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Uint8Array }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Uint8Array }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: SettingsEntry[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  /** A control frame of a type this draft does not define: the receiver ignores it. */
  | { type: 'unknown'; controlType: number; flags: number };

export interface ParsedFrame {
  frame: SpdyFrame;
  /** Bytes the frame occupied. */
  length: number;
}

const LAYER = 'spdy';

function fixedLength(name: string, len: number, want: number): ParseFailure | undefined {
  return len === want ? undefined : parseFailure(ParseErrorCode.Malformed, LAYER, `${name} frame of length ${len}, must be ${want}`);
}

function streamIdAt(buf: Uint8Array, off: number): number {
  return readU32(buf, off) & MAX_STREAM_ID;
}

/**
 * One frame from `buf` at `off`. Truncated when fewer bytes than the frame
 * needs are there (a reader waits for more), Malformed or Unsupported when
 * they can never make a valid frame.
 */
export function parseFrame(buf: Uint8Array, off = 0, end = buf.length): ParsedFrame | ParseFailure {
  const avail = end - off;
  if (avail < SPDY.HEADER_LEN) return parseFailure(ParseErrorCode.Truncated, LAYER, `${avail} bytes, a frame header needs ${SPDY.HEADER_LEN}`);
  const flags = buf[off + SPDY.FLAGS]!;
  const len = (buf[off + SPDY.LENGTH]! << 16) | (buf[off + SPDY.LENGTH + 1]! << 8) | buf[off + SPDY.LENGTH + 2]!;
  if (avail < SPDY.HEADER_LEN + len) return parseFailure(ParseErrorCode.Truncated, LAYER, `${avail} bytes, the frame needs ${SPDY.HEADER_LEN + len}`);
  const p = off + SPDY.PAYLOAD;
  const length = SPDY.HEADER_LEN + len;
  const control = (buf[off + SPDY.WORD0]! & 0x80) !== 0;
  if (!control) {
    const streamId = streamIdAt(buf, off + SPDY.STREAM_ID);
    if (streamId === 0) return parseFailure(ParseErrorCode.Malformed, LAYER, 'data frame on stream 0');
    return { frame: { type: 'data', streamId, flags, data: buf.subarray(p, p + len) }, length };
  }
  const version = readU16(buf, off + SPDY.VERSION) & 0x7fff;
  if (version !== SPDY_VERSION) return parseFailure(ParseErrorCode.Unsupported, LAYER, `control frame of SPDY version ${version}, this speaks ${SPDY_VERSION}`);
  const type = readU16(buf, off + SPDY.TYPE);
  const needStream = (name: string, id: number): ParseFailure | undefined => (id === 0 ? parseFailure(ParseErrorCode.Malformed, LAYER, `${name} on stream 0`) : undefined);
  switch (type) {
    case ControlType.SYN_STREAM: {
      if (len < SYN_STREAM.HEADER_BLOCK) return parseFailure(ParseErrorCode.Malformed, LAYER, `SYN_STREAM frame of length ${len}, needs at least ${SYN_STREAM.HEADER_BLOCK}`);
      const streamId = streamIdAt(buf, p + SYN_STREAM.STREAM_ID);
      const bad = needStream('SYN_STREAM', streamId);
      if (bad) return bad;
      return {
        frame: {
          type: 'syn_stream',
          streamId,
          associatedTo: streamIdAt(buf, p + SYN_STREAM.ASSOCIATED_TO),
          priority: buf[p + SYN_STREAM.PRIORITY]! >>> 5,
          slot: buf[p + SYN_STREAM.SLOT]!,
          flags,
          headerBlock: buf.subarray(p + SYN_STREAM.HEADER_BLOCK, p + len),
        },
        length,
      };
    }
    case ControlType.SYN_REPLY:
    case ControlType.HEADERS: {
      const name = type === ControlType.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS';
      if (len < SYN_REPLY.HEADER_BLOCK) return parseFailure(ParseErrorCode.Malformed, LAYER, `${name} frame of length ${len}, needs at least ${SYN_REPLY.HEADER_BLOCK}`);
      const streamId = streamIdAt(buf, p + SYN_REPLY.STREAM_ID);
      const bad = needStream(name, streamId);
      if (bad) return bad;
      const headerBlock = buf.subarray(p + SYN_REPLY.HEADER_BLOCK, p + len);
      return { frame: type === ControlType.SYN_REPLY ? { type: 'syn_reply', streamId, flags, headerBlock } : { type: 'headers', streamId, flags, headerBlock }, length };
    }
    case ControlType.RST_STREAM: {
      const bad = fixedLength('RST_STREAM', len, RST_STREAM.LEN);
      if (bad) return bad;
      const streamId = streamIdAt(buf, p + RST_STREAM.STREAM_ID);
      const noStream = needStream('RST_STREAM', streamId);
      if (noStream) return noStream;
      return { frame: { type: 'rst_stream', streamId, status: readU32(buf, p + RST_STREAM.STATUS) }, length };
    }
    case ControlType.SETTINGS: {
      if (len < SETTINGS.ENTRIES) return parseFailure(ParseErrorCode.Malformed, LAYER, `SETTINGS frame of length ${len}, needs at least ${SETTINGS.ENTRIES}`);
      const count = readU32(buf, p + SETTINGS.COUNT);
      if (len !== SETTINGS.ENTRIES + count * SETTINGS.ENTRY_LEN) return parseFailure(ParseErrorCode.Malformed, LAYER, `SETTINGS frame of length ${len} for ${count} entries`);
      const entries: SettingsEntry[] = [];
      for (let i = 0, e = p + SETTINGS.ENTRIES; i < count; i++, e += SETTINGS.ENTRY_LEN) {
        entries.push({ flags: buf[e]!, id: readU32(buf, e) & 0xffffff, value: readU32(buf, e + 4) });
      }
      return { frame: { type: 'settings', flags, entries }, length };
    }
    case ControlType.PING: {
      const bad = fixedLength('PING', len, PING.LEN);
      return bad ?? { frame: { type: 'ping', id: readU32(buf, p + PING.ID) }, length };
    }
    case ControlType.GOAWAY: {
      const bad = fixedLength('GOAWAY', len, GOAWAY.LEN);
      return bad ?? { frame: { type: 'goaway', lastGoodStreamId: streamIdAt(buf, p + GOAWAY.LAST_GOOD_STREAM_ID), status: readU32(buf, p + GOAWAY.STATUS) }, length };
    }
    case ControlType.WINDOW_UPDATE: {
      const bad = fixedLength('WINDOW_UPDATE', len, WINDOW_UPDATE.LEN);
      if (bad) return bad;
      const delta = readU32(buf, p + WINDOW_UPDATE.DELTA) & 0x7fffffff;
      if (delta === 0) return parseFailure(ParseErrorCode.Malformed, LAYER, 'WINDOW_UPDATE with a delta of 0');
      return { frame: { type: 'window_update', streamId: streamIdAt(buf, p + WINDOW_UPDATE.STREAM_ID), delta }, length };
    }
    default:
      return { frame: { type: 'unknown', controlType: type, flags }, length };
  }
}

function controlHeader(out: Uint8Array, type: number, flags: number, len: number): void {
  writeU16(out, SPDY.VERSION, 0x8000 | SPDY_VERSION);
  writeU16(out, SPDY.TYPE, type);
  writeU32(out, SPDY.FLAGS, ((flags & 0xff) << 24) | len);
}

function checkLength(len: number): void {
  if (len > MAX_FRAME_LENGTH) throw new RangeError(`a SPDY frame carries at most ${MAX_FRAME_LENGTH} bytes, not ${len}`);
}

/** The frame's bytes. Header blocks go in as they travel (compressed). */
export function emitFrame(frame: SpdyFrame): Uint8Array {
  switch (frame.type) {
    case 'data': {
      checkLength(frame.data.length);
      const out = new Uint8Array(SPDY.HEADER_LEN + frame.data.length);
      writeU32(out, SPDY.STREAM_ID, frame.streamId & MAX_STREAM_ID);
      writeU32(out, SPDY.FLAGS, ((frame.flags & 0xff) << 24) | frame.data.length);
      out.set(frame.data, SPDY.PAYLOAD);
      return out;
    }
    case 'syn_stream': {
      const len = SYN_STREAM.HEADER_BLOCK + frame.headerBlock.length;
      checkLength(len);
      const out = new Uint8Array(SPDY.HEADER_LEN + len);
      controlHeader(out, ControlType.SYN_STREAM, frame.flags, len);
      const p = SPDY.PAYLOAD;
      writeU32(out, p + SYN_STREAM.STREAM_ID, frame.streamId & MAX_STREAM_ID);
      writeU32(out, p + SYN_STREAM.ASSOCIATED_TO, frame.associatedTo & MAX_STREAM_ID);
      out[p + SYN_STREAM.PRIORITY] = (frame.priority & 0x7) << 5;
      out[p + SYN_STREAM.SLOT] = frame.slot & 0xff;
      out.set(frame.headerBlock, p + SYN_STREAM.HEADER_BLOCK);
      return out;
    }
    case 'syn_reply':
    case 'headers': {
      const len = SYN_REPLY.HEADER_BLOCK + frame.headerBlock.length;
      checkLength(len);
      const out = new Uint8Array(SPDY.HEADER_LEN + len);
      controlHeader(out, frame.type === 'syn_reply' ? ControlType.SYN_REPLY : ControlType.HEADERS, frame.flags, len);
      writeU32(out, SPDY.PAYLOAD + SYN_REPLY.STREAM_ID, frame.streamId & MAX_STREAM_ID);
      out.set(frame.headerBlock, SPDY.PAYLOAD + SYN_REPLY.HEADER_BLOCK);
      return out;
    }
    case 'rst_stream': {
      const out = new Uint8Array(SPDY.HEADER_LEN + RST_STREAM.LEN);
      controlHeader(out, ControlType.RST_STREAM, 0, RST_STREAM.LEN);
      writeU32(out, SPDY.PAYLOAD + RST_STREAM.STREAM_ID, frame.streamId & MAX_STREAM_ID);
      writeU32(out, SPDY.PAYLOAD + RST_STREAM.STATUS, frame.status);
      return out;
    }
    case 'settings': {
      const len = SETTINGS.ENTRIES + frame.entries.length * SETTINGS.ENTRY_LEN;
      const out = new Uint8Array(SPDY.HEADER_LEN + len);
      controlHeader(out, ControlType.SETTINGS, frame.flags, len);
      writeU32(out, SPDY.PAYLOAD + SETTINGS.COUNT, frame.entries.length);
      frame.entries.forEach((e, i) => {
        const at = SPDY.PAYLOAD + SETTINGS.ENTRIES + i * SETTINGS.ENTRY_LEN;
        writeU32(out, at, ((e.flags & 0xff) << 24) | (e.id & 0xffffff));
        writeU32(out, at + 4, e.value);
      });
      return out;
    }
    case 'ping': {
      const out = new Uint8Array(SPDY.HEADER_LEN + PING.LEN);
      controlHeader(out, ControlType.PING, 0, PING.LEN);
      writeU32(out, SPDY.PAYLOAD + PING.ID, frame.id);
      return out;
    }
    case 'goaway': {
      const out = new Uint8Array(SPDY.HEADER_LEN + GOAWAY.LEN);
      controlHeader(out, ControlType.GOAWAY, 0, GOAWAY.LEN);
      writeU32(out, SPDY.PAYLOAD + GOAWAY.LAST_GOOD_STREAM_ID, frame.lastGoodStreamId & MAX_STREAM_ID);
      writeU32(out, SPDY.PAYLOAD + GOAWAY.STATUS, frame.status);
      return out;
    }
    case 'window_update': {
      const out = new Uint8Array(SPDY.HEADER_LEN + WINDOW_UPDATE.LEN);
      controlHeader(out, ControlType.WINDOW_UPDATE, 0, WINDOW_UPDATE.LEN);
      writeU32(out, SPDY.PAYLOAD + WINDOW_UPDATE.STREAM_ID, frame.streamId & MAX_STREAM_ID);
      writeU32(out, SPDY.PAYLOAD + WINDOW_UPDATE.DELTA, frame.delta & 0x7fffffff);
      return out;
    }
    case 'unknown': {
      const out = new Uint8Array(SPDY.HEADER_LEN);
      controlHeader(out, frame.controlType, frame.flags, 0);
      return out;
    }
  }
}

// ---- header blocks ------------------------------------------------------------

/** Header names and their values, in the order they came; several values travel NUL-separated under one name. */
export type SpdyHeaders = Map<string, string[]>;

/** The uncompressed name/value block: count(32), then per pair name length(32), name, value length(32), value. */
export function encodeHeaderBlock(headers: SpdyHeaders): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let size = 4;
  for (const [name, values] of headers) {
    const n = enc.encode(name.toLowerCase());
    const v = enc.encode(values.join('\0'));
    parts.push(n, v);
    size += 8 + n.length + v.length;
  }
  const out = new Uint8Array(size);
  writeU32(out, 0, headers.size);
  let at = 4;
  for (const part of parts) {
    writeU32(out, at, part.length);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/** The name/value block back as headers; names must be lowercase and unique, as the draft requires. */
export function decodeHeaderBlock(buf: Uint8Array): SpdyHeaders | ParseFailure {
  const dec = new TextDecoder('utf-8', { fatal: false });
  if (buf.length < 4) return parseFailure(ParseErrorCode.Truncated, LAYER, `header block of ${buf.length} bytes, the pair count needs 4`);
  const count = readU32(buf, 0);
  const headers: SpdyHeaders = new Map();
  let at = 4;
  const field = (what: string, i: number): Uint8Array | ParseFailure => {
    if (buf.length - at < 4) return parseFailure(ParseErrorCode.Truncated, LAYER, `header block ends before the length of pair ${i}'s ${what}`);
    const len = readU32(buf, at);
    if (buf.length - at - 4 < len) return parseFailure(ParseErrorCode.Truncated, LAYER, `header block ends inside pair ${i}'s ${what} (${len} bytes)`);
    const bytes = buf.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return bytes;
  };
  for (let i = 0; i < count; i++) {
    const n = field('name', i);
    if (!(n instanceof Uint8Array)) return n;
    const v = field('value', i);
    if (!(v instanceof Uint8Array)) return v;
    const name = dec.decode(n);
    if (name === '') return parseFailure(ParseErrorCode.Malformed, LAYER, `header pair ${i} has an empty name`);
    if (name !== name.toLowerCase()) return parseFailure(ParseErrorCode.Malformed, LAYER, `header name ${JSON.stringify(name)} is not lowercase`);
    if (headers.has(name)) return parseFailure(ParseErrorCode.Malformed, LAYER, `header ${JSON.stringify(name)} appears twice`);
    headers.set(name, dec.decode(v).split('\0'));
  }
  if (at !== buf.length) return parseFailure(ParseErrorCode.Malformed, LAYER, `${buf.length - at} bytes after the last of ${count} header pairs`);
  return headers;
}

/**
 * The draft's zlib dictionary: length-prefixed header names and common
 * values, then a run of status codes, reason phrases, dates and media types.
 */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
    'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
    'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
    'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
    'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
    'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
    'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
    '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
    'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(parts);
})();

/** Largest header block (decompressed) accepted: a peer cannot make us inflate without bound. */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

/**
 * One direction's header compression: a zlib stream that lives as long as
 * the connection, each block ending in a sync flush so the peer can read it
 * at once. Calls must not overlap (the connection runs them in order).
 */
class ZlibChannel {
  private chunks: Buffer[] = [];
  private size = 0;
  private failed: Error | undefined;
  /** The block in progress: an error ends it (zlib calls no flush callback after one). */
  private pending: ((err: Error | undefined) => void) | undefined;

  constructor(private readonly z: Deflate | Inflate) {
    z.on('data', (c: Buffer) => {
      this.size += c.length;
      if (this.size > MAX_HEADER_BLOCK_BYTES) this.failed ??= new Error(`header block larger than ${MAX_HEADER_BLOCK_BYTES} bytes`);
      else this.chunks.push(c);
    });
    z.on('error', (err: Error) => {
      this.failed ??= err;
      this.pending?.(err);
    });
  }

  run(input: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      this.chunks = [];
      this.size = 0;
      this.pending = (err) => {
        this.pending = undefined;
        if (err) reject(err);
        else resolve(Buffer.concat(this.chunks));
      };
      this.z.write(input);
      this.z.flush(zlibConstants.Z_SYNC_FLUSH, () => this.pending?.(this.failed));
    });
  }

  close(): void {
    this.z.close();
  }
}

/** Compresses this side's header blocks (SYN_STREAM, SYN_REPLY, HEADERS). */
export class HeaderCompressor {
  private readonly channel = new ZlibChannel(createDeflate({ dictionary: SPDY3_DICTIONARY, level: zlibConstants.Z_BEST_COMPRESSION }));

  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.channel.run(encodeHeaderBlock(headers));
  }

  close(): void {
    this.channel.close();
  }
}

/** Decompresses the peer's header blocks; a failure is final (the zlib stream is lost). */
export class HeaderDecompressor {
  private readonly channel = new ZlibChannel(createInflate({ dictionary: SPDY3_DICTIONARY }));

  async decompress(block: Uint8Array): Promise<SpdyHeaders | ParseFailure> {
    let raw: Buffer;
    try {
      raw = await this.channel.run(block);
    } catch (err) {
      return parseFailure(ParseErrorCode.Malformed, LAYER, `header block does not inflate: ${(err as Error).message}`);
    }
    return decodeHeaderBlock(raw);
  }

  close(): void {
    this.channel.close();
  }
}

/** The first value of a header, or undefined. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers.get(name)?.[0];
}
