// HTTP/1.1 message codec (RFC 9110/9112) over byte streams: an incremental
// parser for requests and responses, and serializers. Used by curl, the pod
// HTTP servers and the L7 proxy.
import { concatBytes } from '../util/bytes.js';
import { ParseErrorCode, type ParseFailure } from './error.js';

/** A parse failure with the status a server should answer with (400, 413, 431, 501, 505). */
export interface HttpParseFailure extends ParseFailure {
  readonly status: number;
}

function httpFailure(error: number, status: number, detail: string): HttpParseFailure {
  return { error, layer: 'http', detail, status };
}

/** Ordered header list; lookups are case-insensitive, names keep their original case. */
export class HttpHeaders {
  private readonly list: [string, string][] = [];

  constructor(init?: HttpHeadersInit) {
    if (!init) return;
    if (init instanceof HttpHeaders) {
      for (const [n, v] of init) this.append(n, v);
    } else if (Array.isArray(init)) {
      for (const [n, v] of init) this.append(n, v);
    } else {
      for (const [n, v] of Object.entries(init)) this.append(n, v);
    }
  }

  append(name: string, value: string): void {
    this.list.push([name, value]);
  }
  /** First value, or undefined. */
  get(name: string): string | undefined {
    const k = name.toLowerCase();
    for (const [n, v] of this.list) if (n.toLowerCase() === k) return v;
    return undefined;
  }
  getAll(name: string): string[] {
    const k = name.toLowerCase();
    return this.list.filter(([n]) => n.toLowerCase() === k).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  /** Replaces every value of name with one value (keeping the first position). */
  set(name: string, value: string): void {
    const k = name.toLowerCase();
    const i = this.list.findIndex(([n]) => n.toLowerCase() === k);
    this.delete(name);
    if (i < 0) this.list.push([name, value]);
    else this.list.splice(i, 0, [name, value]);
  }
  delete(name: string): void {
    const k = name.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i][0].toLowerCase() === k) this.list.splice(i, 1);
  }
  get size(): number {
    return this.list.length;
  }
  entries(): [string, string][] {
    return this.list.map(([n, v]) => [n, v]);
  }
  [Symbol.iterator](): Iterator<[string, string]> {
    return this.entries()[Symbol.iterator]();
  }
  /** Comma-separated tokens of a list header, lower-cased (Connection, Transfer-Encoding). */
  tokens(name: string): string[] {
    return this.getAll(name)
      .flatMap((v) => v.split(','))
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t.length > 0);
  }
}

export type HttpHeadersInit = HttpHeaders | [string, string][] | Record<string, string>;

export interface HttpRequest {
  method: string;
  /** Request target as sent: origin form "/api?x=1", absolute form, or authority form for CONNECT. */
  target: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  headers: HttpHeaders;
  body: Uint8Array;
  trailers?: HttpHeaders;
  /** Whether the body came chunked. */
  chunked: boolean;
  /** Whether the connection stays open after this message. */
  keepAlive: boolean;
}

export interface HttpResponse {
  version: string;
  status: number;
  reason: string;
  headers: HttpHeaders;
  body: Uint8Array;
  trailers?: HttpHeaders;
  chunked: boolean;
  keepAlive: boolean;
}

export interface HttpLimits {
  /** Start line + header section (default 64 KiB). */
  maxHeaderBytes?: number;
  /** Number of header fields (default 100). */
  maxHeaders?: number;
  /** Decoded body size (default 16 MiB). */
  maxBodyBytes?: number;
}

const DEFAULT_LIMITS: Required<HttpLimits> = { maxHeaderBytes: 64 * 1024, maxHeaders: 100, maxBodyBytes: 16 * 1024 * 1024 };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/1\.[01]$/;
const EMPTY = new Uint8Array(0);
const CR = 13;
const LF = 10;

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

type BodyMode =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked' }
  | { kind: 'close' };

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'failed';

interface Head {
  startLine: string[];
  version: string;
  headers: HttpHeaders;
}

/** Shared machinery; see HttpRequestParser and HttpResponseParser. */
abstract class HttpParserBase<M> {
  protected buf = new Uint8Array(0);
  protected start = 0;
  protected state: State = 'head';
  protected failure: HttpParseFailure | undefined;
  protected readonly limits: Required<HttpLimits>;
  private head: Head | undefined;
  private mode: BodyMode = { kind: 'none' };
  private bodyParts: Uint8Array[] = [];
  private bodyLen = 0;
  private chunkRemaining = 0;
  private trailers: HttpHeaders | undefined;
  private trailerBytes = 0;

  constructor(limits: HttpLimits = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.buf.length - this.start;
  }

  /** True between messages (nothing partial buffered): a clean place for the peer to close. */
  get idle(): boolean {
    return this.state === 'head' && this.buffered === 0;
  }

  /** Feeds bytes; returns the messages completed by them, or the failure (sticky). */
  feed(chunk: Uint8Array): M[] | HttpParseFailure {
    if (this.failure) return this.failure;
    this.append(chunk);
    const out: M[] = [];
    for (;;) {
      const progressed = this.step(out);
      if (this.failure) return this.failure;
      if (!progressed) break;
    }
    this.compact();
    return out;
  }

  /** The peer closed: completes a close-delimited body, or reports a cut-off message. */
  finish(): M[] | HttpParseFailure {
    if (this.failure) return this.failure;
    if (this.state === 'body' && this.mode.kind === 'close') {
      const msg = this.complete();
      return [msg];
    }
    if (this.idle) return [];
    return this.fail(ParseErrorCode.Truncated, 400, `connection closed inside a message (${this.state})`);
  }

  protected abstract build(head: Head, body: Uint8Array, chunked: boolean, trailers: HttpHeaders | undefined, closeDelimited: boolean): M;
  protected abstract parseStartLine(line: string): Head['startLine'] | HttpParseFailure;
  protected abstract bodyMode(head: Head): BodyMode | HttpParseFailure;

  protected fail(code: number, status: number, detail: string): HttpParseFailure {
    this.failure = httpFailure(code, status, detail);
    this.state = 'failed';
    return this.failure;
  }

  private append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const live = this.buf.length - this.start;
    const next = new Uint8Array(live + chunk.length);
    next.set(this.buf.subarray(this.start), 0);
    next.set(chunk, live);
    this.buf = next;
    this.start = 0;
  }

  private compact(): void {
    if (this.start > 0) {
      this.buf = this.buf.slice(this.start);
      this.start = 0;
    }
  }

  /** Index of the LF ending the line that starts at `from`, or -1. */
  private findLf(from: number): number {
    return this.buf.indexOf(LF, from);
  }

  private lineEnd(lf: number, from: number): number {
    return lf > from && this.buf[lf - 1] === CR ? lf - 1 : lf;
  }

  /** One state transition; false when more bytes are needed. */
  private step(out: M[]): boolean {
    switch (this.state) {
      case 'head':
        return this.stepHead(out);
      case 'body':
        return this.stepBody(out);
      case 'chunk-size':
        return this.stepChunkSize();
      case 'chunk-data':
        return this.stepChunkData();
      case 'chunk-crlf':
        return this.stepChunkCrlf();
      case 'trailers':
        return this.stepTrailers(out);
      case 'failed':
        return false;
    }
  }

  private stepHead(out: M[]): boolean {
    // RFC 9112 2.2: ignore empty lines before the start line.
    while (this.start < this.buf.length) {
      if (this.buf[this.start] === LF) this.start++;
      else if (this.buf[this.start] === CR && this.start + 1 < this.buf.length && this.buf[this.start + 1] === LF) this.start += 2;
      else break;
    }
    // Find the blank line ending the header section.
    let pos = this.start;
    let end = -1;
    for (;;) {
      const lf = this.findLf(pos);
      if (lf < 0) break;
      const lineLen = this.lineEnd(lf, pos) - pos;
      if (lineLen === 0 && pos > this.start) {
        end = lf + 1;
        break;
      }
      pos = lf + 1;
    }
    if (end < 0) {
      if (this.buffered > this.limits.maxHeaderBytes) {
        this.fail(ParseErrorCode.Unsupported, 431, `header section exceeds ${this.limits.maxHeaderBytes} bytes`);
      }
      return false;
    }
    if (end - this.start > this.limits.maxHeaderBytes) {
      this.fail(ParseErrorCode.Unsupported, 431, `header section exceeds ${this.limits.maxHeaderBytes} bytes`);
      return false;
    }
    const lines: string[] = [];
    pos = this.start;
    while (pos < end) {
      const lf = this.findLf(pos);
      const le = this.lineEnd(lf, pos);
      for (let i = pos; i < le; i++) {
        if (this.buf[i] === CR || this.buf[i] === 0) {
          this.fail(ParseErrorCode.Malformed, 400, 'bare CR or NUL in the header section');
          return false;
        }
      }
      lines.push(latin1(this.buf, pos, le));
      pos = lf + 1;
    }
    lines.pop(); // the blank line
    const startLine = this.parseStartLine(lines[0]);
    if (!Array.isArray(startLine)) {
      this.failure = startLine;
      this.state = 'failed';
      return false;
    }
    const headers = new HttpHeaders();
    if (lines.length - 1 > this.limits.maxHeaders) {
      this.fail(ParseErrorCode.Unsupported, 431, `more than ${this.limits.maxHeaders} header fields`);
      return false;
    }
    for (let i = 1; i < lines.length; i++) {
      const f = parseFieldLine(lines[i]);
      if (!Array.isArray(f)) {
        this.failure = f;
        this.state = 'failed';
        return false;
      }
      headers.append(f[0], f[1]);
    }
    const head: Head = { startLine, version: startLine[startLine.length === 3 && this.isRequest() ? 2 : 0], headers };
    this.start = end;
    const mode = this.bodyMode(head);
    if ('status' in mode) {
      this.failure = mode;
      this.state = 'failed';
      return false;
    }
    this.head = head;
    this.mode = mode;
    this.bodyParts = [];
    this.bodyLen = 0;
    this.trailers = undefined;
    switch (mode.kind) {
      case 'none':
        out.push(this.complete());
        return true;
      case 'length':
        if (mode.remaining > this.limits.maxBodyBytes) {
          this.fail(ParseErrorCode.Unsupported, 413, `body of ${mode.remaining} bytes exceeds ${this.limits.maxBodyBytes}`);
          return false;
        }
        if (mode.remaining === 0) {
          out.push(this.complete());
          return true;
        }
        this.state = 'body';
        return true;
      case 'chunked':
        this.state = 'chunk-size';
        return true;
      case 'close':
        this.state = 'body';
        return true;
    }
  }

  protected abstract isRequest(): boolean;

  private takeBody(n: number): boolean {
    if (this.bodyLen + n > this.limits.maxBodyBytes) {
      this.fail(ParseErrorCode.Unsupported, 413, `body exceeds ${this.limits.maxBodyBytes} bytes`);
      return false;
    }
    this.bodyParts.push(this.buf.slice(this.start, this.start + n));
    this.bodyLen += n;
    this.start += n;
    return true;
  }

  private stepBody(out: M[]): boolean {
    const avail = this.buffered;
    if (avail === 0) return false;
    if (this.mode.kind === 'close') {
      // Everything until the peer closes is body; finish() completes it.
      this.takeBody(avail);
      return false;
    }
    if (this.mode.kind !== 'length') return false;
    const n = Math.min(avail, this.mode.remaining);
    if (!this.takeBody(n)) return false;
    this.mode.remaining -= n;
    if (this.mode.remaining === 0) {
      out.push(this.complete());
      return true;
    }
    return false;
  }

  private stepChunkSize(): boolean {
    const lf = this.findLf(this.start);
    if (lf < 0) {
      if (this.buffered > 1024) this.fail(ParseErrorCode.Malformed, 400, 'chunk size line too long');
      return false;
    }
    const line = latin1(this.buf, this.start, this.lineEnd(lf, this.start));
    const semi = line.indexOf(';'); // chunk extensions are ignored
    const sizeText = (semi < 0 ? line : line.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
      this.fail(ParseErrorCode.Malformed, 400, `bad chunk size "${sizeText.slice(0, 20)}"`);
      return false;
    }
    const size = parseInt(sizeText, 16);
    this.start = lf + 1;
    if (size === 0) {
      this.state = 'trailers';
      this.trailers = new HttpHeaders();
      this.trailerBytes = 0;
      return true;
    }
    if (this.bodyLen + size > this.limits.maxBodyBytes) {
      this.fail(ParseErrorCode.Unsupported, 413, `body exceeds ${this.limits.maxBodyBytes} bytes`);
      return false;
    }
    this.chunkRemaining = size;
    this.state = 'chunk-data';
    return true;
  }

  private stepChunkData(): boolean {
    const n = Math.min(this.buffered, this.chunkRemaining);
    if (n === 0) return false;
    if (!this.takeBody(n)) return false;
    this.chunkRemaining -= n;
    if (this.chunkRemaining === 0) this.state = 'chunk-crlf';
    return true;
  }

  private stepChunkCrlf(): boolean {
    if (this.buffered < 1) return false;
    if (this.buf[this.start] === LF) {
      this.start += 1;
    } else {
      if (this.buffered < 2) return false;
      if (this.buf[this.start] !== CR || this.buf[this.start + 1] !== LF) {
        this.fail(ParseErrorCode.Malformed, 400, 'chunk data not followed by CRLF');
        return false;
      }
      this.start += 2;
    }
    this.state = 'chunk-size';
    return true;
  }

  private stepTrailers(out: M[]): boolean {
    const lf = this.findLf(this.start);
    if (lf < 0) {
      if (this.trailerBytes + this.buffered > this.limits.maxHeaderBytes) {
        this.fail(ParseErrorCode.Unsupported, 431, 'trailer section too large');
      }
      return false;
    }
    const le = this.lineEnd(lf, this.start);
    const line = latin1(this.buf, this.start, le);
    this.trailerBytes += lf + 1 - this.start;
    this.start = lf + 1;
    if (this.trailerBytes > this.limits.maxHeaderBytes) {
      this.fail(ParseErrorCode.Unsupported, 431, 'trailer section too large');
      return false;
    }
    if (line.length === 0) {
      out.push(this.complete());
      return true;
    }
    const f = parseFieldLine(line);
    if (!Array.isArray(f)) {
      this.failure = f;
      this.state = 'failed';
      return false;
    }
    this.trailers!.append(f[0], f[1]);
    return true;
  }

  private complete(): M {
    const head = this.head!;
    let body: Uint8Array;
    if (this.bodyParts.length === 0) body = EMPTY;
    else if (this.bodyParts.length === 1) body = this.bodyParts[0];
    else {
      body = new Uint8Array(this.bodyLen);
      let at = 0;
      for (const p of this.bodyParts) {
        body.set(p, at);
        at += p.length;
      }
    }
    const msg = this.build(head, body, this.mode.kind === 'chunked', this.trailers, this.mode.kind === 'close');
    this.state = 'head';
    this.head = undefined;
    this.bodyParts = [];
    this.bodyLen = 0;
    this.trailers = undefined;
    this.mode = { kind: 'none' };
    return msg;
  }
}

function parseFieldLine(line: string): [string, string] | HttpParseFailure {
  if (line[0] === ' ' || line[0] === '\t') {
    return httpFailure(ParseErrorCode.Malformed, 400, 'obsolete header line folding');
  }
  const colon = line.indexOf(':');
  if (colon <= 0) return httpFailure(ParseErrorCode.Malformed, 400, `header line without a name: "${line.slice(0, 40)}"`);
  const name = line.slice(0, colon);
  // No whitespace between name and colon (RFC 9112 5.1): a request-smuggling vector.
  if (!TOKEN.test(name)) return httpFailure(ParseErrorCode.Malformed, 400, `invalid header name "${name.slice(0, 40)}"`);
  return [name, line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')];
}

/** Content-Length: digits only; a list of identical values is tolerated (RFC 9110 8.6). */
function contentLength(headers: HttpHeaders): number | null | HttpParseFailure {
  const values = headers.getAll('content-length').flatMap((v) => v.split(',').map((s) => s.trim()));
  if (values.length === 0) return null;
  for (const v of values) {
    if (!/^[0-9]{1,15}$/.test(v)) return httpFailure(ParseErrorCode.Malformed, 400, `bad Content-Length "${v.slice(0, 20)}"`);
  }
  if (new Set(values.map((v) => Number(v))).size > 1) return httpFailure(ParseErrorCode.Malformed, 400, 'conflicting Content-Length values');
  return Number(values[0]);
}

function connectionKeepAlive(version: string, headers: HttpHeaders): boolean {
  const tokens = headers.tokens('connection');
  if (tokens.includes('close')) return false;
  if (version === 'HTTP/1.0') return tokens.includes('keep-alive');
  return true;
}

export class HttpRequestParser extends HttpParserBase<HttpRequest> {
  protected isRequest(): boolean {
    return true;
  }

  protected parseStartLine(line: string): string[] | HttpParseFailure {
    const parts = line.split(' ');
    if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
      return httpFailure(ParseErrorCode.Malformed, 400, `bad request line "${line.slice(0, 60)}"`);
    }
    const [method, target, version] = parts;
    if (!TOKEN.test(method)) return httpFailure(ParseErrorCode.Malformed, 400, `bad method "${method.slice(0, 20)}"`);
    if (!/^[\x21-\x7e]+$/.test(target)) return httpFailure(ParseErrorCode.Malformed, 400, 'bad request target');
    if (!VERSION.test(version)) {
      return /^HTTP\/\d\.\d$/.test(version)
        ? httpFailure(ParseErrorCode.Unsupported, 505, `${version} not supported`)
        : httpFailure(ParseErrorCode.Malformed, 400, `bad version "${version.slice(0, 20)}"`);
    }
    return parts;
  }

  protected bodyMode(head: Head): BodyMode | HttpParseFailure {
    const te = head.headers.tokens('transfer-encoding');
    const cl = contentLength(head.headers);
    if (cl !== null && typeof cl === 'object') return cl;
    if (te.length > 0) {
      if (cl !== null) return httpFailure(ParseErrorCode.Malformed, 400, 'both Transfer-Encoding and Content-Length');
      if (te[te.length - 1] !== 'chunked') return httpFailure(ParseErrorCode.Unsupported, 501, `transfer coding "${te.join(', ')}" not supported`);
      if (te.length > 1) return httpFailure(ParseErrorCode.Unsupported, 501, `transfer coding "${te.join(', ')}" not supported`);
      return { kind: 'chunked' };
    }
    if (cl !== null) return { kind: 'length', remaining: cl };
    return { kind: 'none' };
  }

  protected build(head: Head, body: Uint8Array, chunked: boolean, trailers: HttpHeaders | undefined): HttpRequest {
    const [method, target, version] = head.startLine;
    const req: HttpRequest = { method, target, version, headers: head.headers, body, chunked, keepAlive: connectionKeepAlive(version, head.headers) };
    if (trailers && trailers.size > 0) req.trailers = trailers;
    return req;
  }
}

export class HttpResponseParser extends HttpParserBase<HttpResponse> {
  private readonly methods: string[] = [];

  /**
   * Tells the parser which request the next response answers, so a HEAD
   * response is known to have no body. Call once per request sent, in order.
   */
  expectResponseTo(method: string): void {
    this.methods.push(method.toUpperCase());
  }

  protected isRequest(): boolean {
    return false;
  }

  protected parseStartLine(line: string): string[] | HttpParseFailure {
    const sp1 = line.indexOf(' ');
    if (sp1 < 0) return httpFailure(ParseErrorCode.Malformed, 502, `bad status line "${line.slice(0, 60)}"`);
    const version = line.slice(0, sp1);
    const rest = line.slice(sp1 + 1);
    const sp2 = rest.indexOf(' ');
    const code = sp2 < 0 ? rest : rest.slice(0, sp2);
    const reason = sp2 < 0 ? '' : rest.slice(sp2 + 1);
    if (!VERSION.test(version)) return httpFailure(ParseErrorCode.Malformed, 502, `bad version "${version.slice(0, 20)}"`);
    if (!/^[1-9][0-9]{2}$/.test(code)) return httpFailure(ParseErrorCode.Malformed, 502, `bad status code "${code.slice(0, 10)}"`);
    return [version, code, reason];
  }

  protected bodyMode(head: Head): BodyMode | HttpParseFailure {
    const status = Number(head.startLine[1]);
    const method = this.methods.length > 0 ? this.methods[0] : undefined;
    // A 1xx is interim: the final response to the same request follows.
    if (status >= 200 || status === 101) this.methods.shift();
    if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) return { kind: 'none' };
    if (method === 'CONNECT' && status >= 200 && status < 300) return { kind: 'none' };
    const te = head.headers.tokens('transfer-encoding');
    if (te.length > 0) {
      if (te[te.length - 1] === 'chunked') return { kind: 'chunked' };
      return { kind: 'close' };
    }
    const cl = contentLength(head.headers);
    if (cl !== null && typeof cl === 'object') return { ...cl, status: 502 };
    if (cl !== null) return { kind: 'length', remaining: cl };
    return { kind: 'close' };
  }

  protected build(head: Head, body: Uint8Array, chunked: boolean, trailers: HttpHeaders | undefined, closeDelimited: boolean): HttpResponse {
    const [version, code, reason] = head.startLine;
    const res: HttpResponse = {
      version,
      status: Number(code),
      reason,
      headers: head.headers,
      body,
      chunked,
      keepAlive: !closeDelimited && connectionKeepAlive(version, head.headers),
    };
    if (trailers && trailers.size > 0) res.trailers = trailers;
    return res;
  }
}

// ---------------------------------------------------------------- serializers

const STATUS_TEXT: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

export function httpStatusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

export interface HttpRequestInit {
  method: string;
  target: string;
  version?: string;
  headers?: HttpHeadersInit;
  body?: Uint8Array | string;
}

export interface HttpResponseInit {
  status: number;
  reason?: string;
  version?: string;
  headers?: HttpHeadersInit;
  body?: Uint8Array | string;
}

const encoder = new TextEncoder();

function toBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return EMPTY;
  return typeof body === 'string' ? encoder.encode(body) : body;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError('HTTP head contains a non-Latin-1 character');
    out[i] = c;
  }
  return out;
}

function checkField(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new RangeError(`invalid header name "${name}"`);
  if (/[\r\n\0]/.test(value)) throw new RangeError(`header "${name}" value contains CR, LF or NUL`);
}

/** Encodes a body with chunked transfer coding (one chunk per chunkSize bytes, then the last chunk). */
export function encodeChunked(body: Uint8Array, chunkSize = 16384, trailers?: HttpHeaders): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += chunkSize) {
    const piece = body.subarray(i, Math.min(body.length, i + chunkSize));
    parts.push(latin1Bytes(`${piece.length.toString(16)}\r\n`), piece, latin1Bytes('\r\n'));
  }
  let tail = '0\r\n';
  if (trailers) for (const [n, v] of trailers) tail += `${n}: ${v}\r\n`;
  parts.push(latin1Bytes(`${tail}\r\n`));
  return concatBytes(parts);
}

function serialize(startLine: string, headers: HttpHeaders, body: Uint8Array, bodyAllowed: boolean, mustFrame: boolean): Uint8Array {
  const chunked = headers.tokens('transfer-encoding').includes('chunked');
  if (bodyAllowed && !chunked && !headers.has('content-length') && (body.length > 0 || mustFrame)) {
    headers.append('Content-Length', String(body.length));
  }
  let head = `${startLine}\r\n`;
  for (const [n, v] of headers) {
    checkField(n, v);
    head += `${n}: ${v}\r\n`;
  }
  head += '\r\n';
  const headBytes = latin1Bytes(head);
  if (!bodyAllowed) return headBytes;
  return concatBytes([headBytes, chunked ? encodeChunked(body) : body]);
}

/**
 * Serialises a request. Adds Content-Length when there is a body (or for
 * POST/PUT/PATCH, as curl does) unless the headers already frame it; with
 * Transfer-Encoding: chunked the body is chunk-encoded.
 */
export function serializeRequest(req: HttpRequestInit): Uint8Array {
  if (!TOKEN.test(req.method)) throw new RangeError(`invalid method "${req.method}"`);
  if (!/^[\x21-\x7e]+$/.test(req.target)) throw new RangeError(`invalid request target "${req.target}"`);
  const headers = new HttpHeaders(req.headers);
  const method = req.method.toUpperCase();
  const mustFrame = method === 'POST' || method === 'PUT' || method === 'PATCH';
  return serialize(`${req.method} ${req.target} ${req.version ?? 'HTTP/1.1'}`, headers, toBytes(req.body), true, mustFrame);
}

/**
 * Serialises a response. Adds Content-Length unless the status forbids a body
 * (1xx, 204, 304) or the headers already frame it. For a response to HEAD,
 * pass headRequest: the head is written (with the body's Content-Length) and
 * the body is not.
 */
export function serializeResponse(res: HttpResponseInit, opts: { headRequest?: boolean } = {}): Uint8Array {
  const headers = new HttpHeaders(res.headers);
  const noBodyStatus = (res.status >= 100 && res.status < 200) || res.status === 204 || res.status === 304;
  const body = toBytes(res.body);
  const reason = res.reason ?? httpStatusText(res.status);
  const startLine = `${res.version ?? 'HTTP/1.1'} ${res.status} ${reason}`;
  if (noBodyStatus) return serialize(startLine, headers, EMPTY, false, false);
  if (opts.headRequest) {
    if (!headers.has('content-length') && !headers.has('transfer-encoding')) headers.append('Content-Length', String(body.length));
    return serialize(startLine, headers, EMPTY, false, false);
  }
  return serialize(startLine, headers, body, true, true);
}

/** The URL Hubble shows for a request: absolute targets as they are, else http://<Host><target>. */
export function httpRequestUrl(req: Pick<HttpRequest, 'target' | 'headers'>): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(req.target)) return req.target;
  const host = req.headers.get('host') ?? '';
  return `http://${host}${req.target}`;
}
